"""`router report --html FILE`: one self-contained page a supervisor can
mail around. Per queue, three charts over the report's buckets: volume
(calls offered, bars) with the service level (dots and line) against the
target (dashed), ASA, and abandon rate; then the queues' totals and the
agents' table.

The charts are inline SVG drawn here, not by a script (unlike the what-if
staffing chart, router/whatif/chart.py, whose script draws from JSON): mail
readers drop scripts, and a page without a script needs no network,
library or font to render.
"""

from __future__ import annotations

import html

from router.report.buckets import TOTAL
from router.report.render import cell, columns, value

W, H, LEFT, RIGHT, BOTTOM, TOP = 960, 200, 48, 44, 34, 12
#: Colours (tests find them in a screenshot).
VOLUME, SL, TARGET, ASA, ABANDON = "#4a7bb7", "#2a9d4a", "#d9534f", "#e0a040", "#8e5ea2"


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _axis_labels(buckets: list[str], x, step: float) -> str:
    every = max(1, len(buckets) // 12)
    return "".join(f'<text x="{x(i) + step / 2:.1f}" y="{H - BOTTOM + 16}" font-size="11" text-anchor="middle">'
                   f'{_e(b[11:] if len(b) > 10 and b[10] == " " else b)}</text>'
                   for i, b in enumerate(buckets) if i % every == 0)


def _chart(kind: str, title: str, buckets: list[str], values: list, colour: str, unit: str,
           line: list | None = None, target: float | None = None) -> str:
    """One SVG bar chart; `line` (0-100, right axis) and `target` for the volume chart."""
    n = max(1, len(buckets))
    step = (W - LEFT - RIGHT) / n
    top = max([v for v in values if v is not None] + [1])
    x = lambda i: LEFT + i * step  # noqa: E731
    y = lambda v, scale=top: H - BOTTOM - (v / scale) * (H - BOTTOM - TOP)  # noqa: E731
    parts = [f'<svg class="chart" data-kind="{kind}" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
             f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{_e(title)}">',
             f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" stroke="#444"/>',
             f'<text x="4" y="{TOP + 4}" font-size="11">{top:g}{unit}</text>',
             f'<text x="4" y="{H - BOTTOM}" font-size="11">0</text>']
    for i, v in enumerate(values):
        if v:
            wide = min(max(1.0, step - 2), 48.0)  # one day's bar is not the whole width
            parts.append(f'<rect class="bar" x="{x(i) + (step - wide) / 2:.1f}" y="{y(v):.1f}" width="{wide:.1f}" '
                         f'height="{H - BOTTOM - y(v):.1f}" fill="{colour}"><title>{_e(buckets[i])}: '
                         f'{v:g}{unit}</title></rect>')
    if target is not None:
        ty = y(target, 100)
        parts.append(f'<line class="target" x1="{LEFT}" y1="{ty:.0f}" x2="{W - RIGHT}" y2="{ty:.0f}" '
                     f'stroke="{TARGET}" stroke-width="3" stroke-dasharray="8 4"/>'
                     f'<text x="{W - RIGHT + 4}" y="{ty + 4:.0f}" font-size="11" fill="{TARGET}">{target:g}%</text>')
    if line is not None:
        points = [(x(i) + step / 2, y(v, 100)) for i, v in enumerate(line) if v is not None]
        if len(points) > 1:
            parts.append(f'<polyline points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in points)}" fill="none" '
                         f'stroke="{SL}" stroke-width="2"/>')
        parts.extend(f'<circle class="sl" cx="{a:.1f}" cy="{b:.1f}" r="5" fill="{SL}"/>' for a, b in points)
        parts.append(f'<text x="{W - RIGHT + 4}" y="{TOP + 4}" font-size="11" fill="{SL}">100%</text>')
    parts.append(_axis_labels(buckets, x, step))
    parts.append("</svg>")
    return "".join(parts)


def _queue_section(queue: str, rows: list[dict], buckets: list[str]) -> str:
    by_bucket = {r["bucket"]: r for r in rows}
    get = lambda key: [by_bucket.get(b, {}).get(key) for b in buckets]  # noqa: E731
    total = by_bucket.get(TOTAL, {})
    title = f"{queue} {total.get('title') or ''}".strip()
    target = total.get("target_percent")
    sl = "-" if total.get("sl_percent") is None else f"{total['sl_percent']:.1f}%"
    verdict = "" if total.get("target_met") is None else (" (target met)" if total["target_met"] else " (target missed)")
    return (f'<section class="queue" data-queue="{_e(queue)}"><h2>{_e(title)}</h2>'
            f'<p>{total.get("offered", 0)} calls offered, {total.get("answered", 0)} answered; '
            f'service level {sl}' + (f' against {target:g}%' if target is not None else " (no target: --config)")
            + f'{verdict}.</p>'
            f'<h3>Calls offered (bars) and service level (dots) against the target (dashed)</h3>'
            + _chart("volume", f"{queue} volume and service level", buckets, get("offered"), VOLUME, "",
                     line=get("sl_percent"), target=target)
            + "<h3>ASA (seconds)</h3>" + _chart("asa", f"{queue} ASA", buckets, get("asa"), ASA, "s")
            + "<h3>Abandon rate (%)</h3>"
            + _chart("abandon", f"{queue} abandon rate", buckets, get("abandon_percent"), ABANDON, "%")
            + "</section>")


def _table(view: str, rows: list[dict]) -> str:
    cols = columns(view, rows)
    head = "".join(f"<th>{_e(h)}</th>" for _, h, _ in cols)
    body = "".join("<tr>" + "".join(f'<td class="{kind}">{_e(cell(value(r, k), kind))}</td>'
                                    for k, _, kind in cols) + "</tr>" for r in rows)
    return f'<table class="{view}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def render_page(figures: dict, table=None) -> str:
    """The page for report_figures' result (with its queues and agents)."""
    queues = figures.get("queues", [])
    buckets = sorted({r["bucket"] for r in queues if r["bucket"] != TOTAL})
    names = list(dict.fromkeys(r["queue"] for r in queues))
    sections = "".join(_queue_section(q, [r for r in queues if r["queue"] == q], buckets) for q in names
                       if any(r["queue"] == q and r["offered"] for r in queues))
    agents = [r for r in figures.get("agents", []) if r["bucket"] == TOTAL]
    totals = [r for r in queues if r["bucket"] == TOTAL]
    title = f"Contact centre report {figures['from']}..{figures['to']} (by {figures['by']})"
    return f"""<!DOCTYPE html>
<html lang="zh"><head><meta charset="utf-8"><title>{_e(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; color: #222; }}
h2 {{ font-size: 1.1em; margin: 1.2em 0 0; }} h3 {{ font-size: .9em; font-weight: normal; margin: .6em 0 0; }}
table {{ border-collapse: collapse; font-size: .85em; margin: .5em 0 1em; }}
th, td {{ border: 1px solid #ccc; padding: 2px 6px; }} td.text {{ text-align: left; }}
td {{ text-align: right; white-space: nowrap; }} th {{ background: #eee; }}
</style></head><body>
<h1>{_e(title)}</h1>
<p>Definitions: docs/REPORTS.md. Service level = answered within T / (answered + abandoned after the
short-abandon time + overflowed), in the bucket of each call's arrival (local time).</p>
{sections or "<p>No calls in these dates.</p>"}
<h2>Queues, whole period</h2>
{_table("queues", totals)}
<h2>Agents, whole period</h2>
{_table("agents", agents) if agents else "<p>No agent records in these dates.</p>"}
</body></html>
"""
