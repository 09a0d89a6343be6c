"""Writing a traffic profile as YAML that `profile_file.read_profile` reads
back to the same profile: what a fit from call records will produce.

Durations are written in whole seconds (the format's unit; a fitted mean of
183.4 s becomes 183s); calls per interval with up to six significant
digits; each call type gets its own talk, wrap-up and patience (no
defaults), each weekday its own line, and runs of intervals with the same
number of calls one period.
"""

from __future__ import annotations

import json

from router.config.values import DAYS
from router.whatif.profile import DAY, Dist, Profile

_INTERVALS = {900.0: "15m", 1800.0: "30m", 3600.0: "1h"}


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _s(seconds: float) -> str:
    return f"{round(seconds)}s"


def _clock(seconds: float) -> str:
    return f"{int(seconds // 3600):02d}:{int(seconds % 3600 // 60):02d}"


def _dist(d: Dist) -> str:
    if d.kind == "never":
        return "{dist: never}"
    if d.kind == "empirical":
        return "{dist: empirical, values: [" + ", ".join(_s(v) for v in d.values) + "]}"
    if d.kind == "lognormal":
        return f"{{dist: lognormal, mean: {_s(d.mean)}, sd: {_s(d.sd)}}}"
    return f"{{dist: {d.kind}, mean: {_s(d.mean)}}}"


def _periods(row: tuple[float, ...], interval: float) -> list[tuple[str, float]]:
    out, i = [], 0
    while i < len(row):
        j = i
        while j + 1 < len(row) and row[j + 1] == row[i]:
            j += 1
        if row[i]:
            out.append((f"{_clock(i * interval)}-{_clock((j + 1) * interval)}", row[i]))
        i = j + 1
    return out


def dump(profile: Profile) -> str:
    """The profile as YAML text."""
    lines = ["traffic:", f"  interval: {_INTERVALS[profile.interval]}"]
    if profile.timezone:
        lines.append(f"  timezone: {profile.timezone}")
    lines.append("  calls:" + ("" if profile.calls else " {}"))
    for c in profile.calls:
        lines += [f"    {c.name}:", f"      dnis: {_q(c.dnis)}"]
        if c.caller:
            lines.append(f"      caller: {_q(c.caller)}")
        if c.variables:
            lines.append("      vars: {" + ", ".join(f"{k}: {_q(v)}" for k, v in c.variables) + "}")
        days = [(DAYS[w], _periods(c.arrivals[w], profile.interval)) for w in range(7)]
        days = [(name, periods) for name, periods in days if periods]
        lines.append("      arrivals:" + ("" if days else " {}"))
        for name, periods in days:
            lines.append(f"        {name}: {{" + ", ".join(f'"{p}": {n:.6g}' for p, n in periods) + "}")
        lines += [f"      talk: {_dist(c.talk)}", f"      wrapup: {_dist(c.wrapup)}",
                  f"      patience: {_dist(c.patience)}"]
    lines += ["agents:", f"  answer_delay: {_dist(profile.answer_delay)}",
              f"  no_answer: {100 * profile.no_answer:.6g}%"]
    if profile.callback_reached < 1.0:
        lines += ["callbacks:", f"  reached: {100 * profile.callback_reached:.6g}%"]
    if profile.roster is not None:
        lines.append("roster:" + ("" if profile.roster else " []"))
        for shift in profile.roster:
            if shift.everyone:
                lines.append("  - everyone: true")
            elif shift.team is not None:
                lines.append(f"  - team: {shift.team}")
            else:
                lines.append("  - agents: [" + ", ".join(_q(a) for a in shift.agents) + "]")
            lines.append(f"    days: {','.join(DAYS[d] for d in shift.days)}")
            end = "24:00" if shift.end >= DAY else _clock(shift.end)
            lines.append(f"    shift: {_clock(shift.start)}-{end}")
            if shift.breaks:
                lines.append("    breaks: [" + ", ".join(f'"{_clock(a)}-{_clock(b)}"' for a, b in shift.breaks) + "]")
    return "\n".join(lines) + "\n"
