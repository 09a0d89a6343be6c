"""Large routing tables, generated: N agents with realistic skills.

Built from the core dataclasses directly (as tests/support/tables.py does) rather
than through YAML, so that generating 10,000 agents costs milliseconds and
the bench measures routing, not the config checker.

The centre: QUEUES product queues plus "general", each with a DNIS of its
own, and an escalation chain like the sample config's (seniors first,
then any level, then the general pool, then voicemail). Agents have one or
two product skills at levels 1-10, a language or two, a team per product;
a share of them are generalists. Deterministic for a given seed.
"""

from __future__ import annotations

import random

from router.core.patterns import compile_pattern
from router.core.table import (Action, Agent, Match, Queue, Requirement, RoutingTable, Rule,
                               ServiceLevel, Settings, Step, Strategy, merge_skills)

PRODUCTS = ("sales", "support", "billing", "tech", "retention", "claims", "orders", "vip")
LANGUAGES = ("mandarin", "cantonese", "english")
STRATEGIES = (Strategy.LONGEST_IDLE, Strategy.FEWEST_CALLS, Strategy.BEST_SKILLED,
              Strategy.LONGEST_IDLE, Strategy.ROUND_ROBIN, Strategy.LONGEST_IDLE,
              Strategy.RANDOM, Strategy.BEST_SKILLED)
#: An hour of waiting before voicemail: benchmark callers must stay in line.
LONG_WAIT = 3600.0


def dnis_of(queue: str) -> str:
    """The number that routes to `queue` (the default route for general)."""
    names = PRODUCTS + ("general",)
    return f"40080{names.index(queue):05d}"


def _req(teams: tuple[str, ...] = (), **skills: int) -> Requirement:
    return Requirement(tuple(sorted(skills.items())), teams)


def _queue(name: str, priority: int, strategy: Strategy, steps: list[Step]) -> Queue:
    return Queue(name, name.title(), priority, strategy, ServiceLevel(80.0, 20.0), 0.0, 15.0,
                 None, None, None, None, tuple(steps))


def make_table(agents: int, seed: int = 1, wrapup: float = 0.0) -> RoutingTable:
    """A routing table with `agents` agents (ids 100000, 100001, ...)."""
    rng = random.Random(seed)
    queues: dict[str, Queue] = {}
    for i, product in enumerate(PRODUCTS):
        src = f"queues.{product}.escalation"
        queues[product] = _queue(product, 10 if product == "vip" else i % 3, STRATEGIES[i], [
            Step(0.0, (_req(**{product: 7}),), None, f"{src}[0]"),
            Step(5.0, (_req(**{product: 3}),), None, f"{src}[1]"),
            Step(10.0, (_req(**{product: 1}), _req(general=3)), None, f"{src}[2]"),
            Step(LONG_WAIT, (), Action("voicemail", f"8000@{product}"), f"{src}[3]"),
        ])
    queues["general"] = _queue("general", 0, Strategy.LONGEST_IDLE, [
        Step(0.0, (_req(general=1),), None, "queues.general.escalation[0]"),
        Step(LONG_WAIT, (), Action("voicemail", "8000@general"), "queues.general.escalation[1]"),
    ])
    rules = []
    for product in PRODUCTS:
        match = Match(dnis=(compile_pattern(dnis_of(product)),), vars=(("lang", ("yue",)),))
        extra = (("cantonese", 5),)
        rules.append(Rule(f"{product}-cantonese", match, product, queues[product].priority, extra,
                          merge_skills(queues[product].steps, extra)))
        match = Match(dnis=(compile_pattern(dnis_of(product)),))
        rules.append(Rule(product, match, product, queues[product].priority, (),
                          queues[product].steps))
    default = Rule("default", Match(), "general", 0, (), queues["general"].steps)
    table_agents = {}
    for n in range(agents):
        aid = str(100000 + n)
        skills = {"mandarin": rng.randint(6, 10)}
        if rng.random() < 0.3:
            skills["cantonese"] = rng.randint(3, 10)
        if rng.random() < 0.4:
            skills["english"] = rng.randint(3, 10)
        main = PRODUCTS[n % len(PRODUCTS)]
        skills[main] = rng.randint(1, 10)
        if rng.random() < 0.5:
            skills[rng.choice(PRODUCTS)] = rng.randint(1, 10)
        if rng.random() < 0.3:
            skills["general"] = rng.randint(1, 10)
        table_agents[aid] = Agent(aid, f"坐席 {aid}", f"PJSIP/{aid}", f"team-{main}",
                                  RoutingTable.freeze(skills), 0, wrapup)
    skill_names = sorted(set(PRODUCTS) | set(LANGUAGES) | {"general"})
    return RoutingTable(
        skills=RoutingTable.freeze({s: s for s in skill_names}),
        teams=RoutingTable.freeze({}),
        agents=RoutingTable.freeze(table_agents),
        queues=RoutingTable.freeze(queues),
        calendars=RoutingTable.freeze({}),
        rules=tuple(rules),
        default=default,
        settings=Settings(no_answer_rest=1.0, default_max_no_answer=0),
    )


def call_mix(rng: random.Random) -> tuple[str, dict[str, str]]:
    """A (dnis, IVR variables) pair for one arriving call."""
    queue = rng.choice(PRODUCTS + ("general",))
    variables = {"lang": "yue"} if rng.random() < 0.15 else {}
    return dnis_of(queue), variables
