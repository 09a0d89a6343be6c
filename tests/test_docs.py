"""The README's generated figures are what the commands print now
(bench/docs.py: `python -m bench.docs` rewrites them)."""

from __future__ import annotations

from pathlib import Path

from bench import docs

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_figures_are_those_of_a_fresh_run_of_the_commands():
    text = README.read_text(encoding="utf-8")
    assert set(m.group("name") for m in docs.MARKERS.finditer(text)) == set(docs.SECTIONS)
    assert docs.rewrite(text) == text, "README.md figures are stale: run `.venv/bin/python -m bench.docs`"


def test_a_figure_edited_by_hand_is_put_back_and_check_fails(tmp_path, capsys):
    text = README.read_text(encoding="utf-8")
    on = docs.simulate()["sales"]
    row = next(line for line in text.splitlines() if line.startswith("| sales ("))
    wrong = row.replace(f"| {on.sl}% |", f"| {on.sl + 1}% |")
    assert wrong != row
    stale = tmp_path / "README.md"
    stale.write_text(text.replace(row, wrong), encoding="utf-8")
    assert docs.main(["--check", "--readme", str(stale)]) == 1
    assert f"+{row}" in capsys.readouterr().out
    assert docs.main(["--readme", str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == text


def test_the_example_quotes_the_command_that_made_it():
    text = docs.simulate_example()
    assert "`router simulate config --quiet --duration 8h --agents 30`" in text
    assert f"gives sales {docs.simulate()['sales'].sl}% against 80%/20s" in text
    assert f"sales gets {docs.simulate('--enforcement', 'off')['sales'].sl}%" in text
