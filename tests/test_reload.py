"""Config reload on a running router, over TCP with calls in flight
(router/runtime/reload.py): a good config is swapped in whole and the calls keep
their place and elapsed time under the new rules; a bad one changes nothing
and its errors are logged exactly as `router check` prints them.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from support.centre import ROOT, Behaviour, Centre

from router.present.cli import main
from router.config import check_config

# Agents answer after 1 s; 1014 talks long so that callers wait behind it.
STEADY = Behaviour(mean_patience=10_000, answer_delay=(1.0, 1.0), no_answer_rate=0.0, mean_talk=30, min_talk=30)
SUPPORT = "4008002000"


def config_copy(tmp_path: Path, edit=None) -> Path:
    """The sample config copied to tmp_path/config, `edit(agents_text)`
    applied to agents.yaml."""
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target)
    if edit is not None:
        agents = target / "agents.yaml"
        agents.write_text(edit(agents.read_text(encoding="utf-8")), encoding="utf-8")
    return target


def teach_1001_support(text: str) -> str:
    old = "skills: {sales: 10, general: 7, billing: 6, mandarin: 10, english: 7}"
    assert old in text
    return text.replace(old, "skills: {sales: 10, support: 9, general: 7, billing: 6, mandarin: 10, english: 7}")


async def test_reload_with_calls_waiting_keeps_their_place_and_time_and_applies_the_new_rules(tmp_path):
    # 1014 (support 10) talks; 1001 (sales, no support skill) is free, so
    # two support callers wait, until a reload teaches 1001 support.
    async with Centre(behaviour=STEADY, agents=["1014", "1001"]) as centre:
        centre.pbx.set_agent("1014", talk=600)
        calls = [centre.pbx.place_call(dnis=SUPPORT, caller_name=name) for name in ("王五", "李娜", "陈静")]
        await centre.until(lambda: centre.record(calls[0]).outcome == "answered", 5)
        await centre.sim_seconds(8)
        engine = centre.router.engine
        waiting_before = [(c.id, c.arrived) for c in engine.line()]
        assert [cid for cid, _ in waiting_before] == calls[1:]
        assert centre.record(calls[1]).offers == []
        old_digest = centre.router.table.digest

        assert centre.router.reload(str(config_copy(tmp_path, teach_1001_support))) is True

        assert centre.router.reload_ok is True
        assert centre.router.table.digest != old_digest
        assert engine.table is centre.router.table
        assert engine.agents["1014"].status.value == "on_call"  # agents keep their state
        # The first in line goes to 1001 at once; the other keeps its place and arrival time.
        await centre.until(lambda: centre.record(calls[1]).outcome == "answered", 5)
        assert centre.record(calls[1]).agent == "1001"
        assert [(c.id, c.arrived) for c in engine.line()] == waiting_before[1:]
        assert centre.record(calls[1]).waited >= 8  # elapsed time counted from arrival, not from the reload
        assert centre.record(calls[2]).outcome is None and centre.record(calls[2]).offers == []
        centre.assert_clean()


async def test_failed_reload_keeps_the_running_config_and_logs_every_error_as_router_check(tmp_path, caplog, capsys):
    def break_it(text: str) -> str:
        text = text.replace("team: sales\n    skills: {sales: 10,", "team: salse\n    skills: {sales: 10,", 1)
        return text.replace("skills: {support: 10, billing: 9,", "skills: {suport: 10, billing: 9,", 1)

    broken = config_copy(tmp_path, break_it)
    assert main(["check", str(broken)]) == 1
    printed = capsys.readouterr().err.splitlines()
    async with Centre(behaviour=STEADY, agents=["1014"]) as centre:
        old = centre.router.table
        with caplog.at_level(logging.INFO, logger="router"):
            assert centre.router.reload(str(broken)) is False
        assert centre.router.reload_ok is False
        assert centre.router.table is old and centre.router.engine.table is old
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        expected = [str(p) for p in check_config(broken).errors]
        assert len(expected) == 2
        assert errors[:2] == expected == printed[:2]
        assert "2 error(s); configuration rejected; keeping the running config" in errors[2]
        # Routing goes on under the old rules...
        call = centre.pbx.place_call(dnis=SUPPORT, caller_name="赵敏")
        await centre.until(lambda: centre.record(call).outcome == "answered", 5)
        # ...and a good reload afterwards clears the failure.
        assert centre.router.reload(str(config_copy(tmp_path / "good"))) is True
        assert centre.router.reload_ok is True
        centre.assert_clean()


async def test_reload_that_removes_a_ringing_agent_withdraws_the_offer_cleanly(tmp_path):
    slow = Behaviour(mean_patience=10_000, answer_delay=(6.0, 6.0), no_answer_rate=0.0, mean_talk=30, min_talk=30)

    def drop_1016(text: str) -> str:
        start = text.index('  - id: "1016"')
        end = text.index('  - id: "1017"')
        return text[:start] + text[end:]

    async with Centre(behaviour=slow, agents=["1016"]) as centre:
        call = centre.pbx.place_call(dnis=SUPPORT, caller_name="刘洋")
        await centre.until(lambda: centre.record(call).offers == ["1016"], 5)
        assert centre.router.reload(str(config_copy(tmp_path, drop_1016))) is True
        await centre.until(lambda: centre.router.engine.agents["1016"].status.value == "logged_out", 5)
        await centre.sim_seconds(10)  # past the moment 1016 would have answered
        assert centre.record(call).outcome is None  # still waiting, nobody to take it
        assert [c.id for c in centre.router.engine.line()] == [call]
        centre.assert_clean()
