"""PBX faults injected while calls flow, over TCP with the simulator
(router/sim/pbx/faults.py): a hung Asterisk (TCP open, nothing answered)
and an Asterisk restart. (A cut connection is in test_e2e.py; a router
killed or stopped, in test_process.py.)

Assertions are on outcomes: every call ends answered, abandoned by its own
patience, or overflowed by rule (voicemail, callback) — or, for a PBX
restart, dropped by the restart itself — none stuck, none lost (fallback),
none double-connected, no ghost call the router could have prevented.
"""

from __future__ import annotations

import asyncio
import logging

from support.centre import SPEED, Behaviour, Centre

from router.ami.link import Link

BUSY = Behaviour(mean_patience=90, answer_delay=(1.0, 4.0), no_answer_rate=0.05, mean_talk=40, min_talk=10)
ROUTED = {"answered", "abandoned", "voicemail", "callback"}
PING_INTERVAL, PING_TIMEOUT = 0.5, 0.5


class QuickWatchdog(Centre):
    """A Centre whose link pings every half second."""

    def __init__(self, **options) -> None:
        super().__init__(**options, link={"reconnect": 1.0, "ping_interval": PING_INTERVAL,
                                          "ping_timeout": PING_TIMEOUT})


async def finish(centre: Centre) -> list[str]:
    """Stop arrivals, wait until every call has ended, return the outcomes."""
    await centre.pbx.stop_traffic()
    await centre.until(lambda: all(r.ended is not None for r in centre.pbx.records.values()), 600 / SPEED)
    await centre.until(lambda: not centre.router.engine.calls, 3)
    await centre.until(lambda: not any(a.status.value in ("on_call", "reserved")
                                       for a in centre.router.engine.agents.values()), 3)
    return [r.outcome for r in centre.pbx.records.values()]


async def test_hung_asterisk_is_noticed_by_the_watchdog_and_no_call_is_lost(caplog):
    async with QuickWatchdog(behaviour=BUSY, calls_per_hour=1500, seed=7) as centre:
        await centre.sim_seconds(60)
        link: Link = centre.router.links["sim"]
        assert link.up
        before = centre.router.resyncs["sim"]
        loop = asyncio.get_running_loop()
        caplog.set_level(logging.ERROR, logger="router.ami")
        hung_at = loop.time()
        centre.pbx.hang()
        # Bounded: the next ping within PING_INTERVAL, its answer awaited PING_TIMEOUT.
        await centre.until(lambda: not link.up, PING_INTERVAL + PING_TIMEOUT + 2.0)
        noticed = loop.time() - hung_at
        assert noticed < PING_INTERVAL + PING_TIMEOUT + 2.0
        assert any("no answer to Ping" in r.getMessage() for r in caplog.records)
        # Hung a while longer, callers arriving: the new connections' logins
        # are not answered either, and each is given up after a ping round.
        sessions = centre.pbx.server._count
        await centre.until(lambda: centre.pbx.server._count >= sessions + 2, 3 * (PING_INTERVAL + PING_TIMEOUT) + 4)
        assert not link.up
        assert any("no answer to Login" in r.getMessage() for r in caplog.records)
        centre.pbx.resume()
        await centre.until(lambda: centre.router.resyncs["sim"] > before, 5)
        await centre.sim_seconds(60)
        outcomes = await finish(centre)
        assert len(outcomes) > 30
        assert set(outcomes) <= ROUTED, outcomes
        centre.assert_clean()


async def test_asterisk_restart_rebuilds_state_and_routes_the_calls_after_it():
    async with Centre(behaviour=BUSY, calls_per_hour=1500, seed=8) as centre:
        await centre.sim_seconds(80)
        # The restart must find a caller still waiting: that caller's outcome
        # is checked below, and random traffic on a loaded machine may have
        # none in line at the 80th second. The restart follows at once.
        await centre.until(lambda: any(r.outcome is None for r in centre.pbx.records.values()), 30)
        before = centre.router.resyncs["sim"]
        talking = sum(a.status.value == "on_call" for a in centre.router.engine.agents.values())
        assert talking > 0
        restarted_at = centre.pbx.clock.now()
        await centre.pbx.restart(gap=30)
        await centre.until(lambda: centre.router.resyncs["sim"] > before, 5)
        # Every channel died with the restart: nobody from before it is left
        # talking or waiting (calls after it may be, already).
        engine = centre.router.engine
        assert all(centre.record(c).arrived > restarted_at for c in engine.calls)
        assert all(centre.record(a.call).arrived > restarted_at for a in engine.agents.values()
                   if a.status.value in ("on_call", "reserved"))
        await centre.sim_seconds(80)
        outcomes = await finish(centre)
        dropped = [r for r in centre.pbx.records.values() if r.outcome == "pbx-restart"]
        assert dropped and all(r.arrived < restarted_at for r in dropped)
        after = [r.outcome for r in centre.pbx.records.values() if r.arrived > restarted_at]
        assert len(after) > 20 and "answered" in after
        assert set(outcomes) <= ROUTED | {"pbx-restart"}, outcomes
        centre.assert_clean()


async def test_graceful_stop_hangs_up_a_leg_still_ringing_at_its_deadline_and_offers_nothing_more():
    slow = Behaviour(mean_patience=10_000, answer_delay=(20.0, 20.0), no_answer_rate=0.0, mean_talk=30, min_talk=30)
    async with Centre(behaviour=slow, agents=["1014"]) as centre:
        call = centre.pbx.place_call(dnis="4008002000", caller_name="王五")
        await centre.until(lambda: centre.record(call).offers == ["1014"], 5)
        await centre.router.drain(timeout=0.3)  # the leg would answer only after 1 s real
        hangups = [a for a in centre.pbx.actions_log if a.get("Action") == "Hangup"]
        assert len(hangups) == 1
        await centre.until(lambda: not centre.pbx.world.device_busy("PJSIP/1014"), 2)
        await centre.sim_seconds(30)  # past when 1014 would have answered, and past its rest
        # The caller still waits in the dialplan (its fallback is the PBX's
        # business now); the draining router offered the call to nobody else.
        assert centre.record(call).outcome is None
        assert centre.record(call).offers == ["1014"]
        assert [a.get("Action") for a in centre.pbx.actions_log].count("Originate") == 1
        centre.assert_clean()
