"""The one subscription mechanism (router/runtime/subscribers.py) and the MQTT
schema derived from the fact catalogue (router/mqtt/schema.py)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from router.core import events as ev
from router.core import facts as f
from router.runtime.daemon import Clock, Router
from router.mqtt import outgoing
from router.mqtt.schema import FIELDS, always
from router.runtime.subscribers import Subscribers, by_type
from support.tables import agent, queue, req, step, table

ROOT = Path(__file__).resolve().parent.parent
TABLE = table([agent("a1", sales=5)], [queue("sales", step(0, req(sales=1)))])


def test_by_type_calls_the_handler_of_the_facts_type_only():
    seen = []
    subscriber = by_type({f.CallAnswered: lambda fact, now: seen.append((fact.call, now))})
    subscriber(f.CallAnswered("c1", "sales", "a1", 3.0), 10.0)
    subscriber(f.CallAbandoned("c2", "sales", 3.0), 11.0)
    assert seen == [("c1", 10.0)]
    assert subscriber.handles == {f.CallAnswered}


def test_by_type_refuses_what_is_not_a_fact_of_the_catalogue():
    with pytest.raises(TypeError, match="CATALOGUE"):
        by_type({ev.CallWaiting: lambda fact, now: None})


def test_a_faulty_subscriber_is_logged_and_counted_and_the_others_still_get_every_fact(caplog):
    router = Router(TABLE, Clock(1.0, start=1_800_000_000.0))
    seen = []

    def broken(fact, now):
        raise RuntimeError("a consumer's bug")

    router.subscribe(broken, "broken")
    router.subscribe(lambda fact, now: seen.append(type(fact)), "after")
    with caplog.at_level(logging.ERROR, logger="router"):
        router.publish(f.EventIgnored("CallLeft", "unknown call"))
        router.publish(f.EventIgnored("CallLeft", "unknown call"))
    assert seen == [f.EventIgnored, f.EventIgnored]
    assert router.subscribers.faults == {"broken": 2}
    assert any("publish listener failed" in r.getMessage() and r.exc_info for r in caplog.records)
    router.unsubscribe(broken)
    router.publish(f.EventIgnored("CallLeft", "unknown call"))
    assert router.subscribers.faults == {"broken": 2} and len(seen) == 3


def test_a_simulation_lets_a_fault_surface():
    subscribers = Subscribers(catch=False)
    subscribers.subscribe(lambda fact, now: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        subscribers.publish(f.EventIgnored("x", "y"), 0.0)


def test_every_fact_sent_on_mqtt_lists_its_own_payload_keys():
    """FIELDS is derived: a key every fact of an event carries is documented
    for that event without anyone adding it by hand."""
    for kind, event in outgoing.EVENTS.items():
        if event in ("agent.state", "call.callback", "sla.action"):
            continue  # their payload is the bus's own record, or shared by several facts
        assert set(always(kind)) <= set(FIELDS[event]), kind
    shared = set.intersection(*(set(always(k)) for k in f.CALLBACK_FACTS))
    assert shared <= set(FIELDS["call.callback"])


def test_docs_list_every_key_of_every_event():
    rows: dict[str, str] = {}
    for line in (ROOT / "docs" / "MQTT.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| `P/"):
            cells = [c.strip() for c in line.split("|")]
            for event in re.findall(r"`([a-z_.]+)`", cells[3]):
                rows[event] = rows.get(event, "") + cells[4]
    for event, keys in FIELDS.items():
        assert event in rows, event
        assert not [k for k in keys if f"`{k}" not in rows[event]], (event, rows[event])
