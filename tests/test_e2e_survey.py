"""End to end: survey and recording through the PBX simulator and a real
router over loopback TCP, with the sample config (complaints: survey and
record on; vip: record only; sales: neither). The PBX's own records of each
call (the score the caller pressed, the file it was told to record to) are
the ground truth the router's facts and metrics are compared with."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from router.metrics import Metrics
from support.centre import Centre

COMPLAINT = {"dnis": "4008009000", "variables": {"menu": "3"}}
SALES = {"dnis": "4008001000"}
RECORDINGS = "/var/spool/asterisk/monitor/router"


class Seen:
    """What the router published, by kind."""

    def __init__(self, router) -> None:
        self.items: list = []
        router.subscribe(lambda p, now: self.items.append(p))

    def of(self, kind: str, call: str | None = None) -> list[dict]:
        return [dict(p.data) for p in self.items if p.kind == kind and (call is None or p.data.get("call") == call)]


async def test_a_complaint_is_recorded_surveyed_and_its_score_counted():
    async with Centre(agents=["1028"]) as centre:
        metrics = Metrics(centre.router, registry=CollectorRegistry())
        centre.router.attach_metrics(metrics)
        seen = Seen(centre.router)
        centre.pbx.set_survey(rate=1.0, scores={"1028": 4})
        call = centre.pbx.place_call(caller_name="陈静", **COMPLAINT)
        await centre.until(lambda: seen.of("call.survey", call), 10)
        record = centre.record(call)
        assert record.outcome == "answered" and record.agent == "1028"
        # the PBX was told where to record, and the router published the same path
        assert record.recording == f"{RECORDINGS}/{call}.wav"
        assert seen.of("call.recording", call) == [
            {"call": call, "queue": "complaints", "agent": "1028", "path": record.recording}]
        # the caller went on to the survey after the agent hung up, and pressed 4
        assert record.survey_offered and record.survey == 4
        assert record.talk_ended is not None and record.ended > record.talk_ended
        assert seen.of("call.survey", call) == [{"call": call, "queue": "complaints", "agent": "1028", "score": 4}]
        kinds = [p.kind for p in seen.items if p.data.get("call") == call]
        assert kinds.index("call.ended") < kinds.index("call.survey")
        sample = metrics.registry.get_sample_value
        assert sample("router_survey_score_count", {"queue": "complaints"}) == 1
        assert sample("router_survey_score_bucket", {"queue": "complaints", "le": "3.0"}) == 0
        assert sample("router_survey_score_bucket", {"queue": "complaints", "le": "4.0"}) == 1
        centre.assert_clean()


async def test_scores_and_recordings_match_the_pbx_ground_truth_call_by_call():
    """Several calls, drawn scores and some callers who press nothing: the
    router's call.survey facts are exactly the PBX's pressed scores, a sales
    call is neither surveyed nor recorded."""
    async with Centre(agents=["1028", "1029", "1030", "1001"]) as centre:
        seen = Seen(centre.router)
        centre.pbx.set_survey(rate=0.6)
        complaints = [centre.pbx.place_call(caller_name=f"客户{n}", **COMPLAINT) for n in range(6)]
        sale = centre.pbx.place_call(caller_name="王五", **SALES)
        calls = [*complaints, sale]
        await centre.until(lambda: all(centre.record(c).ended is not None for c in calls), 30)
        await centre.sim_seconds(2)  # the last UserEvent reaches the router
        truth = {c: centre.record(c).survey for c in complaints if centre.record(c).survey is not None}
        facts = {d["call"]: d["score"] for d in seen.of("call.survey")}
        assert facts == truth and truth  # (at rate 0.6 all six silent is a 0.4 % draw; seeded)
        assert all(1 <= s <= 5 for s in truth.values())
        for c in complaints:
            assert centre.record(c).survey_offered
            assert centre.record(c).recording == f"{RECORDINGS}/{c}.wav"
        paths = {d["call"]: d["path"] for d in seen.of("call.recording")}
        assert paths == {c: centre.record(c).recording for c in complaints}
        assert centre.record(sale).outcome == "answered"
        assert not centre.record(sale).survey_offered and centre.record(sale).recording == ""
        assert all(d["queue"] == "complaints" for d in seen.of("call.survey"))
        centre.assert_clean()


async def test_a_caller_who_hangs_up_first_is_not_surveyed():
    async with Centre(agents=["1028"]) as centre:
        seen = Seen(centre.router)
        centre.pbx.set_survey(rate=1.0, scores={"1028": 5})
        call = centre.pbx.place_call(caller_name="赵敏", **COMPLAINT)
        await centre.until(lambda: centre.record(call).outcome == "answered", 5)
        centre.pbx.hangup_caller(call)
        await centre.until(lambda: seen.of("call.ended", call), 5)
        await centre.sim_seconds(15)  # past any survey
        assert centre.record(call).survey is None and seen.of("call.survey", call) == []
        centre.assert_clean()


async def test_a_caller_who_presses_nothing_gives_no_score():
    async with Centre(agents=["1028"]) as centre:
        seen = Seen(centre.router)
        centre.pbx.set_survey(rate=0.0)
        call = centre.pbx.place_call(caller_name="李娜", **COMPLAINT)
        await centre.until(lambda: centre.record(call).ended is not None, 10)
        record = centre.record(call)
        assert record.survey_offered and record.survey is None
        assert record.ended - record.talk_ended >= 8.0  # the prompt and the Read() timeout
        await centre.sim_seconds(2)
        assert seen.of("call.survey", call) == [] and seen.of("call.ended", call)
        centre.assert_clean()


async def test_a_recorded_call_sends_mixmonitorstart_as_asterisk_does_and_the_router_uses_it():
    """Asterisk 22.10.1 sends MixMonitorStart when router-agent's MixMonitor()
    starts (seen in tests/test_asterisk_records.py); the simulator sends it
    too, and only then does the router publish the call's recording."""
    async with Centre(agents=["1028"]) as centre:
        seen = Seen(centre.router)
        sent: list[str] = []
        emit = centre.pbx.world.emit
        centre.pbx.world.emit = lambda event, category, pairs: (sent.append(event), emit(event, category, pairs))
        centre.pbx.set_survey(rate=0.0)
        call = centre.pbx.place_call(caller_name="陈静", **COMPLAINT)
        await centre.until(lambda: centre.record(call).ended is not None, 10)
        await centre.sim_seconds(1)
        assert sent.count("MixMonitorStart") == 1
        assert seen.of("call.recording", call) == [
            {"call": call, "queue": "complaints", "agent": "1028", "path": f"{RECORDINGS}/{call}.wav"}]
        assert not set(sent) & set(centre.router.translators["sim"].ignored)
        centre.assert_clean()


async def test_a_pbx_that_does_not_start_the_recording_leaves_the_call_unrecorded():
    """Without app_mixmonitor, router-agent's TryExec(MixMonitor(...)) goes
    on and no MixMonitorStart comes: the call is connected, and the router
    publishes no recording for it (its record names no file that does not
    exist)."""
    async with Centre(agents=["1028"]) as centre:
        seen = Seen(centre.router)
        emit = centre.pbx.world.emit
        centre.pbx.world.emit = lambda event, category, pairs: (
            None if event == "MixMonitorStart" else emit(event, category, pairs))
        centre.pbx.set_survey(rate=0.0)
        call = centre.pbx.place_call(caller_name="陈静", **COMPLAINT)
        await centre.until(lambda: centre.record(call).ended is not None, 10)
        await centre.sim_seconds(1)
        assert centre.record(call).outcome == "answered"
        assert seen.of("call.answered", call) and seen.of("call.recording", call) == []
        centre.assert_clean()


async def test_a_voicemail_action_sends_messagewaiting_as_asterisk_does_and_the_router_knows_it():
    """Asterisk 22.10.1 sends MessageWaiting once router-action's VoiceMail()
    saved a message (seen in tests/test_asterisk_records.py); so does the
    simulator, and the router files it as known and unused."""
    from router.ami.translate import UNUSED_EVENTS
    async with Centre(agents=["1001"]) as centre:
        centre.pbx.agent_logout("1001")  # nobody: `general` sends its caller to voicemail at 240 s
        await centre.until(lambda: centre.router.engine.agents["1001"].status.value == "logged_out", 5)
        sent: list[str] = []
        emit = centre.pbx.world.emit
        centre.pbx.world.emit = lambda event, category, pairs: (sent.append(event), emit(event, category, pairs))
        call = centre.pbx.place_call()
        await centre.until(lambda: centre.record(call).ended is not None, 30)
        await centre.sim_seconds(1)
        assert centre.record(call).outcome == "voicemail" and centre.record(call).target == "8900@default"
        assert sent.count("MessageWaiting") == 1 and "MessageWaiting" in UNUSED_EVENTS
        assert not set(sent) & set(centre.router.translators["sim"].ignored)
        centre.assert_clean()
