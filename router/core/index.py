"""Available agents, indexed by skill and team, for `Engine._dispatch`.

Why: dispatch asks, for each waiting call in line order, "which available
agents are eligible for this call's escalation step?". Scanning every
available agent for every waiting call costs agents x calls per event (at
1,000 agents and 1,000 callers, over 100 ms). With this index a
requirement only looks at the agents who have its rarest skill (or are in
one of its teams), and dispatch skips a step already found to have nobody.

`AvailableAgents` is the engine's `_available` mapping (agent id -> record,
in the order agents became available), so the agent handlers keep using it
as a dict; it keeps the buckets in step on every insert and removal. The
buckets hold agents whose level in the skill is at least 1: a minimum of 0
is met by everyone and is never used to pick a bucket.

Determinism: buckets are dicts (insertion ordered), never sets, and the
strategies end in a total order, so candidate order cannot change a choice.
"""

from __future__ import annotations

from router.core.state import AgentRec
from router.core.table import Agent, Requirement, RoutingTable, Step


class AvailableAgents(dict):
    """dict of available agents (id -> AgentRec) with skill and team buckets.

    Only `[id] = rec`, `pop(id, default)` and reads may be used on it: other
    dict mutators would bypass the buckets."""

    def __init__(self, table: RoutingTable) -> None:
        super().__init__()
        self._table = table
        self._by_skill: dict[str, dict[str, AgentRec]] = {}
        self._by_team: dict[str, dict[str, AgentRec]] = {}
        self.added = True  # an agent became available since the engine last looked

    # -- upkeep
    def __setitem__(self, agent_id: str, rec: AgentRec) -> None:
        super().__setitem__(agent_id, rec)
        self._file(agent_id, rec)
        self.added = True

    def pop(self, agent_id: str, default=None):
        rec = super().pop(agent_id, default)
        if rec is not default:
            self._unfile(agent_id)
        return rec

    def _file(self, agent_id: str, rec: AgentRec) -> None:
        config = self._table.agents.get(agent_id)
        if config is None:  # the engine never makes such an agent available
            return
        for skill, level in config.skills.items():
            if level > 0:
                self._by_skill.setdefault(skill, {})[agent_id] = rec
        if config.team:
            self._by_team.setdefault(config.team, {})[agent_id] = rec

    def _unfile(self, agent_id: str) -> None:
        config = self._table.agents.get(agent_id)
        if config is None:
            return
        for skill in config.skills:
            bucket = self._by_skill.get(skill)
            if bucket is not None:
                bucket.pop(agent_id, None)
        if config.team and config.team in self._by_team:
            self._by_team[config.team].pop(agent_id, None)

    def _retable(self, table: RoutingTable) -> None:
        """A new routing table (reload): skills and teams may have changed."""
        self._table = table
        self._by_skill.clear()
        self._by_team.clear()
        for agent_id, rec in self.items():
            self._file(agent_id, rec)

    # -- queries
    def eligible(self, step: Step, table: RoutingTable) -> list[tuple[AgentRec, Agent]]:
        """(record, config) of every available agent eligible for `step`
        under `table` (the engine's current one)."""
        if table is not self._table:
            self._retable(table)
        agents = table.agents
        if len(step.requirements) == 1:  # the common case: no merging needed
            return [(rec, agents[aid]) for aid, rec in self._pool(step.requirements[0]).items()
                    if aid in agents and step.requirements[0].met_by(agents[aid])]
        found: dict[str, tuple[AgentRec, Agent]] = {}
        for req in step.requirements:
            for aid, rec in self._pool(req).items():
                if aid not in found and aid in agents and req.met_by(agents[aid]):
                    found[aid] = (rec, agents[aid])
        return list(found.values())

    def _pool(self, req: Requirement) -> dict[str, AgentRec]:
        """The smallest bucket that holds every agent who could meet `req`."""
        best: dict[str, AgentRec] | None = None
        for skill, minimum in req.skills:
            if minimum <= 0:
                continue
            bucket = self._by_skill.get(skill)
            if not bucket:
                return {}
            if best is None or len(bucket) < len(best):
                best = bucket
        if req.teams and (best is None or len(best) > 1):
            teams = [self._by_team.get(t, {}) for t in req.teams]
            if sum(len(b) for b in teams) < (len(best) if best is not None else len(self) + 1):
                best = teams[0] if len(teams) == 1 else {k: v for b in teams for k, v in b.items()}
        return self if best is None else best
