"""Traffic model for simulations: which calls arrive, and how people behave.

Call types are derived from the routing table itself, one per rule (and one
for the default route), by making up a dialled number, caller number and IVR
variables that satisfy the rule's conditions: so a simulation exercises every
rule an admin wrote, without a separate traffic file to keep in step.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from router.core.table import Pattern, RoutingTable

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "建华", "晓东"]


@dataclass(frozen=True)
class CallType:
    rule: str
    dnis: str
    caller_prefix: str
    variables: tuple[tuple[str, str], ...]
    weight: float


@dataclass(frozen=True)
class Behaviour:
    """How callers and agents behave (seconds)."""

    mean_patience: float = 120.0  # callers abandon after an exponential wait
    answer_delay: tuple[float, float] = (1.0, 6.0)  # agents answer after uniform(a, b)
    no_answer_rate: float = 0.05  # share of offers the agent lets ring out
    mean_talk: float = 150.0  # exponential, at least min_talk
    min_talk: float = 20.0
    logged_in_share: float = 0.85  # agents logged in at the start
    survey_rate: float = 0.6  # share of surveyed callers who press a score (PBX simulator)


def example_number(pattern: Pattern, rng: random.Random) -> str:
    """A number that `pattern` matches (checked)."""
    text = pattern.text
    if text.startswith("_"):
        out, i = [], 1
        while i < len(text):
            c = text[i]
            if c in "Xx":
                out.append(str(rng.randint(0, 9)))
            elif c in "Zz":
                out.append(str(rng.randint(1, 9)))
            elif c in "Nn":
                out.append(str(rng.randint(2, 9)))
            elif c == "[":
                end = text.index("]", i)
                out.append(text[i + 1])
                i = end
            elif c in ".!":
                out.append(str(rng.randint(1000, 9999)))
            else:
                out.append(c)
            i += 1
        candidate = "".join(out)
    elif text.endswith("*") and len(text) > 1:
        candidate = text[:-1] + str(rng.randint(10000, 99999))
    else:
        candidate = text
    return candidate if pattern.matches(candidate) else text


def call_types(table: RoutingTable, rng: random.Random) -> list[CallType]:
    """One call type per rule that can be satisfied, plus the default route
    (weighted heavier, as most calls in a real centre take the main line)."""
    types = []
    rules = (*table.rules, table.default)
    for index, rule in enumerate(rules):
        match = rule.match
        dnis = example_number(match.dnis[0], rng) if match.dnis else _line_for(rules, index)
        caller = match.caller[0].text if match.caller else ""
        variables = tuple((name, values[0]) for name, values in match.vars)
        weight = 4.0 if rule is table.default else 1.0
        types.append(CallType(rule.name, dnis, caller, variables, weight))
    return types


#: The dialled number of a call type when no number in the config fits.
OTHER_NUMBER = "4000000000"


def _line_for(rules, index: int) -> str:
    """A dialled number for rules[index], which has no `dnis` condition:
    one of the config's own numbers (a literal `dnis` of any rule) that no
    earlier rule's `dnis` takes, so the call still reaches this rule; else
    OTHER_NUMBER (the default route, when every listed number has a rule)."""
    match = rules[index].match
    if match.in_hours or match.out_of_hours:  # when its calendar says no, a later rule takes the call:
        return OTHER_NUMBER                   # it must be one no rule's `dnis` takes
    claimed = [p for rule in rules[:index] for p in rule.match.dnis]
    for rule in rules:
        for pattern in rule.match.dnis:
            literal = not pattern.text.startswith("_") and not pattern.text.endswith("*")
            if literal and not any(p.matches(pattern.text) for p in claimed):
                return pattern.text
    return OTHER_NUMBER


def caller_number(call_type: CallType, rng: random.Random) -> str:
    prefix = call_type.caller_prefix
    if prefix.endswith("*"):
        return prefix[:-1] + str(rng.randint(100000, 999999))
    return prefix or f"+86139{rng.randint(10000000, 99999999)}"


def caller_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def pick(types: list[CallType], rng: random.Random) -> CallType:
    return rng.choices(types, weights=[t.weight for t in types])[0]


