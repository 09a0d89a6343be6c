"""Call transitions (router/core/calls.py): the table is the whole story.

- Walking the table: from each status to each status, an allowed transition
  does the bookkeeping the module's table states, any other raises
  CallTransitionError and leaves the call as it was.
- Property traces: over the random sequences of test_core_properties.py,
  every change of a call's status goes through `_call_to` (a status changed
  behind its back, or a call entering routing other than waiting, breaks the
  chain of recorded transitions), and every transition of the table is used.
"""

from __future__ import annotations

from collections import Counter
from itertools import product
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from router.core import events as ev
from router.core.calls import TRANSITIONS, CallTransitionError
from router.core.engine import Engine
from router.core.state import AgentStatus, CallStatus
from support.tables import agent, queue, req, step, table
from test_core_properties import check_finished, play, resync_st, step_st

T0 = 1_000.0
TABLE = table([agent("a1", sales=5), agent("a2", sales=5)], [queue("sales", step(0, req(sales=1)))])


def call_in(status: CallStatus):
    """An engine with call c1 in `status`: rung by or talking with a1, or
    waiting with nobody logged in."""
    engine = Engine(TABLE)
    engine.handle(ev.CallWaiting("c1"), T0)
    if status is not CallStatus.WAITING:
        engine.handle(ev.AgentLogin("a1"), T0)
    if status is CallStatus.CONNECTED:
        engine.handle(ev.AgentAnswered("c1", "a1"), T0 + 1)
    call = engine.calls["c1"]
    assert call.status is status
    return engine, call


#: A caller who gets a callback; its first attempt fails (the customer does
#: not answer) and it is back in line: connected -> waiting, rarer than the
#: random sequences reach.
RETRIED_CALLBACK = [("arrive", "c0", "7000", (), "13800001111"), ("advance", 700.0), ("answer_ring", 0),
                    ("cb_result", 0, "NOANSWER"), ("end", "cb-c0", "agent"), ("advance", 700.0)]


@pytest.mark.parametrize("old,new", list(product(CallStatus, CallStatus)), ids=lambda s: s.value)
def test_each_transition_is_allowed_with_its_bookkeeping_or_refused(old, new):
    engine, call = call_in(old)
    holder = engine.agents[call.agent] if call.agent else None
    taker = engine.agents["a2"] if holder is None or new is CallStatus.RINGING else holder
    agent_arg = holder if new is CallStatus.WAITING else taker
    before = (call.status, call.agent, call.in_line, [c for _, c in engine._line])
    if (old, new) not in TRANSITIONS:
        with pytest.raises(CallTransitionError, match=f"c1: {old.value} -> {new.value}"):
            engine._call_to(call, new, agent_arg)
        assert (call.status, call.agent, call.in_line, [c for _, c in engine._line]) == before
        return
    assert TRANSITIONS[(old, new)], "every transition says when it happens"
    engine._call_to(call, new, agent_arg)
    assert call.status is new
    in_line = [c for _, c in engine._line] == ["c1"]
    if new is CallStatus.WAITING:
        assert call.agent is None and call.in_line and in_line
        if holder is not None:
            assert holder.call is None
    else:
        rec = engine.agents[call.agent]
        assert rec is agent_arg and rec.call == "c1"
        want = AgentStatus.RESERVED if new is CallStatus.RINGING else AgentStatus.ON_CALL
        assert rec.status is want
        assert call.in_line is (new is CallStatus.RINGING) and in_line is call.in_line


def test_the_table_names_only_call_statuses():
    for (old, new), when in TRANSITIONS.items():
        assert isinstance(old, CallStatus) and isinstance(new, CallStatus) and when.strip()
    # A connected call never rings again, a ringing one never rings another agent.
    assert (CallStatus.CONNECTED, CallStatus.RINGING) not in TRANSITIONS
    assert (CallStatus.RINGING, CallStatus.RINGING) not in TRANSITIONS


def test_property_traces_use_only_the_table_and_all_of_it():
    seen: Counter = Counter()
    trail: list = []
    real_call_to, real_handle = Engine._call_to, Engine.handle

    def recording(self, call, status, agent=None):
        old = call.status
        real_call_to(self, call, status, agent)
        trail.append((call, old, status))

    def checking(self, event, now):
        records = lambda: [*self.calls.values(), *self.parked.values()]  # noqa: E731
        before = {id(r): (r, r.status) for r in records()}  # (holds the records: ids stay theirs)
        trail.clear()
        out = real_handle(self, event, now)
        moves: dict[int, list] = {}
        for call, old, new in trail:
            assert (old, new) in TRANSITIONS
            seen[(old, new)] += 1
            moves.setdefault(id(call), []).append((old, new))
        for rec in records():
            # A new record starts waiting; every change since is a recorded transition.
            status = before[id(rec)][1] if id(rec) in before else CallStatus.WAITING
            for old, new in moves.get(id(rec), []):
                assert old is status, (event, rec.id, moves[id(rec)])
                status = new
            assert rec.status is status, f"{rec.id} became {rec.status.value} behind _call_to's back ({event})"
        return out

    @settings(max_examples=300, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @example(RETRIED_CALLBACK)
    @given(st.one_of(st.lists(step_st, min_size=20, max_size=80), st.lists(resync_st, max_size=60)))
    def run(actions):
        check_finished(play(actions))

    with patch.object(Engine, "_call_to", recording), patch.object(Engine, "handle", checking):
        run()
    assert set(seen) == set(TRANSITIONS), f"never used: {set(TRANSITIONS) - set(seen)}"
