"""Choosing one agent among those eligible for a call.

Every strategy ends in a total order (the agent id is the last tie-break),
so the same state always gives the same choice: routing stays replayable.
"random" is a stable hash of call, agent and offer count, which spreads
calls like a random draw but is reproducible.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Iterable, Sequence

from router.core.state import AgentRec, CallRec
from router.core.table import Agent, Step, Strategy


def _skill_score(step: Step, agent: Agent) -> int:
    """Sum of the agent's levels in the skills of the first requirement of
    the step that the agent meets (the one that made it eligible)."""
    for req in step.requirements:
        if req.met_by(agent):
            return sum(agent.skills.get(s, 0) for s, _ in req.skills)
    return 0


def _stable_hash(*parts: str) -> bytes:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()


def choose(strategy: Strategy, candidates: Sequence[tuple[AgentRec, Agent]], call: CallRec,
           step: Step, last_rr: str | None) -> AgentRec:
    """Pick one of `candidates` (non-empty) for `call` under `strategy`.
    last_rr is the id of the agent this queue's round robin served last."""
    # The three strategies of most queues are written as loops: `min` with a
    # key built a tuple per candidate, at every offer of a simulated week.
    # Same total order as the keys below, so the same choice.
    if strategy is Strategy.LONGEST_IDLE:  # key (idle_since, id)
        return _least(((rec.idle_since, rec) for rec, _ in candidates))
    if strategy is Strategy.FEWEST_CALLS:  # key (calls_taken, idle_since, id)
        fewest = min(rec.calls_taken for rec, _ in candidates)
        return _least(((rec.idle_since, rec) for rec, _ in candidates if rec.calls_taken == fewest))
    if strategy is Strategy.BEST_SKILLED:  # key (-skill score, idle_since, id)
        if len(step.requirements) == 1:  # every candidate meets it: the score needs no check
            names = [s for s, _ in step.requirements[0].skills]
            scored = [(sum(config.skills.get(s, 0) for s in names), rec) for rec, config in candidates]
        else:
            scored = [(_skill_score(step, config), rec) for rec, config in candidates]
        best = max(score for score, _ in scored)
        return _least(((rec.idle_since, rec) for score, rec in scored if score == best))
    key: Callable[[tuple[AgentRec, Agent]], tuple]
    if strategy is Strategy.RANDOM:
        def key(c): return (_stable_hash(call.id, c[0].id, str(call.offers)), c[0].id)
    else:  # ROUND_ROBIN: next id after the last one served, wrapping around.
        def key(c): return (last_rr is not None and c[0].id <= last_rr, c[0].id)
    return min(candidates, key=key)[0]


def _least(pairs: Iterable[tuple[float, AgentRec]]) -> AgentRec:
    """The record of the least (time, record id) of `pairs` (non-empty)."""
    best = best_at = None
    for at, rec in pairs:
        if best is None or at < best_at or (at == best_at and rec.id < best.id):
            best, best_at = rec, at
    return best
