"""Config reload and graceful stop for a running Router.

Reload (SIGHUP, `router reload`, later the MQTT reload command): the config
is read and checked whole; only a config without errors replaces the
running one, atomically, as one `ConfigReplaced` event. Calls in flight keep
their place and elapsed time and are re-evaluated under the new rules;
agents keep their state (core/agents.py `_on_config`). A config with errors
changes nothing: every problem is logged exactly as `router check` prints
it, and `router.reload_ok` turns False until a reload succeeds.

Graceful stop (SIGTERM): `drain` sends no new offers, lets the legs that are
ringing be answered or time out, hangs up what still rings at the deadline,
and leaves waiting callers alone: they stay in the dialplan, which falls back
on its own (ROUTER_HOLD_LIMIT) or is picked up by the next router's resync.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from router.config import check_config

if TYPE_CHECKING:
    from router.daemon import Router

log = logging.getLogger("router.reload")

#: Real seconds between two looks at the ringing legs while draining.
DRAIN_POLL = 0.05


def reload_router(router: "Router", config_dir: str) -> bool:
    """Check the config at `config_dir` and swap it in; True on success.
    Never raises for a bad config: the old table keeps running."""
    try:
        result = check_config(config_dir)
    except Exception:  # a checker bug must not take a running router down
        log.exception("reload of %s: the checker failed; keeping the running config", config_dir)
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


def ringing_legs(router: "Router") -> list[tuple[str, object]]:
    """(pbx, leg) for every agent leg originated and not yet answered."""
    return [(pbx, leg) for pbx, t in router.translators.items() for leg in t.legs.values() if not leg.answered]


async def drain(router: "Router", timeout: float) -> None:
    """No new offers; wait up to `timeout` real seconds for ringing legs to
    be answered or to fail, then hang up those still ringing."""
    router.draining = True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    ringing = ringing_legs(router)
    log.info("stopping: no new offers; %d leg(s) ringing, %d call(s) waiting stay in the dialplan",
             len(ringing), sum(c.agent is None for c in router.engine.line()))
    while ringing and loop.time() < deadline:
        await asyncio.sleep(DRAIN_POLL)
        ringing = ringing_legs(router)
    for pbx, leg in ringing:
        log.warning("stopping: hanging up leg %s (call %s, agent %s) still ringing",
                    leg.leg_id, leg.call_id, leg.agent_id)
        await router.links[pbx].send({"Action": "Hangup", "Channel": leg.channel or leg.leg_id, "Cause": "16"})
