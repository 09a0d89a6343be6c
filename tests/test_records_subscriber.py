"""The records subscriber and its checkpoint (router/records/subscriber.py,
checkpoint.py), and the `router run --records` flags."""

from __future__ import annotations

import json
import time

import pytest

from router.core import facts as f
from router.records.checkpoint import Checkpoint
from router.records.setup import records_settings
from router.records.store import RecordsError
from router.records.subscriber import RecordsSubscriber
from test_records_assemble import T0, centre
from router.records.assemble import RecordAssembler


class Sink:
    """Stands for the writer (the real one is tested in test_records_writer.py)."""

    def __init__(self) -> None:
        self.rows: list = []
        self.started = self.stopped = False

    def put(self, rows) -> None:
        self.rows.extend(rows)

    def start(self) -> None:
        self.started = True

    def stop(self, timeout: float = 5.0) -> None:
        self.stopped = True


def queued(call: str, name: str = "王五") -> f.CallQueued:
    return f.CallQueued(call, "sales", "r", 0, "800", "138", name, "sim", variables=(("lang", "中文"),), arrived=T0)


def test_the_checkpoint_journal_round_trips_and_survives_a_cut_line(tmp_path):
    cp = Checkpoint(tmp_path / "open.journal")
    assert cp.load() == ({}, None)
    cp.start()
    cp.submit({"c:1": ["x", "王五"], "a:1001": [1]}, 10.0)
    cp.submit({"c:1": None, "c:2": ["y"]}, 11.0)
    cp.stop()
    with open(tmp_path / "open.journal", "ab") as handle:
        handle.write(b'["c:3", ["cut sh')  # a kill in the middle of a line
    again = Checkpoint(tmp_path / "open.journal")
    assert again.load() == ({"a:1001": [1], "c:2": ["y"]}, 11.0)


def test_the_checkpoint_stays_compact(tmp_path, monkeypatch):
    monkeypatch.setattr("router.records.checkpoint.SLACK", 10)
    monkeypatch.setattr("router.records.checkpoint.INTERVAL", 0.001)  # the thread writes many rounds
    cp = Checkpoint(tmp_path / "open.journal")
    cp.load()
    cp.start()
    for n in range(200):
        cp.submit({f"c:{n}": [n], f"c:{n - 1}": None}, float(n))
        time.sleep(0.002)
    cp.stop()
    lines = (tmp_path / "open.journal").read_bytes().count(b"\n")
    assert lines < 60  # not 600: rewritten as it grew
    assert Checkpoint(tmp_path / "open.journal").load() == ({"c:199": [199]}, 199.0)


def test_a_failing_assembler_never_raises_into_routing_and_is_counted():
    class Broken(RecordAssembler):
        def handle(self, fact, now):
            raise ValueError("boom")

    sub = RecordsSubscriber(Broken(lambda: centre()), Sink())
    sub(queued("c1"), T0)
    sub(queued("c2"), T0)
    assert sub.errors == 2


def test_the_subscriber_restores_the_checkpoint_and_checkpoints_what_changes(tmp_path):
    t = centre()
    sink = Sink()
    sub = RecordsSubscriber(RecordAssembler(lambda: t), sink, Checkpoint(tmp_path / "open.journal"))
    sub.start(lambda: T0)
    sub(queued("c1"), T0)
    sub(f.CallAbandoned("c2", "sales", 1.0), T0)  # unknown: nothing
    sub.tick(T0 + 1)
    sub.stop()
    assert sink.started and sink.stopped and sink.rows == []
    text = (tmp_path / "open.journal").read_text(encoding="utf-8")
    assert "王五" in text and "中文" in text  # UTF-8 as is
    lines = [json.loads(line) for line in text.splitlines()]
    assert [k for k, _ in lines if k != "@"] == ["c:c1"]
    assert lines[-1] == ["@", T0]  # the stop's last tick: the time goes on even with no change

    sink2 = Sink()
    sub2 = RecordsSubscriber(RecordAssembler(lambda: t), sink2, Checkpoint(tmp_path / "open.journal"))
    assert sub2.start(lambda: T0 + 10) == 1
    sub2(f.CallAbandoned("c1", "sales", 20.0), T0 + 20)
    sub2.stop()
    (row,) = [r for r in sink2.rows if getattr(r, "TABLE", "") == "calls"]
    assert (row.call_id, row.outcome, row.caller_name, row.wait) == ("c1", "abandoned", "王五", 20.0)


def test_a_kill_after_a_quiet_spell_ends_the_agents_sessions_at_the_last_tick_not_the_last_change(tmp_path):
    """Found on the real Asterisk (tests/test_asterisk_restart.py): the
    checkpoint only learnt the time when something changed, so an agent
    talking quietly for a while before a kill lost that while from their
    session (it ended at the last change)."""
    t = centre()
    sub = RecordsSubscriber(RecordAssembler(lambda: t), Sink(), Checkpoint(tmp_path / "open.journal"))
    sub.start(lambda: T0)
    sub(f.AgentStateChanged("a1", "available", ""), T0 + 1)
    sub.tick(T0 + 1)
    for n in range(2, 30):  # 29 s with nothing new, then the kill (no stop: nothing more is written)
        sub.tick(T0 + n)
    sub.checkpoint.stop()
    sink = Sink()
    again = RecordsSubscriber(RecordAssembler(lambda: t), sink, Checkpoint(tmp_path / "open.journal"))
    again.start(lambda: T0 + 60)
    again.stop()
    (session,) = [r for r in sink.rows if r.TABLE == "agent_sessions"]
    (interval,) = [r for r in sink.rows if r.TABLE == "agent_states"]
    assert (session.login_at, session.logout_at) == (T0 + 1, T0 + 29)
    assert (interval.state, interval.started_at, interval.ended_at) == ("available", T0 + 1, T0 + 29)


def test_records_flags(tmp_path):
    assert records_settings(None, None, None, None) is None
    with pytest.raises(RecordsError, match="--records-spool needs --records"):
        records_settings(None, None, str(tmp_path), None)
    with pytest.raises(RecordsError, match="--records-spool DIR"):
        records_settings("postgresql://router@db/records", None, None, None)
    pg = records_settings("postgresql://router@db/records", None, None, str(tmp_path / "agents.json"))
    assert pg.spool_dir == tmp_path / "records.spool"
    lite = records_settings(f"sqlite:{tmp_path}/r.db", None, None, None)
    assert str(lite.spool_dir) == f"{tmp_path}/r.db.spool"
    with pytest.raises(RecordsError):
        records_settings("mysql://x/y", None, None, None)
    (tmp_path / "file").write_text("")
    with pytest.raises(RecordsError, match="cannot make the records spool"):
        records_settings(f"sqlite:{tmp_path}/r.db", None, str(tmp_path / "file" / "spool"), None)


def test_router_simulate_writes_the_simulated_day_on_record(tmp_path, capsys):
    import re
    import sqlite3

    from router.present.cli import main
    from support.paths import ROOT

    assert main(["simulate", str(ROOT / "config"), "--duration", "1h", "--quiet", "--seed", "3",
                 "--records", f"sqlite:{tmp_path / 'r.db'}"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"records: \d+ rows written to sqlite:", out)
    answered = sum(int(line.split()[2]) for line in out.splitlines()
                   if re.match(r"^\w+\s+\d+\s+\d+\s+\d+%", line))
    offered, in_progress = map(int, re.search(
        r"records: (\d+) calls offered; warm-down: no more arrivals, the (\d+) in progress and the \d+ callbacks "
        r"parked \(for their queue's hours or a retry\) went on for \d+ simulated seconds: every one on record",
        out).groups())
    with sqlite3.connect(tmp_path / "r.db") as db:
        (on_record,) = db.execute("SELECT COUNT(*) FROM calls WHERE outcome = 'answered' AND kind = 'inbound'").fetchone()
        (inbound,) = db.execute("SELECT COUNT(*) FROM calls WHERE kind = 'inbound'").fetchone()
        (sessions,) = db.execute("SELECT SUM(duration) FROM agent_sessions").fetchone()
        (states,) = db.execute("SELECT SUM(duration) FROM agent_states").fetchone()
    # the warm-down puts the calls in progress at the end on record too: every call offered
    assert inbound == offered > 100 and in_progress > 0
    assert answered <= on_record <= answered + in_progress
    assert states == pytest.approx(sessions, abs=1e-3) and sessions > 0


def test_on_a_loop_the_facts_are_assembled_after_the_callback_that_published_them():
    """The decision's callback pays one append: the assembly runs in the
    loop's next callback, each fact with the table it was published under."""
    import asyncio
    import dataclasses

    before = centre()
    enforcement = dataclasses.replace(before.settings.enforcement, short_abandon=1.0)
    assert before.settings.enforcement.short_abandon > 3.0  # c1's 3 s wait is a short abandon then
    after = dataclasses.replace(before, settings=dataclasses.replace(before.settings, enforcement=enforcement))
    live = [before]
    sink = Sink()
    sub = RecordsSubscriber(RecordAssembler(lambda: live[0]), sink)

    async def run() -> tuple[int, int, int]:
        sub.start(lambda: T0 + 3)
        sub(queued("c1"), T0)
        sub(f.CallAbandoned("c1", "sales", 3.0), T0 + 3)
        in_callback = (len(sub.assembler.calls), len(sink.rows))
        live[0] = after  # a reload before the batch runs
        await asyncio.sleep(0)
        return (*in_callback, len(sink.rows))

    open_calls, rows_in_callback, rows_after = asyncio.run(run())
    sub.stop()
    assert (open_calls, rows_in_callback) == (0, 0)
    assert rows_after > 0
    (row,) = [r for r in sink.rows if getattr(r, "TABLE", "") == "calls"]
    assert (row.call_id, row.outcome, row.short_abandon, row.sl_counted) == ("c1", "abandoned", True, False)


def test_tick_and_stop_assemble_what_is_pending_first():
    import asyncio

    sink = Sink()
    sub = RecordsSubscriber(RecordAssembler(lambda: centre()), sink)

    async def run() -> None:
        sub.start(lambda: T0)
        sub(queued("c1"), T0)
        sub.tick(T0 + 1)  # before the loop ran the batch
        assert "c1" in sub.assembler.calls
        sub(f.CallAbandoned("c1", "sales", 20.0), T0 + 20)
        sub.stop()
        assert [r.call_id for r in sink.rows if getattr(r, "TABLE", "") == "calls"] == ["c1"]

    asyncio.run(run())
