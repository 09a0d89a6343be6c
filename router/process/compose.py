"""The composition root: the one place that builds the router's object graph,
for every mode: `router run` on real Asterisk servers, `router run
--simulate` on the built-in PBX simulator, the end-to-end tests and the
benchmarks.

`build(options)` wires, and starts nothing; `App.start()` brings the parts
up in order (simulator, metrics, links, tuned GC, MQTT bus, control socket,
pid file, signals) and `App.stop()` takes them down in reverse. What a
mode does while the App runs (wait for a signal, print a summary every
second) is the caller's business (router/present/run_modes.py).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

from router.process import heap

from router.process import ops
from router.runtime.clock import Clock
from router.core.table import RoutingTable
from router.runtime.daemon import Router

log = logging.getLogger("router")


@dataclass(frozen=True)
class PbxAddress:
    """One Asterisk AMI to connect to."""

    name: str
    host: str
    port: int
    username: str
    secret: str


@dataclass(frozen=True)
class Simulation:
    """The built-in PBX simulator (router/sim/pbx), served on loopback TCP
    and run at the App's clock speed; the router connects to it as "sim"."""

    seed: int = 1
    calls_per_hour: float = 0.0
    behaviour: Any = None  # router.sim.traffic.Behaviour; None: the simulator's default
    login_agents: bool = True
    hold_limit: float | None = None  # None: the simulator's default


@dataclass(frozen=True)
class Options:
    """Everything that decides the shape of a running router. Only `table`
    is needed; the rest is off (None, empty) unless given."""

    table: RoutingTable
    pbxs: tuple[PbxAddress, ...] = ()
    simulation: Simulation | None = None
    #: Simulated seconds per real second (1.0: wall-clock time) and the
    #: clock's start (None: now).
    speed: float = 1.0
    start: float | None = None
    state_file: str | None = None
    config_dir: str | None = None  # what SIGHUP and the MQTT reload read
    http: tuple[str, int] | None = None  # /metrics and /healthz
    mqtt: Any = None  # router.mqtt.MqttSettings
    control: str | None = None  # the control API's Unix socket
    pid_file: str | None = None
    on_publish: Callable | None = None  # the console printer (router/present/run_modes.py)
    link: dict = field(default_factory=dict)  # options of every AMI Link (reconnect, ping_interval, ...)
    resync_timeout: float = 10.0
    tuned_gc: bool = False  # short full collections (router/process/heap.py), as `router run` runs
    signals: bool = False  # SIGINT/SIGTERM set App.stopping; SIGHUP reloads config_dir
    out: Any = None  # where the start-up lines go (None: stdout)
    tz: Any = None  # the zone the control API shows times in
    records: Any = None  # router.records.setup.RecordsSettings: the call and agent records


class App:
    """The parts of one running router, as `build` wired them."""

    def __init__(self, options: Options, router: Router, simulator=None, own_simulator: bool = True) -> None:
        self.options = options
        self.router = router
        self.simulator = simulator  # router.sim.pbx.PbxSimulator, or None
        #: False when `build` was handed a running simulator: then the App
        #: neither starts nor stops it.
        self.owns_simulator = own_simulator
        self.metrics = None
        self.bus = None
        self.control = None
        self.records = None  # router.records.subscriber.RecordsSubscriber
        #: Set by SIGINT/SIGTERM (with options.signals).
        self.stopping = asyncio.Event()
        self._signals = False

    @property
    def out(self):
        return self.options.out or sys.stdout

    async def start(self, announce: Callable[["App"], None] | None = None) -> None:
        """Bring every part up; on return the links are connecting.
        `announce(app)` is called once the simulator listens (its port is
        known), before anything else starts."""
        o, router = self.options, self.router
        if self.simulator is not None:
            if self.owns_simulator:
                await self.simulator.start()
                router.clock.anchor()  # simulated time starts with the routing, not with the build
            sim = self.simulator
            router.add_pbx("sim", "127.0.0.1", sim.port, sim.username, sim.secret, **o.link)
        if announce is not None:
            announce(self)
        if o.http is not None:
            await self._serve_metrics(*o.http)
        if o.signals:
            reload = (lambda: router.request_reload(o.config_dir)) if o.config_dir else None
            ops.install_signals(self.stopping, reload)
            self._signals = True
        if o.pid_file and self.simulator is None:
            ops.write_pid_file(o.pid_file)
        if o.records is not None:  # before the state file and the first resync: their facts are on record
            self._start_records()
        await router.start()
        if o.tuned_gc:
            heap.install(asyncio.get_running_loop())
        if o.mqtt is not None:
            self._start_bus()
        if o.control is not None:
            await self._serve_control(o.control)
        if o.pid_file and self.simulator is not None:  # for `router reload --pid-file`
            ops.write_pid_file(o.pid_file)

    async def stop(self) -> None:
        """Take every part down: the control socket first (no command
        during the stop), then the bus (it publishes through the router),
        the router (it saves the state file) and its PBX, and the process
        plumbing (signals kept until the router is down), the metrics last."""
        o = self.options
        if self.control is not None:
            await self.control.stop()
            self.control = None
        if self.bus is not None:
            await self.bus.stop()
            self.bus = None
        await self.router.stop()
        if self.records is not None:  # after the router: its last facts are on record
            self.records.stop()
            self.records = None
        if self.simulator is not None and self.owns_simulator:
            await self.simulator.stop()
        if o.tuned_gc:
            heap.uninstall()
        if self._signals:
            ops.remove_signals()
            self._signals = False
        if o.pid_file:
            ops.remove_pid_file(o.pid_file)
        if self.metrics is not None:
            await self.metrics.stop()
            self.metrics = None

    async def _serve_metrics(self, host: str, port: int) -> None:
        from router.metrics import Metrics

        self.metrics = Metrics(self.router)
        self.router.attach_metrics(self.metrics)
        bound = await self.metrics.serve(host, port)
        print(f"metrics on http://{host}:{bound}/metrics (health on /healthz)", file=self.out, flush=True)

    def _start_records(self) -> None:
        """The records subscriber (router/records/), its checkpoint restored."""
        from router.records.setup import open_records

        router = self.router
        registry = self.metrics.registry if self.metrics is not None else None
        self.records = open_records(self.options.records, lambda: router.table, registry=registry,
                                    db_process=True)
        self.records.start(router.clock.now)
        router.subscribe(self.records, "records")

    def _start_bus(self) -> None:
        from router.mqtt import MqttBus

        self.bus = MqttBus(self.router, self.options.mqtt, config_dir=self.options.config_dir)
        self.bus.start()

    async def _serve_control(self, path: str) -> None:
        """A socket that cannot be served is logged, not fatal: routing
        matters more than the shell's view of it."""
        from router.control import ControlError, ControlServer

        server = ControlServer(self.router, path, self.options.tz, bus=self.bus)
        try:
            await server.start()
        except ControlError as err:
            log.warning("control: %s; `router status` and the agent/call commands are off", err)
            await server.stop()
            return
        self.control = server
        print(f"control socket {path} (router status --control {path})", file=self.out, flush=True)


def build(options: Options, *, simulator=None) -> App:
    """The object graph for `options`, not started. `simulator`: a running
    PBX simulator to connect to instead of making one (a test that restarts
    the router on the same PBX); the App then neither starts nor stops it."""
    o = options
    router = Router(o.table, Clock(o.speed, start=o.start), state_file=o.state_file,
                    resync_timeout=o.resync_timeout)
    if o.on_publish is not None:
        router.subscribe(o.on_publish, "console")
    for p in o.pbxs:
        router.add_pbx(p.name, p.host, p.port, p.username, p.secret, **o.link)
    own = simulator is None
    if simulator is None and o.simulation is not None:
        from router.sim.pbx import PbxSimulator

        s = o.simulation
        extra = {} if s.hold_limit is None else {"hold_limit": s.hold_limit}
        if s.behaviour is not None:
            extra["behaviour"] = s.behaviour
        simulator = PbxSimulator(o.table, speed=o.speed, seed=s.seed, calls_per_hour=s.calls_per_hour,
                                 login_agents=s.login_agents, **extra)
    return App(o, router, simulator, own_simulator=own)
