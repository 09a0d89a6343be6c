"""`router explain`: what the routing table would do with one call, as text.

A dry run for the admin, in the spirit of `amtool config routes test`: which
rule matched (and why each earlier rule did not), the queue and whether it is
open, the escalation steps with their times, and which configured agents
would be eligible at each step. It reads the same compiled table and the same
classification code as the engine, so what it says is what routing does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from router.core.calendar import is_open
from router.core.classify import why_not
from router.core.events import CallWaiting
from router.core.state import AgentStatus, CallStatus
from router.core.table import Action, Agent, Calendar, RoutingTable, Step

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

#: How many agent names to list per step before summarising.
MAX_NAMES = 12


@dataclass(frozen=True)
class Explanation:
    lines: tuple[str, ...]
    rule: str
    queue: str

    def __str__(self) -> str:
        return "\n".join(self.lines)


def _seconds(value: float) -> str:
    value = int(value)
    minutes, seconds = divmod(value, 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def _eligible(table: RoutingTable, step: Step) -> list[str]:
    return [f"{a.id} {a.name}" for a in table.agents.values() if step.eligible(a)]


def _action_line(label: str, action: Action | None) -> str:
    return f"{label}: {action.describe() if action else '(none)'}"


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def calendar_state(calendar: Calendar, now: float) -> str:
    """Whether `calendar` is open at `now`, and which of its entries says
    so: a holiday, or that weekday's hours."""
    local = datetime.fromtimestamp(now, ZoneInfo(calendar.timezone))
    where = f"{local:%Y-%m-%d %a %H:%M} {calendar.timezone}"
    if local.date() in calendar.holidays:
        return f"CLOSED: {local:%Y-%m-%d} is one of its holidays ({where})"
    hours = [(start, end) for day, start, end in calendar.weekly if day == local.weekday()]
    shown = ", ".join(f"{_hhmm(a)}-{_hhmm(b)}" for a, b in hours)
    state = "open" if is_open(calendar, now) else "CLOSED"
    if not hours:
        return f"{state}: closed all day on {DAYS[local.weekday()]}s ({where})"
    return f"{state}: {DAYS[local.weekday()]} hours {shown} ({where})"


def unread_variables(table: RoutingTable, variables) -> list[str]:
    """Names among `variables` that no rule's `when.vars` reads."""
    read = {name for rule in table.rules for name, _ in rule.match.vars}
    return [name for name, _ in variables if name not in read]


def explain(table: RoutingTable, call: CallWaiting, now: float, tz: ZoneInfo) -> Explanation:
    """Explain how `call`, arriving at `now`, would be routed."""
    local = datetime.fromtimestamp(now, tz)
    variables = dict(call.variables)
    out = [f"call: dnis={call.dnis!r} caller={call.caller_num!r}"
           + "".join(f" {k}={v!r}" for k, v in call.variables)
           + f" at {local:%Y-%m-%d %H:%M %a} ({tz.key})"]
    out += [f"warning: no rule reads variable {name!r}: it changes nothing"
            for name in unread_variables(table, call.variables)]
    out += ["", "rules (first match wins):"]
    chosen = table.default
    for number, rule in enumerate(table.rules, 1):
        reason = why_not(rule.match, call, variables, table, now)
        if reason is not None and reason.startswith("calendar "):  # which holiday or hours decided
            calendar = rule.match.in_hours or rule.match.out_of_hours
            reason += f" ({calendar_state(table.calendars[calendar], now).split(': ', 1)[1]})"
        where = f" [{rule.source}]" if rule.source else ""
        if reason is None:
            out.append(f"  {number:>2}. {rule.name}{where}: MATCHED")
            chosen = rule
            break
        out.append(f"  {number:>2}. {rule.name}{where}: no, {reason}")
    else:
        out.append(f"  no rule matched: default route{' [' + table.default.source + ']' if table.default.source else ''}")

    queue = table.queues[chosen.queue]
    extra = ", ".join(f"{s}>={lvl}" for s, lvl in chosen.skills) or "none"
    out += ["", f"rule: {chosen.name}", f"queue: {queue.name} ({queue.title})",
            f"priority: {chosen.priority}", f"extra skills from the rule: {extra}",
            f"strategy: {queue.strategy.value}; ring {_seconds(queue.ring_timeout)}, "
            f"wrap-up {_seconds(queue.wrapup)}; service level {queue.service_level.percent:g}% "
            f"within {_seconds(queue.service_level.within)}"]
    if queue.survey or queue.record:  # docs/RULES.md, "Survey and recording"
        out.append("after the call: " + "; ".join(
            ([f"recorded to {table.settings.recordings_dir}/<call id>.wav"] if queue.record else [])
            + (["the caller is asked for a 1-5 score (router-survey)"] if queue.survey else [])))
    if queue.max_waiting is not None:
        out.append(f"max waiting: {queue.max_waiting}; " + _action_line("when full", queue.overflow))
    if queue.hours:
        out.append(f"hours: calendar {queue.hours} is {calendar_state(table.calendars[queue.hours], now)}")
        if not is_open(table.calendars[queue.hours], now):
            out.append("  -> the call would not wait: " + _action_line("closed action", queue.closed))
            out += ["", "escalation: none, the queue is closed (its steps apply while it is open)"]
            return Explanation(tuple(out), chosen.name, queue.name)

    out += ["", "escalation (time waited in the queue):"]
    for step in chosen.steps:
        when = f"  from {_seconds(step.after):>6}"
        if step.action is not None:
            out.append(f"{when}  leave the queue: {step.action.describe()}")
            continue
        out.append(f"{when}  " + "  OR  ".join(r.describe() for r in step.requirements))
        names = _eligible(table, step)
        shown = ", ".join(names[:MAX_NAMES]) + (f", ... (+{len(names) - MAX_NAMES})" if len(names) > MAX_NAMES else "")
        out.append(f"          eligible agents ({len(names)}): {shown or 'NONE - no configured agent qualifies'}")
    return Explanation(tuple(out), chosen.name, queue.name)


def _why_not_agent(step: Step, agent: Agent) -> str:
    """Why `agent` does not qualify for `step`: the first shortfall of
    each of its requirements."""
    reasons = []
    for req in step.requirements:
        for skill, minimum in req.skills:
            level = agent.skills.get(skill, 0)
            if level < minimum:
                reasons.append(f"{skill} {level} < {minimum}" if level else f"no {skill} (needs {minimum})")
                break
        else:
            reasons.append(f"team {agent.team or '(none)'} not in {'|'.join(req.teams)}")
    return " / ".join(dict.fromkeys(reasons)) or "the step takes no agent"


def explain_waiting(router, call_id: str, tz: ZoneInfo) -> list[str] | None:
    """Why the call `call_id`, waiting in the running `router`, still
    waits: its rule, queue and step, its place in line, the agents its step
    takes and why each free agent is not offered it. None if no such call
    is waiting or ringing."""
    engine, table, now = router.engine, router.engine.table, router.clock.now()
    call = engine.calls.get(call_id)
    if call is None or call.status is CallStatus.CONNECTED:
        return None
    info = call.info
    waited, in_queue = now - call.arrived, now - call.entered
    order = engine.serving_order()
    out = [f"call {call.id}: {info.caller_name or '-'} caller {info.caller_num or '-'} dnis {info.dnis or '-'}"
           f"{' pbx ' + info.pbx if info.pbx else ''}, at {datetime.fromtimestamp(now, tz):%H:%M:%S %Z}",
           f"rule: {call.rule.name}{' [' + call.rule.source + ']' if call.rule.source else ''}; "
           f"queue {call.queue}; priority {call.priority}{'; a promised callback' if call.callback else ''}",
           f"waited {_seconds(waited)} ({_seconds(in_queue)} in this queue); place {order.index(call.id) + 1} "
           f"of {len(order)} in the serving order"
           + ("; its queue is protected (under target)" if call.queue in engine.protected else "")]
    step = call.steps[call.step]
    out.append(f"step {call.step + 1} of {len(call.steps)} (from {_seconds(step.after)}, {step.source}): "
               + ("  OR  ".join(r.describe() for r in step.requirements) or "no agent"))
    later = call.steps[call.step + 1:]
    if later:
        nxt = later[0]
        what = f"leaves the queue: {nxt.action.describe()}" if nxt.action else \
            "  OR  ".join(r.describe() for r in nxt.requirements)
        out.append(f"next: at {_seconds(nxt.after)} in the queue ({_seconds(max(0.0, nxt.after - in_queue))} "
                   f"from now): {what}")
    if call.status is CallStatus.RINGING:
        out.append(f"now ringing agent {call.agent} (offer {call.offers})")
    eligible = [(a, engine.agents[a.id]) for a in table.agents.values() if a.id in engine.agents and step.eligible(a)]
    out.append(f"agents this step takes ({len(eligible)}):")
    for agent, rec in eligible:
        out.append(f"  {agent.id} {agent.name}: {_agent_state(rec, now)}")
    free = [(a, engine.agents[a.id]) for a in table.agents.values()
            if a.id in engine.agents and engine.agents[a.id].status is AgentStatus.AVAILABLE]
    out.append(f"free agents ({len(free)}), why each is not offered it:")
    for agent, rec in free:
        if not step.eligible(agent):
            why = _why_not_agent(step, agent)
        elif agent.pbx and info.pbx and agent.pbx != info.pbx:
            why = f"phone on pbx {agent.pbx}, the call is on {info.pbx}"
        else:
            why = "eligible: about to be offered it (or a call ahead in line)"
        out.append(f"  {agent.id} {agent.name}: {why}")
    return out


def _agent_state(rec, now: float) -> str:
    text = rec.status.value
    if rec.status is AgentStatus.PAUSED and rec.reason:
        text += f" ({rec.reason})"
    if rec.call:
        text += f", call {rec.call}"
    if rec.status is AgentStatus.WRAPUP:
        text += f", free in {_seconds(max(0.0, rec.rest_until - now))}"
    return text
