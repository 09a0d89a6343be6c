"""Fuzz the YAML loader by mutating the sample config (config/*.yaml):
whatever the edit, the outcome is a valid config or a list of
`file:line:col: ...` errors — never a traceback, from `check_config` or from
`router check`.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.present.cli import main
from router.config import check_config

ROOT = Path(__file__).resolve().parent.parent
FILES = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "config").glob("*.yaml"))}
LOCATED = re.compile(r"^[^\n]+\.yaml:[1-9]\d*:[1-9]\d*: \S")
# Characters that mean something to YAML, plus a few that should not be there at all.
NASTY = st.sampled_from(list(":-{}[],&*!|>'\"%@`#?\t ") + ["\x00", "\x1b", "\ufeff", "王", "\u2028", "\r",
                                                            "- ", ": ", "<<: *a", "&a ", "!!python/object ",
                                                            "\n  ", "\n", "---\n", "1:30", "on", "~"])


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(sorted(FILES)))
    text = FILES[name]
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\n")
        kind = draw(st.sampled_from(["replace", "insert", "delete_line", "duplicate_line", "swap_lines",
                                     "truncate", "indent"]))
        i = draw(st.integers(0, max(0, len(text) - 1)))
        n = draw(st.integers(0, len(lines) - 1))
        if kind == "replace":
            text = text[:i] + draw(NASTY) + text[i + 1:]
        elif kind == "insert":
            text = text[:i] + draw(NASTY) + text[i:]
        elif kind == "delete_line":
            text = "\n".join(lines[:n] + lines[n + 1:])
        elif kind == "duplicate_line":
            text = "\n".join(lines[:n + 1] + lines[n:])
        elif kind == "swap_lines":
            m = draw(st.integers(0, len(lines) - 1))
            lines[n], lines[m] = lines[m], lines[n]
            text = "\n".join(lines)
        elif kind == "truncate":
            text = text[:i]
        else:
            lines[n] = " " * draw(st.integers(1, 3)) + lines[n]
            text = "\n".join(lines)
    return name, text


def outcome(directory: Path) -> None:
    result = check_config(directory)
    if result.table is not None:
        assert result.errors == []
        return
    assert result.errors, "rejected without saying why"
    for problem in result.errors:
        # Located, or about the config as a whole (a section missing from every file).
        assert LOCATED.match(str(problem)) or (problem.line == 0 and problem.file == str(directory)), str(problem)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_a_mutated_sample_config_is_valid_or_rejected_with_located_errors(edit):
    name, text = edit
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for other, content in FILES.items():
            (directory / other).write_text(content, encoding="utf-8")
        (directory / name).write_text(text, encoding="utf-8", errors="surrogatepass")
        outcome(directory)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_as_a_config_file_never_raise(data):
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for other, content in FILES.items():
            (directory / other).write_text(content, encoding="utf-8")
        (directory / "queues.yaml").write_bytes(data)
        outcome(directory)


def test_router_check_prints_located_errors_and_no_traceback(tmp_path, capsys):
    for other, content in FILES.items():
        (tmp_path / other).write_text(content, encoding="utf-8")
    (tmp_path / "agents.yaml").write_text(FILES["agents.yaml"].replace("skills: {", "skills: {{", 3)
                                          .replace("team: sales", "team: [sales", 1), encoding="utf-8")
    assert main(["check", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert "Traceback" not in "\n".join(err)
    assert err[-1].endswith("configuration rejected")
    assert all(LOCATED.match(line) for line in err[:-1]), err
