"""The state the engine's parts share, declared in one place.

`Engine` (engine.py) is one object assembled from parts, each a mixin in
its own module: call lifecycle (lifecycle.py), call transitions (calls.py),
agents (agents.py), dispatch (dispatch.py), enforcement (enforce.py),
callbacks (callbacks.py), resync (resync.py), supervisor commands
(supervisor.py), surveys and recordings (survey.py). Every part derives
from `EngineState`, so `self.calls` in any of them is the attribute
declared, typed and documented below, and nothing else can be: the class
has `__slots__` and no `__dict__`, so an attribute not declared here is an
AttributeError, not a new hidden field. (Slots on one object, not a
`self.state.calls` component: dispatch's hot path keeps one attribute
lookup per access, and bench/engine_alone.py's per-event figures did not
move.)

The methods one part calls on another (the seams) are declared below too,
for readers and type checkers, each under the module that implements it;
tests/test_core_shared.py checks that every `self.` name a part uses is a
declared attribute, one of its own methods or a declared seam.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from router.core import facts as f
from router.core.index import AvailableAgents
from router.core.sla import SlaBook
from router.core.state import AgentRec, CallRec
from router.core.table import RoutingTable

if TYPE_CHECKING:
    from router.core.dispatch import Group
    from router.core.state import AgentStatus, CallStatus
    from router.core.table import Action, Queue


class EngineState:
    """Everything the engine knows between two events."""

    # -- the world
    table: RoutingTable  # the routing table in force (replaced by a reload: agents.py _on_config)
    calls: dict[str, CallRec]  # calls in routing (waiting, ringing, connected), by id
    agents: dict[str, AgentRec]  # every agent of this or an earlier table, by id (never removed)
    parked: dict[str, CallRec]  # callbacks between attempts or until their queue opens (callbacks.py)
    # -- the line and the agents' indexes (kept by engine.py, calls.py, agents.py)
    _line: list[tuple[tuple[float, float, int], str]]  # (line_key, call id), sorted: waiting + ringing calls
    _in_queue: dict[str, int]  # queue -> callers (not callbacks) waiting or ringing in it (max_waiting)
    _available: AvailableAgents  # available agents, indexed by skill and team (dispatch reads it)
    _staffed: AvailableAgents  # logged in and not paused: the servers of enforce.py's estimated wait
    _last_rr: dict[str, str]  # queue -> the agent last offered one of its calls (round robin)
    _seq: int  # calls created so far: the last tie-break of the line order
    # -- service level (enforce.py)
    sla: SlaBook  # service level per queue, fed with every outcome
    protected: set[str]  # queues under target (enforce.py rule 3)
    _check_at: float | None  # when the enforcement check is due (None: not armed)
    offering: bool  # False once OffersStopped came (a graceful stop): dispatch offers nothing
    # -- dispatch's groups of waiting calls (dispatch.py)
    _groups: dict[tuple, Group]  # (queue, id(step), pbx) -> its waiting calls
    _touched: list[CallRec]  # calls to (re)file before the next dispatch
    _fresh: dict[tuple, Group]  # groups that got a call since the last dispatch
    # -- surveys (survey.py): call id -> (ended at, queue, agent, answered) of the
    # surveyed calls that ended, oldest first (insertion order is end order)
    _surveys: dict[str, tuple[float, str, str, bool]]
    # -- resync (resync.py), for the snapshot being applied
    _resync_answered: set[str]  # calls whose answer was already published
    # -- the event being handled (engine.py handle)
    _now: float  # its time
    _out: list  # the commands it caused so far
    # -- output nobody reads
    #: Fact types the engine need not build, because nobody follows them (a
    #: simulation sets it from its subscribers: most facts of a simulated
    #: week went straight to the bin). Empty: every fact is built. Only facts
    #: are ever left out, never a command, so routing is the same either way.
    unfollowed: frozenset

    __slots__ = tuple(__annotations__)  # every attribute above, and no other

    def __init__(self, table: RoutingTable) -> None:
        self.table = table
        self.calls = {}
        self.agents = {aid: AgentRec(aid) for aid in table.agents}
        self.parked = {}
        self._line = []
        self._in_queue = {}
        self._available = AvailableAgents(table)
        self._staffed = AvailableAgents(table)
        self._last_rr = {}
        self._seq = 0
        rules = table.settings.enforcement
        self.sla = SlaBook(table, short_abandon=rules.short_abandon, day_start_hour=rules.day_start_hour)
        self.protected = set()
        self._check_at = None
        self.offering = True
        self._groups, self._touched, self._fresh = {}, [], {}
        self._surveys = {}
        self._resync_answered = set()
        self._now = 0.0
        self._out = []
        self.unfollowed = frozenset()

    # -- output of the event being handled, for every part
    def _emit(self, command) -> None:
        self._out.append(command)

    def _publish(self, fact: f.Fact) -> None:
        self._out.append(fact)

    def _ignored(self, event, why: str) -> None:
        if f.EventIgnored not in self.unfollowed:
            self._publish(f.EventIgnored(type(event).__name__, why))

    if TYPE_CHECKING:  # the seams: declared for readers and checkers, implemented by the parts
        # engine.py
        def line(self) -> list[CallRec]: ...
        def waiting_in(self, queue: str) -> int: ...
        def _line_add(self, call: CallRec) -> None: ...
        def _line_remove(self, call: CallRec) -> None: ...
        # calls.py
        def _call_to(self, call: CallRec, status: CallStatus, agent: AgentRec | None = None) -> None: ...
        # lifecycle.py
        def _on_waiting(self, e) -> None: ...
        def _on_left(self, e) -> None: ...
        def _apply_step(self, call: CallRec) -> None: ...
        def _leave(self, call: CallRec, action: Action | None, reason: str) -> None: ...
        def _connect(self, call: CallRec, rec: AgentRec, announce: bool = True) -> None: ...
        def _missed(self, call: CallRec, reason: str) -> None: ...
        def _requeue(self, call: CallRec) -> None: ...
        def _end(self, call: CallRec) -> None: ...
        def _enter_queue(self, call: CallRec, name: str, since: float | None = None) -> None: ...
        # agents.py
        def _set(self, rec: AgentRec, status: AgentStatus, reason: str = "", keep_idle: bool = False) -> None: ...
        def _release(self, rec: AgentRec, keep_idle: bool = False) -> None: ...
        def _rest(self, rec: AgentRec, seconds: float) -> None: ...
        def _rest_over(self, e) -> None: ...
        def _on_device(self, e) -> None: ...
        def _pause_after_call(self, rec: AgentRec) -> None: ...
        # dispatch.py
        def _touch(self, call: CallRec) -> None: ...
        def _regroup(self) -> None: ...
        def _dispatch(self) -> None: ...
        # enforce.py
        def _line_key(self, call: CallRec) -> tuple[float, float, int]: ...
        def _lenders(self) -> set[str]: ...
        def _arm_check(self) -> None: ...
        def _on_check(self) -> None: ...
        # callbacks.py
        def _promise(self, call: CallRec) -> None: ...
        def _placed(self, call: CallRec, agent_id: str) -> None: ...
        def _callback_over(self, call: CallRec, agent_id: str) -> None: ...
        def _retry_due(self, ref: str) -> None: ...
        def _unpark(self, call: CallRec) -> None: ...
        def _closed_until(self, call: CallRec) -> float | None: ...
        def _park_closed(self, call: CallRec) -> None: ...
        def _callback_requeued_by_reload(self, call: CallRec) -> None: ...
        # survey.py
        def _offer_extras(self, call: CallRec, queue: Queue) -> tuple[bool, str]: ...
        def _recording_started(self, call: CallRec, agent: str) -> None: ...
        def _survey_pending(self, call: CallRec, agent: str) -> None: ...
