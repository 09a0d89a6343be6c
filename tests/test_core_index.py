"""The skill index and the dispatch shortcuts (router/core/index.py) change
nothing but speed: the engine gives exactly the commands of the plain
scan-everyone dispatch, and the index finds exactly the eligible agents."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.core import events as ev
from router.core.commands import CancelTimer, RingAgent, StartTimer
from router.core.engine import Engine
from router.core.index import AvailableAgents
from router.core.state import AgentRec, CallStatus
from router.core.strategy import choose
from router.core.patterns import compile_pattern
from router.core.table import Enforcement, Match, Requirement, Step, Strategy
from support.tables import agent, queue, req, rule, step, table
from test_core_properties import TABLES, World, resync_st, step_st


class PlainEngine(Engine):
    """The engine's dispatch as its rules state it, before the index and the
    groups (router/core/dispatch.py): every available agent is tested
    against every waiting call, in serving order, after every event."""

    def _dispatch(self) -> None:
        if not self._available:
            return
        agents = self.table.agents
        for call_id in self.serving_order():
            call = self.calls[call_id]
            if call.status is not CallStatus.WAITING:
                continue
            step_ = call.steps[call.step]
            candidates = [(rec, agents[rec.id]) for rec in self._available.values()
                          if step_.eligible(agents[rec.id])
                          and (not call.info.pbx or agents[rec.id].pbx in (None, call.info.pbx))]
            if candidates:
                q = self.table.queues[call.queue]
                rec = choose(q.strategy, candidates, call, step_, self._last_rr.get(call.queue))
                self._offer(call, rec)
                if not self._available:
                    return


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(step_st, resync_st), max_size=80))
def test_indexed_dispatch_gives_the_same_commands_as_scanning_everyone(actions):
    world = World(check=False)
    for action in actions:
        world.step(action)
    world.close()
    plain = PlainEngine(TABLES[0])
    for entry in world.log:
        if entry[0] == "restart":  # the world's router restarted: a new engine
            plain = PlainEngine(TABLES[entry[1]])
            continue
        now, event, commands = entry
        assert plain.handle(event, now) == commands, event


SKILLS = ["sales", "general", "vip", "cantonese"]
TEAMS = ["red", "blue", None]
skills_st = st.dictionaries(st.sampled_from(SKILLS), st.integers(0, 10), max_size=3)
req_st = st.builds(lambda skills, teams: Requirement(tuple(sorted(skills.items())), tuple(teams)),
                   skills_st, st.lists(st.sampled_from(["red", "blue"]), unique=True, max_size=2))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(skills_st, st.sampled_from(TEAMS)), min_size=1, max_size=12),
       st.lists(st.tuples(st.integers(0, 11), st.booleans()), max_size=40),
       st.lists(req_st, min_size=1, max_size=3), st.booleans())
def test_index_finds_exactly_the_eligible_available_agents(specs, moves, reqs, reload):
    agents = [agent(f"a{i}", team=team, **skills) for i, (skills, team) in enumerate(specs)]
    first = table(agents, [queue("q", step(0, req(sales=1)))])
    current = first
    if reload:  # same agents, other skills: the index must follow the new table
        current = table([agent(a.id, team=a.team, **{s: (v + 3) % 11 for s, v in a.skills.items()})
                         for a in agents], [queue("q", step(0, req(sales=1)))])
    index = AvailableAgents(first)
    for n, (which, add) in enumerate(moves):
        aid = f"a{which % len(agents)}"
        if add:
            index[aid] = AgentRec(aid)
        else:
            index.pop(aid, None)
        if n == len(moves) // 2 and reload:
            index.eligible(Step(0.0, tuple(reqs)), current)  # switches tables mid-way
    target = Step(0.0, tuple(reqs))
    found = sorted(rec.id for rec, _ in index.eligible(target, current))
    expected = sorted(aid for aid in index if target.eligible(current.agents[aid]))
    assert found == expected
    assert all(cfg is current.agents[rec.id] for rec, cfg in index.eligible(target, current))


def _busy_centre():
    """Two PBXs (agents pinned to one or reachable from both), teams, short
    service-level thresholds so that protection and lenders come and go."""
    from dataclasses import replace

    q1 = queue("q1", step(0, req(sales=5)), step(8, req(sales=2), req(("red",), general=1)), sl=(90.0, 3.0))
    q2 = queue("q2", step(0, req(general=3)), step(6, req(general=1)), sl=(50.0, 30.0),
               strategy=Strategy.BEST_SKILLED)
    q3 = queue("q3", step(0, req(sales=1, general=1)), sl=(80.0, 5.0), strategy=Strategy.FEWEST_CALLS)
    agents = []
    for i in range(9):
        a = agent(f"a{i}", team=("red", "blue", None)[i % 3], sales=(i * 3) % 9, general=(i * 5) % 7)
        agents.append(replace(a, pbx=(None, "east", "west")[i % 3]))
    return table(agents, [q1, q2, q3], [rule("two", q2, Match(dnis=(compile_pattern("2"),))),
                                        rule("three", q3, Match(dnis=(compile_pattern("3"),)))],
                 default="q1", no_answer_rest=1.0, enforcement=Enforcement(reserve=0.0))


busy_st = st.one_of(
    st.tuples(st.just("arrive"), st.sampled_from(["1", "2", "3"]), st.sampled_from(["", "east", "west"])),
    st.tuples(st.just("answer"), st.integers(0, 20)),
    st.tuples(st.just("answer"), st.integers(0, 20)),
    st.tuples(st.sampled_from(["miss", "hangup", "end", "end"]), st.integers(0, 20)),
    st.tuples(st.just("pause"), st.integers(0, 8), st.booleans()),
    st.tuples(st.just("advance"), st.floats(0.5, 12.0)),
    st.tuples(st.just("move"), st.integers(0, 20), st.sampled_from(["q1", "q2", "q3"])),
    st.tuples(st.just("priority"), st.integers(0, 20), st.integers(0, 50)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.booleans(), min_size=9, max_size=9), st.lists(busy_st, min_size=20, max_size=200))
def test_grouped_dispatch_matches_the_plain_scan_across_pbxs_teams_and_protection(logged_in, actions):
    centre = _busy_centre()
    fast, plain = Engine(centre), PlainEngine(centre)
    now, timers, seq = 1_000.0, {}, 0

    steps = [s for q in centre.queues.values() for s in q.steps]

    def feed(event):
        out = fast.handle(event, now)
        assert plain.handle(event, now) == out, event
        for s in steps:  # the staffed index behind the estimated wait
            assert fast._staff(s) == sum(1 for rec in fast.agents.values()
                                         if rec.status.value not in ("logged_out", "paused")
                                         and s.eligible(centre.agents[rec.id])), s
        for c in out:
            if isinstance(c, StartTimer):
                timers[(c.kind, c.ref)] = c.at
            elif isinstance(c, CancelTimer):
                timers.pop((c.kind, c.ref), None)

    for i, login in enumerate(logged_in):
        if login:
            feed(ev.AgentLogin(f"a{i}"))
    for action in actions:
        kind = action[0]
        calls = sorted(fast.calls)
        if kind == "arrive":
            seq += 1
            feed(ev.CallWaiting(f"c{seq}", dnis=action[1], caller_num="1", pbx=action[2]))
        elif kind == "pause":
            feed(ev.AgentPause(f"a{action[1]}", "x") if action[2] else ev.AgentUnpause(f"a{action[1]}"))
        elif kind == "advance":
            now += action[1]
            for key, at in sorted(timers.items(), key=lambda kv: (kv[1], kv[0])):
                if at <= now and timers.get(key) == at:
                    del timers[key]
                    feed(ev.TimerFired(*key))
        elif calls:
            call = fast.calls[calls[action[1] % len(calls)]]
            if kind == "answer" and call.status is CallStatus.RINGING:
                feed(ev.AgentAnswered(call.id, call.agent))
            elif kind == "miss" and call.status is CallStatus.RINGING:
                feed(ev.AgentNoAnswer(call.id, call.agent, "no-answer"))
            elif kind == "hangup":
                feed(ev.CallLeft(call.id))
            elif kind == "end" and call.status is CallStatus.CONNECTED:
                feed(ev.CallEnded(call.id))
            elif kind == "move":
                feed(ev.CallMove(call.id, action[2]))
            elif kind == "priority":
                feed(ev.CallPriority(call.id, action[2]))
    assert fast.protected == plain.protected


def test_a_call_back_in_line_after_a_missed_ring_is_filed_again_behind_nobody():
    """Dispatch groups (router/core/dispatch.py) drop a ringing call from its
    group; a missed ring must put it back, ahead of later callers."""
    centre = table([agent(f"a{i}", sales=5) for i in range(3)], [queue("q", step(0, req(sales=1)))],
                   no_answer_rest=60.0)
    engine = Engine(centre)
    for cid in ("c1", "c2", "c3"):
        engine.handle(ev.CallWaiting(cid), 0.0)
    engine.handle(ev.AgentLogin("a0"), 1.0)  # c1 rings a0
    engine.handle(ev.AgentLogin("a1"), 2.0)  # c2 rings a1
    engine.handle(ev.AgentNoAnswer("c1", "a0", "no-answer"), 3.0)  # c1 waits again; a0 rests
    out = engine.handle(ev.AgentLogin("a2"), 4.0)
    assert [(c.call_id, c.agent_id) for c in out if isinstance(c, RingAgent)] == [("c1", "a2")]
