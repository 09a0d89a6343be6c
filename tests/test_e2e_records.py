"""End to end: the router and the PBX simulator over loopback TCP, with the
records subscriber writing a real SQLite file through the real writer.
The records are compared with the simulator's own log of every call (who
answered, the outcome) and with the router's Prometheus counters, and so is
`router report` over them (report_figures, the figures of its table)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace

import pytest
import sqlalchemy as sa

from router.core.state import AgentStatus
from router.process.compose import build
from router.records.setup import RecordsSettings
from router.records.store import make_engine, parse_url
from router.report.buckets import TOTAL
from router.report.figures import report_figures
from support.centre import MONDAY_10AM, Behaviour, Centre
from support.races import hung_up_at_max_wait

BUSY = Behaviour(mean_patience=45, answer_delay=(1.0, 4.0), no_answer_rate=0.1, mean_talk=40, min_talk=10)
#: sim outcome -> the records' outcomes it may be
OUTCOMES = {"answered": {"answered"}, "abandoned": {"abandoned"}, "voicemail": {"overflowed", "closed"},
            "callback": {"callback", "closed"}, "transfer": {"overflowed", "closed"},
            "hangup": {"overflowed", "closed"}}
IDLE = (AgentStatus.AVAILABLE, AgentStatus.PAUSED, AgentStatus.LOGGED_OUT)


class RecordedCentre(Centre):
    """A Centre built with `records` and metrics, as `router run --simulate
    --records URL --http ...` builds it (router/process/compose.py)."""

    def __init__(self, settings: RecordsSettings, **kw) -> None:
        super().__init__(**kw)
        self.options = replace(self.options, records=settings, http=("127.0.0.1", 0))
        self.app = build(self.options)
        self.pbx = self.app.simulator
        self.db = make_engine(parse_url(settings.url, settings.password))

    @property
    def records(self):
        return self.app.records

    @property
    def metrics(self):
        return self.app.metrics


def query(db, sql: str) -> list:
    with db.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path) -> RecordsSettings:
    if request.param == "sqlite":
        return RecordsSettings(f"sqlite:{tmp_path / 'records.db'}", None, tmp_path / "spool")
    from support.postgres import PASSWORD

    server = request.getfixturevalue("postgres")
    return RecordsSettings(server.create_database(f"e2e_{tmp_path.name[-20:].lower()}"), PASSWORD,
                           tmp_path / "spool")


async def test_every_call_and_agent_state_is_on_record_as_the_pbx_and_the_metrics_saw_it(settings):
    async with RecordedCentre(settings, behaviour=BUSY, calls_per_hour=2400, seed=7) as centre:
        await centre.sim_seconds(900)
        await centre.pbx.stop_traffic()
        router, pbx = centre.router, centre.pbx
        await centre.until(lambda: all(r.outcome for r in pbx.records.values()) and not router.engine.calls, 30)
        await centre.until(lambda: all(a.status in IDLE for a in router.engine.agents.values()), 10)
        for agent, rec in router.engine.agents.items():
            if rec.status is not AgentStatus.LOGGED_OUT:
                pbx.agent_logout(agent)
        await centre.until(lambda: all(a.status is AgentStatus.LOGGED_OUT for a in router.engine.agents.values()), 10)
        # the last surveyed calls wait up to SURVEY_WAIT (120 s) for a score
        await centre.until(lambda: centre.records.open_calls()[0] == 0, 20,
                           what=f"every call on record; open: {centre.records.open_calls()}")
        assert centre.records.errors == 0
        centre.records.tick(router.clock.now())
        assert centre.records.writer.flush(20)
        assert pbx.double_connects == 0 and pbx.errors == []
        # (a ghost race, a caller hanging up as the agent answers, can happen
        # with random traffic: not the records' business)

        db, sim = centre.db, pbx.records
        rows = {r[0]: r for r in query(db, "SELECT call_id, outcome, answered_by, final_queue, reason, offers "
                                           "FROM calls WHERE kind = 'inbound'")}
        assert len(sim) > 150
        assert set(rows) == set(sim)  # every call, once (call_id is the key)
        for call_id, record in sim.items():
            _, outcome, answered_by, _, reason, offers = rows[call_id]
            assert outcome in OUTCOMES[record.outcome] or (
                outcome == "overflowed" and hung_up_at_max_wait(router.table, record, MONDAY_10AM)), \
                (call_id, record.outcome, outcome)
            assert answered_by == record.agent, call_id
            assert reason != "incomplete"
            assert offers >= len(record.offers)  # every ring the PBX saw is an offer on record
        scores = dict(query(db, "SELECT call_id, survey_score FROM calls WHERE kind = 'inbound'"))
        assert scores == {c: r.survey for c, r in sim.items()}  # the simulator's callers' keys
        assert any(scores.values())
        paths = dict(query(db, "SELECT call_id, recording FROM calls WHERE kind = 'inbound'"))
        assert {c: p or "" for c, p in paths.items()} == {c: r.recording if r.answered else "" for c, r in sim.items()}
        answered_offers = query(db, "SELECT call_id, agent_id FROM offers WHERE outcome = 'answered'")
        assert {c: a for c, a in answered_offers if c in sim} == {c: r.agent for c, r in sim.items() if r.agent}
        sim_outcomes = Counter(r.outcome for r in sim.values())
        assert sim_outcomes["answered"] > 50 and sim_outcomes["abandoned"] > 5, sim_outcomes

        # the router's own Prometheus counters, per queue
        per_queue = Counter((q, o) for _, o, _, q, _, _ in rows.values())
        sample = centre.metrics.registry.get_sample_value
        for queue in router.table.queues:
            for outcome in ("answered", "abandoned", "closed"):
                assert per_queue[queue, outcome] == (sample(f"router_calls_{outcome}_total", {"queue": queue}) or 0), \
                    (queue, outcome)
        overflowed = defaultdict(float)
        for metric in centre.metrics.registry.collect():
            for s in metric.samples:
                if s.name == "router_calls_overflowed_total":
                    overflowed[s.labels["queue"]] += s.value
        for queue in router.table.queues:
            assert per_queue[queue, "overflowed"] + per_queue[queue, "callback"] == overflowed[queue], queue

        # the SL columns, judged as the router's own SlaBook judged them
        # (docs/SERVICE-LEVEL.md; router_service_level{window="today"} is its ratio)
        judged = query(db, "SELECT final_queue, SUM(CASE WHEN sl_met THEN 1 ELSE 0 END), "
                           "SUM(CASE WHEN sl_counted THEN 1 ELSE 0 END) FROM calls WHERE kind = 'inbound' "
                           "GROUP BY final_queue")
        now = router.clock.now()
        assert {q: (int(m), int(c)) for q, m, c in judged} == \
            {q: router.engine.sla.counts(q, "today", now) for q in router.table.queues
             if router.engine.sla.counts(q, "today", now)[1]}

        # agent records: every session tiled exactly by its state intervals
        sessions = dict(query(db, "SELECT agent_id, SUM(duration) FROM agent_sessions GROUP BY agent_id"))
        states = dict(query(db, "SELECT agent_id, SUM(duration) FROM agent_states GROUP BY agent_id"))
        assert set(sessions) == set(states) == set(router.table.agents)
        for agent, total in sessions.items():
            assert states[agent] == pytest.approx(total, abs=1e-3), agent
        talked = dict(query(db, "SELECT call_id, SUM(duration) FROM agent_states WHERE state = 'on_call' "
                                "GROUP BY call_id"))
        talks = dict(query(db, "SELECT call_id, talk FROM calls WHERE outcome = 'answered'"))
        for call_id, talk in talks.items():
            assert talked[call_id] == pytest.approx(talk, abs=1e-3), call_id
        assert not query(db, "SELECT 1 FROM agent_states WHERE local_minute % 15 + duration / 60.0 > 15.0001")

        # `router report` over the same day: its per-queue figures are the
        # Prometheus counters, the simulator's outcomes and the SlaBook's level
        days = [d for (d,) in query(db, "SELECT DISTINCT local_date FROM calls ORDER BY local_date")]
        report = report_figures(db, days[0], days[-1], "day", views=("queues",), table=router.table)
        totals = {r["queue"]: r for r in report["queues"] if r["bucket"] == TOTAL}
        sim_queue = Counter((rows[c][3], r.outcome) for c, r in sim.items())  # (final queue, the PBX's outcome)
        for queue in router.table.queues:
            row = totals.get(queue)
            counted = sample("router_calls_answered_total", {"queue": queue}) or 0
            if row is None:
                assert counted == 0 and not overflowed[queue], queue
                continue
            for outcome in ("answered", "abandoned", "closed"):
                assert row[outcome] == (sample(f"router_calls_{outcome}_total", {"queue": queue}) or 0), (queue, outcome)
            assert row["overflowed"] + row["callback"] == overflowed[queue], queue
            raced = sum(1 for c, r in sim.items() if rows[c][3] == queue and rows[c][1] == "overflowed"
                        and r.outcome == "abandoned")  # each one checked above: hung_up_at_max_wait
            assert row["answered"] == sim_queue[queue, "answered"]
            assert row["abandoned"] == sim_queue[queue, "abandoned"] - raced, queue
            assert row["offered"] == sum(n for (q, _), n in sim_queue.items() if q == queue), queue
            met, done = router.engine.sla.counts(queue, "today", now)
            assert (row["sl_met"], row["sl_counted"]) == (met, done), queue
            if done:
                assert row["sl_percent"] == round(100 * router.engine.sla.level(queue, "today", now), 1), queue
        centre.db.dispose()
