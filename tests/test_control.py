"""The control API of a running router: `router status`, `router agent`,
`router call`, `router explain --call`, over a real Unix socket, against
the PBX simulator over TCP (and a real mosquitto where MQTT is involved)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pty
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from router.present.cli import main
from router.control import ControlError, ControlServer
from router.runtime.daemon import Clock, Router
from router.sim.pbx import PbxSimulator
from test_mqtt import MONDAY_10AM, SPEED, STEADY, TABLE, Centre, Listener, broker  # noqa: F401 (fixture)
from support.waiting import until

ROOT = Path(__file__).resolve().parent.parent
TZ = __import__("zoneinfo").ZoneInfo("Asia/Shanghai")


async def shell(capsys, *argv: str) -> tuple[int, str, str]:
    """Run `router ARGV` in a thread (the router serves in this loop)."""
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


class Plain:
    """PBX simulator + router (no MQTT) + control socket; agents logged out."""

    def __init__(self, path: Path):
        self.path = str(path)
        self.pbx = PbxSimulator(TABLE, speed=SPEED, seed=1, calls_per_hour=0.0, behaviour=STEADY, login_agents=False)
        self.router = Router(TABLE, Clock(SPEED, start=MONDAY_10AM))
        self.control = ControlServer(self.router, self.path, TZ)

    async def __aenter__(self) -> "Plain":
        await self.pbx.start()
        self.router.add_pbx("sim", "127.0.0.1", self.pbx.port, self.pbx.username, self.pbx.secret, reconnect=1.0)
        await self.router.start()
        await until(lambda: self.router.resyncs.get("sim", 0) >= 1)
        await self.control.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.control.stop()
        await self.router.stop()
        await self.pbx.stop()


async def test_status_shows_queues_agents_and_the_waiting_call(tmp_path, capsys):
    sock = tmp_path / "control.sock"
    async with Plain(sock) as c:
        call = c.pbx.place_call(dnis="4008001000", caller_name="张三")
        await until(lambda: len(c.router.engine.line()) == 1)
        code, out, err = await shell(capsys, "status", "--json", "--control", str(sock))
        assert code == 0, err
        data = json.loads(out)
        assert data["zone"] == "Asia/Shanghai" and data["local"].endswith("+08:00")
        (pbx,) = data["pbxs"]
        assert pbx["pbx"] == "sim" and pbx["connected"] is True
        sales = next(q for q in pbx["queues"] if q["queue"] == "sales")
        assert sales["waiting"] == 1 and sales["target"] == 80 and sales["within"] == 20
        assert sales["free"] == 0 and sales["busy"] == 0
        assert [x["call"] for x in data["calls"]] == [call]
        assert {a["agent"]: a["state"] for a in pbx["agents"]}["1002"] == "logged_out"
        assert next(a for a in pbx["agents"] if a["agent"] == "1002")["skills"]["sales"] == 9
        code, out, _ = await shell(capsys, "status", "--control", str(sock))
        assert code == 0
        assert "== pbx sim: AMI up" in out
        assert any(line.startswith("sales ") and "80%/20s" in line for line in out.splitlines())
        assert f"  {call} " in out and "王芳" in out


async def test_agent_and_call_commands_are_checked_applied_and_audited(tmp_path, capsys, caplog):
    caplog.set_level(logging.INFO, logger="router.control")
    sock = str(tmp_path / "control.sock")
    async with Plain(tmp_path / "control.sock") as c:
        code, out, err = await shell(capsys, "agent", "login", "1008", "--control", sock)
        assert code == 0, err
        assert "done: agent=1008 state=available" in out
        code, out, _ = await shell(capsys, "agent", "pause", "1008", "--reason", "午饭", "--control", sock)
        assert code == 0 and "state=paused reason=午饭" in out
        assert c.router.engine.agents["1008"].reason == "午饭"
        # The MQTT command checks apply: the same refusal text as on P/cmd/supervisor/unpause.
        code, _, err = await shell(capsys, "agent", "unpause", "1009", "--control", sock)
        assert code == 1 and "refused: agent 1009 is logged_out, not paused" in err
        code, _, err = await shell(capsys, "agent", "login", "9999", "--control", sock)
        assert code == 1 and "refused: unknown agent '9999'" in err
        first = c.pbx.place_call(dnis="4008001000", caller_name="甲")
        second = c.pbx.place_call(dnis="4008001000", caller_name="乙")
        await until(lambda: len(c.router.engine.line()) == 2)
        code, out, _ = await shell(capsys, "call", "priority", second, "60", "--control", sock)
        assert code == 0 and f"call={second} queue=sales priority=60" in out
        code, out, _ = await shell(capsys, "call", "move", first, "support", "--control", sock)
        assert code == 0 and "queue=support" in out
        assert c.router.engine.calls[first].queue == "support"
        assert [x.id for x in c.router.engine.line()] == [second, first]
        code, _, err = await shell(capsys, "call", "priority", second, "101", "--control", sock)
        assert code == 1 and "'priority' must be an integer 0-100" in err
        # Skills: kept over a config reload, as the MQTT bus keeps them.
        code, out, _ = await shell(capsys, "agent", "skills", "1008", "support=8", "sales=0", "--control", sock)
        assert code == 0 and "'support': 8" in out
        c.router.replace_table(TABLE)  # what a reload does
        assert c.router.table.agents["1008"].skills.get("support") == 8
        assert "sales" not in c.router.table.agents["1008"].skills
        # Audit: who did what, logged and published (the status view's recent actions).
        me = f"{__import__('pwd').getpwuid(os.getuid()).pw_name} (uid {os.getuid()})"
        lines = [r.getMessage() for r in caplog.records if r.name == "router.control"]
        assert f"control: {me}: pause agent=1008 reason=午饭: accepted" in lines
        assert f"control: {me}: unpause agent=1009: refused: agent 1009 is logged_out, not paused" in lines
        code, out, _ = await shell(capsys, "status", "--json", "--control", sock)
        recent = [r for r in json.loads(out)["recent"] if r["event"] == "control.command"]
        assert [(r["command"], r["ok"]) for r in recent] == [
            ("login", True), ("pause", True), ("unpause", False), ("login", False), ("priority", True),
            ("move", True), ("priority", False), ("skills", True)]
        assert all(r["user"] == me for r in recent)


async def test_commands_with_mqtt_take_the_bus_path_and_publish_the_reply(broker, tmp_path, capsys):
    sock = str(tmp_path / "control.sock")
    async with Centre(broker) as centre, \
            Listener(broker, "supervisor", ["router/reply/supervisor", "router/agent/1008/skills"]) as boss:
        control = ControlServer(centre.router, sock, TZ, bus=centre.bus)
        await control.start()
        try:
            code, _, err = await shell(capsys, "agent", "login", "1008", "--control", sock)
            assert code == 0, err
            code, _, _ = await shell(capsys, "agent", "skills", "1008", "support=8", "--control", sock)
            assert code == 0
            code, _, _ = await shell(capsys, "agent", "unpause", "1008", "--control", sock)
            assert code == 1
            rid = f"control:{__import__('pwd').getpwuid(os.getuid()).pw_name} (uid {os.getuid()})"
            await until(lambda: len(boss.replies("router/reply/supervisor", rid)) == 3)
            replies = boss.replies("router/reply/supervisor", rid)
            assert [(r["command"], r["ok"]) for r in replies] == [("login", True), ("skills", True),
                                                                  ("unpause", False)]
            assert replies[2]["reason"] == "agent 1008 is available, not paused"
            await until(lambda: (boss.last("router/agent/1008/skills") or {}).get("skills", {}).get("support") == 8)
            assert centre.bus.commands_ok == 2 and centre.bus.commands_refused == 1
        finally:
            await control.stop()


async def test_explain_a_waiting_call_says_why_it_waits(tmp_path, capsys):
    sock = str(tmp_path / "control.sock")
    async with Plain(tmp_path / "control.sock") as c:
        for agent in ("1002", "1014"):  # 1002 sales 9 (team sales), 1014 no sales skill
            assert (await shell(capsys, "agent", "login", agent, "--control", sock))[0] == 0
        assert (await shell(capsys, "agent", "pause", "1002", "--reason", "meeting", "--control", sock))[0] == 0
        call = c.pbx.place_call(dnis="4008001000", caller_name="李四")
        await until(lambda: len(c.router.engine.line()) == 1)
        code, out, err = await shell(capsys, "explain", "--call", call, "--control", sock)
        assert code == 0, err
        assert f"call {call}: 李四" in out
        assert "rule: sales-line [" in out and "queue sales; priority 10" in out
        assert "place 1 of 1 in the serving order" in out
        assert "step 1 of 4 (from 0s, queues.sales.escalation[1]): sales>=7 & team in sales" in out
        assert "next: at 20s in the queue" in out
        assert "  1002 王芳: paused (meeting)" in out
        assert "free agents (1), why each is not offered it:" in out
        assert "  1014 赵敏: no sales (needs 7)" in out
        code, out, _ = await shell(capsys, "status", "--json", "--control", sock)
        queues = {q["queue"]: q for q in json.loads(out)["pbxs"][0]["queues"]}
        assert (queues["sales"]["free"], queues["sales"]["busy"], queues["sales"]["paused"]) == (0, 0, 1)
        assert (queues["support"]["free"], queues["support"]["paused"]) == (1, 0)  # 1014: support 10
        code, _, err = await shell(capsys, "explain", "--call", "nope", "--control", sock)
        assert code == 1 and "no call 'nope' is waiting" in err


async def test_the_socket_is_private_and_not_taken_twice(tmp_path, capsys):
    sock = tmp_path / "run" / "control.sock"
    async with Plain(sock) as c:
        assert stat.S_IMODE(os.stat(sock).st_mode) == 0o660
        assert stat.S_IMODE(os.stat(sock.parent).st_mode) == 0o700
        second = ControlServer(c.router, str(sock), TZ)
        with pytest.raises(ControlError, match="in use by another running router"):
            await second.start()
        assert (await shell(capsys, "status", "--control", str(sock)))[0] == 0
    assert not sock.exists()
    code, _, err = await shell(capsys, "status", "--control", str(sock))
    assert code == 3 and f"no router serves {sock}" in err
    # A directory where anyone may swap the socket is refused.
    (tmp_path / "open").mkdir()
    os.chmod(tmp_path / "open", 0o777)
    with pytest.raises(ControlError, match="writable by everyone"):
        await ControlServer(c.router, str(tmp_path / "open" / "control.sock"), TZ).start()


def _read_until(fd: int, wanted, seconds: float) -> bytes:
    """Read the pty until wanted(data) holds (real seconds)."""
    data = b""
    deadline = time.monotonic() + seconds
    while not wanted(data):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; the terminal showed: {data[-2000:]!r}")
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        data += chunk
    return data


def test_status_watch_in_a_terminal_against_router_run_simulate(tmp_path):
    """`router status --watch` in a real terminal (a pty) redraws the
    screen every second while `router run --simulate` routes; Ctrl-C leaves
    it. The simulated run ends with its per-queue table and "stopped"; the
    screen then says no router answers, and keeps asking."""
    sock = str(tmp_path / "control.sock")
    router = Path(sys.executable).with_name("router")
    pid_file = tmp_path / "router.pid"
    run = subprocess.Popen([str(router), "run", str(ROOT / "config"), "--simulate", "--speed", "20",
                            "--duration", "2m", "--quiet", "--control", sock, "--pid-file", str(pid_file)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pid = None
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(sock):
            assert run.poll() is None and time.monotonic() < deadline, run.stderr.read() if run.poll() else "no socket"
            time.sleep(0.05)
        pid, fd = pty.fork()
        if pid == 0:  # the child: `router status --watch` on the terminal
            os.execv(str(router), [str(router), "status", "--watch", "--control", sock])
        frames = _read_until(fd, lambda d: d.count(b"\x1b[H\x1b[2J") >= 3 and d.endswith(b"Ctrl-C to leave)\r\n"), 20)
        # --pid-file works on the simulated run too: `router reload` reaches it.
        reload = subprocess.run([str(router), "reload", "--pid-file", str(pid_file)], capture_output=True, text=True)
        assert reload.returncode == 0, reload.stderr
        out, err = run.communicate(timeout=30)
        # The router is gone: the screen says so and keeps asking until Ctrl-C.
        gone = _read_until(fd, lambda d: b"no router serves" in d and d.endswith(b"Ctrl-C to leave)\r\n"), 10)
        assert gone.decode().split("\x1b[H\x1b[2J")[-1].startswith(f"router status: no router serves {sock}")
        os.write(fd, b"\x03")  # Ctrl-C, as the operator types it
        _, status = os.waitpid(pid, 0)
        pid = None
        os.close(fd)
        assert os.waitstatus_to_exitcode(status) == 130
        last = frames.decode("utf-8").split("\x1b[H\x1b[2J")[-1]
        assert "== pbx sim: AMI up" in last
        assert "王芳" in last and "SL 15m" in last
        stamps = [f.split("router status ", 1)[1][:19] for f in frames.decode().split("\x1b[H\x1b[2J")[1:]]
        assert len(set(stamps)) == len(stamps)  # each frame is a fresh reading
    finally:
        if pid is not None:  # the watch never left: no terminal process outlives the test
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        if run.poll() is None:
            run.send_signal(signal.SIGTERM)
            run.wait(10)
    assert run.returncode == 0, err
    lines = out.splitlines()
    assert "---- simulated time is up: 2m00s simulated" in lines[-8]
    assert lines[-7].split() == ["queue", "offered", "answered", "SL", "target", "ASA", "abandon", "overflow"]
    assert lines[-6].startswith("vip ") and "90%/10s" in lines[-6]
    assert 'msg=stopped' in err.splitlines()[-1]
    assert "configuration reloaded" in err
    assert not pid_file.exists()


async def test_a_router_on_asterisk_serves_the_control_socket_until_it_stops(tmp_path, capsys, monkeypatch):
    """`router run --ami` as a process (the control socket from
    $ROUTER_CONTROL), against the PBX simulator over TCP."""
    from router.config import load_config
    from test_process import SECRET, RouterProcess, quick_config

    sock = tmp_path / "ctl" / "control.sock"
    monkeypatch.setenv("ROUTER_CONTROL", str(sock))
    config = quick_config(tmp_path)
    pbx = PbxSimulator(load_config(config), speed=1.0, login_agents=False, secret=SECRET)
    await pbx.start()
    router = RouterProcess(tmp_path, config, pbx.port)
    try:
        await router.start()
        await until(lambda: sock.exists(), 5)
        code, out, err = await shell(capsys, "agent", "login", "1028")  # the socket from $ROUTER_CONTROL
        assert code == 0 and "state=available" in out, err
        code, out, _ = await shell(capsys, "status", "--json")
        (status,) = json.loads(out)["pbxs"]
        assert status["pbx"] == "sim" and status["connected"] is True
        assert {a["agent"]: a["state"] for a in status["agents"]}["1028"] == "available"
        router.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(router.proc.wait(), 15) == 0
        assert not sock.exists()
        assert any(m.startswith("control: ") and "login agent=1028: accepted" in m for m in router.log_messages())
    finally:
        if router.proc is not None and router.proc.returncode is None:
            router.proc.kill()
            await router.proc.wait()
        await pbx.stop()
