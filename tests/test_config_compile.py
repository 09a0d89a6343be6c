"""Good configs compile to exactly the RoutingTable docs/RULES.md describes."""

import hashlib
from datetime import date
from pathlib import Path

import pytest

from router.config import check_config, load_config
from router.core.table import Action, Match, Requirement, RoutingTable, ServiceLevel, Settings, Step, Strategy, Team

# The examples of docs/RULES.md, in one file.
RULES_EXAMPLE = """\
settings:
  no_answer_rest: 5s
  max_no_answer: 3
skills:
  sales: "Product sales"
  complaints: "Complaint handling"
  mandarin:
  english: "English"
  cantonese: "粤语"
teams:
  sales-a:
    title: "销售一组"
    leader: "1001"
  sales-b:
    title: "销售二组"
agents:
  - id: "1001"
    name: "王芳"
    endpoint: PJSIP/1001
    team: sales-a
    skills: {sales: 8, mandarin: 10, english: 5}
    max_no_answer: 2
    wrapup: 20s
  - id: 1002
    name: "陈大文"
    endpoint: PJSIP/1002
    team: sales-b
    skills: {sales: 4, cantonese: 9, complaints: 6}
calendars:
  business:
    timezone: Asia/Shanghai
    weekly:
      mon-fri: "08:30-20:00"
      sat: ["09:00-12:00", "13:00-17:00"]
      sun: closed
    holidays: [2026-10-01, 2026-10-02]
queues:
  sales:
    title: "Sales"
    priority: 10
    strategy: longest_idle
    service_level: {target: 80%, within: 20s}
    wrapup: 15s
    ring_timeout: 15s
    max_waiting: 30
    overflow: {action: queue, queue: general}
    hours: business
    closed: {action: voicemail, mailbox: "8000@sales"}
    skills: {sales: 3}
    teams: [sales-a, sales-b]
    escalation:
      - after: 0s
        require: {sales: 7}
      - after: 20s
        require: {sales: 3}
      - after: 45s
        also: [general]
      - after: 90s
        action: {action: callback}
  general:
    service_level: {target: 80%, within: 30s}
    skills: {complaints: 1}
  vip:
    priority: 20
    strategy: best_skilled
    service_level: {target: 90.5%, within: 10s}
    skills: {sales: 5}
    escalation:
      - after: 30s
        teams: [sales-a]
        also: [general, sales, general]
routing:
  rules:
    - name: vip-gold
      when:
        dnis: ["4008001234", "_4008002XXX"]
        caller: ["+86138*"]
        vars: {tier: gold, lang: [yue, zh]}
        in_hours: business
      queue: sales
      priority: 50
      skills: {cantonese: 5}
    - name: norwegian
      when:
        vars: {lang: no}
        out_of_hours: business
      queue: vip
      skills: {sales: 6}
      escalation:
        - after: 10s
          require: {sales: 2}
        - after: 1m
          action: {action: transfer, to: "+4722000000", announce: "connecting"}
  default:
    queue: general
"""

SALES_TEAMS = ("sales-a", "sales-b")


def line_of(text: str) -> int:
    """1-based line of RULES_EXAMPLE that is `text` (give or take indentation)."""
    return next(n for n, line in enumerate(RULES_EXAMPLE.splitlines(), 1) if line.strip() == text)

GENERAL = Requirement((("complaints", 1),))


@pytest.fixture
def table(tmp_path) -> RoutingTable:
    path = tmp_path / "router.yaml"
    path.write_text(RULES_EXAMPLE, encoding="utf-8")
    result = check_config(path)
    assert [str(p) for p in result.errors + result.warnings] == []
    return result.table


def test_sales_queue_escalation(table):
    sales = table.queues["sales"]
    assert [s.after for s in sales.steps] == [0, 20, 45, 90]
    assert sales.steps == (
        # the 0s step replaces the queue's `skills` base step
        Step(0.0, (Requirement((("sales", 7),), SALES_TEAMS),), source="queues.sales.escalation[1]"),
        Step(20.0, (Requirement((("sales", 3),), SALES_TEAMS),), source="queues.sales.escalation[2]"),
        # `also` adds general's own skills/teams; the team filter stays on sales' requirement only
        Step(45.0, (Requirement((("sales", 3),), SALES_TEAMS), GENERAL), source="queues.sales.escalation[3]"),
        Step(90.0, (), Action("callback"), source="queues.sales.escalation[4]"),
    )
    assert [r.describe() for r in sales.steps[2].requirements] == [
        "sales>=3 & team in sales-a|sales-b", "complaints>=1"]


def test_queue_fields_and_defaults(table):
    sales, general, vip = (table.queues[n] for n in ("sales", "general", "vip"))
    assert (sales.title, sales.priority, sales.strategy) == ("Sales", 10, Strategy.LONGEST_IDLE)
    assert sales.service_level == ServiceLevel(80.0, 20.0)
    assert (sales.wrapup, sales.ring_timeout, sales.max_waiting) == (15.0, 15.0, 30)
    assert sales.overflow == Action("queue", "general")
    assert (sales.hours, sales.closed) == ("business", Action("voicemail", "8000@sales"))
    # defaults: priority 0, longest_idle, wrapup 10s, ring 15s, unbounded, always open
    assert (general.title, general.priority, general.strategy) == ("", 0, Strategy.LONGEST_IDLE)
    assert (general.wrapup, general.ring_timeout, general.max_waiting) == (10.0, 15.0, None)
    assert (general.overflow, general.hours, general.closed) == (None, None, None)
    assert general.steps == (Step(0.0, (GENERAL,), source="queues.general.skills"),)
    assert vip.service_level == ServiceLevel(90.5, 10.0)
    assert vip.strategy is Strategy.BEST_SKILLED
    # no 0s step: the base step comes first; `teams` replaces the filter and
    # keeps the minimums; `also` names each queue once
    assert vip.steps == (
        Step(0.0, (Requirement((("sales", 5),)),), source="queues.vip.skills"),
        Step(30.0, (Requirement((("sales", 5),), ("sales-a",)), GENERAL, Requirement((("sales", 3),), SALES_TEAMS)),
             source="queues.vip.escalation[1]"),
    )
    assert list(table.queues) == ["sales", "general", "vip"]


def test_rule_skills_merge_into_every_requirement(table):
    rule = table.rules[0]
    assert (rule.name, rule.queue, rule.priority) == ("vip-gold", "sales", 50)
    assert rule.skills == (("cantonese", 5),)
    assert rule.steps == (
        Step(0.0, (Requirement((("cantonese", 5), ("sales", 7)), SALES_TEAMS),), source="queues.sales.escalation[1]"),
        Step(20.0, (Requirement((("cantonese", 5), ("sales", 3)), SALES_TEAMS),), source="queues.sales.escalation[2]"),
        Step(45.0, (Requirement((("cantonese", 5), ("sales", 3)), SALES_TEAMS),
                    Requirement((("cantonese", 5), ("complaints", 1)))),  # a Cantonese caller still needs Cantonese
             source="queues.sales.escalation[3]"),
        Step(90.0, (), Action("callback"), source="queues.sales.escalation[4]"),
    )
    # the queue itself is unchanged
    assert table.queues["sales"].steps[0].requirements == (Requirement((("sales", 7),), SALES_TEAMS),)


def test_rule_match_and_source(table, tmp_path):
    rule = table.rules[0]
    assert [p.text for p in rule.match.dnis] == ["4008001234", "_4008002XXX"]
    assert rule.match.dnis[1].matches("4008002123") and not rule.match.dnis[1].matches("4008003123")
    assert [p.text for p in rule.match.caller] == ["+86138*"]
    assert rule.match.caller[0].matches("+8613812345678")
    assert rule.match.vars == (("tier", ("gold",)), ("lang", ("yue", "zh")))
    assert (rule.match.in_hours, rule.match.out_of_hours) == ("business", None)
    assert rule.source == f"{tmp_path / 'router.yaml'}:{line_of('- name: vip-gold')}"


def test_rule_own_escalation_and_merge_uses_max(table):
    rule = table.rules[1]
    assert rule.match == Match(vars=(("lang", ("no",)),), out_of_hours="business")  # `no` stays text
    assert rule.priority == 20  # the queue's
    assert rule.steps == (
        # its own escalation, relative to vip; the merge keeps the higher minimum
        Step(0.0, (Requirement((("sales", 6),)),), source="queues.vip.skills"),
        Step(10.0, (Requirement((("sales", 6),)),), source="routing.rules[2] (norwegian).escalation[1]"),
        Step(60.0, (), Action("transfer", "+4722000000", "connecting"), source="routing.rules[2] (norwegian).escalation[2]"),
    )


def test_default_rule(table, tmp_path):
    default = table.default
    assert (default.name, default.queue, default.priority, default.skills) == ("default", "general", 0, ())
    assert default.match == Match()
    assert default.steps == table.queues["general"].steps
    assert default.source == f"{tmp_path / 'router.yaml'}:{line_of('queue: general')}"  # its first key


def test_agents_teams_calendars_settings(table):
    wang = table.agents["1001"]
    assert (wang.name, wang.endpoint, wang.team, wang.max_no_answer, wang.wrapup) == (
        "王芳", "PJSIP/1001", "sales-a", 2, 20.0)
    assert dict(wang.skills) == {"sales": 8, "mandarin": 10, "english": 5}
    chan = table.agents["1002"]  # unquoted id 1002 is the text "1002"
    assert (chan.name, chan.max_no_answer, chan.wrapup) == ("陈大文", 3, None)
    assert list(table.agents) == ["1001", "1002"]
    assert table.teams["sales-a"] == Team("sales-a", "销售一组", "1001")
    assert table.skills["cantonese"] == "粤语" and table.skills["mandarin"] == ""
    business = table.calendars["business"]
    assert business.timezone == "Asia/Shanghai"
    assert business.weekly == tuple((d, 510, 1200) for d in range(5)) + ((5, 540, 720), (5, 780, 1020))
    assert business.holidays == frozenset({date(2026, 10, 1), date(2026, 10, 2)})
    assert table.settings == Settings(5.0, 3)


def test_mappings_are_read_only(table):
    for mapping in (table.skills, table.teams, table.agents, table.queues, table.calendars,
                    table.agents["1001"].skills):
        with pytest.raises(TypeError):
            mapping["x"] = 1


def test_digest(tmp_path):
    path = tmp_path / "router.yaml"
    path.write_text(RULES_EXAMPLE, encoding="utf-8")
    data = path.read_bytes()
    expected = hashlib.sha256(b"router.yaml\0" + str(len(data)).encode() + b"\0" + data).hexdigest()
    assert load_config(path).digest == expected
    path.write_text(RULES_EXAMPLE + "# a comment\n", encoding="utf-8")
    assert load_config(path).digest != expected


def test_directory_split_compiles_the_same(tmp_path, table):
    # One file per section, named so that name order differs from section order.
    parts = RULES_EXAMPLE.split("\n")
    starts = [i for i, line in enumerate(parts) if line and not line[0].isspace()]
    config = tmp_path / "conf.d"
    config.mkdir()
    for n, (start, end) in enumerate(zip(starts, starts[1:] + [len(parts)], strict=True)):
        name = parts[start].rstrip(":")
        (config / f"{9 - n}-{name}.yml").write_text("\n".join(parts[start:end]) + "\n", encoding="utf-8")
    split = load_config(config)
    assert split.queues == table.queues and split.agents == table.agents
    assert [(r.name, r.steps, r.match) for r in split.rules] == [(r.name, r.steps, r.match) for r in table.rules]
    assert split.rules[0].source == f"{config}/3-routing.yml:3"  # file:line, the file as the user gave it
    assert split.digest != table.digest


def test_minimal_config_and_defaults(tmp_path):
    path = tmp_path / "min.yaml"
    path.write_text("""\
skills: {sales: }
agents:
  - {id: a1, endpoint: SIP/a1, skills: {sales: 1}}
queues:
  q: {service_level: {target: 80, within: 20}, skills: {}}
routing: {default: {queue: q, skills: {sales: 2}, priority: 7}}
""", encoding="utf-8")
    table = load_config(path)
    assert table.settings == Settings(no_answer_rest=5.0, default_max_no_answer=3)
    assert table.agents["a1"].max_no_answer == 3 and table.agents["a1"].name == "a1"
    assert table.teams == {} and table.calendars == {} and table.rules == ()
    assert table.queues["q"].steps == (Step(0.0, (Requirement(),), source="queues.q.skills"),)
    assert table.default.steps == (Step(0.0, (Requirement((("sales", 2),)),), source="queues.q.skills"),)
    assert table.default.priority == 7


def test_utf8_names_intact(tmp_path):
    path = Path(tmp_path) / "中文.yaml"
    path.write_text(RULES_EXAMPLE.replace('"王芳"', "王芳"), encoding="utf-8")
    table = load_config(path)
    assert table.agents["1001"].name == "王芳"
    assert table.rules[0].source.startswith(f"{path}:")


def test_an_agent_may_name_the_pbx_its_phone_is_on(tmp_path):
    text = (Path(__file__).parent / "broken" / "agent_pbx.yaml").read_text(encoding="utf-8")
    good = tmp_path / "centre.yaml"
    good.write_text(text.replace('pbx: "shang hai"', "pbx: shanghai"), encoding="utf-8")
    table = load_config(good)
    assert table.agents["1001"].pbx == "shanghai"
