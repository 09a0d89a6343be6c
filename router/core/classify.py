"""Classification: which rule a new call matches (first match wins).

`why_not` returns the first condition a rule fails, so `router explain` can
say why each earlier rule was skipped; `classify` is the hot-path version.
"""

from __future__ import annotations

from typing import Mapping

from router.core.calendar import is_open
from router.core.events import CallWaiting
from router.core.table import Match, Rule, RoutingTable


def why_not(match: Match, call: CallWaiting, variables: Mapping[str, str],
            table: RoutingTable, now: float) -> str | None:
    """The first condition of `match` that the call fails, or None."""
    if match.dnis and not any(p.matches(call.dnis) for p in match.dnis):
        return f"dnis {call.dnis!r} matches none of {[p.text for p in match.dnis]}"
    if match.caller and not any(p.matches(call.caller_num) for p in match.caller):
        return f"caller {call.caller_num!r} matches none of {[p.text for p in match.caller]}"
    for name, values in match.vars:
        if variables.get(name) not in values:
            return f"var {name}={variables.get(name)!r} is not one of {list(values)}"
    if match.in_hours and not is_open(table.calendars[match.in_hours], now):
        return f"calendar {match.in_hours} is closed"
    if match.out_of_hours and is_open(table.calendars[match.out_of_hours], now):
        return f"calendar {match.out_of_hours} is open"
    return None


def classify(table: RoutingTable, call: CallWaiting, now: float) -> Rule:
    """The first rule whose conditions all hold, else the default route."""
    variables = dict(call.variables)
    for rule in table.rules:
        if why_not(rule.match, call, variables, table, now) is None:
            return rule
    return table.default
