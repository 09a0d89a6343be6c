"""Classification: which rule a new call matches (first match wins).

`why_not` returns the first condition a rule fails, so `router explain` can
say why each earlier rule was skipped; `classify` is the hot-path version.

Why `classify` keeps candidates: most of a rule's conditions are on the
called number and the IVR's variables, which a centre has few combinations
of, while the caller's number and the calendars change from call to call.
So per table and (dnis, variables) it keeps the rules those conditions let
through, in order, and checks only the caller and calendar conditions of
those per call (a simulated week classifies 336,000 calls against a dozen
rules). The answer is the same rule the full check finds: a rule is skipped
only for a dnis or variable condition it fails for that very dnis and
variables.
"""

from __future__ import annotations

from typing import Any, Mapping

from router.core.calendar import is_open
from router.core.events import CallWaiting
from router.core.table import Match, Rule, RoutingTable

#: Tables whose candidates are kept, and (dnis, variables) kept per table:
#: bounds, as variables may carry anything the IVR sets (a whole cache is
#: dropped when full: a miss only costs the full check).
TABLES_KEPT = 8
KEYS_KEPT = 4096


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
    # (read untyped: a list of pairs is taken too, and compiled code would
    # refuse anything but the tuple the field is declared as; setup.py)
    variables: Any = getattr(call, "variables")
    for rule in _candidates(table, call.dnis, variables):
        match = rule.match
        if match.caller and not any(p.matches(call.caller_num) for p in match.caller):
            continue
        if match.in_hours and not is_open(table.calendars[match.in_hours], now):
            continue
        if match.out_of_hours and is_open(table.calendars[match.out_of_hours], now):
            continue
        return rule
    return table.default


# id(table) -> (table, {(dnis, variables): rules}); the table is held so
# that its id cannot be reused by another while its entry is here.
_kept: dict[int, tuple[RoutingTable, dict[tuple, tuple[Rule, ...]]]] = {}


def _candidates(table: RoutingTable, dnis: str, variables: Any) -> tuple[Rule, ...]:
    """The table's rules, in order, whose dnis and variable conditions hold."""
    entry = _kept.get(id(table))
    if entry is None or entry[0] is not table:
        if len(_kept) >= TABLES_KEPT:
            _kept.clear()
        entry = _kept[id(table)] = (table, {})
    cache = entry[1]
    key = (dnis, variables)
    try:
        rules = cache.get(key)
    except TypeError:  # variables not given as a tuple: nothing to key on
        return _passing(table, dnis, variables)
    if rules is None:
        rules = _passing(table, dnis, variables)
        if len(cache) >= KEYS_KEPT:
            cache.clear()
        cache[key] = rules
    return rules


def _passing(table: RoutingTable, dnis: str, variables) -> tuple[Rule, ...]:
    values = dict(variables)
    return tuple(r for r in table.rules
                 if not (r.match.dnis and not any(p.matches(dnis) for p in r.match.dnis))
                 and all(values.get(name) in allowed for name, allowed in r.match.vars))
