"""Choosing one agent among those eligible for a call.

Every strategy ends in a total order (the agent id is the last tie-break),
so the same state always gives the same choice: routing stays replayable.
"random" is a stable hash of call, agent and offer count, which spreads
calls like a random draw but is reproducible.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

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
    # Each compares as its key below does, so the choice is the same.
    best: AgentRec | None = None
    best_at, best_n, best_score = 0.0, 0, 0  # (read only once `best` is set)
    if strategy is Strategy.LONGEST_IDLE:  # key (idle_since, id)
        for rec, _ in candidates:
            at = rec.idle_since
            if best is None or at < best_at or (at == best_at and rec.id < best.id):
                best, best_at = rec, at
        assert best is not None, "choose: no candidates"
        return best
    if strategy is Strategy.FEWEST_CALLS:  # key (calls_taken, idle_since, id)
        for rec, _ in candidates:
            n, at = rec.calls_taken, rec.idle_since
            if (best is None or n < best_n
                    or (n == best_n and (at < best_at or (at == best_at and rec.id < best.id)))):
                best, best_n, best_at = rec, n, at
        assert best is not None, "choose: no candidates"
        return best
    if strategy is Strategy.BEST_SKILLED:  # key (-skill score, idle_since, id)
        one = len(step.requirements) == 1  # every candidate meets it: the score needs no check
        names = [s for s, _ in step.requirements[0].skills] if one else ()
        for rec, config in candidates:
            if one:
                levels = config.skills
                score = sum(levels.get(s, 0) for s in names)
            else:
                score = _skill_score(step, config)
            at = rec.idle_since
            if (best is None or score > best_score
                    or (score == best_score and (at < best_at or (at == best_at and rec.id < best.id)))):
                best, best_score, best_at = rec, score, at
        assert best is not None, "choose: no candidates"
        return best
    # RANDOM and ROUND_ROBIN: the first candidate of the smallest key, as
    # `min` gives it; a loop, not a key function (a closure over the call:
    # compiled, each one was a reference cycle left to the collector).
    best_key: tuple | None = None
    salt = str(call.offers)
    for rec, _ in candidates:
        if strategy is Strategy.RANDOM:
            k: tuple = (_stable_hash(call.id, rec.id, salt), rec.id)
        else:  # ROUND_ROBIN: next id after the last one served, wrapping around.
            k = (last_rr is not None and rec.id <= last_rr, rec.id)
        if best_key is None or k < best_key:
            best, best_key = rec, k
    assert best is not None, "choose: no candidates"
    return best

