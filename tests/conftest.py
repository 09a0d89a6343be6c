import os
import sys

# The tests import their shared support as `support.*` (tests/support/).
sys.path.insert(0, os.path.dirname(__file__))

import logging
import signal

import pytest


@pytest.fixture(autouse=True)
def _restore_router_logging():
    """`router run` (called in-process by CLI tests) sets up the router's
    and panoramisk's loggers; put them back so that later tests' caplog
    sees every level again."""
    saved = {name: (logging.getLogger(name).level, list(logging.getLogger(name).handlers))
             for name in ("router", "panoramisk")}
    yield
    for name, (level, handlers) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers = handlers


@pytest.fixture(autouse=True)
def _restore_signal_handlers():
    """`router run` in-process holds SIGHUP and SIGTERM from its first step
    (router/process/ops.py, hold_signals); one that stops before its loop
    never hands them back. Put them back, so that a later test's forked
    workers die of SIGTERM as they should."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in saved.items():
        if handler is not None and signal.getsignal(sig) is not handler:
            signal.signal(sig, handler)


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server (tests/support/postgres.py), one per run."""
    from support.postgres import Postgres

    server = Postgres()
    yield server
    server.close()
