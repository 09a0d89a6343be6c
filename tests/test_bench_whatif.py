"""Smoke run of bench/whatif.py at a tiny size: it runs end to end on the
200-agent centre and writes its own section of RESULTS.md, keeping the rest.
No timing is asserted (the figures come from `python -m bench.whatif`)."""

from __future__ import annotations

from bench.whatif import HEADING, centre, section, traffic, week_speed, write_section


def test_the_bench_centre_and_traffic_are_what_the_docstring_says():
    table = centre(200)
    assert len(table.agents) == 200
    assert all(c.weekly == tuple((d, 0, 1440) for d in range(7)) for c in table.calendars.values())
    profile = traffic(table, 2000.0)
    assert all(abs(profile.rate(w, i) * 3600 - 2000.0) < 1e-6 for w in range(7) for i in range(48))


def test_a_short_run_gives_a_section_and_keeps_the_others(tmp_path):
    r = week_speed(hours=0.25)
    assert r["offered"] > 200 and r["answered"] > 0.8 * r["offered"]
    assert r["cpu_s"] > 0 and r["calls_per_cpu_s"] > 0
    text = section(r, "python -m bench.whatif --hours 0.25")
    assert text.startswith(HEADING) and "| 200 | 2,000 | 0.25 |" in text
    import router.core.sla as sla
    assert r["build"] == ("pure Python" if sla.__file__.endswith(".py") else "compiled (scripts/build-compiled.sh)")
    assert f", {r['build']}. How it is measured" in text
    out = tmp_path / "RESULTS.md"
    out.write_text("# Benchmark results\n\n## Changes made from the profiles\n\nkept\n", encoding="utf-8")
    write_section(out, text)
    write_section(out, text.replace("0.25", "0.5"))  # a second run replaces, never duplicates
    body = out.read_text(encoding="utf-8")
    assert body.count(HEADING) == 1 and "kept" in body and "| 200 | 2,000 | 0.5 |" in body
