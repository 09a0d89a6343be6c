"""PBX faults for the reliability tests (tests/test_faults.py).

- hang: Asterisk's manager stops answering (a deadlock, a stuck disk):
  TCP stays open and new connections are accepted, but nothing is answered,
  not even the banner, and events are lost; `resume` lets it carry on with
  what it was sent meanwhile.
- restart: Asterisk goes down and comes back after a gap. As a real
  restart: every AMI session is cut, every channel is gone (callers and
  agents are disconnected: a waiting caller's outcome is "pbx-restart", a
  talking one stays "answered"), the AMI port refuses connections during
  the gap, no call arrives during it (the trunk has nowhere to go), and a
  login afterwards is greeted by `FullyBooted`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from router.sim.pbx.simulator import PbxSimulator

RESTART_OUTCOME = "pbx-restart"
RESTART_CAUSE = 1  # what the channels' Hangup would say; nobody hears it


def hang(pbx: "PbxSimulator") -> None:
    pbx.server.set_hung(True)


def resume(pbx: "PbxSimulator") -> None:
    pbx.server.set_hung(False)


async def restart(pbx: "PbxSimulator", gap: float) -> None:
    """Stop, drop every channel, stay down `gap` simulated seconds, start
    again on the same port."""
    server = pbx.server
    arrivals = pbx.arrivals if pbx.arrivals is not None and pbx.arrivals._task is not None else None
    if arrivals is not None:
        await arrivals.stop()
    if server._server is not None:
        server._server.close()
    server.drop_clients()
    world = pbx.world
    for chan in list(world.channels.live()):
        if not chan.alive:
            continue
        record = world.records.get(chan.call_id or "")
        if record is not None and record.outcome is None and chan.flow is pbx.callers:
            record.outcome = RESTART_OUTCOME
        world.hangup(chan, RESTART_CAUSE)
    if server._server is not None:
        await server._server.wait_closed()
        server._server = None
    await pbx.clock.sleep(gap)
    server.set_hung(False)
    await server.start()
    if arrivals is not None:
        arrivals.start()
