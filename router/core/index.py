"""Agents indexed by skill level and team, for dispatch (router/core/dispatch.py)
and the estimated wait (enforce.py).

Why: dispatch asks, for a group of waiting calls, "is any available agent
eligible for their escalation step, and which?". Scanning every available
agent for every waiting call cost agents x calls per event (at 1,000 agents
and 1,000 callers, over 100 ms). With this index a requirement only looks at
the agents who have its rarest skill at the level it asks for (or are in one
of its teams).

`AvailableAgents` is the engine's `_available` mapping (agent id -> record,
in the order agents became available), so the agent handlers keep using it
as a dict; it keeps the buckets in step on every insert and removal. Skill
buckets are per skill and level (levels of 1 and up: a minimum of 0 is met
by everyone and is never used to pick a bucket), so that a requirement
such as sales >= 7 looks only at agents at sales 7 and above: free agents
who fall short (a busy centre has many) cost nothing. A requirement of one
skill and no team is met by every agent of its buckets without a check.

Determinism: buckets are dicts (insertion ordered), never sets, and the
strategies end in a total order, so candidate order cannot change a choice.
"""

from __future__ import annotations

from router.core.state import AgentRec
from router.core.table import Agent, Requirement, RoutingTable, Step

Bucket = dict[str, AgentRec]


class AvailableAgents(dict):
    """dict of agents (id -> AgentRec) with skill and team buckets: the
    engine keeps one of the available agents (for dispatch) and one of the
    staffed ones, logged in and not paused (for the estimated wait).

    Only `[id] = rec`, `pop(id, default)` and reads may be used on it: other
    dict mutators would bypass the buckets."""

    def __init__(self, table: RoutingTable) -> None:
        super().__init__()
        self._table = table
        self._by_skill: dict[str, dict[int, Bucket]] = {}  # skill -> level -> agents
        self._by_team: dict[str, Bucket] = {}
        self._pinned = 0  # available agents whose config names a pbx
        # agent id -> (the buckets they go in, pinned to a pbx), under `_table`.
        # Why: agents come and go from the index at every offer, answer and
        # wrap-up (five times a call); looking their skills up each time was
        # a tenth of the engine's work in a simulated week.
        self._homes: dict[str, tuple[tuple[Bucket, ...], bool]] = {}
        self.added = True  # an agent became available since the engine last looked
        # `_pool`'s answers while nobody is filed or unfiled: id(requirement) ->
        # (requirement, answer). Why: dispatch asks for the same requirement
        # twice per offer (anyone? then who?), the enforcement check for each
        # step every 5 s, and the buckets rarely change in between.
        self._pools: dict[int, tuple[Requirement, tuple[list[Bucket], bool]]] = {}

    # -- upkeep
    def __setitem__(self, agent_id: str, rec: AgentRec) -> None:
        if agent_id in self:  # re-filed: drop the old buckets first
            self._unfile(agent_id)
        super().__setitem__(agent_id, rec)
        self._file(agent_id, rec)
        self.added = True
        if self._pools:
            self._pools = {}

    def pop(self, agent_id: str, default=None):
        if agent_id not in self:
            return default
        self._unfile(agent_id)
        if self._pools:
            self._pools = {}
        return super().pop(agent_id)

    def _file(self, agent_id: str, rec: AgentRec) -> None:
        buckets, pinned = self._homes.get(agent_id) or self._home(agent_id)
        for bucket in buckets:
            bucket[agent_id] = rec
        if pinned:
            self._pinned += 1

    def _unfile(self, agent_id: str) -> None:
        buckets, pinned = self._homes.get(agent_id) or self._home(agent_id)
        for bucket in buckets:
            bucket.pop(agent_id, None)
        if pinned:
            self._pinned -= 1

    def _home(self, agent_id: str) -> tuple[tuple[Bucket, ...], bool]:
        """The agent's buckets (made if new) and whether their config names
        a pbx; nothing for an agent the table does not have (the engine never
        makes such an agent available). Buckets are only dropped by
        `_retable`, which forgets these too."""
        config = self._table.agents.get(agent_id)
        if config is None:
            home: tuple[tuple[Bucket, ...], bool] = ((), False)
        else:
            buckets = [self._by_skill.setdefault(skill, {}).setdefault(level, {})
                       for skill, level in config.skills.items() if level > 0]
            if config.team:
                buckets.append(self._by_team.setdefault(config.team, {}))
            home = (tuple(buckets), bool(config.pbx))
        self._homes[agent_id] = home
        return home

    def _retable(self, table: RoutingTable) -> None:
        """A new routing table (reload): skills and teams may have changed."""
        self._table = table
        self._by_skill.clear()
        self._by_team.clear()
        self._homes.clear()
        self._pools = {}
        self._pinned = 0
        for agent_id, rec in self.items():
            self._file(agent_id, rec)

    # -- queries
    def eligible(self, step: Step, table: RoutingTable, pbx: str = "") -> list[tuple[AgentRec, Agent]]:
        """(record, config) of every available agent eligible for `step`
        under `table` (the engine's current one) and, when `pbx` is given,
        free to take a call held there."""
        if table is not self._table:
            self._retable(table)
        if len(step.requirements) == 1:  # the common case: no merging needed
            found = self._meeting(step.requirements[0], table.agents)
        else:
            merged: dict[str, tuple[AgentRec, Agent]] = {}
            for req in step.requirements:
                for rec, config in self._meeting(req, table.agents):
                    merged.setdefault(rec.id, (rec, config))
            found = list(merged.values())
        if pbx and self._pinned:  # an agent is rung only on the server their phone is on
            found = [c for c in found if c[1].pbx in (None, pbx)]
        return found

    def any_eligible(self, step: Step, table: RoutingTable, pbx: str = "") -> bool:
        """Is any available agent eligible for `step` (and, when `pbx` is
        given, free to take a call held there)?"""
        if table is not self._table:
            self._retable(table)
        pinned = bool(pbx) and self._pinned > 0
        for req in step.requirements:
            buckets, sure = self._pool(req)
            if sure and not pinned:  # _pool never returns an empty bucket
                if buckets:
                    return True
                continue
            agents = table.agents
            for bucket in buckets:
                for aid in bucket:
                    config = agents.get(aid)
                    if (config is not None and (sure or req.met_by(config))
                            and (not pinned or config.pbx in (None, pbx))):
                        return True
        return False

    def count(self, step: Step, table: RoutingTable) -> int:
        """How many agents of this index are eligible for `step`."""
        if table is not self._table:
            self._retable(table)
        if len(step.requirements) == 1:
            buckets, sure = self._pool(step.requirements[0])
            if sure:
                return sum(len(b) for b in buckets)
        return len(self.eligible(step, table))

    def _meeting(self, req: Requirement, agents) -> list[tuple[AgentRec, Agent]]:
        """(record, config) of the available agents who meet `req`."""
        buckets, sure = self._pool(req)
        out: list[tuple[AgentRec, Agent]] = []
        for bucket in buckets:
            if sure:
                out += [(rec, agents[aid]) for aid, rec in bucket.items() if aid in agents]
            else:
                out += [(rec, agents[aid]) for aid, rec in bucket.items()
                        if aid in agents and req.met_by(agents[aid])]
        return out

    def _pool(self, req: Requirement) -> tuple[list[Bucket], bool]:
        """The smallest set of buckets that holds every agent who could meet
        `req`, and whether all of them do (no check needed)."""
        kept = self._pools.get(id(req))
        if kept is not None and kept[0] is req:
            return kept[1]
        found = self._pool_of(req)
        self._pools[id(req)] = (req, found)
        return found

    def _pool_of(self, req: Requirement) -> tuple[list[Bucket], bool]:
        best: list[Bucket] | None = None
        size, needed = 0, 0
        for skill, minimum in req.skills:
            if minimum <= 0:
                continue
            needed += 1
            levels = self._by_skill.get(skill)
            buckets = [b for level, b in levels.items() if level >= minimum and b] if levels else []
            count = sum(len(b) for b in buckets)
            if not count:
                return [], True
            if best is None or count < size:
                best, size = buckets, count
        if req.teams and (best is None or size > 1):
            teams = [self._by_team[t] for t in req.teams if self._by_team.get(t)]
            count = sum(len(b) for b in teams)
            if not count:
                return [], True
            if best is None or count < size:
                return teams, needed == 0  # team members meet a team-only requirement
        if best is None:
            return ([self] if self else []), not req.teams
        return best, needed == 1 and not req.teams
