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
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from router import heap
from router.core.commands import Publish
from router.core.table import RoutingTable
from router.daemon import Clock, Router
from router.output import clock as stamp_of, describe
from router.stats import summary_lines

log = logging.getLogger("router")


@dataclass(frozen=True)
class PbxAddress:
    name: str
    host: str
    port: int
    username: str
    secret: str


def _printer(tz: ZoneInfo, quiet: bool, out):
    def on_publish(p: Publish, now: float) -> None:
        if quiet:
            return
        line = describe(p)
        if line is not None and not p.kind.startswith("agent."):
            print(f"{stamp_of(now, tz)}  {line}", file=out, flush=True)
    return on_publish


async def _serve_metrics(router: Router, http: tuple[str, int] | None, out):
    """Start /metrics and /healthz on `http` (host, port); None: no server."""
    if http is None:
        return None
    from router.metrics import Metrics

    metrics = Metrics(router)
    router.attach_metrics(metrics)
    port = await metrics.serve(*http)
    print(f"metrics on http://{http[0]}:{port}/metrics (health on /healthz)", file=out, flush=True)
    return metrics


async def _serve_control(router: Router, control: str | None, tz: ZoneInfo, bus, out):
    """The control API (router/control/) on the Unix socket `control`;
    None: off. A socket that cannot be served is logged, not fatal: routing
    matters more than the shell's view of it."""
    if control is None:
        return None
    from router.control import ControlError, ControlServer

    server = ControlServer(router, control, tz, bus=bus)
    try:
        await server.start()
    except ControlError as err:
        log.warning("control: %s; `router status` and the agent/call commands are off", err)
        await server.stop()
        return None
    print(f"control socket {control} (router status --control {control})", file=out, flush=True)
    return server


def _start_records(router: Router, records, metrics):
    """The records subscriber (router/records/) on the router's facts, its
    checkpoint restored; None without --records. Before `router.start()`:
    the facts of the state file and the first resync are on record too."""
    if records is None:
        return None
    from router.records.setup import open_records

    subscriber = open_records(records, lambda: router.table, registry=metrics.registry if metrics else None)
    subscriber.start(router.clock.now)
    router.listeners.append(subscriber)
    return subscriber


def _stop_records(subscriber) -> None:
    if subscriber is not None:
        subscriber.stop()


def _start_bus(router: Router, mqtt, config_path: str | None):
    """The MQTT bus on this router, or None without --mqtt."""
    if mqtt is None:
        return None
    from functools import partial

    from router.config import check_config
    from router.mqtt import MqttBus

    bus = MqttBus(router, mqtt, load_config=partial(check_config, config_path) if config_path else None)
    bus.start()
    return bus


async def run_daemon(table: RoutingTable, pbxs: list[PbxAddress], *, tz: ZoneInfo, quiet: bool = False,
                     out=None, state_file: str | None = None, config_dir: str | None = None,
                     pid_file: str | None = None, http: tuple[str, int] | None = None,
                     mqtt=None, control: str | None = None, records=None) -> int:
    """Route calls on real Asterisk servers until SIGINT/SIGTERM (graceful
    stop, see router/reload.py); SIGHUP reloads `config_dir`."""
    from router import ops

    ops.hold_signals()  # before anything else (cli's cmd_run holds them earlier still)
    out = out or sys.stdout
    if state_file is None:
        log.warning("no --state-file: after a restart every agent must log in again")
    router = Router(table, Clock(), on_publish=_printer(tz, quiet, out), state_file=state_file)
    for p in pbxs:
        router.add_pbx(p.name, p.host, p.port, p.username, p.secret)
    metrics = await _serve_metrics(router, http, out)
    stop = asyncio.Event()
    ops.install_signals(stop, (lambda: router.request_reload(config_dir)) if config_dir else None)
    if pid_file:
        ops.write_pid_file(pid_file)
    bus = control_server = subscriber = None
    try:
        subscriber = _start_records(router, records, metrics)
        await router.start()
        heap.install(asyncio.get_running_loop())  # short full GCs (router/heap.py)
        bus = _start_bus(router, mqtt, config_dir)
        control_server = await _serve_control(router, control, tz, bus, out)
        log.info("router running: %d pbx(s), config digest %s", len(pbxs), table.digest[:12])
        await stop.wait()
        log.info("stopping (signal): draining")
        await router.drain(ops.drain_timeout(router.table))
        if bus is not None:
            await bus.stop()
        await router.stop()
    finally:
        _stop_records(subscriber)
        if control_server is not None:
            await control_server.stop()
        heap.uninstall()
        ops.remove_signals()
        if pid_file:
            ops.remove_pid_file(pid_file)
        if metrics is not None:
            await metrics.stop()
    log.info("stopped")
    return 0


async def run_simulated(table: RoutingTable, *, tz: ZoneInfo, start: float, duration: float, speed: float,
                        seed: int, calls_per_hour: float, quiet: bool = False, out=None,
                        http: tuple[str, int] | None = None, config_dir: str | None = None, mqtt=None,
                        control: str | None = None, pid_file: str | None = None, records=None) -> int:
    """Route a simulated contact centre, printed live; at the end the
    per-queue table of `router simulate`."""
    from router import ops
    from router.ops import hold_signals
    from router.sim.run import report
    from router.sim.pbx import PbxSimulator

    hold_signals()
    out = out or sys.stdout
    pbx = PbxSimulator(table, speed=speed, seed=seed, calls_per_hour=calls_per_hour)
    port = await pbx.start()
    clock = Clock(speed, start=start)
    router = Router(table, clock, on_publish=_printer(tz, quiet, out))
    router.add_pbx("sim", "127.0.0.1", port, pbx.username, pbx.secret)
    print(f"simulated PBX on 127.0.0.1:{port}; routing {duration:.0f}s of simulated time from "
          f"{datetime.fromtimestamp(start, tz):%Y-%m-%d %H:%M} {tz.key} (UTC{datetime.fromtimestamp(start, tz):%z}) "
          f"at {calls_per_hour:.0f} calls/h, "
          f"{speed:g}x real time, seed {seed}", file=out, flush=True)
    metrics = await _serve_metrics(router, http, out)
    stop = asyncio.Event()
    from router.ops import install_signals
    # SIGINT/SIGTERM stop; SIGHUP reloads, as in run_daemon.
    install_signals(stop, (lambda: router.request_reload(config_dir)) if config_dir else None)
    subscriber = _start_records(router, records, metrics)
    await router.start()
    heap.install(asyncio.get_running_loop())  # short full GCs (router/heap.py)
    bus = _start_bus(router, mqtt, config_dir)
    control_server = await _serve_control(router, control, tz, bus, out)
    if pid_file:  # for `router reload --pid-file`
        ops.write_pid_file(pid_file)
    try:
        loop = asyncio.get_running_loop()
        end = loop.time() + duration / speed
        while not stop.is_set() and loop.time() < end:
            try:
                await asyncio.wait_for(stop.wait(), timeout=min(1.0, max(0.0, end - loop.time())))
            except asyncio.TimeoutError:
                pass
            now = clock.now()
            stamp = stamp_of(now, tz)
            link = "up" if all(router.connected.values()) else "DOWN"
            bus_line = "" if bus is None else (f", MQTT {'up' if bus.connected else 'DOWN'} "
                                               f"({bus.published} sent, {bus.dropped} dropped)")
            print(f"{stamp}  ---- AMI {link}, {router.events_handled} events{bus_line}", file=out, flush=True)
            for line in summary_lines(router.engine, router.tally, now):
                print(f"{stamp}  {line}", file=out, flush=True)
    finally:
        if control_server is not None:
            await control_server.stop()
        if pid_file:
            ops.remove_pid_file(pid_file)
        heap.uninstall()
        if bus is not None:
            await bus.stop()
        await router.stop()
        _stop_records(subscriber)
        await pbx.stop()
        if metrics is not None:
            await metrics.stop()
    ended = "stopped by signal" if stop.is_set() else "simulated time is up"
    print(f"{stamp_of(clock.now(), tz)}  ---- {ended}: "
          f"{_seconds(clock.now() - start)} simulated, {router.events_handled} events", file=out)
    print(report(router.tally), file=out, flush=True)
    log.info("stopped")
    return 0


def _seconds(value: float) -> str:
    minutes, seconds = divmod(int(value), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"
