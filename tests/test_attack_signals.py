"""Signals at awkward times (issue 13, items 11 and 14): a SIGHUP reload
reads and compiles the config off the event loop (and refuses an oversized
one unread), and a SIGHUP that comes while `router run` is still starting
does not kill it."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from router.process import ops
from router.config import load_config
from router.core import events as ev
from router.runtime.daemon import Clock, Router
from router.sim.pbx import PbxSimulator
from test_process import SECRET, RouterProcess, quick_config
from test_reload import config_copy, teach_1001_support
from support.waiting import until

ROOT = Path(__file__).resolve().parent.parent


async def test_a_sighup_reload_reads_the_config_off_the_event_loop(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    config = config_copy(tmp_path, teach_1001_support)
    router = Router(load_config(ROOT / "config"), Clock())
    old = router.table
    stop = asyncio.Event()
    ops.install_signals(stop, lambda: router.request_reload(str(config)))
    loop = asyncio.get_running_loop()
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: router._reloading is not None)  # the handler ran: the reload is under way
        # Routing goes on while the config is read and checked: this event
        # is handled before the swap (in the loop, the swap would come first).
        seen = []
        loop.call_soon(lambda: seen.append(router.table is old))
        router.feed(ev.AgentLogin("1001"))
        assert router.engine.agents["1001"].status.value == "available"
        await until(lambda: router.table is not old, 10)
        assert seen == [True] and router.reload_ok
        assert "support" in router.table.agents["1001"].skills
        # Two SIGHUPs while a reload runs: one more reload after it, not two.
        for _ in range(2):
            os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: router._reloading is not None)
        await until(lambda: router._reloading is None, 10)
        assert sum("configuration reloaded" in r.getMessage() for r in caplog.records) in (2, 3)
    finally:
        ops.remove_signals()
        await router.stop()


async def test_an_oversized_config_is_refused_unread_and_the_running_one_stays(tmp_path, caplog):
    from router.runtime.reload import MAX_CONFIG_BYTES

    config = config_copy(tmp_path)
    with open(config / "zz-comments.yaml", "w", encoding="utf-8") as handle:
        handle.write("# " + "x" * (MAX_CONFIG_BYTES + 10) + "\n")
    router = Router(load_config(ROOT / "config"), Clock())
    old = router.table
    try:
        task = router.request_reload(str(config))
        await task
        assert router.table is old and router.reload_ok is False
        assert any("over the 8 MB limit; not read" in r.getMessage() for r in caplog.records)
    finally:
        await router.stop()


class EarlyRouter(RouterProcess):
    """`router run` with its MQTT password in a FIFO: the process blocks
    reading it (while still parsing its options), which lets the test send
    a SIGHUP at a moment it controls."""

    async def start_blocked(self, fifo: Path) -> None:
        self.runs += 1
        self.err = self.tmp / f"stderr.{self.runs}"
        self.out = self.tmp / f"stdout.{self.runs}"
        env = {k: v for k, v in os.environ.items() if k not in ("ROUTER_AMI_SECRET", "ROUTER_MQTT_PASSWORD")}
        with open(self.err, "wb") as err, open(self.out, "wb") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "router", "run", str(self.config), "--ami", f"sim=127.0.0.1:{self.port}",
                "--ami-user", "router", "--ami-secret-file", str(self.tmp / "secret"),
                "--state-file", str(self.state_file), "--log-format", "json",
                "--mqtt", "127.0.0.1:1", "--mqtt-user", "router", "--mqtt-password-file", str(fifo),
                stdout=out, stderr=err, env=env, cwd=str(self.tmp))


async def test_a_sighup_while_the_router_starts_is_a_reload_not_a_death(tmp_path):
    config = quick_config(tmp_path)
    pbx = PbxSimulator(load_config(config), speed=1.0, login_agents=False, secret=SECRET)
    await pbx.start()
    router = EarlyRouter(tmp_path, config, pbx.port)
    fifo = tmp_path / "mqtt-password"
    os.mkfifo(fifo)
    try:
        await router.start_blocked(fifo)
        opened = threading.Event()

        def writer():
            with open(fifo, "w", encoding="utf-8") as handle:  # returns once the router opened it
                opened.set()
                gate.wait(20)
                handle.write("pw\n")

        gate = threading.Event()
        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        await until(opened.is_set, 20)
        router.proc.send_signal(signal.SIGHUP)  # the router is still reading its options
        await asyncio.sleep(0)
        gate.set()
        await until(lambda: "state rebuilt" in router.log_text(), 20)
        await until(lambda: any("configuration reloaded" in m for m in router.log_messages()), 10)
        assert router.proc.returncode is None
        assert any("a SIGHUP came while starting" in m for m in router.log_messages())
        assert await router.stop() == 0
    finally:
        await router.reap()
        await pbx.stop()
