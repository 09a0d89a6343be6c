"""End to end: the router and the PBX simulator over loopback TCP, with the
records subscriber writing a real SQLite file through the real writer.
The records are compared with the simulator's own log of every call (who
answered, the outcome) and with the router's Prometheus counters."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
import sqlalchemy as sa

from router.core.state import AgentStatus
from router.daemon import Router
from router.metrics import Metrics
from router.records.setup import RecordsSettings, open_records
from router.records.store import make_engine, parse_url
from support.centre import Behaviour, Centre

BUSY = Behaviour(mean_patience=45, answer_delay=(1.0, 4.0), no_answer_rate=0.1, mean_talk=40, min_talk=10)
#: sim outcome -> the records' outcomes it may be
OUTCOMES = {"answered": {"answered"}, "abandoned": {"abandoned"}, "voicemail": {"overflowed", "closed"},
            "callback": {"callback", "closed"}, "transfer": {"overflowed", "closed"},
            "hangup": {"overflowed", "closed"}}
IDLE = (AgentStatus.AVAILABLE, AgentStatus.PAUSED, AgentStatus.LOGGED_OUT)


class RecordedCentre(Centre):
    """A Centre whose router writes records to `url` and has metrics."""

    def __init__(self, settings: RecordsSettings, **kw) -> None:
        self.settings = settings
        self.db = make_engine(parse_url(settings.url, settings.password))
        super().__init__(**kw)

    def new_router(self) -> Router:
        router = super().new_router()
        self.metrics = Metrics(router)
        router.attach_metrics(self.metrics)
        self.records = open_records(self.settings, lambda: router.table, registry=self.metrics.registry)
        router.listeners.append(self.records)
        return router

    async def connect(self) -> None:
        self.records.start(self.router.clock.now)
        await super().connect()


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
        await centre.sim_seconds(20)
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
            assert outcome in OUTCOMES[record.outcome], (call_id, record.outcome, outcome)
            assert answered_by == record.agent, call_id
            assert reason != "incomplete"
            assert offers >= len(record.offers)  # every ring the PBX saw is an offer on record
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
        centre.records.stop()
        centre.db.dispose()
