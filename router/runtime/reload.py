"""Config reload and graceful stop for a running Router.

Reload (SIGHUP, `router reload`, later the MQTT reload command): the config
is read and checked whole; only a config without errors replaces the
running one, atomically, as one `ConfigReplaced` event. Calls in flight keep
their place and elapsed time and are re-evaluated under the new rules;
agents keep their state (core/agents.py `_on_config`). A config with errors
changes nothing: every problem is logged exactly as `router check` prints
it, and `router.reload_ok` turns False until a reload succeeds. Reading
and compiling happen in a worker thread (`reload_in_thread`: a large config
must not stall routing); only the swap runs in the event loop. A config
over MAX_CONFIG_BYTES is refused before it is read.

Graceful stop (SIGTERM): `drain` sends no new offers, lets the legs that are
ringing be answered or time out, hangs up what still rings at the deadline,
and leaves waiting callers alone: they stay in the dialplan, which falls back
on its own (ROUTER_HOLD_LIMIT) or is picked up by the next router's resync.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Protocol

from router.config import check_config
from router.core.table import RoutingTable

log = logging.getLogger("router.runtime.reload")

#: Real seconds between two looks at the ringing legs while draining.
DRAIN_POLL = 0.05
#: Largest config (all its *.yaml / *.yml files together) a reload reads.
MAX_CONFIG_BYTES = 8 * 1024 * 1024


class Router(Protocol):
    """What reload and drain need of a router (router.runtime.daemon.Router); named
    here so that this module does not import the daemon, which imports it."""

    table: RoutingTable
    engine: object
    sessions: dict

    def replace_table(self, table: RoutingTable) -> None: ...

    def stop_offering(self) -> None: ...


def config_size(config_dir: str) -> int:
    """Bytes of the files a reload would read (0 when the path is unusable:
    the checker then says why)."""
    try:
        if os.path.isdir(config_dir):
            return sum(os.stat(os.path.join(config_dir, n)).st_size for n in os.listdir(config_dir)
                       if n.endswith((".yaml", ".yml")) and not n.startswith("."))
        return os.stat(config_dir).st_size
    except OSError:
        return 0


def checked(config_dir: str):
    """The CheckResult of the config at `config_dir`, or None when it cannot
    be checked (too large, or the checker failed: both logged). Safe to run
    in a worker thread: it reads files and touches no router state."""
    size = config_size(config_dir)
    if size > MAX_CONFIG_BYTES:
        log.error("reload of %s: the config is %.1f MB, over the %d MB limit; not read; keeping the running config",
                  config_dir, size / 1e6, MAX_CONFIG_BYTES // (1024 * 1024))
        return None
    try:
        return check_config(config_dir)
    except Exception:  # a checker bug must not take a running router down
        log.exception("reload of %s: the checker failed; keeping the running config", config_dir)
        return None


def reload_router(router: "Router", config_dir: str) -> bool:
    """Check the config at `config_dir` and swap it in; True on success.
    Never raises for a bad config: the old table keeps running. (In the
    event loop: `reload_in_thread` is what signals use.)"""
    return swap_in(router, config_dir, checked(config_dir))


async def reload_in_thread(router: "Router", config_dir: str) -> bool:
    """`reload_router` with the reading and checking in a worker thread;
    the swap (and the engine's re-evaluation) in the loop."""
    return swap_in(router, config_dir, await asyncio.to_thread(checked, config_dir))


def swap_in(router: "Router", config_dir: str, result) -> bool:
    """Log a checked config's problems and swap it in if it has no errors."""
    if result is None:
        return False
    for problem in result.errors:
        log.error("%s", problem)
    for problem in result.warnings:
        log.warning("%s", problem)
    table = result.table
    if table is None:
        log.error("%s: %d error(s); configuration rejected; keeping the running config (digest %s)",
                  config_dir, len(result.errors), router.table.digest[:12])
        return False
    old = router.table
    router.replace_table(table)
    log.info("%s: configuration reloaded (digest %s -> %s): %d agents, %d queues, %d rules",
             config_dir, old.digest[:12], table.digest[:12], len(table.agents), len(table.queues),
             len(table.rules))
    return True


def ringing_legs(router: "Router") -> list:
    """Every agent leg originated and not yet answered, on every PBX."""
    return [leg for session in router.sessions.values() for leg in session.translator.ringing_legs()]


async def drain(router: "Router", timeout: float) -> None:
    """No new offers; wait up to `timeout` real seconds for ringing legs to
    be answered or to fail, then hang up those still ringing."""
    router.stop_offering()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    ringing = ringing_legs(router)
    log.info("stopping: no new offers; %d leg(s) ringing, %d call(s) waiting stay in the dialplan",
             len(ringing), sum(c.agent is None for c in router.engine.line()))
    while ringing and loop.time() < deadline:
        await asyncio.sleep(DRAIN_POLL)
        ringing = ringing_legs(router)
    if ringing:
        for session in router.sessions.values():
            await session.hang_up_ringing()
