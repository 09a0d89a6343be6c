"""Percentiles and table formatting for the benchmark report."""

from __future__ import annotations


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (p in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(min(rank, len(sorted_values))) - 1]


def summarise(values: list[float], scale: float = 1.0) -> dict:
    """count, p50, p99, max and mean of `values` times `scale`."""
    data = sorted(v * scale for v in values)
    return {"count": len(data), "p50": percentile(data, 50), "p99": percentile(data, 99),
            "max": data[-1] if data else float("nan"),
            "mean": sum(data) / len(data) if data else float("nan")}


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table (also readable as plain text)."""
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells]
    return "\n".join(out)


def _fmt(value) -> str:
    if isinstance(value, float):
        if value != value:
            return "-"
        if value >= 100:
            return f"{value:,.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
