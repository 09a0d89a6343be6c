"""`router simulate ... --staffing --html PATH`: the staffing plan as a
chart, one per queue: agents needed (Erlang C, bars) and rostered (line)
per interval, with the simulated service level in each bar's tooltip.

One self-contained HTML file (no network, no library): the plan's rows as
JSON and a small script that draws SVG. When it is done the script marks
`<body data-rendered="...">` with what it drew and the measured size of the
charts, which is what tests check in a real headless browser.
"""

from __future__ import annotations

import html
import json
import math

from router.whatif.staffing import Row

_SCRIPT = """
const plan = JSON.parse(document.getElementById('plan').textContent);
const ns = 'http://www.w3.org/2000/svg';
const W = 960, H = 220, L = 40, B = 30;
function el(name, attrs, parent) {
  const e = document.createElementNS(ns, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  parent.appendChild(e);
  return e;
}
let bars = 0, lines = 0, width = 0;
const root = document.getElementById('charts');
for (const q of plan.queues) {
  const rows = plan.rows.filter(r => r.queue === q);
  if (!rows.some(r => r.calls > 0)) continue;
  const box = document.createElement('section');
  const h = document.createElement('h2');
  h.textContent = q;
  box.appendChild(h);
  root.appendChild(box);
  const svg = el('svg', {width: W, height: H, class: 'chart', 'data-queue': q}, box);
  const top = Math.max(1, ...rows.map(r => Math.max(r.required || 0, r.rostered)));
  const n = plan.intervals, step = (W - L) / n;
  const y = v => H - B - v * (H - B - 10) / top;
  el('line', {x1: L, y1: H - B, x2: W, y2: H - B, stroke: '#444'}, svg);
  for (let v = 0; v <= top; v += Math.max(1, Math.ceil(top / 5))) {
    el('text', {x: 4, y: y(v) + 4, 'font-size': 11}, svg).textContent = v;
  }
  const points = [];
  for (const r of rows) {
    const x = L + r.index * step;
    if (r.calls > 0 && r.required !== null) {
      const bar = el('rect', {x: x + 1, y: y(r.required), width: step - 2, height: H - B - y(r.required),
                              class: 'need', fill: r.rostered < r.required ? '#d9534f' : '#8fb8de'}, svg);
      el('title', {}, bar).textContent = r.interval + ': need ' + r.required + ', have ' + r.rostered +
        ', simulated SL ' + (r.simulated_sl === null ? '-' : r.simulated_sl.toFixed(0) + '%');
      bars++;
    }
    points.push((x + step / 2) + ',' + y(r.rostered));
  }
  el('polyline', {points: points.join(' '), fill: 'none', stroke: '#222', 'stroke-width': 2, class: 'have'}, svg);
  lines++;
  for (let i = 0; i < n; i += 4) {
    el('text', {x: L + i * step, y: H - 10, 'font-size': 11}, svg).textContent = plan.labels[i];
  }
  width += svg.getBoundingClientRect().width;
}
document.body.dataset.rendered = 'queues=' + lines + ' bars=' + bars + ' width=' + Math.round(width);
"""


def render(rows: list[Row], title: str, intervals: int, interval: float) -> str:
    """The HTML page for the plan's rows."""
    index = {r.interval: int(r.interval[:2]) * 3600 // int(interval) + int(r.interval[3:5]) * 60 // int(interval)
             for r in rows}
    labels = [f"{int(i * interval // 3600):02d}:{int(i * interval % 3600 // 60):02d}" for i in range(intervals)]
    queues = list(dict.fromkeys(r.queue for r in rows))
    data = {"intervals": intervals, "labels": labels, "queues": queues,
            "rows": [{"index": index[r.interval], "interval": r.interval, "queue": r.queue, "calls": r.calls,
                      "required": r.required, "rostered": r.rostered,
                      "simulated_sl": None if math.isnan(r.simulated_sl) else round(r.simulated_sl, 1)}
                     for r in rows]}
    # "</" must not appear inside the script element's JSON
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html lang="zh"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body {{ font-family: sans-serif; margin: 1em; }} h2 {{ font-size: 1em; margin: 1em 0 0; }}</style>
</head><body>
<h1>{html.escape(title)}</h1>
<p>Bars: agents needed for the queue's target (Erlang C), red where the roster has fewer.
Line: agents rostered and eligible. Hover a bar for the simulated service level.</p>
<div id="charts"></div>
<script type="application/json" id="plan">{payload}</script>
<script>{_SCRIPT}</script>
</body></html>
"""
