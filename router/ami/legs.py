"""The agent legs the router originates, for one PBX: what is known of
each (`Leg`), their ids (`LegIds`: the one leg-id format), and the lookup of
a call's leg to an agent (`PairIndex`). Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

_SEQ = re.compile(r"[0-9]{1,9}")  # the leg counter in a leg id


@dataclass(slots=True)
class Leg:
    """An agent leg the router originated."""

    leg_id: str
    call_id: str
    agent_id: str
    channel: str = ""  # learnt from Newchannel
    answered: bool = False
    cancelled: bool = False  # hung up by the router: its offer was withdrawn
    cause: str = ""  # the Hangup's Cause, when it came before the OriginateResponse
    failed: bool = False  # a failed OriginateResponse with no reason came first: its Hangup says why


class LegIds:
    """Leg ids rtr-PBX-RUN-N (rtr-PBX-N with no run): the router chooses
    each leg's Uniqueid (Originate's ChannelId) and uses it as the
    Originate's ActionID. `run` is part of every id: a restarted router must
    not reuse the ids of legs its previous run left on the PBX."""

    def __init__(self, pbx: str, run: str) -> None:
        self.prefix = f"rtr-{pbx or 'pbx'}-{run}{'-' if run else ''}"
        self.seq = 0  # the last leg counter used

    def next(self) -> str:
        self.seq += 1
        return f"{self.prefix}{self.seq}"

    def skip(self, leg_ids: Iterable[str]) -> None:
        """Move the counter past the ids of this form among `leg_ids` (legs
        still up: Asterisk would refuse a reused ChannelId)."""
        prefix = self.prefix
        for leg_id in leg_ids:
            if leg_id.startswith(prefix) and _SEQ.fullmatch(leg_id[len(prefix):]):
                self.seq = max(self.seq, int(leg_id[len(prefix):]))


class PairIndex:
    """(call id, agent id) -> the oldest live leg, beside a legs map (leg id
    -> Leg) that others change and may replace whole.

    A scan of every leg cost ~1 ms per CancelRing with thousands of agents
    talking (found by profiling: bench/RESULTS.md), so this map is kept. The
    legs map is changed in several places (and replaced by a resync), so an
    entry is trusted only while its leg is still in it; otherwise scan."""

    def __init__(self) -> None:
        self._pairs: dict[tuple[str, str], Leg] = {}
        self._pairs_of: dict[str, Leg] | None = None

    def add(self, legs: dict[str, Leg], leg: Leg) -> None:
        """Put `leg` in `legs`, and in the index unless an older one is live."""
        pairs = self._for(legs)
        legs[leg.leg_id] = leg
        known = pairs.get((leg.call_id, leg.agent_id))
        if known is None:
            pairs[(leg.call_id, leg.agent_id)] = leg
        elif legs.get(known.leg_id) is not known:
            self._scan(legs, leg.call_id, leg.agent_id)

    def find(self, legs: dict[str, Leg], call_id: str, agent_id: str) -> Leg | None:
        """The oldest live leg ringing `agent_id` for `call_id`."""
        leg = self._for(legs).get((call_id, agent_id))
        if leg is None or legs.get(leg.leg_id) is leg:
            return leg
        return self._scan(legs, call_id, agent_id)

    def _for(self, legs: dict[str, Leg]) -> dict[tuple[str, str], Leg]:
        pairs = self._pairs
        if (self._pairs_of is not legs
                or len(pairs) > 2 * len(legs) + 1000):  # new map, or too many dead entries
            pairs = {}
            for leg in legs.values():
                pairs.setdefault((leg.call_id, leg.agent_id), leg)
            self._pairs, self._pairs_of = pairs, legs
        return pairs

    def _scan(self, legs: dict[str, Leg], call_id: str, agent_id: str) -> Leg | None:
        leg = next((leg for leg in legs.values() if leg.call_id == call_id and leg.agent_id == agent_id), None)
        if leg is None:
            self._pairs.pop((call_id, agent_id), None)
        else:
            self._pairs[(call_id, agent_id)] = leg
        return leg
