"""Attacks through files and printed text (issue 13, items 9, 10, 13): a
corrupt state file, a read-only state directory, and caller names or topics
that carry control and line-separator characters into the console and the
log. Real files, and the real `router run` process where it matters."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from router.config import load_config
from router.core import events as ev
from router.core import facts as f
from router.process.logs import JsonFormatter, TextFormatter
from router.present.console import describe
from router.sim.pbx import PbxSimulator
from router.runtime.state_file import AgentStateFile
from test_process import SECRET, VIP, RouterProcess, quick_config
from support.waiting import until

#: Characters that end or rewrite a line on a terminal or in a log viewer.
HOSTILE = "\r\x1b[2J\x1b]0;pwned\x07\u2028\u2029\x85\x7f\x9b\u202e"


def raw_controls(text: str) -> list[str]:
    """The hostile characters left raw in `text` (newlines between lines excepted)."""
    return [ch for ch in HOSTILE if not ch.isprintable() and ch in text]


# ---------------------------------------------------------------- state file
CORRUPT = {
    "deep": "[" * 100_000,
    "deep-object": '{"agents": ' + '{"a": ' * 50_000 + "1" + "}" * 50_000 + "}",
    "infinite priority": json.dumps({"version": 1, "agents": {"1001": ["available", ""]}, "callbacks": {
        "cb-1": {"number": "1", "queue": "vip", "priority": float("inf"), "arrived": 1.0}}}),
    "nan arrival": json.dumps({"version": 1, "agents": {}, "callbacks": {
        "cb-1": {"number": "1", "queue": "vip", "priority": 5, "arrived": float("nan")}}}),
    "not utf-8": b"\xff\xfe{\x00",
}


@pytest.mark.parametrize("name", list(CORRUPT))
def test_a_corrupt_state_file_is_moved_aside_and_loading_goes_on(tmp_path, caplog, name):
    path = tmp_path / "agents.json"
    data = CORRUPT[name]
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    loaded = AgentStateFile(path).load()  # never raises
    aside = sorted(tmp_path.glob("agents.json.corrupt-*"))
    if name == "infinite priority":  # one bad promise: the agents are kept, the promise reported
        assert loaded == [ev.AgentLogin("1001")]
        assert any("cb-1" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
        assert len(aside) == 1 and aside[0].read_bytes() == path.read_bytes()  # a copy to recover it from
    elif name == "nan arrival":
        assert loaded == []
        assert any("cb-1" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
    else:
        assert loaded == []
        assert not path.exists() and len(aside) == 1 and aside[0].read_bytes()[:4] == (
            data if isinstance(data, bytes) else data.encode())[:4]
        assert any("moved aside" in r.getMessage() for r in caplog.records)


def read_only_dir(tmp_path: Path) -> Path:
    """A directory the router cannot create files in. root ignores modes,
    so as root it is sysfs (which refuses every new file)."""
    if os.geteuid() == 0:
        return Path("/sys/kernel")
    target = tmp_path / "ro"
    target.mkdir()
    target.chmod(0o500)
    return target


def test_saving_into_a_read_only_directory_is_one_clear_line_and_no_exception(tmp_path, caplog):
    state = AgentStateFile(read_only_dir(tmp_path) / "router-test-agents.json")
    for n in range(5):
        state.record("1001", "available" if n % 2 else "paused", "lunch")
        state.save()  # never raises
    errors = [r for r in caplog.records if "cannot save state" in r.getMessage()]
    assert len(errors) == 1 and errors[0].levelname == "ERROR"
    assert state.save_failures == 5 and state.dirty


async def test_router_with_a_corrupt_state_file_starts_and_a_read_only_one_stops_cleanly(tmp_path):
    """The real process: a deeply nested state file (RecursionError before),
    then a state directory it cannot write (tracebacks and exit 1 before);
    hostile caller names on stdout come out escaped."""
    config = quick_config(tmp_path)
    pbx = PbxSimulator(load_config(config), speed=1.0, hold_limit=60.0, login_agents=False, secret=SECRET)
    await pbx.start()
    router = RouterProcess(tmp_path, config, pbx.port)
    router.state_file.write_text(CORRUPT["deep"], encoding="utf-8")
    try:
        await router.start()  # waits for "state rebuilt"
        assert any("moved aside" in m for m in router.log_messages())
        assert len(list(tmp_path.glob("agents.json.corrupt-*"))) == 1
        assert await router.stop() == 0

        router.state_file = read_only_dir(tmp_path) / "router-test-agents.json"
        await router.start()
        pbx.agent_login("1028")
        call = pbx.place_call(caller_name=f"王{HOSTILE}五", **VIP)
        await until(lambda: pbx.records[call].outcome == "answered", 10)
        pbx.agent_logout("1028")
        await until(lambda: sum("cannot save state" in m for m in router.log_messages()) >= 1, 5)
        assert await router.stop() == 0
        messages = router.log_messages()
        assert sum("cannot save state" in m for m in messages) == 1  # rate-limited
        assert "Traceback" not in router.log_text() and "Exception in callback" not in router.log_text()
        out = router.out.read_text(encoding="utf-8")
        assert f"王{HOSTILE}五" not in out and "王" in out
        for line in out.splitlines():
            assert not raw_controls(line), repr(line)
    finally:
        await router.reap()
        await pbx.stop()


# ---------------------------------------------------------------- printed text
def test_decision_lines_escape_control_and_line_separator_characters():
    line = describe(f.CallQueued("c1", "vip", "r", 5, "4008", "", f"王{HOSTILE}五", ""))
    assert not raw_controls(line) and "\n" not in line
    assert line.startswith("call    c1 王") and "五 dnis 4008" in line
    assert "\\x1b" in line and "\\u2028" in line  # shown, not dropped: the operator sees what came
    pause = describe(f.AgentStateChanged("1001", "paused", "a\u2028b"))
    assert pause == "agent   1001 paused (a\\u2028b)"


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_log_lines_escape_line_separators_from_topics(formatter):
    import logging
    topic = f"router/cmd/agent/1001{HOSTILE}ts=2026 level=error msg=fake/pause"
    record = logging.LogRecord("router.mqtt", logging.INFO, __file__, 1, "mqtt: command %s refused: %s",
                               (topic, "x"), None)
    line = formatter.format(record)
    assert not raw_controls(line) and "\n" not in line
    assert len(line.splitlines()) == 1
    if isinstance(formatter, JsonFormatter):
        assert json.loads(line)["msg"] == f"mqtt: command {topic} refused: x"
    else:
        assert json.loads(line.split(" msg=", 1)[1]) == f"mqtt: command {topic} refused: x"


# ---------------------------------------------------------------- HTTP (item 12)
async def test_http_connections_over_the_cap_get_503_at_once_and_are_counted():
    from router.runtime.daemon import Clock, Router
    from router.metrics import Metrics
    from test_metrics import http_get

    router = Router(load_config(Path(__file__).resolve().parent.parent / "config"), Clock())
    metrics = Metrics(router)
    port = await metrics.serve("127.0.0.1", 0)
    server = metrics._http
    server.max_clients = 8
    idle = []
    try:
        for _ in range(server.max_clients):  # connections that never send a request
            idle.append(await asyncio.open_connection("127.0.0.1", port))
        await until(lambda: server.active == server.max_clients)
        status, headers, body = await http_get(port, "/healthz")
        assert status == 503 and body == b"too many connections\n" and headers["Retry-After"] == "1"
        for n in range(50):
            assert (await http_get(port, "/metrics"))[0] == 503
        assert server.refused == 51 and server.active == server.max_clients
        for _, writer in idle:
            writer.close()
        await until(lambda: server.active == 0)
        status, _, page = await http_get(port, "/metrics")
        assert status == 200 and b"router_http_connections_refused_total 51.0" in page
    finally:
        for _, writer in idle:
            writer.close()
        await metrics.stop()
        await router.stop()


def test_the_unit_raises_the_file_descriptor_limit():
    unit = (Path(__file__).resolve().parent.parent / "deploy" / "systemd" / "router.service").read_text()
    limits = [line.split("=", 1)[1] for line in unit.splitlines() if line.startswith("LimitNOFILE=")]
    assert limits and int(limits[0]) >= 8192


async def test_failed_saves_are_counted_in_the_metrics(tmp_path):
    from router.runtime.daemon import Clock, Router
    from router.metrics import Metrics

    router = Router(load_config(Path(__file__).resolve().parent.parent / "config"), Clock(),
                    state_file=str(read_only_dir(tmp_path) / "router-test-agents.json"))
    metrics = Metrics(router)
    try:
        router.feed(ev.AgentLogin("1001"))
        await until(lambda: router._state.save_failures >= 1)
        page = metrics.exposition()
        assert b"router_state_save_failures_total 1.0" in page
    finally:
        await router.stop()  # saves again: fails, and never raises
    assert router._state.save_failures == 2
