"""Throughput: AMI events per second with routing active, against the same
byte stream parsed by panoramisk alone (the ceiling of the AMI client).

The stream is recorded from the PBX simulator (trace-faithful event flows):
`agents` agents log in by feature code, then callers arrive at a high rate
and hold for the router (Newchannel, VarSet, Newexten, UserEvent
RouterCallWaiting, MusicOnHold, some hang up...). A dumb AMI server in a
child process accepts the login, answers the resync listings (empty) and
every action with Success, then writes the whole stream at once, ended by a
`UserEvent: BenchEnd`. Measured: from the first byte written to BenchEnd
handled by the client, in the same run for:

- routed: router.daemon.Router (our framing, translation, the engine
  classifying and dispatching every call, Originates written back);
- baseline: a bare panoramisk Manager with its own parser and one
  catch-all event handler that does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import time

from bench.tables import call_mix, make_table
from router.process.compose import Options, PbxAddress, build

END = b"Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: BenchEnd\r\n\r\n"


def record_stream(agents: int, calls: int, seed: int = 1) -> tuple[bytes, int]:
    """(AMI bytes, number of events) of `agents` logging in and `calls`
    callers arriving, as the simulator broadcasts them."""
    import random

    from router.sim.pbx import PbxSimulator

    chunks: list[bytes] = []

    async def main() -> None:
        table = make_table(agents, seed)
        pbx = PbxSimulator(table, speed=1000.0, seed=seed, hold_limit=10 ** 6)
        pbx.world._broadcast = lambda data, category: chunks.append(data)
        pbx.clock.start()
        pbx.client_logged_in()  # agents log in now, as at the start of a shift
        await asyncio.sleep(0.05)
        rng = random.Random(seed)
        for i in range(calls):
            dnis, variables = call_mix(rng)
            pbx.place_call(dnis, f"1380000{i:05d}", "王小明", variables,
                           patience=rng.expovariate(1 / 30.0))
            if i % 100 == 99:
                await asyncio.sleep(0.001)  # some callers give up meanwhile
        await asyncio.sleep(0.05)
        pbx.clock.cancel_all()

    asyncio.run(main())
    data = b"".join(chunks)
    return data, data.count(b"\r\n\r\n")


async def _serve(conn, stream: bytes) -> None:
    from router.sim.pbx.protocol import Framer

    done = asyncio.Event()

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        framer = Framer()
        while True:
            try:
                data = await reader.read(65536)
            except (ConnectionError, OSError):  # the client went away: next measurement
                break
            if not data:
                break
            for msg in framer.feed(data):
                action = msg.get("Action").lower()
                aid = msg.get("ActionID")
                head = f"Response: Success\r\nActionID: {aid}\r\n"
                if action in ("coreshowchannels", "status", "devicestatelist"):
                    complete = {"coreshowchannels": "CoreShowChannelsComplete", "status": "StatusComplete",
                                "devicestatelist": "DeviceStateListComplete"}[action]
                    writer.write(f"{head}EventList: start\r\nMessage: listing follows\r\n\r\n"
                                 f"Event: {complete}\r\nActionID: {aid}\r\nEventList: Complete\r\n"
                                 f"ListItems: 0\r\n\r\n".encode())
                elif action == "login":
                    writer.write(f"{head}Message: Authentication accepted\r\n\r\n".encode())
                    loop.call_soon(lambda: conn.send("ready"))
                else:
                    writer.write(f"{head}Message: ok\r\n\r\n".encode())
        done.set()

    loop = asyncio.get_running_loop()
    server = await asyncio.start_server(session, "127.0.0.1", 0)
    conn.send(server.sockets[0].getsockname()[1])
    for _ in range(2):  # one client per measurement
        while not conn.poll():
            await asyncio.sleep(0.01)
        conn.recv()  # "blast"
        writers = [w for w in _WRITERS]
        _WRITERS.clear()
        for w in writers:
            w.write(stream + END)
        done.clear()
        await done.wait()
    server.close()


_WRITERS: list = []


def _server_process(conn, stream: bytes) -> None:
    # Capture each session's writer for the blast (set by start_server).
    orig = asyncio.StreamWriter.__init__

    def init(self, *args, **kwargs):
        orig(self, *args, **kwargs)
        _WRITERS.append(self)

    asyncio.StreamWriter.__init__ = init
    asyncio.run(_serve(conn, stream))


async def _routed(conn, port: int, agents: int, seed: int) -> float:
    # The dumb server answers actions only after the whole blast (same
    # socket), so the router's Hangups time out and it says so per action.
    logging.getLogger("router").setLevel(logging.CRITICAL)
    try:
        return await _routed_quietly(conn, port, agents, seed)
    finally:
        logging.getLogger("router").setLevel(logging.NOTSET)


async def _routed_quietly(conn, port: int, agents: int, seed: int) -> float:
    table = make_table(agents, seed)
    app = build(Options(table, pbxs=(PbxAddress("bench", "127.0.0.1", port, "router", "x"),),
                        link={"ping_interval": 3600}))
    router, link = app.router, app.router.links["bench"]
    finished = asyncio.get_running_loop().create_future()
    route = link._on_message  # the router's own handler; BenchEnd is looked for in front of it

    def on_message(link_, msg) -> None:
        if msg.get("UserEvent") == "BenchEnd" and not finished.done():
            finished.set_result(time.perf_counter())
        route(link_, msg)

    link._on_message = on_message
    await app.start()
    while router.resyncs.get("bench", 0) < 1:
        await asyncio.sleep(0.01)
    t0 = time.perf_counter()
    conn.send("blast")
    t1 = await finished
    routed_calls = len(router.engine.calls)
    await app.stop()
    return t1 - t0, routed_calls


async def _baseline(conn, port: int) -> float:
    from panoramisk import Manager

    manager = Manager(host="127.0.0.1", port=port, username="router", secret="x",
                      ping_delay=10 ** 9, ping_interval=10 ** 9)
    finished = asyncio.get_running_loop().create_future()
    manager.register_event("*", lambda m, msg: None)
    manager.register_event("UserEvent", lambda m, msg: msg.get("UserEvent") == "BenchEnd"
                           and not finished.done() and finished.set_result(time.perf_counter()))
    await manager.connect()
    await asyncio.sleep(0.2)
    t0 = time.perf_counter()
    conn.send("blast")
    t1 = await finished
    manager.close()
    return t1 - t0


def throughput(agents: int = 1000, calls: int = 20000, seed: int = 1) -> dict:
    """Events/s routed and for bare panoramisk, on one recorded stream."""
    stream, events = record_stream(agents, calls, seed)
    ctx = mp.get_context("fork")
    here, there = ctx.Pipe()
    child = ctx.Process(target=_server_process, args=(there, stream), daemon=True)
    child.start()
    try:
        port = here.recv()
        base = asyncio.run(_baseline(here, port))
        here.recv()  # "ready" from the first login
        routed, calls_in_engine = asyncio.run(_routed(here, port, agents, seed))
    finally:
        child.join(5)
        if child.is_alive():
            child.kill()
    return {"agents": agents, "events": events, "bytes": len(stream),
            "baseline_events_per_s": events / base, "routed_events_per_s": events / routed,
            "ratio": base / routed, "calls_in_engine": calls_in_engine}
