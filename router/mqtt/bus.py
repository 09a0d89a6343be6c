"""MqttBus: the router's MQTT client.

Out: every event the engine publishes is turned into a payload and put in a
bounded buffer at once (routing never waits on the network); a sender task
drains it while the broker is reachable. Retained topics (agent states and
skills, queue statistics, service-level alerts) are kept as "latest value
per topic" rather than as a queue, and all of them are sent again after each
(re)connect, so a broker that lost them (a restart) gets them back and a
stale value never overwrites a newer one. When the buffer is full the oldest
event is dropped and counted (`dropped`).

In: commands on <prefix>/cmd/#, checked by router.mqtt.commands; each gets a
reply on its reply topic. Hostile input is bounded (issue 13): the size is
checked before anything is parsed, a command sent with the retain flag is
refused (a retained "pause" would be replayed at every connect), each
sender has a token bucket (commands past it are dropped, counted, not
answered), replies wait in a buffer of their own (a flood of refusals never
evicts call or agent events), and refusals are logged first-then-a-count
(router.mqtt.limits). Nothing a message does may end the bus task; a
session that fails anyway is logged, counted (`task_restarts`) and started
again.

aiomqtt has no reconnect of its own: `_run` loops around `async with Client`
and subscribes again inside the loop, with a growing back-off.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from dataclasses import replace
from typing import Callable

import aiomqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from router.core.commands import Publish
from router.core.state import FINISHED, OUTCOMES
from router.mqtt import commands
from router.mqtt.limits import Flapping, RefusalLog, SenderBuckets
from router.mqtt.schema import AGENT_CALL_EVENTS, CALL_EVENTS, MAX_COMMAND_BYTES, Topics, payload
from router.mqtt.settings import MqttSettings
from router.stats import queue_now

log = logging.getLogger("router.mqtt")


class MqttBus:
    def __init__(self, router, settings: MqttSettings, *,
                 load_config: Callable[[], object] | None = None) -> None:
        """`load_config()` returns a CheckResult (router.config.check_config
        on the config directory): used by the reload command."""
        self.router = router
        self.settings = settings
        self.topics = Topics(settings.prefix)
        self._load_config = load_config
        self._events: deque[tuple[str, bytes]] = deque()
        self._replies: deque[tuple[str, bytes]] = deque()  # apart: refusals never evict events
        self._retained: dict[str, bytes] = {}
        self._dirty: OrderedDict[str, None] = OrderedDict()  # retained topics not yet sent
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stats_task: asyncio.Task | None = None
        self._closing = False
        self._client: aiomqtt.Client | None = None
        self._skill_overrides = commands.SkillOverrides()
        self._alerts: dict[str, str] = {}  # queue -> "ok" | "breached"
        self._callers: dict[str, tuple[str, str]] = {}  # call -> (number, name) while in routing
        self._tasks: set[asyncio.Task] = set()
        # Counters (for tests and metrics)
        self.connected = False
        self.connects = 0
        self.published = 0
        self.dropped = 0
        self.commands_ok = 0
        self.commands_refused = 0
        self.commands_retained = 0  # refused: sent with the retain flag
        self.commands_limited = 0  # dropped unanswered: over the sender's rate
        self.replies_dropped = 0
        self.task_restarts = 0  # bus sessions that ended in an unexpected error
        self.takeovers = 0  # times another client seemed to connect with our client id
        self.last_error: str | None = None
        self._buckets = SenderBuckets(settings.command_rate, settings.command_burst)
        self._refusals = RefusalLog(log)
        self._flapping = Flapping()
        router.listeners.append(self.on_publish)
        router.mqtt = self  # for /healthz and the metrics

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        # Supervisors' skill changes survive every reload, whoever asks for it.
        self.router.table_filter = self._skill_overrides
        now = self.router.clock.now()
        for agent in self.router.table.agents:
            self._agent_state(agent, now)
            self._agent_skills(agent, now)
        self._start_task()
        self._stats_task = asyncio.ensure_future(self._stats_loop())

    def _start_task(self) -> None:
        self._task = asyncio.ensure_future(self._run())
        self._task.add_done_callback(self._run_ended)

    def _run_ended(self, task: asyncio.Task) -> None:
        """The connection loop is never meant to end before stop(): if it
        does (a bug), say so and start it again; never die in silence."""
        if self._closing or task.cancelled():
            return
        err = task.exception()
        self.connected = False
        self.task_restarts += 1
        self.last_error = f"{type(err).__name__}: {err}" if err else "ended"
        log.error("mqtt: the bus task ended (%s); starting it again", self.last_error, exc_info=err)
        asyncio.get_running_loop().call_later(self.settings.reconnect_min, self._restart)

    def _restart(self) -> None:
        if not self._closing:
            self._start_task()

    async def stop(self) -> None:
        """Say offline (retained), flush briefly, disconnect."""
        self._closing = True
        if self._stats_task:
            self._stats_task.cancel()
        client = self._client
        if client is not None and self.connected:
            try:
                await asyncio.wait_for(self._drain(), 2.0)
                await client.publish(self.topics.status, self._status("offline"), qos=self.settings.qos,
                                     retain=True, timeout=2.0)
            except (aiomqtt.MqttError, asyncio.TimeoutError):
                pass
        for task in (self._task, *self._tasks):
            if task:
                task.cancel()
        for task in (self._task, self._stats_task):
            if task:
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass

    async def abort(self) -> None:
        """Die as a SIGKILL would: the connection dropped without a
        DISCONNECT, so the broker publishes the last will (for tests)."""
        self._closing = True
        client = self._client
        sock = getattr(getattr(client, "_client", None), "_sock", None)  # paho's socket
        if sock is not None:
            sock.close()
        disconnected = getattr(client, "_disconnected", None)  # aiomqtt: skip its goodbye on exit
        if disconnected is not None and not disconnected.done():
            disconnected.set_result(None)
        for task in (self._task, self._stats_task, *self._tasks):
            if task:
                task.cancel()
        await asyncio.gather(*(t for t in (self._task, self._stats_task) if t), return_exceptions=True)

    async def _drain(self) -> None:
        while self._events or self._dirty or self._replies:
            await asyncio.sleep(0.01)

    def _status(self, status: str) -> bytes:
        return payload("router.status", self.router.clock.now(),
                       {"status": status, "run": self.router.run_id, "client": self.settings.client_id})

    # ------------------------------------------------------------ out
    def _queue_event(self, topic: str, body: bytes) -> None:
        if len(self._events) >= self.settings.buffer:
            self._events.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("mqtt: buffer full (%d events); %d dropped so far", self.settings.buffer, self.dropped)
        self._events.append((topic, body))
        self._wake.set()

    def _set_retained(self, topic: str, body: bytes) -> None:
        if self._retained.get(topic) == body:
            return
        self._retained[topic] = body
        self._dirty[topic] = None
        self._dirty.move_to_end(topic)
        self._wake.set()

    def on_publish(self, p: Publish, now: float) -> None:
        """Called by the router for every engine event; never blocks."""
        kind = p.kind
        if kind == "agent.state":
            self._agent_state(p.data["agent"], now)
            return
        if kind.startswith("callback."):
            return self._callback(kind[9:], p.data, now)
        if kind == "sla.action":  # enforcement, each action with its reason
            return self._queue_event(self.topics.sla_action, payload(kind, now, p.data))
        if not kind.startswith("call."):
            return
        name = kind[5:]
        if name not in CALL_EVENTS:
            return
        data = dict(p.data)
        call_id = data.get("call", "")
        if name == "waiting":
            self._callers[call_id] = (data.get("caller_num", ""), data.get("caller_name", ""))
        caller = self._callers.get(call_id, ("", ""))
        if name in FINISHED:
            self._callers.pop(call_id, None)
        call = self.router.engine.calls.get(call_id)
        if name in AGENT_CALL_EVENTS:  # what a CRM needs for its screen-pop
            data.update(caller_num=caller[0], caller_name=caller[1])
            if call is not None:
                info = call.info
                data.update(caller_num=info.caller_num, caller_name=info.caller_name, dnis=info.dnis,
                            variables=dict(info.variables), queue=call.queue)
        if name in OUTCOMES or name == "ended":
            data["final"] = name != "answered"
        self._queue_event(self.topics.call(name), payload(kind, now, data))
        agent = data.get("agent")
        if agent and name in AGENT_CALL_EVENTS:
            self._queue_event(self.topics.agent_call(agent), payload(kind, now, data))

    def _callback(self, state: str, data, now: float) -> None:
        """callback.<state> from the engine (promised, placed, retry, done,
        failed) as one `call.callback` event; the record's own fields go
        along (number, agent, attempts, reason...)."""
        body = dict(data)
        body.update(state=state, reason=data.get("reason"), caller_num=data.get("number", ""),
                    caller_name=data.get("caller_name", ""))
        self._queue_event(self.topics.call("callback"), payload("call.callback", now, body))
        if data.get("agent") and state == "placed":
            self._queue_event(self.topics.agent_call(data["agent"]), payload("call.callback", now, body))

    def _agent_state(self, agent: str, now: float) -> None:
        rec = self.router.engine.agents.get(agent)
        config = self.router.table.agents.get(agent)
        if rec is None:
            return
        pending = None if rec.pending is None else {"state": rec.pending[0].value, "reason": rec.pending[1]}
        self._set_retained(self.topics.agent_state(agent), payload("agent.state", now, {
            "agent": agent, "name": config.name if config else "", "team": config.team if config else None,
            "state": rec.status.value, "reason": rec.reason, "call": rec.call, "pending": pending}))

    def _agent_skills(self, agent: str, now: float) -> None:
        config = self.router.table.agents.get(agent)
        if config is not None:
            self._set_retained(self.topics.agent_skills(agent), payload(
                "agent.skills", now, {"agent": agent, "skills": dict(sorted(config.skills.items()))}))

    # ------------------------------------------------------------ stats
    async def _stats_loop(self) -> None:
        while True:
            try:
                self.publish_stats()
                self._refusals.flush(asyncio.get_running_loop().time())
            except Exception:
                log.exception("mqtt: queue statistics failed")
            await asyncio.sleep(self.settings.stats_interval)

    def publish_stats(self) -> None:
        router = self.router
        now = router.clock.now()
        for name, queue in router.table.queues.items():
            waiting, longest, free = queue_now(router.engine, router.table, name, now)
            t = router.tally.queues.get(name)
            if t is None:
                continue
            sl = t.service_level()
            book = router.engine.sla  # the service level routing acts on (docs/SERVICE-LEVEL.md)
            levels = {w: book.level(name, w, now) for w in ("15m", "1h", "today")}
            met, done = book.counts(name, "15m", now)
            self._set_retained(self.topics.queue_stats(name), payload("queue.stats", now, {
                "queue": name, "title": queue.title, "waiting": waiting, "longest_wait": round(longest, 1),
                "agents_free": free, "offered": t.offered, "answered": t.answered, "abandoned": t.abandoned,
                "overflowed": t.overflowed, "closed": t.closed,
                "service_level": None if sl is None else round(sl, 1),
                **{f"sl_{w}": None if v is None else round(100 * v, 1) for w, v in levels.items()},
                "protected": name in router.engine.protected,
                "target": queue.service_level.percent, "within": queue.service_level.within,
                "avg_wait": round(t.wait_total / t.answered, 1) if t.answered else None}))
            sl = None if levels["15m"] is None else 100 * levels["15m"]
            state = "breached" if sl is not None and done >= self.settings.sl_min_calls \
                and sl < queue.service_level.percent else "ok"
            if self._alerts.get(name, "ok") != state or name not in self._alerts:
                first = name not in self._alerts
                self._alerts[name] = state
                if first and state == "ok":
                    continue  # nothing to say yet
                self._set_retained(self.topics.sl_alert(name), payload("alert.service_level", now, {
                    "queue": name, "state": state, "service_level": None if sl is None else round(sl, 1),
                    "target": queue.service_level.percent, "within": queue.service_level.within,
                    "finished": done, "waiting": waiting, "longest_wait": round(longest, 1)}))

    # ------------------------------------------------------------ connection
    async def _run(self) -> None:
        s = self.settings
        backoff = s.reconnect_min
        tls = s.tls_context()
        while not self._closing:
            # The will's `at` is when this connection was made: the router
            # was alive then.
            will = aiomqtt.Will(self.topics.status, self._status("offline"), qos=s.qos, retain=True)
            loop = asyncio.get_running_loop()
            connected_at = None
            try:
                # MQTT 5: its subscription option "retain as published" keeps
                # the retain flag on live messages, so that every retained
                # command is seen as one and refused.
                async with aiomqtt.Client(s.host, s.port, username=s.username, password=s.password,
                                          identifier=s.client_id, will=will, tls_context=tls,
                                          tls_insecure=s.tls_insecure if tls else None,
                                          protocol=aiomqtt.ProtocolVersion.V5,
                                          keepalive=s.keepalive, timeout=10) as client:
                    self._client = client
                    self.connected = True
                    self.connects += 1
                    connected_at = loop.time()
                    log.info("mqtt: connected to %s:%d as %s", s.host, s.port, s.client_id)
                    await client.subscribe(self.topics.commands,
                                           options=SubscribeOptions(qos=s.qos, retainAsPublished=True))
                    await client.publish(self.topics.status, self._status("online"), qos=s.qos, retain=True)
                    for topic in self._retained:  # the broker may have lost them
                        self._dirty[topic] = None
                    self._wake.set()
                    sender = asyncio.ensure_future(self._send(client))
                    receiver = asyncio.ensure_future(self._receive(client))
                    try:
                        done, _ = await asyncio.wait((sender, receiver), return_when=asyncio.FIRST_COMPLETED)
                        for task in done:
                            task.result()  # raise the MqttError that ended it
                    finally:
                        sender.cancel()
                        receiver.cancel()
                        await asyncio.gather(sender, receiver, return_exceptions=True)
            except aiomqtt.MqttError as err:
                if connected_at is not None and self._flapping.closed(connected_at, loop.time()):
                    self.takeovers += 1
                    log.error("mqtt: broker %s:%d keeps closing our connection right after we connect: another "
                              "client is connecting with client id %r (a client-id takeover). Tie client ids to "
                              "usernames on the broker (use_username_as_clientid, deploy/mqtt/router.conf) and "
                              "check who holds the router's credentials", s.host, s.port, s.client_id)
                elif self.connected or self.connects == 0:
                    log.warning("mqtt: broker %s:%d: %s; events are buffered, retrying", s.host, s.port, err)
            except asyncio.CancelledError:
                self.connected = False
                raise
            except Exception as err:  # a bug in a session must not end the bus: count it and go on
                self.task_restarts += 1
                self.last_error = f"{type(err).__name__}: {err}"
                log.exception("mqtt: bus session failed (%s); reconnecting", self.last_error)
            self.connected = False
            self._client = None
            if self._closing:
                return
            if connected_at is not None and loop.time() - connected_at > 10.0:
                backoff = s.reconnect_min  # a session that lasted: start the back-off again
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, s.reconnect_max)

    async def _send(self, client: aiomqtt.Client) -> None:
        qos = self.settings.qos
        while True:
            if self._dirty:
                topic, _ = self._dirty.popitem(last=False)
                try:
                    await client.publish(topic, self._retained[topic], qos=qos, retain=True, timeout=10)
                except BaseException:
                    if topic not in self._dirty:
                        self._dirty[topic] = None
                        self._dirty.move_to_end(topic, last=False)
                    raise
            elif self._events or self._replies:
                # Events first; a reply at least every other message.
                queue = self._replies if self._replies and (not self._events or self.published % 2) else self._events
                topic, body = queue[0]
                await client.publish(topic, body, qos=qos, retain=False, timeout=10)
                if queue and queue[0] == (topic, body):
                    queue.popleft()
            else:
                self._wake.clear()
                await self._wake.wait()
                continue
            self.published += 1

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            try:
                body = message.payload
                raw = bytes(body) if isinstance(body, (bytes, bytearray)) else str(body or "").encode()
                self.handle_command(message.topic.value, raw, retain=bool(message.retain))
            except Exception as err:  # nothing a message does may end the bus
                self.last_error = f"{type(err).__name__}: {err}"
                self._refusals.refused("(error)", "?", f"error handling a command: {self.last_error}",
                                       asyncio.get_running_loop().time())

    # ------------------------------------------------------------ commands in
    def _sender(self, topic: str) -> str:
        """Who a command comes from, as far as the topic tells (the broker's
        ACL ties agents' topics to their usernames): bounded to known ids."""
        parts = self.topics.command_parts(topic) or [""]
        if parts[0] == "agent" and len(parts) >= 2:
            return f"agent {parts[1]}" if parts[1] in self.router.table.agents else "agent (unknown id)"
        return "supervisor" if parts[0] == "supervisor" else "(other topic)"

    def handle_command(self, topic: str, raw: bytes, retain: bool = False) -> None:
        router = self.router
        now = asyncio.get_running_loop().time()
        sender = self._sender(topic)
        if retain and not raw:
            return  # a retained command being cleared: nothing was asked
        if not self._buckets.allow(sender, now):
            self.commands_limited += 1
            self._refusals.refused(sender, self._command_name(topic), "over the command rate limit; dropped", now)
            return
        try:
            if retain:
                self.commands_retained += 1
                raise commands.Refused("retained commands are refused (publish commands without the retain flag)")
            if len(raw) > MAX_COMMAND_BYTES:  # before any parsing, even of the id
                raise commands.Refused(f"payload of {len(raw)} bytes is over the {MAX_COMMAND_BYTES}-byte limit")
            request = commands.parse(self.topics, topic, raw, router.table, router.engine)
        except commands.Refused as refusal:
            self._refusals.refused(sender, self._command_name(topic), str(refusal), now)
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
            self.commands_ok += 1
        else:
            self.commands_refused += 1
        if len(self._replies) >= self.settings.reply_buffer:
            self._replies.popleft()
            self.replies_dropped += 1
        self._replies.append((topic, payload("reply", self.router.clock.now(),
                                             {"id": rid, "command": command, "ok": ok, **data})))
        self._wake.set()

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------ skills and reload
    def _set_skills(self, request: commands.Request) -> None:
        self._skill_overrides.changes.setdefault(request.agent, {}).update(request.skills)
        base = self.router.table
        self.router.replace_table(base)  # table_filter adds the new override
        self._agent_skills(request.agent, self.router.clock.now())

    async def _reload(self, request: commands.Request) -> None:
        if self._load_config is None:
            self._reply(request.reply_topic, request.request_id, "reload", ok=False,
                        reason="this router was started without a config directory to reload")
            return
        result = await asyncio.to_thread(self._load_config)
        if result.table is None:
            self.router.reload_done(False)
            log.warning("mqtt: reload refused: configuration rejected: %d error(s); routing unchanged",
                        len(result.errors))
            self._reply(request.reply_topic, request.request_id, "reload", ok=False,
                        reason=f"configuration rejected: {len(result.errors)} error(s); routing unchanged",
                        errors=[str(p) for p in result.errors[:20]])
            return
        self.router.replace_table(result.table)  # with the overrides: router.table_filter
        self.router.reload_done(True)
        now = self.router.clock.now()
        for agent in self.router.table.agents:
            self._agent_state(agent, now)
            self._agent_skills(agent, now)
        self._accepted(request, digest=result.table.digest[:12], warnings=[str(p) for p in result.warnings[:20]])
