"""The Asterisk configs in deploy/asterisk/ against the contract.

docs/ASTERISK.md fixes context names, UserEvent names and headers and channel
variables; these tests read the config files as text (no Asterisk here, see
deploy/asterisk/README.md) and check that they keep to it, that
asterisklint finds nothing in the dialplan, that the AMI user has exactly the
documented least privileges, and that install.sh handles the secret safely.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from router.ami.translate import AGENT_COMMANDS
from router.config import load_config
from router.core.patterns import compile_pattern
from support.paths import AMI_TRACES

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy" / "asterisk"
EXTENSIONS = DEPLOY / "extensions.conf"
TRACES = AMI_TRACES

#: The AMI user's classes, as documented in deploy/asterisk/manager.conf.
ROUTER_READ = {"system", "call", "user"}
ROUTER_WRITE = {"call", "originate", "reporting"}
#: AMI events the router uses (docs/ASTERISK.md).
ROUTER_EVENTS = {"UserEvent", "Newchannel", "OriginateResponse", "Hangup", "DeviceStateChange", "FullyBooted"}


# --------------------------------------------------------------------------- helpers


def strip_comment(line: str) -> str:
    """Asterisk config: ';' starts a comment unless escaped as '\\;'."""
    out, i = [], 0
    while i < len(line):
        if line[i] == "\\" and line[i + 1 : i + 2] == ";":
            out.append(";")
            i += 2
            continue
        if line[i] == ";":
            break
        out.append(line[i])
        i += 1
    return "".join(out).strip()


def read_ini(path: Path) -> tuple[dict[str, list[tuple[str, str]]], list[tuple[str | None, str]]]:
    """Categories -> [(key, value)] in file order, and the #directives with the
    category they appear in. `[name](+)` adds to `name`."""
    cats: dict[str, list[tuple[str, str]]] = {}
    directives: list[tuple[str | None, str]] = []
    current = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = strip_comment(raw)
        if not line:
            continue
        if line.startswith("#"):
            directives.append((current, line))
            continue
        m = re.fullmatch(r"\[([^\]]+)\](\(\+\))?", line)
        if m:
            current = m.group(1)
            cats.setdefault(current, [])
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: no '=' in {raw!r}"
        assert current is not None, f"{path.name}: {raw!r} outside a category"
        cats[current].append((key.strip(), value.lstrip(">").strip()))
    return cats, directives


def values(cats: dict, cat: str, key: str) -> list[str]:
    return [v for k, v in cats.get(cat, []) if k == key]


def one(cats: dict, cat: str, key: str) -> str:
    found = values(cats, cat, key)
    assert len(found) == 1, f"[{cat}] {key}: expected one value, got {found}"
    return found[0]


class Step:
    """One dialplan priority: extension, label, application and its data."""

    def __init__(self, exten: str, label: str | None, app: str, data: str):
        self.exten, self.label, self.app, self.data = exten, label, app, data

    @property
    def args(self) -> list[str]:
        """Top-level comma-separated arguments (commas inside ${...}/$[...]
        or parentheses do not split)."""
        out, depth, cur = [], 0, ""
        for ch in self.data:
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
            if ch == "," and depth == 0:
                out.append(cur)
                cur = ""
            else:
                cur += ch
        return out + [cur]

    def __repr__(self) -> str:
        return f"{self.exten}: {self.app}({self.data})"


def read_dialplan(path: Path) -> tuple[dict[str, list[Step]], dict[str, list[str]]]:
    """extensions.conf -> {context: [Step in file order]}, {context: [includes]}."""
    contexts: dict[str, list[Step]] = {}
    includes: dict[str, list[str]] = {}
    current, exten = None, None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = strip_comment(raw)
        if not line:
            continue
        m = re.fullmatch(r"\[([^\]]+)\]", line)
        if m:
            current, exten = m.group(1), None
            contexts.setdefault(current, [])
            includes.setdefault(current, [])
            continue
        key, _, rest = line.partition("=>")
        key = key.strip()
        if key == "include":
            includes[current].append(rest.strip())
            continue
        if key not in ("exten", "same"):
            continue  # [general] / [globals] settings
        if key == "exten":
            exten, _, rest = rest.strip().partition(",")
        prio, _, app = rest.strip().partition(",")
        label = re.search(r"\(([^)]*)\)", prio)
        m = re.fullmatch(r"(\w+)\((.*)\)", app.strip(), re.S)
        assert m, f"cannot read application in {raw!r}"
        contexts[current].append(Step(exten, label.group(1) if label else None, m.group(1), m.group(2)))
    return contexts, includes


DIALPLAN, INCLUDES = read_dialplan(EXTENSIONS)


def steps(context: str, exten: str | None = None) -> list[Step]:
    assert context in DIALPLAN, f"context [{context}] missing from extensions.conf"
    return [s for s in DIALPLAN[context] if exten is None or s.exten == exten]


def apps(context: str, exten: str | None = None) -> list[str]:
    return [s.app for s in steps(context, exten)]


def find(context: str, app: str, exten: str | None = None) -> list[Step]:
    return [s for s in steps(context, exten) if s.app == app]


def userevent_headers(step: Step) -> tuple[str, dict[str, str]]:
    name, *headers = step.args
    return name, dict(h.split(": ", 1) for h in headers)


# --------------------------------------------------------------------------- asterisklint


def asterisklint() -> str | None:
    beside = Path(sys.executable).parent / "asterisklint"
    return str(beside) if beside.exists() else shutil.which("asterisklint")


def run_lint(path: Path) -> subprocess.CompletedProcess:
    lint = asterisklint()
    if lint is None:
        pytest.skip("asterisklint is not installed (scripts/test.sh installs it into .venv)")
    env = {k: v for k, v in os.environ.items() if k != "ALINT_IGNORE"}  # nothing muted
    return subprocess.run([lint, "dialplan-check", str(path)], capture_output=True, text=True,
                          env=env, cwd=path.parent, timeout=120)


def test_asterisklint_finds_nothing_in_the_dialplan():
    result = run_lint(EXTENSIONS)
    output = (result.stdout + result.stderr).strip()
    errors = [line for line in output.splitlines() if re.search(r"\bE_[A-Z_]+:", line)]
    assert not errors, "asterisklint errors:\n" + "\n".join(errors)
    # asterisklint exits 1 on any finding, warnings included; the file is
    # clean of those too, so keep it that way.
    assert result.returncode == 0 and not output, f"asterisklint exit {result.returncode}:\n{output}"


def test_asterisklint_does_report_errors(tmp_path):
    # Guard against a lint that silently checks nothing.
    bad = tmp_path / "extensions.conf"
    bad.write_text("[ctx]\nexten => 1,1,NoSuchApp()\n same => n,Goto(nowhere,s,1)\n", encoding="utf-8")
    result = run_lint(bad)
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "E_APP_MISSING" in output and "E_DP_GOTO_NOCONTEXT" in output


# --------------------------------------------------------------------------- dialplan contract


def test_the_contract_contexts_exist():
    for context in ("router-inbound", "router-in", "router-agent", "router-survey", "router-action",
                    "router-features", "agents"):
        assert steps(context), f"[{context}] is empty"


def test_router_in_hands_the_call_to_the_router():
    (event,) = find("router-in", "UserEvent")
    name, headers = userevent_headers(event)
    assert name == "RouterCallWaiting"
    assert headers == {"DNIS": "${ROUTER_DNIS}", "Vars": "${ROUTER_VARS}"}
    order = apps("router-in")
    assert order[0] == "Answer"
    assert order.index("UserEvent") < order.index("MusicOnHold")
    (hold,) = find("router-in", "MusicOnHold")
    assert hold.args == ["default", "${ROUTER_HOLD_LIMIT}"]


def test_router_in_ends_in_the_fallback_queue_then_voicemail():
    order = apps("router-in")
    assert order[-3:] == ["Queue", "VoiceMail", "Hangup"], order
    queue = steps("router-in")[-3]
    assert queue.args[0] == "router-fallback"
    assert queue.args[4], "the fallback Queue() needs a timeout (5th argument), or voicemail is never reached"
    assert order.index("MusicOnHold") < len(order) - 3
    # router-action jumps here when a transfer fails
    assert any(s.label == "fallback" for s in steps("router-in"))


def default_hold_limit() -> int:
    (limit,) = [s for s in find("router-in", "Set") if s.data.startswith("ROUTER_HOLD_LIMIT=${IF(")]
    return int(re.search(r":(\d+)\)\}$", limit.data).group(1))


def test_the_hold_limit_cannot_be_endless_and_outlasts_the_router():
    # MusicOnHold with an empty or 0 duration holds for ever: a router outage
    # would strand the caller. The dialplan keeps only digits and replaces
    # anything not positive by its default.
    sets = [s.data for s in find("router-in", "Set") if s.data.startswith("ROUTER_HOLD_LIMIT=")]
    assert sets == ["ROUTER_HOLD_LIMIT=${FILTER(0-9,${ROUTER_HOLD_LIMIT})}",
                    "ROUTER_HOLD_LIMIT=${IF($[0${ROUTER_HOLD_LIMIT} > 0]?${ROUTER_HOLD_LIMIT}:%d)}" % default_hold_limit()]
    # The router's own escalation (last steps: voicemail, callback, ...) and
    # the ring of an agent offered just before must end before the dialplan's
    # fallback takes the caller away.
    table = load_config(ROOT / "config")
    chains = [q.steps for q in table.queues.values()] + [r.steps for r in table.rules] + [table.default.steps]
    longest = max(step.after for chain in chains for step in chain)
    ring = max(q.ring_timeout for q in table.queues.values())
    assert default_hold_limit() >= longest + ring, (default_hold_limit(), longest, ring)


def test_router_agent_bridges_the_caller_and_hangs_it_up_after():
    plain, survey = find("router-agent", "Bridge")
    assert plain.args[0] == survey.args[0] == "${ROUTER_CALLER}"
    # x: without it Asterisk sends the caller on to the next priority of
    # router-in after the call -- into the fallback queue.
    assert "x" in (plain.args[1] if len(plain.args) > 1 else "")
    # With the survey the caller goes on to router-survey instead, when the
    # agent (the bridger) hangs up: never back into router-in.
    assert survey.args[1] == "F(router-survey^s^1)"
    assert apps("router-agent")[-1] == "Hangup"
    for bridge in (plain, survey):  # each Bridge is followed by the leg's Hangup
        assert steps("router-agent")[steps("router-agent").index(bridge) + 1].app == "Hangup"
    assert steps("router-agent")[0].exten == "_X."  # Originate Exten = the agent id


def test_router_agent_takes_the_survey_and_recording_variables_of_the_originate():
    """The Originate's ROUTER_SURVEY=1 picks the survey Bridge (by its
    label), ROUTER_RECORDING starts MixMonitor, option b, before either."""
    from router.ami.translate import Translator
    from router.core.commands import RingAgent
    table = load_config(ROOT / "config")
    originate = Translator(table).ring(RingAgent("1.1", "1001", "PJSIP/1001", 15, "complaints", survey=True,
                                                 recording="/var/spool/asterisk/monitor/router/1.1.wav"))
    variables = dict(v.split("=", 1) for v in originate["Variable"])
    assert variables["ROUTER_SURVEY"] == "1" and variables["ROUTER_RECORDING"].endswith("/1.1.wav")
    chain = steps("router-agent")
    (goto,) = [s for s in find("router-agent", "GotoIf") if "ROUTER_SURVEY" in s.data]
    assert goto.data == '$["${ROUTER_SURVEY}" = "1"]?survey'
    (target,) = [s for s in chain if s.label == "survey"]
    assert target.app == "Bridge" and target.args[1] == "F(router-survey^s^1)"
    (record,) = [s for s in find("router-agent", "ExecIf") if "MixMonitor" in s.data]
    assert record.data == '$["${ROUTER_RECORDING}" != ""]?TryExec(MixMonitor(${ROUTER_RECORDING},b))'
    assert chain.index(record) < min(chain.index(b) for b in find("router-agent", "Bridge"))
    assert chain.index(goto) < chain.index(target)


def test_router_survey_reports_a_score_the_translator_reads():
    """router-survey: Read one key 1-5, keep only 1-5, UserEvent
    RouterSurvey with Call (the caller channel's UNIQUEID = the call id)
    and Score; fed through the translator that UserEvent gives the
    SurveyAnswered the engine takes."""
    from router.ami.translate import Translator
    from router.core import events as ev
    chain = steps("router-survey", "s")
    names = [s.app for s in chain]
    assert names[:3] == ["NoOp", "Answer", "Read"] and names[-1] == "Hangup"
    (read,) = find("router-survey", "Read")
    assert read.args[0] == "ROUTER_SCORE" and read.args[2] == "1"  # one digit
    assert "ROUTER_SCORE=${FILTER(1-5,${ROUTER_SCORE})}" in [s.data for s in find("router-survey", "Set")]
    (skip,) = find("router-survey", "GotoIf")
    assert skip.data == '$["${ROUTER_SCORE}" = ""]?done'  # no score, no event
    (event,) = find("router-survey", "UserEvent")
    assert chain.index(skip) < chain.index(event)
    name, headers = userevent_headers(event)
    assert (name, headers) == ("RouterSurvey", {"Call": "${UNIQUEID}", "Score": "${ROUTER_SCORE}"})
    # What Asterisk sends for it, with the variables substituted:
    msg = {"Event": "UserEvent", "UserEvent": name, "Uniqueid": "1795455140.266",
           **{k: v.replace("${UNIQUEID}", "1795455140.266").replace("${ROUTER_SCORE}", "4")
              for k, v in headers.items()}}
    assert Translator(load_config(ROOT / "config")).event(msg) == [ev.SurveyAnswered("1795455140.266", 4)]


def test_router_action_has_the_four_actions():
    extens = {s.exten for s in steps("router-action")}
    assert extens == {"voicemail", "callback", "transfer", "hangup"}
    assert all(s.args[0] == "${ROUTER_TARGET}" for s in find("router-action", "VoiceMail", "voicemail"))
    for exten in extens:
        plays = [s.data for s in find("router-action", "Playback", exten)]
        assert "${ROUTER_ANNOUNCE}" in plays, f"{exten} never plays ROUTER_ANNOUNCE"
        assert apps("router-action", exten)[-1] in ("Hangup", "Goto"), exten
    (dial,) = find("router-action", "Dial", "transfer")
    assert dial.args[0].startswith("PJSIP/${ROUTER_TARGET}@")
    assert find("router-action", "Goto", "transfer")[-1].data == "router-in,${ROUTER_DNIS},fallback"


def test_router_features_raise_router_agent_for_every_command():
    codes = {}
    for step in find("router-features", "Gosub"):
        target, _, arglist = step.data.partition("(")
        assert target == "router-agent-command,s,1"
        command, reason = arglist.rstrip(")").split(",")
        codes[step.exten] = (command, reason)
    assert codes == {
        "*41": ("login", ""),
        "*42": ("logout", ""),
        "*431": ("pause", "break"),
        "*432": ("pause", "meal"),
        "*433": ("pause", "training"),
        "*434": ("pause", "meeting"),
        "*44": ("unpause", ""),
    }
    assert {command for command, _ in codes.values()} == AGENT_COMMANDS  # what the translator accepts
    (event,) = find("router-agent-command", "UserEvent")
    name, headers = userevent_headers(event)
    assert name == "RouterAgent"
    assert headers == {"Agent": "${agent}", "Command": "${ARG1}", "Reason": "${ARG2}"}
    # the agent id is the calling PJSIP endpoint's name
    assert "LOCAL(agent)=${CHANNEL(endpoint)}" in [s.data for s in find("router-agent-command", "Set")]
    assert "Playback" in apps("router-agent-command")  # a confirmation
    assert "router-features" in INCLUDES["agents"]


def test_router_inbound_takes_every_number_of_the_config_and_sets_the_ivr_vars():
    (first, *_) = steps("router-inbound")
    pattern = compile_pattern(first.exten)
    table = load_config(ROOT / "config")
    numbers = {"4008001000", "4008002000"} | {f"400800300{n}" for n in range(10)}
    numbers |= {p.text for r in table.rules for p in r.match.dnis if not p.text.startswith("_")}
    assert all(pattern.matches(n) for n in numbers), sorted(n for n in numbers if not pattern.matches(n))
    assert "ROUTER_DNIS=${EXTEN}" in [s.data for s in find("router-inbound", "Set")]
    (vars_,) = [s.data for s in find("router-inbound", "Set") if s.data.startswith("ROUTER_VARS=")]
    keys = [item.partition("=")[0] for item in vars_.removeprefix("ROUTER_VARS=").split("&")]
    assert keys == ["menu", "lang", "tier"]
    assert find("router-inbound", "Goto")[-1].data == "router-in,${EXTEN},1"


# --------------------------------------------------------------------------- manager.conf


def test_ami_listens_on_loopback_only():
    cats, _ = read_ini(DEPLOY / "manager.conf")
    assert one(cats, "general", "enabled") == "yes"
    assert one(cats, "general", "bindaddr") == "127.0.0.1"
    assert one(cats, "general", "port") == "5038"
    assert one(cats, "general", "webenabled") == "no"
    acl = [(k, v) for k, v in cats["router"] if k in ("deny", "permit")]
    # the last matching rule wins: deny all first, then permit loopback
    assert acl == [("deny", "0.0.0.0/0.0.0.0"), ("permit", "127.0.0.1/255.255.255.255")]


def test_the_ami_secret_is_not_in_the_repository():
    for path in sorted(DEPLOY.iterdir()):
        if path.suffix != ".conf":
            continue
        for raw in path.read_text(encoding="utf-8").splitlines():
            key, sep, value = strip_comment(raw).partition("=")
            assert not (sep and key.strip().lower() == "secret"), f"{path.name}: {raw!r}"
    # the secret comes from the file install.sh writes, included after [router]
    _, directives = read_ini(DEPLOY / "manager.conf")
    assert directives == [("router", '#include "manager.d/router-secret.conf"')]


def test_the_router_ami_user_has_least_privilege():
    cats, _ = read_ini(DEPLOY / "manager.conf")
    read = set(one(cats, "router", "read").replace(" ", "").split(","))
    write = set(one(cats, "router", "write").replace(" ", "").split(","))
    assert read == ROUTER_READ
    assert write == ROUTER_WRITE
    assert not {"all", "command", "config", "system"} & write


def test_the_read_classes_cover_every_event_the_router_uses():
    files = sorted(TRACES.glob("*.ami"))
    assert files, f"no AMI traces in {TRACES}"
    seen = {}
    for path in files:
        for block in path.read_text(encoding="utf-8").split("\n## "):
            headers = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            event, privilege = headers.get("Event"), headers.get("Privilege", "")
            if event in ROUTER_EVENTS and privilege.endswith(",all"):
                seen[event] = set(privilege.split(",")) - {"all"}
    assert set(seen) == ROUTER_EVENTS
    for event, classes in seen.items():
        assert classes <= ROUTER_READ, f"{event} needs {classes}"


# --------------------------------------------------------------------------- queues / moh


def test_the_fallback_queue_rings_every_agent_and_never_strands_a_caller():
    cats, _ = read_ini(DEPLOY / "queues.conf")
    q = "router-fallback"
    assert one(cats, q, "strategy") == "leastrecent"
    assert (one(cats, q, "timeout"), one(cats, q, "retry"), one(cats, q, "wrapuptime")) == ("15", "5", "10")
    assert one(cats, q, "ringinuse") == "no"
    for key in ("joinempty", "leavewhenempty"):
        assert {"unavailable", "invalid", "unknown"} <= set(one(cats, q, key).split(",")), key
    members = [v.split(",")[0] for v in values(cats, q, "member")]
    table = load_config(ROOT / "config")
    assert members == [a.endpoint for a in table.agents.values()]


def test_default_music_on_hold_class():
    cats, _ = read_ini(DEPLOY / "musiconhold.conf")
    assert one(cats, "default", "mode") == "files"
    assert one(cats, "default", "directory") == "moh"


# --------------------------------------------------------------------------- install.sh


def run_install(etc: Path, secret: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "ROUTER_AMI_SECRET"}
    env["ASTERISK_ETC"] = str(etc)
    if secret is not None:
        env["ROUTER_AMI_SECRET"] = secret
    return subprocess.run(["bash", str(DEPLOY / "install.sh")], capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize("secret", [None, "", "too-short", "has;semicolon-in-it", "line\nbreak-in-the-secret",
                                    " leading-blank-secret"])
def test_install_refuses_a_missing_or_unusable_secret(tmp_path, secret):
    result = run_install(tmp_path, secret)
    assert result.returncode != 0
    assert "ROUTER_AMI_SECRET" in result.stderr
    assert not (tmp_path / "manager.d" / "router-secret.conf").exists()


def test_install_writes_the_secret_for_the_router_user_only(tmp_path):
    secret = "Zq7-not-a-real-secret-9f3b1c"
    result = run_install(tmp_path, secret)
    assert result.returncode == 0, result.stderr
    assert secret not in result.stdout + result.stderr
    written = tmp_path / "manager.d" / "router-secret.conf"
    cats, directives = read_ini(written)
    assert cats == {"router": [("secret", secret)]} and not directives
    assert "[router](+)" in written.read_text(encoding="utf-8")
    assert not written.stat().st_mode & (stat.S_IROTH | stat.S_IWOTH | stat.S_IWGRP)
    assert [p.name for p in written.parent.iterdir()] == ["router-secret.conf"]  # no temp file left
