"""The router against the stock app_queue on the real Asterisk 22.10.1.

`python -m bench.asterisk_queue [--agents 10] [--calls 30] [--interval 2] [--rounds 1]`

Both runs use the shipped deploy/asterisk on the lab Asterisk of
tests/support/asterisk.py (PJSIP phones and a trunk played by a second
instance; every phone rings RING s, answers and talks TALK s) and the same
callers, placed every `--interval` seconds through the same IVR into
`router-in`:

- router: `router run --ami` with one queue every agent serves (wrap-up 10 s
  and ring timeout 15 s, as the shipped `router-fallback` queue), all agents
  logged in by `*41`;
- app_queue: no router; the trunk sets ROUTER_HOLD_LIMIT=1, so after 1 s of
  hold `router-in` sends each caller to `Queue(router-fallback)`
  (strategy leastrecent, wrapuptime 10, static members PJSIP/1001...).

Measured on one AMI session of the bench's own, events stamped on receipt:
from the moment the caller reaches its distributor (the router's
`UserEvent RouterCallWaiting`, or app_queue's `QueueCallerJoin`) to the
agent's phone channel being created (`Newchannel` of the PJSIP/10xx leg that
ends up bridged to the caller); the caller's wait from its channel on the
pbx to its `BridgeEnter` (answered: the same clock in both modes); the agent legs created per call (a second one is a re-ring or
a ghost); and the CPU seconds the pbx Asterisk and the router process used
during the run; and the front: from the caller's channel on the pbx to
its distributor (Answer(), the IVR, for app_queue the 1 s hold too). The
PBX's own channel set-up is in both figures; the 1 s
hold before app_queue is not (its clock starts at QueueCallerJoin).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.ami_client import Ami  # noqa: E402
from support.asterisk import Lab  # noqa: E402  (the tests' lab harness)
from support.asterisk_conf import RING, TALK  # noqa: E402
from support.asterisk_router import RouterProcess, wait_for  # noqa: E402

BENCH_USER, BENCH_SECRET = "bench", "bench-secret-0123456789"
#: wrap-up after each call, seconds: the shipped router-fallback's wrapuptime, and the router queue's
WRAPUP = 10


def bench_config(agents: list[str]) -> str:
    """One queue every agent serves, timed like the shipped router-fallback."""
    rows = "\n".join(f'  - {{id: "{a}", name: "坐席{a}", endpoint: PJSIP/{a}, skills: {{care: 5}}}}'
                     for a in agents)
    return f"""\
skills: {{care: }}
agents:
{rows}
queues:
  plain:
    service_level: {{target: 80%, within: 20s}}
    wrapup: {WRAPUP}s
    ring_timeout: 15s
    skills: {{care: 3}}
routing:
  default: {{queue: plain}}
"""


class BenchLab(Lab):
    """The tests' lab plus an AMI user of the bench's own on the pbx."""

    def _write_pbx(self) -> None:
        super()._write_pbx()
        with (self.pbx.etc / "manager.conf").open("a", encoding="utf-8") as conf:
            conf.write(f"\n[{BENCH_USER}]\nsecret = {BENCH_SECRET}\nread = all\nwrite = system\n"
                       "deny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.1/255.255.255.255\n")


class Watcher(threading.Thread):
    """Reads every AMI event of the pbx, stamped with time.monotonic() as it
    is parsed (tests/support/ami_client.py's reader, on a thread)."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.ami = Ami(port, BENCH_USER, BENCH_SECRET)
        self.ami.sock.settimeout(None)  # quiet spells are no error here
        self.events: list[tuple[float, dict[str, str]]] = []
        self.start()

    def run(self) -> None:
        while True:
            try:
                msg = self.ami._read_message()
            except UnicodeDecodeError:
                continue  # the message is consumed; its events are not ours to judge
            except (OSError, ConnectionError):
                return
            if "Event" in msg:
                self.events.append((time.monotonic(), msg))

    def close(self) -> None:
        self.ami.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (and its reaped children), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def measure(events: list[tuple[float, dict[str, str]]], mode: str) -> dict:
    """Per caller: distributor start -> agent leg created, -> caller bridged."""
    start_event = "UserEvent" if mode == "router" else "QueueCallerJoin"
    start, created, bridge_of, bridged, arrived = {}, {}, {}, {}, {}
    members_by_bridge: dict[str, list[str]] = {}
    for t, e in events:
        name, uid, chan = e["Event"], e.get("Uniqueid", ""), e.get("Channel", "")
        if name == start_event and (mode != "router" or e.get("UserEvent") == "RouterCallWaiting"):
            start.setdefault(uid, t)
        elif name == "Newchannel" and chan.startswith("PJSIP/10"):
            created[uid] = t
        elif name == "Newchannel" and chan.startswith("PJSIP/trunk-"):
            arrived[uid] = t
        elif name == "BridgeEnter":
            members_by_bridge.setdefault(e["BridgeUniqueid"], []).append(uid)
            if chan.startswith("PJSIP/trunk-"):
                bridge_of[uid], bridged[uid] = e["BridgeUniqueid"], t
    ring, connect, rung_at = [], [], {}
    for uid, t0 in start.items():
        if uid not in bridged:
            continue
        agent_legs = [m for m in members_by_bridge[bridge_of[uid]] if m in created]
        if not agent_legs:
            continue
        ring.append(created[agent_legs[0]] - t0)
        rung_at[uid] = created[agent_legs[0]]
        # the caller's own wait: from its channel on the pbx, the same clock in both modes
        connect.append(bridged[uid] - arrived.get(uid, t0))
    # after the first caller: the agents' *41 logins are PJSIP/10xx channels too
    first = min(start.values(), default=0.0)
    agent_channels = sum(1 for t, e in events if t >= first and e["Event"] == "Newchannel"
                         and e.get("Channel", "").startswith("PJSIP/10"))
    front = sorted(t0 - arrived[uid] for uid, t0 in start.items() if uid in arrived)
    return {"callers": len(start), "connected": len(ring), "ring": sorted(ring), "connect": sorted(connect),
            "agent_legs": agent_channels, "front": front, "freed": freed_to_ring(events, start, rung_at)}


def freed_to_ring(events: list[tuple[float, dict[str, str]]], start: dict[str, float],
                  rung_at: dict[str, float]) -> list[float]:
    """For each agent leg created while a caller waited: seconds from the
    end of that agent's wrap-up (its previous leg's Hangup + WRAPUP) to the
    new leg, when a caller already waited at that moment and nobody had
    been rung for it yet (`rung_at`: when the leg that answered it was
    created). app_queue polls its members; FIELD-NOTES measured 323 ms median."""
    first = min(start.values(), default=0.0)
    last_hangup: dict[str, float] = {}
    legs: set[str] = set()  # agent legs rung for callers, not the agents' *41 logins before them
    out = []
    for t, e in events:
        chan = e.get("Channel", "")
        if not chan.startswith("PJSIP/10"):
            continue
        agent = chan.split("-")[0]
        if e["Event"] == "Hangup" and e.get("Uniqueid") in legs:
            last_hangup[agent] = t
        elif e["Event"] == "Newchannel" and t >= first:
            legs.add(e.get("Uniqueid", ""))
            if agent not in last_hangup:
                continue
            free_at = last_hangup[agent] + WRAPUP
            if any(t0 <= free_at < rung_at.get(uid, float("inf")) for uid, t0 in start.items()):
                out.append(t - free_at)
    return sorted(out)


def q(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(p * len(values)))] * 1000 if values else float("nan")


def run(mode: str, agents: list[str], calls: int, interval: float, work: Path) -> dict:
    lab = BenchLab(work, {a: f"坐席{a}" for a in agents}, hold_limit=None if mode == "router" else 1)
    with lab:
        watcher = Watcher(lab.ami_port)
        router = None
        try:
            if mode == "router":
                router = RouterProcess(lab, work, config=bench_config(agents))
                for a in agents:
                    lab.feature(a, "*41")
                wait_for(lambda: all(x["state"] == "available"
                                     for x in router.status()["pbxs"][0]["agents"]), 20, "every agent logged in")
            time.sleep(1)
            cpu0 = (cpu_seconds(lab.pbx.pid), cpu_seconds(router.proc.pid) if router else 0.0)
            for i in range(calls):
                lab.call("4008001000", "陈静", f"138{i:08d}")
                time.sleep(interval)
            wait_for(lab.pbx.idle,
                     calls * (RING + TALK + 10) + 60, "every call over")
            cpu1 = (cpu_seconds(lab.pbx.pid), cpu_seconds(router.proc.pid) if router else 0.0)
        finally:
            if router:
                router.stop()
            watcher.close()
    result = measure(watcher.events, mode)
    result["cpu_pbx"], result["cpu_router"] = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.asterisk_queue", description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--interval", type=float, default=2.0,
                        help="seconds between callers (2 s keeps an agent free for each: 10 s wrap-up)")
    parser.add_argument("--rounds", type=int, default=1, help="router / app_queue runs, interleaved")
    args = parser.parse_args(argv)
    if not 1 <= args.agents <= 42:
        parser.error("--agents must be 1-42 (the shipped router-fallback queue lists PJSIP/1001-1042)")
    shipped = re.search(r"^wrapuptime=(\d+)$", (ROOT / "deploy/asterisk/queues.conf").read_text(), re.M)
    if not shipped or int(shipped.group(1)) != WRAPUP:
        sys.exit(f"deploy/asterisk/queues.conf's wrapuptime is no longer {WRAPUP}: update WRAPUP here")
    agents = [str(1001 + i) for i in range(args.agents)]
    print(f"{args.agents} agents (ring {RING} s, talk {TALK} s), {args.calls} callers one every "
          f"{args.interval} s; load {os.getloadavg()[0]:.2f}")
    print(f"{'round':>5} {'mode':<9} {'callers':>7} {'connected':>9} {'agent legs':>10} "
          f"{'ring p50/p90/max ms':>22} {'answered p50/p90/max ms':>24} {'CPU pbx s':>9} {'CPU router s':>12}")
    for r in range(1, args.rounds + 1):
        for mode in ("router", "app_queue"):
            with tempfile.TemporaryDirectory(prefix=f"bench-{mode}-") as tmp:
                res = run(mode, agents, args.calls, args.interval, Path(tmp))
            ring, conn, fr = res["ring"], res["connect"], res["freed"]
            print(f"{r:>5} {mode:<9} {res['callers']:>7} {res['connected']:>9} {res['agent_legs']:>10} "
                  f"{q(ring, .5):>7.1f}/{q(ring, .9):>6.1f}/{q(ring, 1):>7.1f} "
                  f"{q(conn, .5):>8.1f}/{q(conn, .9):>6.1f}/{q(conn, 1):>7.1f} "
                  f"{res['cpu_pbx']:>9.2f} {res['cpu_router']:>12.2f} {q(res['front'], .5):>12.1f} "
                  f"{len(fr):>4} {q(fr, .5):>7.1f}/{q(fr, .9):>6.1f}/{q(fr, 1):>7.1f}", flush=True)


if __name__ == "__main__":
    main()
