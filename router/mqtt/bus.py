"""MqttBus: the router's MQTT client.

Out: the bus subscribes to the router's facts (router/runtime/subscribers.py);
`router.mqtt.outgoing` maps each to its topic and payload, put at once in
bounded buffers (`router.mqtt.outbox`: routing never waits on the network),
and `router.mqtt.stats` writes the queue statistics and service-level
alerts every `stats_interval`. A sender task drains the buffers while the
broker is reachable; retained topics (agent states and skills, queue
statistics, service-level alerts) are sent again after each (re)connect.

In: commands on <prefix>/cmd/# (`router.mqtt.incoming`), each answered on
its reply topic. Nothing a message does may end the bus task; a session
that fails anyway is logged, counted (`task_restarts`) and started again.

aiomqtt has no reconnect of its own: `_run` loops around `async with Client`
and subscribes again inside the loop, with a growing back-off.
"""

from __future__ import annotations

import asyncio
import logging

import aiomqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from router.mqtt.incoming import CommandsIn
from router.mqtt.limits import Flapping
from router.mqtt.outbox import Outbox
from router.mqtt.outgoing import FactsOut
from router.mqtt.schema import Topics
from router.mqtt.settings import MqttSettings
from router.mqtt.stats import QueueStatsOut
from router.mqtt.wire import payload

log = logging.getLogger("router.mqtt")


class MqttBus:
    def __init__(self, router, settings: MqttSettings, *, config_dir: str | None = None) -> None:
        """`config_dir`: the config directory the reload command reads
        (None: the command is refused)."""
        self.router = router
        self.settings = settings
        self.topics = Topics(settings.prefix)
        self.outbox = Outbox(settings.buffer, settings.reply_buffer)
        self.out = FactsOut(router, self.topics, self.outbox)
        self.stats = QueueStatsOut(router, self.topics, self.outbox, settings.sl_min_calls)
        self.incoming = CommandsIn(router, settings, self.topics, self.outbox, self.out, config_dir)
        self._task: asyncio.Task | None = None
        self._stats_task: asyncio.Task | None = None
        self._closing = False
        self._client: aiomqtt.Client | None = None
        # Counters (for tests and metrics)
        self.connected = False
        self.connects = 0
        self.published = 0
        self.task_restarts = 0  # bus sessions that ended in an unexpected error
        self.takeovers = 0  # times another client seemed to connect with our client id
        self.last_error: str | None = None
        self._flapping = Flapping()
        router.subscribe(self.on_publish, "mqtt")
        router.mqtt = self  # for /healthz and the metrics

    @property
    def on_publish(self):
        """The subscriber: facts to topics (router.mqtt.outgoing); never blocks."""
        return self.out.on_fact

    def handle_command(self, topic: str, raw: bytes, retain: bool = False) -> None:
        """One command message (router.mqtt.incoming)."""
        self.incoming.handle(topic, raw, retain)

    def publish_stats(self) -> None:
        """Queue statistics and service-level alerts now (router.mqtt.stats)."""
        self.stats.publish()

    # Counters and buffers, read by the metrics and the tests.
    dropped = property(lambda self: self.outbox.dropped)
    replies_dropped = property(lambda self: self.outbox.replies_dropped)
    _events = property(lambda self: self.outbox.events)
    _dirty = property(lambda self: self.outbox.dirty)
    commands_ok = property(lambda self: self.incoming.ok)
    commands_refused = property(lambda self: self.incoming.refused)
    commands_retained = property(lambda self: self.incoming.retained)
    commands_limited = property(lambda self: self.incoming.limited)
    _refusals = property(lambda self: self.incoming.refusals)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        # Supervisors' skill changes survive every reload, whoever asks for it.
        self.router.table_filter = self.incoming.skill_overrides
        self.out.all_agents(self.router.clock.now())
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
        self.incoming.cancel()
        if self._task:
            self._task.cancel()
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
        self.incoming.cancel()
        for task in (self._task, self._stats_task):
            if task:
                task.cancel()
        await asyncio.gather(*(t for t in (self._task, self._stats_task) if t), return_exceptions=True)

    async def _drain(self) -> None:
        while self.outbox.pending():
            await asyncio.sleep(0.01)

    def _status(self, status: str) -> bytes:
        return payload("router.status", self.router.clock.now(),
                       {"status": status, "run": self.router.run_id, "client": self.settings.client_id})

    async def _stats_loop(self) -> None:
        while True:
            try:
                self.publish_stats()
                self.incoming.refusals.flush(asyncio.get_running_loop().time())
            except Exception:
                log.exception("mqtt: queue statistics failed")
            await asyncio.sleep(self.settings.stats_interval)

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
                    self.outbox.resend_retained()
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
        box = self.outbox
        while True:
            if box.dirty:
                topic, _ = box.dirty.popitem(last=False)
                try:
                    await client.publish(topic, box.retained[topic], qos=qos, retain=True, timeout=10)
                except BaseException:
                    if topic not in box.dirty:
                        box.dirty[topic] = None
                        box.dirty.move_to_end(topic, last=False)
                    raise
            elif box.events or box.replies:
                # Events first; a reply at least every other message.
                queue = box.replies if box.replies and (not box.events or self.published % 2) else box.events
                topic, body = queue[0]
                await client.publish(topic, body, qos=qos, retain=False, timeout=10)
                if queue and queue[0] == (topic, body):
                    queue.popleft()
            else:
                box.wake.clear()
                await box.wake.wait()
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
                self.incoming.refusals.refused("(error)", "?", f"error handling a command: {self.last_error}",
                                               asyncio.get_running_loop().time())
