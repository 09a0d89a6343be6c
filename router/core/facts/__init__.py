"""Facts: what the router tells the world. One frozen dataclass per fact.

The engine (and, for its own audit, the router) appends facts to the
commands it returns; every consumer (metrics, MQTT, the console, the state
file, the records) subscribes to them by type. This package is the catalogue:
`CATALOGUE` lists every fact, and adapters derive their wire formats from it
(docs/MQTT.md, router/mqtt/schema.py).

Each fact has a dotted `kind` (the MQTT event name, e.g. "call.answered")
and `data`: its payload as a flat JSON-able mapping, the fields named in
`PAYLOAD`, in order. Fields beyond `PAYLOAD` (a call's IVR variables, the
arrival time) are for in-process subscribers such as the records.
"""

from router.core.facts.base import Fact, Vars
from router.core.facts.callbacks import CallbackDone, CallbackFailed, CallbackPlaced, CallbackQueued, CallbackRetrying
from router.core.facts.calls import (CallAbandoned, CallAnswered, CallClosed, CallCompleted, CallEscalated, CallMoved,
                                     CallOffered, CallOverflowed, CallQueued, CallRecorded, CallReprioritised,
                                     CallRinging, CallSurveyed, OfferFailed)
from router.core.facts.router import ControlCommand, EventIgnored, PbxResynced
from router.core.facts.service import AgentStateChanged, CallHurried, QueueProtected, QueueReleased

__all__ = [
    'Fact', 'Vars', 'CallbackDone', 'CallbackFailed', 'CallbackPlaced', 'CallbackQueued', 'CallbackRetrying',
    'CallAbandoned', 'CallAnswered', 'CallClosed', 'CallCompleted', 'CallEscalated', 'CallMoved', 'CallOffered',
    'CallOverflowed', 'CallQueued', 'CallRecorded', 'CallReprioritised', 'CallRinging', 'CallSurveyed',
    'OfferFailed', 'ControlCommand', 'EventIgnored', 'PbxResynced', 'AgentStateChanged', 'CallHurried', 'QueueProtected',
    'QueueReleased', 'CALL_FACTS', 'CALLBACK_FACTS', 'SLA_FACTS', 'CATALOGUE', 'OUTCOME_FACTS', 'CALLBACK_STATE'
]

CALL_FACTS: tuple[type[Fact], ...] = (
    CallQueued, CallEscalated, CallMoved, CallReprioritised, CallOffered, CallRinging, OfferFailed,
    CallAnswered, CallAbandoned, CallOverflowed, CallClosed, CallCompleted, CallRecorded, CallSurveyed)
CALLBACK_FACTS: tuple[type[Fact], ...] = (
    CallbackQueued, CallbackPlaced, CallbackRetrying, CallbackDone, CallbackFailed)
SLA_FACTS: tuple[type[Fact], ...] = (QueueProtected, QueueReleased, CallHurried)
#: Every fact the router publishes.
CATALOGUE: tuple[type[Fact], ...] = (
    *CALL_FACTS, *CALLBACK_FACTS, AgentStateChanged, *SLA_FACTS, EventIgnored, ControlCommand,
    PbxResynced)
#: The call outcomes as facts (each call gets exactly one; core/state.OUTCOMES).
OUTCOME_FACTS: tuple[type[Fact], ...] = (CallAnswered, CallAbandoned, CallOverflowed, CallClosed)
#: The state word of each callback fact (its kind after "callback."): the
#: state file, the metrics' labels and the MQTT `call.callback` events say it.
CALLBACK_STATE: dict[type[Fact], str] = {t: t.kind.partition(".")[2] for t in CALLBACK_FACTS}
