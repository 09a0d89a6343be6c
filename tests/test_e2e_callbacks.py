"""End to end over TCP: a promised callback keeps the caller's place, is
placed by the router through router-callback on the simulated PBX, and
survives a router restart (state file)."""

from __future__ import annotations

import json

from support.centre import STEADY, Centre

GOLD = {"tier": "gold"}  # routing.yaml: vip-tier -> queue vip (callback after 120 s)
NUMBER = "13900001111"


def collect(centre: Centre) -> list:
    seen: list = []
    centre.router.subscribe(lambda p, now: seen.append((p.kind, dict(p.data))))
    return seen


async def test_a_vip_caller_nobody_could_take_is_called_back_when_an_agent_frees():
    async with Centre(behaviour=STEADY, agents=["1028"]) as centre:
        seen = collect(centre)
        centre.pbx.agent_pause("1028", "meal")
        await centre.until(lambda: centre.router.engine.agents["1028"].status.value == "paused", 5)
        call = centre.pbx.place_call(dnis="4008002000", caller_num=NUMBER, caller_name="王五", variables=GOLD)
        await centre.until(lambda: centre.record(call).outcome == "callback", 200 / 20)
        cb = f"cb-{call}"
        assert ("callback.promised", cb) in [(k, d.get("call")) for k, d in seen]
        assert cb in centre.router.engine.calls  # in line at the caller's place
        centre.pbx.legs.customers.answer_rate = 1.0
        centre.pbx.agent_unpause("1028")
        await centre.until(lambda: any(k == "callback.done" for k, _ in seen), 120 / 20)
        (attempt,) = centre.pbx.callbacks
        assert (attempt.callback, attempt.number, attempt.agent, attempt.status) == (cb, NUMBER, "1028", "ANSWER")
        kinds = [k for k, d in seen if d.get("call") == cb and k.startswith("callback.")]
        assert kinds == ["callback.promised", "callback.placed", "callback.done"]
        assert cb not in centre.router.engine.calls
        centre.assert_clean()


async def test_a_customer_who_does_not_answer_is_retried_after_the_retry_delay(monkeypatch):
    from router.core import callbacks

    monkeypatch.setattr(callbacks, "RETRY_AFTER", 40.0)  # simulated seconds, to keep the test short
    async with Centre(behaviour=STEADY, agents=["1028"]) as centre:
        seen = collect(centre)
        centre.pbx.agent_pause("1028", "meal")
        await centre.until(lambda: centre.router.engine.agents["1028"].status.value == "paused", 5)
        call = centre.pbx.place_call(dnis="4008002000", caller_num=NUMBER, variables=GOLD)
        await centre.until(lambda: centre.record(call).outcome == "callback", 200 / 20)
        centre.pbx.legs.customers.answer_rate = 0.0
        centre.pbx.agent_unpause("1028")
        await centre.until(lambda: any(k == "callback.retry" for k, _ in seen), 60 / 20)
        centre.pbx.legs.customers.answer_rate = 1.0
        await centre.until(lambda: any(k == "callback.done" for k, _ in seen), 200 / 20)
        assert [a.status for a in centre.pbx.callbacks] == ["NOANSWER", "ANSWER"]
        centre.assert_clean()


async def test_a_promised_callback_survives_a_router_restart(tmp_path):
    state = tmp_path / "agents.json"
    async with Centre(behaviour=STEADY, agents=["1028"], state_file=state) as centre:
        centre.pbx.agent_pause("1028", "meal")
        await centre.until(lambda: centre.router.engine.agents["1028"].status.value == "paused", 5)
        call = centre.pbx.place_call(dnis="4008002000", caller_num=NUMBER, variables=GOLD)
        await centre.until(lambda: centre.record(call).outcome == "callback", 200 / 20)
        cb = f"cb-{call}"
        await centre.until(lambda: cb in json.loads(state.read_text(encoding="utf-8")).get("callbacks", {}), 2)
        await centre.restart_router()  # SIGKILL-like: only the state file is left
        assert cb in centre.router.engine.calls
        seen = collect(centre)
        centre.pbx.legs.customers.answer_rate = 1.0
        centre.pbx.agent_unpause("1028")
        await centre.until(lambda: any(k == "callback.done" for k, _ in seen), 120 / 20)
        assert [a.callback for a in centre.pbx.callbacks] == [cb]
        await centre.until(lambda: cb not in json.loads(state.read_text(encoding="utf-8"))["callbacks"], 2)
        centre.assert_clean()
