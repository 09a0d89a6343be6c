"""`choose` against the sort keys that define each strategy (issue 18).

`choose` compares candidates in loops for speed (router/core/strategy.py);
each strategy is defined by a sort key, and the agent picked must be the
least by that key, on random candidates with many ties (the same idle time,
the same call count, the same skill score), with one requirement per step
and with several.
"""

from __future__ import annotations

import random

import pytest

from router.core.state import AgentRec, CallRec
from router.core.strategy import _skill_score, _stable_hash, choose
from router.core.table import Agent, Requirement, Step, Strategy

SKILLS = ("sales", "support", "vip")


def _key(strategy: Strategy, step: Step, call: CallRec, last_rr: str | None):
    """The defining sort key of each strategy (the one `choose` had as a `min` key)."""
    if strategy is Strategy.FEWEST_CALLS:
        return lambda c: (c[0].calls_taken, c[0].idle_since, c[0].id)
    if strategy is Strategy.BEST_SKILLED:
        return lambda c: (-_skill_score(step, c[1]), c[0].idle_since, c[0].id)
    if strategy is Strategy.RANDOM:
        return lambda c: (_stable_hash(call.id, c[0].id, str(call.offers)), c[0].id)
    if strategy is Strategy.ROUND_ROBIN:
        return lambda c: (last_rr is not None and c[0].id <= last_rr, c[0].id)
    return lambda c: (c[0].idle_since, c[0].id)


def _world(rng: random.Random):
    reqs = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        skills = sorted(rng.sample(SKILLS, rng.randint(1, 2)))
        reqs.append(Requirement(tuple((s, rng.randint(0, 3)) for s in skills)))
    step = Step(0.0, tuple(reqs))
    candidates = []
    for i in rng.sample(range(100), rng.randint(1, 12)):
        config = Agent(str(1000 + i), f"a{i}", f"PJSIP/{1000 + i}", None,
                       {s: rng.randint(0, 5) for s in rng.sample(SKILLS, rng.randint(1, 3))}, 0)
        if not step.eligible(config):
            continue
        rec = AgentRec(config.id, idle_since=float(rng.randint(0, 3)), calls_taken=rng.randint(0, 2))
        candidates.append((rec, config))
    return step, candidates


@pytest.mark.parametrize("strategy", list(Strategy))
def test_choose_picks_the_least_by_the_strategys_key(strategy):
    rng = random.Random(f"strategy-{strategy.value}")
    tried = 0
    for n in range(3000):
        step, candidates = _world(rng)
        if not candidates:
            continue
        call = CallRec(id=f"c{n}", info=None, rule=None, queue="q", priority=0, arrived=0.0, entered=0.0,
                       seq=n, steps=(step,), offers=rng.randint(0, 3))
        last_rr = rng.choice([None] + [c[0].id for c in candidates])
        expected = min(candidates, key=_key(strategy, step, call, last_rr))[0]
        assert choose(strategy, candidates, call, step, last_rr) is expected
        tried += 1
    assert tried > 1000
