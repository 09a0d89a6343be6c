"""The agent state file: round trip, and bad files never crash the router."""

from router.core import events as ev
from router.state import AgentStateFile


def test_round_trip_restores_logins_and_pauses_but_not_device_busy(tmp_path):
    path = tmp_path / "sub" / "agents.json"
    saved = AgentStateFile(path)
    for agent, state, reason in [("1001", "available", ""), ("1002", "paused", "午饭"), ("1003", "logged_out", ""),
                                 ("1004", "on_call", ""), ("1005", "paused", "device-busy")]:
        saved.record(agent, state, reason)
    saved.save()
    assert not saved.dirty
    assert AgentStateFile(path).load() == [ev.AgentLogin("1001"), ev.AgentLogin("1002"), ev.AgentPause("1002", "午饭"),
                                           ev.AgentLogin("1004"), ev.AgentLogin("1005")]


def test_missing_file_means_nobody_logged_in(tmp_path):
    assert AgentStateFile(tmp_path / "none.json").load() == []


def test_corrupt_file_is_a_warning_not_a_crash(tmp_path, caplog):
    for text in ["{not json", '{"agents": [1, 2]}', '{"agents": {"1001": 5}}', "\x00\xff"]:
        path = tmp_path / "agents.json"
        path.write_text(text, encoding="utf-8", errors="ignore")
        assert AgentStateFile(path).load() == []
    assert "cannot read saved agent states" in caplog.text


def test_save_is_atomic_and_skips_when_nothing_changed(tmp_path):
    path = tmp_path / "agents.json"
    state = AgentStateFile(path)
    state.save()
    assert not path.exists()  # nothing recorded, nothing written
    state.record("1001", "available", "")
    state.save()
    first = path.stat().st_mtime_ns
    state.record("1001", "available", "")  # no change
    state.save()
    assert path.stat().st_mtime_ns == first
    assert [p.name for p in tmp_path.iterdir()] == ["agents.json"]  # no temp files left
