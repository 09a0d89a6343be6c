"""Commands in: agent and supervisor commands on <prefix>/cmd/#, checked by
router.mqtt.commands and carried out on the router; each gets a reply on its
reply topic.

Hostile input is bounded (issue 13): the size is checked before anything is
parsed, a command sent with the retain flag is refused (a retained "pause"
would be replayed at every connect), each sender has a token bucket
(commands past it are dropped, counted, not answered), replies wait in a
buffer of their own (router/mqtt/outbox.py), and refusals are logged
first-then-a-count (router.mqtt.limits).

Supervisors' skill changes are kept (`SkillOverrides`, applied by the
router to every table swapped in); a reload goes the way of every reload
(router/runtime/reload.py: the config checked in a worker thread, then swapped in).
"""

from __future__ import annotations

import asyncio
import logging

from router.runtime import reload
from router.mqtt import commands
from router.mqtt.limits import RefusalLog, SenderBuckets
from router.mqtt.outbox import Outbox
from router.mqtt.outgoing import FactsOut
from router.mqtt.schema import MAX_COMMAND_BYTES
from router.mqtt.wire import payload

log = logging.getLogger("router.mqtt")

class CommandsIn:
    def __init__(self, router, settings, topics, outbox: Outbox, out: FactsOut,
                 config_dir: str | None = None) -> None:
        """`config_dir`: the config directory the reload command reads (None: refused)."""
        self.router = router
        self.topics = topics
        self.outbox = outbox
        self.out = out
        self.config_dir = config_dir
        self.skill_overrides = commands.SkillOverrides()
        self.buckets = SenderBuckets(settings.command_rate, settings.command_burst)
        self.refusals = RefusalLog(log)
        self._tasks: set[asyncio.Task] = set()
        self.ok = 0
        self.refused = 0
        self.retained = 0  # refused: sent with the retain flag
        self.limited = 0  # dropped unanswered: over the sender's rate

    def _sender(self, topic: str) -> str:
        """Who a command comes from, as far as the topic tells (the broker's
        ACL ties agents' topics to their usernames): bounded to known ids."""
        parts = self.topics.command_parts(topic) or [""]
        if parts[0] == "agent" and len(parts) >= 2:
            return f"agent {parts[1]}" if parts[1] in self.router.table.agents else "agent (unknown id)"
        return "supervisor" if parts[0] == "supervisor" else "(other topic)"

    def handle(self, topic: str, raw: bytes, retain: bool = False) -> None:
        """One command message; never raises for what it contains."""
        router = self.router
        now = asyncio.get_running_loop().time()
        sender = self._sender(topic)
        if retain and not raw:
            return  # a retained command being cleared: nothing was asked
        if not self.buckets.allow(sender, now):
            self.limited += 1
            self.refusals.refused(sender, self._command_name(topic), "over the command rate limit; dropped", now)
            return
        try:
            if retain:
                self.retained += 1
                raise commands.Refused("retained commands are refused (publish commands without the retain flag)")
            if len(raw) > MAX_COMMAND_BYTES:  # before any parsing, even of the id
                raise commands.Refused(f"payload of {len(raw)} bytes is over the {MAX_COMMAND_BYTES}-byte limit")
            request = commands.parse(self.topics, topic, raw, router.table, router.engine)
        except commands.Refused as refusal:
            self.refusals.refused(sender, self._command_name(topic), str(refusal), now)
            self._reply(commands.reply_topic(self.topics, topic), commands.request_id(raw),
                        self._command_name(topic), ok=False, reason=str(refusal))
            return
        if request.reload:
            self._spawn(self._reload(request))
            return
        if request.skills is not None:
            self._set_skills(request)
        for event in request.events:
            router.feed(event)
        self._accepted(request)

    def _command_name(self, topic: str) -> str:
        parts = self.topics.command_parts(topic) or [""]
        return parts[-1]

    def _accepted(self, request: commands.Request, **extra) -> None:
        if request.agent:
            rec = self.router.engine.agents[request.agent]
            extra.update(agent=request.agent, state=rec.status.value, reason=rec.reason,
                         pending=None if rec.pending is None else rec.pending[0].value)
        if request.call:
            call = self.router.engine.calls.get(request.call)
            extra.update(call=request.call, queue=call.queue if call else None,
                         priority=call.priority if call else None)
        self._reply(request.reply_topic, request.request_id, request.command, ok=True, **extra)

    def _reply(self, topic: str, rid, command: str, *, ok: bool, **data) -> None:
        if ok:
            self.ok += 1
        else:
            self.refused += 1
        self.outbox.reply(topic, payload("reply", self.router.clock.now(),
                                         {"id": rid, "command": command, "ok": ok, **data}))

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel(self) -> None:
        """Stop the reloads under way (the bus is stopping)."""
        for task in self._tasks:
            task.cancel()

    # ------------------------------------------------------------ skills and reload
    def _set_skills(self, request: commands.Request) -> None:
        self.skill_overrides.changes.setdefault(request.agent, {}).update(request.skills)
        self.router.replace_table(self.router.table)  # table_filter adds the new override
        self.out.agent_skills(request.agent, self.router.clock.now())

    async def _reload(self, request: commands.Request) -> None:
        if self.config_dir is None:
            self._reply(request.reply_topic, request.request_id, "reload", ok=False,
                        reason="this router was started without a config directory to reload")
            return
        result = await asyncio.to_thread(reload.checked, self.config_dir)
        ok = self.router.reload_done(reload.swap_in(self.router, self.config_dir, result))
        if result is None:  # too large, or the checker failed: logged by router.runtime.reload
            self._reply(request.reply_topic, request.request_id, "reload", ok=False,
                        reason="configuration not read (see the router's log); routing unchanged")
            return
        if not ok:
            log.warning("mqtt: reload refused: configuration rejected: %d error(s); routing unchanged",
                        len(result.errors))
            self._reply(request.reply_topic, request.request_id, "reload", ok=False,
                        reason=f"configuration rejected: {len(result.errors)} error(s); routing unchanged",
                        errors=[str(p) for p in result.errors[:20]])
            return
        self.out.all_agents(self.router.clock.now())  # with the overrides: router.table_filter
        self._accepted(request, digest=result.table.digest[:12], warnings=[str(p) for p in result.warnings[:20]])
