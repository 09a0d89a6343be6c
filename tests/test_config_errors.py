"""Broken configs: every problem reported at once, one exact line each."""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.config import CheckResult, ConfigError, Problem, check_config, load_config

REPO = Path(__file__).resolve().parent.parent
BROKEN = sorted(p.stem for p in (REPO / "tests" / "broken").glob("*.yaml"))

GOOD = """\
skills:
  sales: "Product sales"
agents:
  - id: "1001"
    name: "王芳"
    endpoint: PJSIP/1001
    skills: {sales: 5}
queues:
  sales:
    service_level: {target: 80%, within: 20s}
    skills: {sales: 3}
routing:
  default:
    queue: sales
"""


def lines(result: CheckResult) -> list[str]:
    return [str(p) for p in result.errors + result.warnings]


def test_there_are_enough_broken_cases():
    assert len(BROKEN) >= 15
    for case in BROKEN:
        assert (REPO / "tests" / "broken" / f"{case}.expected").exists(), case


@pytest.mark.parametrize("case", BROKEN)
def test_broken_case(case, monkeypatch):
    monkeypatch.chdir(REPO)  # so the file names in the messages are as typed
    result = check_config(f"tests/broken/{case}.yaml")
    expected = (REPO / "tests" / "broken" / f"{case}.expected").read_text(encoding="utf-8").splitlines()
    assert lines(result) == expected
    assert (result.table is None) == bool(result.errors)


def test_invalid_utf8(tmp_path):
    path = tmp_path / "all.yaml"
    path.write_bytes(GOOD.encode().replace(b"Product sales", b"Caf\xe9 sales"))
    result = check_config(path)
    assert lines(result) == [
        f"{path}:2:14: encoding: invalid UTF-8 (byte 0xe9 at byte offset 21); save the file as UTF-8"]


def test_control_character_in_file_and_tabs(tmp_path):
    (tmp_path / "a.yaml").write_text("skills:\n  sales: \"a\x07b\"\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("agents:\n\t- id: x\n", encoding="utf-8")
    assert lines(check_config(tmp_path)) == [
        f"{tmp_path}/a.yaml:2:12: yaml: unacceptable character #x0007: control characters are not allowed",
        f"{tmp_path}/b.yaml:2:1: yaml: found character '\\t' that cannot start any token; "
        "indent with spaces, not tabs",
        *(f"{tmp_path}/{name}:1:1: note: could not be checked: fix the error above and check again; what it "
          "defines is unknown meanwhile, so references to it from the other files were not judged"
          for name in ("a.yaml", "b.yaml")),
    ]


def split(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_section_in_two_files(tmp_path):
    split(tmp_path, {"a.yaml": GOOD, "b.yaml": "skills:\n  support:\n"})
    assert lines(check_config(tmp_path)) == [
        f"{tmp_path}/b.yaml:1:1: skills: section 'skills' is already defined in a.yaml:1"]


def test_errors_across_files_all_reported(tmp_path):
    split(tmp_path, {
        "agents.yaml": 'agents:\n  - id: "1001"\n    endpoint: PJSIP/1001\n    skills: {salse: 5}\n',
        "queues.yml": "queues:\n  sales:\n    service_level: {target: 0.8, within: 20s}\n    skills: {sales: 3}\n",
        "routing.yaml": "routing:\n  default:\n    queue: sales\n    priorty: 1\n",
        "skills.yaml": "skills:\n  sales:\n",
        "notes.txt": "not read",
        ".#queues.yaml": "an editor lock file: hidden, so skipped",
    })
    assert lines(check_config(str(tmp_path))) == [
        f"{tmp_path}/agents.yaml:4:14: agents[1] (1001).skills.salse: unknown skill 'salse'; did you mean 'sales'?",
        f"{tmp_path}/queues.yml:3:29: queues.sales.service_level.target: '0.8' is not a percent; "
        "write 80% for 80 percent",
        f"{tmp_path}/routing.yaml:4:5: routing.default.priorty: unknown key 'priorty'; did you mean 'priority'?",
    ]


def test_missing_sections_of_a_directory(tmp_path):
    split(tmp_path, {"skills.yaml": "skills:\n  sales:\n"})
    assert lines(check_config(tmp_path)) == [
        f"{tmp_path}: agents: required section 'agents' is missing",
        f"{tmp_path}: queues: required section 'queues' is missing",
        f"{tmp_path}: routing: required section 'routing' is missing",
    ]


def test_unparsable_file_does_not_make_sections_missing(tmp_path):
    # routing.yaml cannot be parsed, so "routing is missing" would be noise;
    # the other files are still checked.
    split(tmp_path, {
        "a.yaml": GOOD.split("routing:")[0].replace("{sales: 5}", "{sales: 50}"),
        "routing.yaml": "routing:\n  default: [\n",
    })
    assert lines(check_config(tmp_path)) == [
        f"{tmp_path}/a.yaml:7:21: agents[1] (1001).skills.sales: '50' is out of range; a level is a whole number from 1 to 10",
        f"{tmp_path}/routing.yaml:3:1: yaml: expected the node content, but found '<stream end>' "
        "(while parsing a flow node at line 3)",
        f"{tmp_path}/routing.yaml:1:1: note: could not be checked: fix the error above and check again; what it "
        "defines is unknown meanwhile, so references to it from the other files were not judged",
    ]


def test_a_yaml_error_in_one_file_hides_no_other_files_errors(tmp_path, capsys):
    from router.present.cli import main

    split(tmp_path, {
        "a.yaml": GOOD.split("queues:")[0].replace("{sales: 5}", "{salse: 5}"),
        "b.yaml": "queues:\n  sales: [unclosed\n    wrapup: 1:30\n",
        "c.yaml": "routing:\n  rules:\n    - {name: one, when: {dnis: ['1']}, queue: sales, priority: 999}\n"
                  "  default: {queue: sales}\n",
    })
    assert main(["check", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"{tmp_path}/a.yaml:7:14: agents[1] (1001).skills.salse: unknown skill 'salse'; did you mean 'sales'?"
    assert err[1].startswith(f"{tmp_path}/b.yaml:3:11: yaml: ")
    assert err[2].startswith(f"{tmp_path}/c.yaml:3:64: routing.rules[1] (one).priority: '999' is out of range")
    assert err[3].startswith(f"{tmp_path}/b.yaml:1:1: note: could not be checked")
    assert err[4] == f"{tmp_path}: 3 error(s), 1 file(s) not fully checked; configuration rejected"


def test_unusable_paths(tmp_path):
    assert lines(check_config(tmp_path / "nope")) == [f"{tmp_path}/nope: cannot read: No such file or directory"]
    assert lines(check_config(tmp_path)) == [f"{tmp_path}: no *.yaml or *.yml files in this directory"]
    (tmp_path / "dir.yaml").mkdir()
    assert lines(check_config(tmp_path)) == [f"{tmp_path}/dir.yaml: not a regular file"]
    if os.path.exists("/dev/null"):
        assert lines(check_config("/dev/null")) == ["/dev/null: not a directory or a regular file"]


def test_top_level_must_be_a_mapping(tmp_path):
    path = split(tmp_path, {"a.yaml": "- skills\n- agents\n"}) / "a.yaml"
    assert lines(check_config(path)) == [
        f"{path}:1:1: the top level must be a mapping of sections (skills:, agents:, queues:, routing:, ...), "
        "not a list"]


def test_recursive_alias(tmp_path):
    path = split(tmp_path, {"a.yaml": "skills: &s\n  sales: *s\n"}) / "a.yaml"
    assert lines(check_config(path)) == [
        f"{path}:1:1: skills: nested more than 50 levels deep (an alias that contains itself?)"]


def test_load_config_raises_with_every_error(tmp_path):
    path = split(tmp_path, {"a.yaml": GOOD.replace("80%", "0.8").replace("{sales: 3}", "{sales: 0}")}) / "a.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}:10:29: queues.sales.service_level.target: '0.8' is not a percent; write 80% for 80 percent",
        f"{path}:11:21: queues.sales.skills.sales: '0' is out of range; a level is a whole number from 1 to 10",
    ]
    assert str(info.value) == "\n".join(str(p) for p in info.value.problems)
    assert all(isinstance(p, Problem) and p.severity == "error" for p in info.value.problems)


def test_warnings_do_not_stop_loading(tmp_path):
    path = split(tmp_path, {"a.yaml": GOOD.replace('  sales: "Product sales"', "  sales:\n  cantonese:")}) / "a.yaml"
    result = check_config(path)
    assert lines(result) == [f"{path}:3:3: warning: skills.cantonese: no agent has this skill"]
    assert load_config(path) == result.table


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, len(GOOD)), length=st.integers(0, 40),
       junk=st.text(alphabet=st.sampled_from(list(":-[]{}&*!|>'\"#%@,? \n\t\x00\x07abc01") + ["王"]),
                    max_size=8))
def test_check_config_never_raises(tmp_path, cut, length, junk):
    path = tmp_path / "fuzz.yaml"
    path.write_bytes((GOOD[:cut] + junk + GOOD[cut + length:]).encode("utf-8"))
    result = check_config(path)
    assert isinstance(result, CheckResult)
    assert (result.table is None) == bool(result.errors)
    for problem in result.errors + result.warnings:
        text = str(problem)
        assert "\n" not in text and "\r" not in text
