"""End to end: the daemon and the PBX simulator over loopback TCP, with the
sample config. Assertions are on outcomes as the PBX recorded them: who was
rung, who answered, and that no call was lost, ghosted or double-connected.
"""

from __future__ import annotations

import pytest

from router.sim.traffic import Behaviour
from support.centre import SPEED, Centre


async def test_calls_go_to_agents_with_the_required_skills():
    # 1002 and 1005 are the Cantonese-speaking senior sales agents; 1001 is not.
    async with Centre(agents=["1001", "1002", "1005"]) as centre:
        call = centre.pbx.place_call(dnis="4008001000", caller_name="陈静", variables={"lang": "yue"})
        await centre.until(lambda: centre.record(call).outcome == "answered", 5)
        assert centre.record(call).agent in ("1002", "1005")
        assert centre.record(call).offers == [centre.record(call).agent]
        centre.assert_clean()


async def test_escalation_widens_to_junior_agents_at_20_seconds():
    # Only 1008 (sales 5: not senior) is logged in: the sales queue asks for
    # sales>=7 for 20 s, then sales>=3.
    async with Centre(agents=["1008"]) as centre:
        call = centre.pbx.place_call(dnis="4008001000", caller_name="刘洋")
        await centre.sim_seconds(15)
        assert centre.record(call).offers == []
        await centre.until(lambda: centre.record(call).outcome == "answered", 5)
        assert centre.record(call).agent == "1008"
        assert 20 <= centre.record(call).waited < 25
        centre.assert_clean()


async def test_caller_hanging_up_while_the_agent_rings_leaves_no_ghost_call():
    slow = Behaviour(mean_patience=10_000, answer_delay=(8.0, 8.0), no_answer_rate=0.0, mean_talk=30, min_talk=30)
    async with Centre(behaviour=slow, agents=["1014"]) as centre:
        call = centre.pbx.place_call(dnis="4008002000", caller_name="王五")
        await centre.until(lambda: centre.record(call).offers == ["1014"], 5)
        centre.pbx.hangup_caller(call)
        await centre.until(lambda: centre.router.engine.agents["1014"].status.value == "available", 5)
        await centre.sim_seconds(12)  # past the moment the agent would have answered
        assert centre.record(call).outcome == "abandoned"
        centre.assert_clean()


async def test_agent_no_answer_gives_the_call_to_the_next_agent():
    async with Centre(agents=["1014", "1016"]) as centre:
        centre.pbx.set_agent("1014", answers=False)
        centre.pbx.set_agent("1016", answers=False)
        first = centre.pbx.place_call(dnis="4008002000", caller_name="赵敏")
        await centre.until(lambda: len(centre.record(first).offers) == 1, 5)
        missed = centre.record(first).offers[0]
        centre.pbx.set_agent("1016" if missed == "1014" else "1014", answers=True)
        await centre.until(lambda: centre.record(first).outcome == "answered", 30 / SPEED * 4)
        assert centre.record(first).offers[0] == missed and centre.record(first).agent != missed
        assert centre.router.engine.agents[missed].misses == 1
        centre.assert_clean()


async def test_a_hostile_caller_name_cannot_inject_ami_headers():
    async with Centre(agents=["1014", "1016"]) as centre:
        # A lone CR (and an ESC) survive AMI framing into the caller name the
        # router reads; written back out unfiltered, a CR could end the header.
        sneaky = centre.pbx.place_call(dnis="4008002000", caller_name="王五\rAction: Originate\x1b",
                                       caller_num="138\r0013")
        # CR LF splits at once, in the PBX's own event: the rest arrives as
        # extra headers of that UserEvent, which the router ignores.
        split = centre.pbx.place_call(dnis="4008002000", caller_name="李娜\r\nAction: Originate\r\nChannel: PJSIP/9999")
        await centre.until(lambda: centre.record(sneaky).outcome == centre.record(split).outcome == "answered", 5)
        originates = [a for a in centre.pbx.actions_log if a.get("Action") == "Originate"]
        assert sorted(a["Channel"] for a in originates) == ["PJSIP/1014", "PJSIP/1016"]
        caller_ids = sorted(a["CallerID"] for a in originates)
        assert caller_ids == ['"李娜" <13800138000>', '"王五Action: Originate" <1380013>']
        for action in centre.pbx.actions_log:
            assert all(not any(ord(c) < 32 for c in value) for _, value in action["_headers"]), action
        centre.assert_clean()


@pytest.mark.parametrize("seed", [3, 4])
async def test_busy_traffic_every_call_ends_once_and_nothing_is_lost(seed):
    busy = Behaviour(mean_patience=60, answer_delay=(1.0, 5.0), no_answer_rate=0.1, mean_talk=40, min_talk=10)
    async with Centre(behaviour=busy, calls_per_hour=1800, seed=seed) as centre:
        await centre.sim_seconds(240)
        await centre.pbx.stop_traffic()
        await centre.until(lambda: all(r.ended is not None for r in centre.pbx.records.values()),
                           600 / SPEED)
        await centre.until(lambda: not centre.router.engine.calls, 2)
        outcomes = [r.outcome for r in centre.pbx.records.values()]
        assert len(outcomes) > 60
        assert outcomes.count("answered") > len(outcomes) / 2
        assert "fallback" not in outcomes  # the router took every call
        assert set(outcomes) <= {"answered", "abandoned", "voicemail", "callback"}
        centre.assert_clean()


async def test_router_killed_and_restarted_with_callers_waiting_answers_them_all(tmp_path):
    # Two agents, five callers: two talk, three wait, when the router dies.
    talk_long = Behaviour(mean_patience=10_000, answer_delay=(1.0, 1.0), no_answer_rate=0.0,
                          mean_talk=60, min_talk=60)
    async with Centre(behaviour=talk_long, agents=["1014", "1016", "1018"],
                      state_file=tmp_path / "agents.json") as centre:
        centre.pbx.agent_pause("1018", "meal")  # and 1018 is at lunch
        await centre.until(lambda: centre.router.engine.agents["1018"].reason == "meal", 5)
        calls = [centre.pbx.place_call(dnis="4008002000", caller_name=name)
                 for name in ("王五", "李娜", "陈静", "赵敏", "刘洋")]
        await centre.until(lambda: sum(centre.record(c).outcome == "answered" for c in calls) == 2, 5)
        await centre.sim_seconds(5)
        await centre.restart_router()
        engine = centre.router.engine
        talking = {c: centre.record(c).agent for c in calls if centre.record(c).outcome == "answered"}
        # The new router knows who talks (no offer to them) and who waits.
        assert {a: engine.agents[a].status.value for a in ("1014", "1016")} == {"1014": "on_call", "1016": "on_call"}
        assert (engine.agents["1018"].status.value, engine.agents["1018"].reason) == ("paused", "meal")
        assert sorted(c.id for c in engine.line()) == sorted(set(calls) - set(talking))
        await centre.until(lambda: all(centre.record(c).outcome == "answered" for c in calls), 400 / SPEED)
        for c in calls:
            assert len(centre.record(c).offers) == 1, (c, centre.record(c).offers)  # nobody rung twice
        centre.assert_clean()


# Busy traffic for the AMI-cut scenario (also bench/cut_sweep.py).
CUT_TRAFFIC = Behaviour(mean_patience=90, answer_delay=(1.0, 4.0), no_answer_rate=0.05, mean_talk=40, min_talk=10)


async def traffic_with_ami_cuts(centre: Centre, cuts: int = 3) -> None:
    """A minute of traffic before each of `cuts` dropped AMI connections
    (waiting for each resync), then traffic stops and every call ends."""
    for _ in range(cuts):
        await centre.sim_seconds(60)
        before = centre.router.resyncs["sim"]
        centre.pbx.drop_clients()
        await centre.until(lambda: centre.router.resyncs["sim"] > before, 5)
    await centre.pbx.stop_traffic()
    await centre.until(lambda: all(r.ended is not None for r in centre.pbx.records.values()), 600 / SPEED)


async def test_ami_connection_cut_mid_traffic_loses_no_call():
    async with Centre(behaviour=CUT_TRAFFIC, calls_per_hour=1500, seed=5) as centre:
        await traffic_with_ami_cuts(centre)
        await centre.until(lambda: not centre.router.engine.calls, 2)
        outcomes = [r.outcome for r in centre.pbx.records.values()]
        assert len(outcomes) > 50
        assert "fallback" not in outcomes  # every caller was routed, outage or not
        assert set(outcomes) <= {"answered", "abandoned", "voicemail", "callback"}
        # A caller who hangs up while the link is down, and whose agent answers
        # before it is back, is a ghost call nobody can prevent
        # (pbx.ghost_outages, counted apart); every other one the router must.
        centre.assert_clean()
