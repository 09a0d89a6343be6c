"""One human-readable line per routing decision, for logs and the live view."""

from __future__ import annotations

from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from router.core import facts as f
from router.process.logs import visible


def clock(now: float, tz: ZoneInfo) -> str:
    """The time of a decision line, with its UTC offset (09:30:05+08:00):
    the structured log on stderr is in UTC (its `Z`), the decision lines
    in the calendars' zone, and each says which."""
    return datetime.fromtimestamp(now, tz).isoformat(timespec="seconds")[11:]


def describe(fact: f.Fact) -> str | None:
    """The line for a published fact, or None for those not worth a line.
    Control and line-separator characters (a caller's name, a pause reason)
    come out escaped: one event, one line, and nothing for a terminal to act on."""
    line = _describe(fact)
    return None if line is None else visible(line)


def _describe(fact: f.Fact) -> str | None:
    line = LINES.get(type(fact))
    return None if line is None else line(fact)


def _queued(d: f.CallQueued) -> str:
    return f"call    {d.call} {d.caller_name} dnis {d.dnis} -> {d.queue} (rule {d.rule}, priority {d.priority})"


def _left(d: f.CallOverflowed | f.CallClosed) -> str:
    return f"{d.kind[5:]:<7} {d.call} from {d.queue}: {d.action} ({d.reason})"


def _enforced(fact: f.Fact) -> str:
    d = fact.data
    extra = " ".join(f"{k}={d[k]}" for k in ("call", "ewt", "step", "level", "target") if k in d)
    return f"enforce {d['action']} {d['queue']} ({d['reason']}) {extra}".rstrip()


def _callback(state: str) -> Callable[[f.Fact], str]:
    def line(fact: f.Fact) -> str:
        d = fact.data
        extra = " ".join(f"{k}={d[k]}" for k in ("agent", "attempts", "reason", "result")
                         if d.get(k) not in (None, ""))
        return f"callback {state} {d['call']} ({d.get('queue')}) {extra}".rstrip()
    return line


def _agent(d: f.AgentStateChanged) -> str:
    reason = f" ({d.reason})" if d.reason else ""
    return f"agent   {d.agent} {d.state}{reason}"


#: fact type -> its line (facts not here get none)
LINES: dict[type[f.Fact], Callable[[f.Fact], str]] = {
    f.CallQueued: _queued,
    f.CallOffered: lambda d: f"ring    {d.agent} for {d.call} ({d.queue}, offer {d.offer})",
    f.CallAnswered: lambda d: f"answer  {d.call} by {d.agent} after {d.wait:.1f}s ({d.queue})",
    f.OfferFailed: lambda d: f"missed  {d.call} by {d.agent} ({d.reason})",
    f.CallAbandoned: lambda d: f"abandon {d.call} after {d.wait:.1f}s ({d.queue})",
    f.CallOverflowed: _left,
    f.CallClosed: _left,
    f.CallMoved: lambda d: f"moved   {d.call} {d.source} -> {d.to} ({d.reason})",
    f.CallEscalated: lambda d: f"escalate {d.call} in {d.queue} to step {d.step} ({d.source})",
    **dict.fromkeys(f.SLA_FACTS, _enforced),
    f.CallbackQueued: _callback("promised"),
    f.CallbackPlaced: _callback("placed"),
    f.CallbackRetrying: _callback("retry"),
    f.CallbackDone: _callback("done"),
    f.CallbackFailed: _callback("failed"),
    f.AgentStateChanged: _agent,
}
