"""The agent state file: round trip, and bad files never crash the router."""

import json

from router.core import events as ev
from router.runtime.state_file import AgentStateFile


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


def test_open_callbacks_are_kept_and_come_back_as_promises(tmp_path, caplog):
    from router.core import events as ev
    from router.runtime.state_file import AgentStateFile

    path = tmp_path / "state.json"
    saved = AgentStateFile(path)
    promise = {"call": "cb-1", "number": "13900001111", "queue": "vip", "priority": 60, "arrived": 1000.0,
               "attempts": 0, "caller_name": "王五", "dnis": "4008002000", "pbx": "sim", "origin": "1"}
    saved.record_callback("promised", promise)
    saved.record_callback("promised", {**promise, "call": "cb-2", "arrived": 900.0})
    saved.record_callback("retry", {"call": "cb-1", "attempts": 1})
    saved.record_callback("done", {"call": "cb-2"})
    saved.save()
    loaded = AgentStateFile(path).load()
    assert loaded == [ev.CallbackPromised("cb-1", "13900001111", "vip", 60, 1000.0, attempts=1,
                                          caller_name="王五", dnis="4008002000", pbx="sim", origin="1")]
    # An entry that cannot be read is reported, never dropped in silence.
    data = json.loads(path.read_text(encoding="utf-8"))
    data["callbacks"]["cb-3"] = {"number": "1"}
    path.write_text(json.dumps(data), encoding="utf-8")
    assert len(AgentStateFile(path).load()) == 1
    assert any("cb-3" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
