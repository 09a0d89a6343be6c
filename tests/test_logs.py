"""Structured logs (router/process/logs.py): one line per event, key=value or JSON,
tracebacks and hostile text included."""

from __future__ import annotations

import io
import json
import logging

import pytest

from router.process.logs import JsonFormatter, TextFormatter, setup_logging


def record(msg: str, *args, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom\nsecond line")
        except ValueError:
            import sys
            exc_info = sys.exc_info()
    return logging.LogRecord("router.ami", logging.WARNING, __file__, 1, msg, args, exc_info)


def test_text_is_key_value_on_one_line_with_hostile_text_quoted():
    line = TextFormatter().format(record("caller %s said %s", "王五", 'a "b"\r\nLevel=fake', exc=True))
    assert "\n" not in line and "\r" not in line
    assert line.startswith("ts=") and " level=warning logger=router.ami msg=" in line
    msg = line.split(" msg=", 1)[1].split(" exc=", 1)[0]
    assert json.loads(msg) == 'caller 王五 said a "b"\r\nLevel=fake'
    assert "ValueError: boom" in json.loads(line.split(" exc=", 1)[1])


def test_text_leaves_simple_values_bare():
    assert TextFormatter().format(record("stopped")).endswith(" msg=stopped")


def test_json_is_one_object_per_line():
    line = JsonFormatter().format(record("ring %s", "1014", exc=True))
    assert "\n" not in line
    data = json.loads(line)
    assert data["level"] == "warning" and data["logger"] == "router.ami" and data["msg"] == "ring 1014"
    assert data["ts"].endswith("Z") and "boom" in data["exc"]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_setup_logging_sends_router_logs_to_the_stream(fmt):
    stream = io.StringIO()
    handler = setup_logging(fmt, "info", stream)
    try:
        logging.getLogger("router.runtime.reload").info("reloaded %s", "配置")
        logging.getLogger("router.runtime.reload").debug("not shown")
    finally:
        for name in ("router", "panoramisk"):
            logging.getLogger(name).removeHandler(handler)
            logging.getLogger(name).setLevel(logging.NOTSET)
    [line] = stream.getvalue().splitlines()
    assert "reloaded 配置" in (json.loads(line)["msg"] if fmt == "json" else line)
