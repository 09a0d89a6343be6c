"""Races between a router and a PBX that no design removes, for tests that
compare the router's record of a call with the simulator's."""

from __future__ import annotations

from router.core.classify import classify
from router.core.events import CallWaiting
from router.core.table import RoutingTable

#: Simulated seconds by which the router's and the simulator's measures of
#: one wait may differ (two clocks, loop delays of up to 50 ms real at 20x on
#: a busy machine).
CLOCK_SLACK = 1.0


def rule_of(table: RoutingTable, record, now: float):
    """The rule `table` gives the simulator's call `record` (a CallRecord)
    arriving at `now`: the router's own classification of it."""
    call = CallWaiting(record.call_id, dnis=record.dnis, caller_num=record.caller_num,
                       variables=tuple(record.variables.items()))
    return classify(table, call, now)


def hung_up_at_max_wait(table: RoutingTable, record, now: float, slack: float = CLOCK_SLACK) -> bool:
    """A caller the PBX saw abandon within `slack` of the wait at which the
    call's escalation ends it by an action (max wait). The router decides
    the overflow, and counts it, before the hang-up reaches it, while the
    PBX got the Redirect after the caller had gone: both are true, and the
    router's count is its decision's."""
    if record.outcome != "abandoned" or record.waited is None:
        return False
    steps = rule_of(table, record, now).steps
    return any(abs(record.waited - step.after) <= slack for step in steps if step.action is not None)
