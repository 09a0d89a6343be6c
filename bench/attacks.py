"""The slow attacks of the standing attack suite (issue 13), with the
figures the README's fault table quotes. Each prints what it measured;
nothing is asserted (tests/test_attack_*.py reproduce each attack and check
the outcome; this measures how long recovery takes and what the loop felt).

    .venv/bin/python bench/attacks.py            # all, about a minute
    .venv/bin/python bench/attacks.py reload http ami

- reload: a SIGHUP reload of a 5,000-agent config. The longest stall of
  the event loop while it is read and checked: in the loop (the old way,
  `reload_router`) and in a worker thread (`Router.request_reload`).
- http: 500 clients scraping /metrics at once, for a few seconds: the
  event loop's lateness (a timer due every 10 ms: how late it ran, the
  delay an event would have seen) and how many scrapes got 200 or 503.
- ami: a PBX that refuses connections for a while, then comes back: time
  from its return to the login; and a listing that answers errors for a
  while: time from the first good answer to the state rebuilt. Default
  back-off settings (1 s doubling to 30 s; rebuild 1 s doubling to 30 s).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the scripted fake Asterisk

from router.config import load_config  # noqa: E402
from router.runtime.daemon import Clock, Router  # noqa: E402


class Lateness:
    """A timer due every `period` seconds; records how late each one ran."""

    def __init__(self, period: float = 0.01) -> None:
        self.period, self.late = period, []
        self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.period
            await asyncio.sleep(self.period)
            self.late.append(loop.time() - due)

    def __enter__(self):
        self._task = asyncio.ensure_future(self._run())
        return self

    def __exit__(self, *exc):
        self._task.cancel()

    def summary(self) -> str:
        if not self.late:
            return "no samples"
        ms = sorted(x * 1000 for x in self.late)
        return f"p50 {statistics.median(ms):.1f} ms, p99 {ms[int(len(ms) * 0.99) - 1]:.1f} ms, max {ms[-1]:.1f} ms"


def big_config(target: Path, agents: int) -> Path:
    """The sample config with `agents` agents (copies of 1001's line-up)."""
    shutil.copytree(ROOT / "config", target)
    text = (target / "agents.yaml").read_text(encoding="utf-8")
    extra = "".join(f'  - id: "{9000 + n}"\n    name: "坐席{n}"\n    endpoint: PJSIP/{9000 + n}\n    team: sales\n'
                    f"    skills: {{sales: 5, general: 5, mandarin: 10}}\n" for n in range(agents - 42))
    text = re.sub(r"(\nagents:\n)", lambda m: m.group(1) + extra, text, count=1)
    (target / "agents.yaml").write_text(text, encoding="utf-8")
    return target


async def bench_reload(agents: int = 5_000) -> None:
    from router.runtime.reload import reload_router

    with tempfile.TemporaryDirectory() as tmp:
        config = big_config(Path(tmp) / "config", agents)
        router = Router(load_config(ROOT / "config"), Clock())
        for way in ("in the loop", "in a thread"):
            with Lateness() as lag:
                await asyncio.sleep(0.1)
                started = time.perf_counter()
                if way == "in the loop":
                    ok = reload_router(router, str(config))
                else:
                    await router.request_reload(str(config))
                    ok = router.reload_ok
                took = time.perf_counter() - started
                await asyncio.sleep(0.1)
            print(f"reload of {len(router.table.agents)} agents {way}: ok={ok}, {took:.2f} s; "
                  f"loop lateness {lag.summary()}")
            router.replace_table(load_config(ROOT / "config"))
        await router.stop()


async def scrape(port: int, clients: int, seconds: float) -> dict[str, int]:
    """`clients` loops of GET /metrics for `seconds` (run in a child process,
    so that the clients' own work does not count as the router's)."""
    codes: dict[str, int] = {}
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds

    async def scraper() -> None:
        while loop.time() < end:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                data = await reader.read()
                writer.close()
                code = data[9:12].decode() if data else "reset"
            except OSError as err:
                code = type(err).__name__
            codes[code] = codes.get(code, 0) + 1

    await asyncio.gather(*(scraper() for _ in range(clients)))
    return codes


async def bench_http(clients: int = 500, seconds: float = 5.0) -> None:
    import json
    import logging

    from router.metrics import Metrics

    logging.getLogger("router.metrics").setLevel(logging.ERROR)
    for cap in (None, 32):  # None: no cap, as before issue 13
        router = Router(load_config(ROOT / "config"), Clock())
        metrics = Metrics(router)
        port = await metrics.serve("127.0.0.1", 0)
        if cap is None:
            metrics._http.max_clients = 10 ** 9
        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "_scrape", str(port), str(clients), str(seconds),
            stdout=asyncio.subprocess.PIPE)
        with Lateness() as lag:
            out, _ = await child.communicate()
        print(f"http: {clients} clients scraping /metrics for {seconds:.0f} s, cap {cap or 'none'}: "
              f"{json.loads(out)}; router loop lateness {lag.summary()}")
        await metrics.stop()
        await router.stop()


async def bench_ami(outages=(3.0, 10.0)) -> None:
    from support.fake_ami import FakeAmi
    from router.ami.link import Link

    for outage in outages:
        server = FakeAmi()
        port = await server.start()
        link = Link("bench", "127.0.0.1", port, "router", "pw", on_message=lambda l, m: None,
                    on_up=lambda l: None, ping_interval=3600)
        await link.start()
        while not link.up:
            await asyncio.sleep(0.01)
        await server.stop()
        await asyncio.sleep(outage)
        await server.start(port)
        back = time.perf_counter()
        while not link.up:
            await asyncio.sleep(0.01)
        print(f"ami: connections refused for {outage:.0f} s: logged in {time.perf_counter() - back:.2f} s after "
              f"the PBX came back ({len(link.retry_delays)} retries, delays {list(link.retry_delays)})")
        await link.close()
        await server.stop()

    for outage in outages:
        server = FakeAmi()
        port = await server.start()
        router = Router(load_config(ROOT / "config"), Clock())
        router.add_pbx("bench", "127.0.0.1", port, "router", "pw", ping_interval=3600)
        server.mode["Status"] = "error"
        await router.start()
        started = time.perf_counter()
        while time.perf_counter() - started < outage:
            await asyncio.sleep(0.01)
        server.mode["Status"] = "ok"
        good = time.perf_counter()
        while router.resyncs.get("bench", 0) < 1:
            await asyncio.sleep(0.01)
        print(f"ami: Status answering errors for {outage:.0f} s: state rebuilt {time.perf_counter() - good:.2f} s "
              f"after it answered again ({router.rebuild_failures.get('bench', 0)} failed rebuilds)")
        await router.stop()
        await server.stop()


async def main(names: list[str]) -> None:
    from router.process import heap

    heap.install(asyncio.get_running_loop())  # as `router run` does (short full GCs)
    try:
        for name in names or ["reload", "http", "ami"]:
            await {"reload": bench_reload, "http": bench_http, "ami": bench_ami}[name]()
    finally:
        heap.uninstall()


if __name__ == "__main__":
    if sys.argv[1:2] == ["_scrape"]:
        import json

        print(json.dumps(asyncio.run(scrape(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])))))
    else:
        asyncio.run(main(sys.argv[1:]))
