"""`router run`: the daemon, against real Asterisk servers or against the
built-in PBX simulator over loopback TCP (`--simulate`).

With --simulate the whole contact centre is simulated at `speed` simulated
seconds per real second, and every real second one summary line per queue
is printed: waiting, longest wait, service level, agents free.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from router.process import ops
from router.process.compose import Options, PbxAddress, Simulation, build
from router.core.facts import AgentStateChanged, Fact
from router.core.table import RoutingTable
from router.present.console import clock as stamp_of, describe
from router.runtime.tally import summary_lines

log = logging.getLogger("router")


__all__ = ["PbxAddress", "run_daemon", "run_simulated"]


def _printer(tz: ZoneInfo, quiet: bool, out):
    """The console's subscriber: one line per decision (router/present/console.py),
    agent state changes left out."""
    def print_fact(fact: Fact, now: float) -> None:
        if quiet or isinstance(fact, AgentStateChanged):
            return
        line = describe(fact)
        if line is not None:
            print(f"{stamp_of(now, tz)}  {line}", file=out, flush=True)
    return print_fact


async def run_daemon(table: RoutingTable, pbxs: list[PbxAddress], *, tz: ZoneInfo, quiet: bool = False,
                     out=None, state_file: str | None = None, config_dir: str | None = None,
                     pid_file: str | None = None, http: tuple[str, int] | None = None,
                     mqtt=None, control: str | None = None, records=None) -> int:
    """Route calls on real Asterisk servers until SIGINT/SIGTERM (graceful
    stop, see router/runtime/reload.py); SIGHUP reloads `config_dir`."""
    ops.hold_signals()  # before anything else (cli's cmd_run holds them earlier still)
    out = out or sys.stdout
    if state_file is None:
        log.warning("no --state-file: after a restart every agent must log in again")
    app = build(Options(table, pbxs=tuple(pbxs), state_file=state_file, config_dir=config_dir, http=http,
                        mqtt=mqtt, control=control, pid_file=pid_file, on_publish=_printer(tz, quiet, out),
                        tuned_gc=True, signals=True, out=out, tz=tz, records=records))
    router = app.router
    try:
        await app.start()
        log.info("router running: %d pbx(s), config digest %s", len(pbxs), table.digest[:12])
        await app.stopping.wait()
        log.info("stopping (signal): draining")
        await router.drain(ops.drain_timeout(router.table))
    finally:
        await app.stop()
    log.info("stopped")
    return 0


async def run_simulated(table: RoutingTable, *, tz: ZoneInfo, start: float, duration: float, speed: float,
                        seed: int, calls_per_hour: float, quiet: bool = False, out=None,
                        http: tuple[str, int] | None = None, config_dir: str | None = None, mqtt=None,
                        control: str | None = None, pid_file: str | None = None, records=None) -> int:
    """Route a simulated contact centre, printed live; at the end the
    per-queue table of `router simulate`."""
    from router.sim.simulate import report

    ops.hold_signals()
    out = out or sys.stdout
    app = build(Options(table, simulation=Simulation(seed=seed, calls_per_hour=calls_per_hour), speed=speed,
                        start=start, config_dir=config_dir, http=http, mqtt=mqtt, control=control,
                        pid_file=pid_file, on_publish=_printer(tz, quiet, out), tuned_gc=True, signals=True,
                        out=out, tz=tz, records=records))
    router, clock, stop = app.router, app.router.clock, app.stopping
    at = datetime.fromtimestamp(start, tz)

    def announce(app) -> None:
        print(f"simulated PBX on 127.0.0.1:{app.simulator.port}; routing {duration:.0f}s of simulated time from "
              f"{at:%Y-%m-%d %H:%M} {tz.key} (UTC{at:%z}) at {calls_per_hour:.0f} calls/h, "
              f"{speed:g}x real time, seed {seed}", file=out, flush=True)

    try:
        await app.start(announce)
        loop = asyncio.get_running_loop()
        end = loop.time() + duration / speed
        while not stop.is_set() and loop.time() < end:
            try:
                await asyncio.wait_for(stop.wait(), timeout=min(1.0, max(0.0, end - loop.time())))
            except asyncio.TimeoutError:
                pass
            now = clock.now()
            stamp = stamp_of(now, tz)
            bus = app.bus
            link = "up" if all(router.connected.values()) else "DOWN"
            bus_line = "" if bus is None else (f", MQTT {'up' if bus.connected else 'DOWN'} "
                                               f"({bus.published} sent, {bus.dropped} dropped)")
            print(f"{stamp}  ---- AMI {link}, {router.events_handled} events{bus_line}", file=out, flush=True)
            for line in summary_lines(router.engine, router.tally, now):
                print(f"{stamp}  {line}", file=out, flush=True)
    finally:
        await app.stop()
    ended = "stopped by signal" if stop.is_set() else "simulated time is up"
    print(f"{stamp_of(clock.now(), tz)}  ---- {ended}: "
          f"{_seconds(clock.now() - start)} simulated, {router.events_handled} events", file=out)
    print(report(router.tally), file=out, flush=True)
    log.info("stopped")
    return 0


def _seconds(value: float) -> str:
    minutes, seconds = divmod(int(value), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"
