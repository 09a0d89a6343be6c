"""The skill index and the dispatch shortcuts (router/core/index.py) change
nothing but speed: the engine gives exactly the commands of the plain
scan-everyone dispatch, and the index finds exactly the eligible agents."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.core.engine import Engine
from router.core.index import AvailableAgents
from router.core.state import AgentRec, CallStatus
from router.core.strategy import choose
from router.core.table import Requirement, Step
from tables import agent, queue, req, step, table
from test_core_properties import TABLES, World, resync_st, step_st


class PlainEngine(Engine):
    """The engine's dispatch before the index: every available agent is
    tested against every waiting call, after every event."""

    def _dispatch(self) -> None:
        if not self._available:
            return
        agents = self.table.agents
        for _, call_id in self._line:
            call = self.calls[call_id]
            if call.status is not CallStatus.WAITING:
                continue
            step_ = call.steps[call.step]
            candidates = [(rec, agents[rec.id]) for rec in self._available.values()
                          if step_.eligible(agents[rec.id])]
            if candidates:
                q = self.table.queues[call.queue]
                rec = choose(q.strategy, candidates, call, step_, self._last_rr.get(call.queue))
                self._offer(call, rec)
                if not self._available:
                    return


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(step_st, resync_st), max_size=80))
def test_indexed_dispatch_gives_the_same_commands_as_scanning_everyone(actions):
    world = World(check=False)
    for action in actions:
        world.step(action)
    plain = PlainEngine(TABLES[0])
    for now, event, commands in world.log:
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
