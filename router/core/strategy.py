"""Choosing one agent among those eligible for a call.

Every strategy ends in a total order (the agent id is the last tie-break),
so the same state always gives the same choice: routing stays replayable.
"random" is a stable hash of call, agent and offer count, which spreads
calls like a random draw but is reproducible.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Sequence

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
    key: Callable[[tuple[AgentRec, Agent]], tuple]
    if strategy is Strategy.FEWEST_CALLS:
        def key(c): return (c[0].calls_taken, c[0].idle_since, c[0].id)
    elif strategy is Strategy.BEST_SKILLED:
        def key(c): return (-_skill_score(step, c[1]), c[0].idle_since, c[0].id)
    elif strategy is Strategy.RANDOM:
        def key(c): return (_stable_hash(call.id, c[0].id, str(call.offers)), c[0].id)
    elif strategy is Strategy.ROUND_ROBIN:
        # Next id after the last one served, wrapping around.
        def key(c): return (last_rr is not None and c[0].id <= last_rr, c[0].id)
    else:  # LONGEST_IDLE
        def key(c): return (c[0].idle_since, c[0].id)
    return min(candidates, key=key)[0]
