"""The real `router run` process against the PBX simulator (which runs here,
in the test process): `router reload` (SIGHUP through --pid-file), graceful
stop on SIGTERM, and SIGKILL followed by a restart. Both run in real time
(the router's own clock), so the calls are short; the config is the sample
with wrap-up times cut to 1 s, and calls go to the VIP queue (open 7x24).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import sys
from pathlib import Path

from router.config import load_config
from router.sim.pbx import PbxSimulator
from router.sim.traffic import Behaviour
from support.waiting import assert_clean, until

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cret-Xq9-never-logged"
VIP = {"dnis": "4008008000", "variables": {"tier": "gold"}}


def quick_config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target)
    for path in target.glob("*.yaml"):
        path.write_text(re.sub(r"wrapup: \d+s", "wrapup: 1s", path.read_text(encoding="utf-8")), encoding="utf-8")
    return target


class RouterProcess:
    """`python -m router run CONFIG --ami sim=... --log-format json` as a child."""

    def __init__(self, tmp_path: Path, config: Path, port: int) -> None:
        self.tmp = tmp_path
        self.config, self.port = config, port
        self.pid_file = tmp_path / "router.pid"
        self.state_file = tmp_path / "agents.json"
        (tmp_path / "secret").write_text(SECRET + "\n", encoding="utf-8")
        self.proc: asyncio.subprocess.Process | None = None
        self.runs = 0

    async def start(self) -> None:
        self.runs += 1
        self.err = self.tmp / f"stderr.{self.runs}"
        self.out = self.tmp / f"stdout.{self.runs}"
        env = {k: v for k, v in os.environ.items() if k != "ROUTER_AMI_SECRET"}
        with open(self.err, "wb") as err, open(self.out, "wb") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "router", "run", str(self.config), "--ami", f"sim=127.0.0.1:{self.port}",
                "--ami-user", "router", "--ami-secret-file", str(self.tmp / "secret"),
                "--pid-file", str(self.pid_file), "--state-file", str(self.state_file),
                "--log-format", "json", stdout=out, stderr=err, env=env, cwd=str(self.tmp))
        await until(lambda: "state rebuilt" in self.log_text(), 20)

    async def stop(self) -> int:
        """SIGTERM; the exit code (a graceful stop is 0)."""
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 15)

    async def reap(self) -> None:
        """Kill the process if a failed test left it running."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    def log_text(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    def log_messages(self) -> list[str]:
        """Every stderr line is one JSON object (the structured log)."""
        return [json.loads(line)["msg"] for line in self.log_text().splitlines()]

    def agents_saved(self) -> dict:
        try:
            return json.loads(self.state_file.read_text(encoding="utf-8"))["agents"]
        except (OSError, ValueError, KeyError):
            return {}


async def test_reload_by_pid_file_then_sigterm_drains_and_exits_0(tmp_path):
    config = quick_config(tmp_path)
    ringing = Behaviour(mean_patience=10_000, answer_delay=(2.0, 2.0), no_answer_rate=0.0, mean_talk=2, min_talk=2)
    pbx = PbxSimulator(load_config(config), speed=1.0, behaviour=ringing, hold_limit=5.0, login_agents=False,
                       secret=SECRET)
    await pbx.start()
    router = RouterProcess(tmp_path, config, pbx.port)
    try:
        await router.start()
        pbx.agent_login("1028")
        await until(lambda: router.agents_saved().get("1028", [""])[0] == "available", 5)

        reload = await asyncio.create_subprocess_exec(sys.executable, "-m", "router", "reload", str(config),
                                                      "--pid-file", str(router.pid_file),
                                                      stdout=asyncio.subprocess.DEVNULL)
        assert await reload.wait() == 0
        await until(lambda: any("configuration reloaded" in m for m in router.log_messages()), 5)

        first = pbx.place_call(caller_name="王五", **VIP)
        await until(lambda: pbx.records[first].offers == ["1028"], 5)  # ringing for 2 s
        router.proc.send_signal(signal.SIGTERM)
        await until(lambda: any("draining" in m for m in router.log_messages()), 5)
        second = pbx.place_call(caller_name="李娜", **VIP)  # arrives while the router stops
        assert await asyncio.wait_for(router.proc.wait(), 15) == 0
        # The ringing leg completed; the new caller was never offered and is
        # still in the dialplan, which falls back on its own.
        assert pbx.records[first].outcome == "answered" and pbx.records[first].offers == ["1028"]
        assert pbx.records[second].offers == [] and pbx.records[second].outcome is None
        originates = [a for a in pbx.actions_log if a.get("Action") == "Originate"]
        assert len(originates) == 1
        assert not router.pid_file.exists()
        await until(lambda: pbx.records[second].outcome == "fallback", 8)
        messages = router.log_messages()
        assert any("no new offers; 1 leg(s) ringing" in m for m in messages)
        assert "stopped" in messages
        assert SECRET not in router.log_text() + router.out.read_text(encoding="utf-8")
        assert_clean(pbx)
    finally:
        if router.proc is not None and router.proc.returncode is None:
            router.proc.kill()
            await router.proc.wait()
        await pbx.stop()


async def test_router_sigkilled_and_restarted_answers_every_waiting_caller_once(tmp_path):
    config = quick_config(tmp_path)
    talk = Behaviour(mean_patience=10_000, answer_delay=(0.5, 0.5), no_answer_rate=0.0, mean_talk=3, min_talk=3)
    pbx = PbxSimulator(load_config(config), speed=1.0, behaviour=talk, hold_limit=60.0, login_agents=False,
                       secret=SECRET)
    await pbx.start()
    router = RouterProcess(tmp_path, config, pbx.port)
    try:
        await router.start()
        for agent in ("1028", "1031"):
            pbx.agent_login(agent)
        await until(lambda: all(router.agents_saved().get(a, [""])[0] == "available" for a in ("1028", "1031")), 5)
        calls = [pbx.place_call(caller_name=name, **VIP) for name in ("王五", "李娜", "陈静", "赵敏")]
        await until(lambda: sum(pbx.records[c].outcome == "answered" for c in calls) == 2, 5)

        router.proc.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(router.proc.wait(), 5) == -signal.SIGKILL
        await router.start()  # same state file: both agents still logged in

        await until(lambda: all(pbx.records[c].outcome == "answered" for c in calls), 20)
        for c in calls:
            assert len(pbx.records[c].offers) == 1, (c, pbx.records[c].offers)  # nobody rung twice
        # Agents on calls were not offered new ones: each agent's calls were back to back.
        by_agent: dict[str, list] = {}
        for c in calls:
            by_agent.setdefault(pbx.records[c].agent, []).append(pbx.records[c])
        for records in by_agent.values():
            records.sort(key=lambda r: r.answered)
            for earlier, later in zip(records, records[1:]):
                assert later.answered >= earlier.ended
        assert not pbx.anomalies, pbx.anomalies
        assert_clean(pbx)
        router.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(router.proc.wait(), 15) == 0
    finally:
        if router.proc is not None and router.proc.returncode is None:
            router.proc.kill()
            await router.proc.wait()
        await pbx.stop()
