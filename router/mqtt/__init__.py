"""The MQTT event bus: live events out, agent and supervisor commands in.

- `settings` — broker address, credentials (environment or file), TLS, QoS,
  topic prefix: `MqttSettings`.
- `schema` — topics and the keys of every event (`FIELDS`, derived from the
  fact catalogue), as documented in docs/MQTT.md; `wire` — the JSON
  envelope (version `SCHEMA_VERSION`).
- `outgoing` — the bus's subscriber: facts to topics and payloads;
  `stats` — queue statistics and service-level alerts; `outbox` — the
  bounded outgoing buffers.
- `incoming` and `commands` — incoming commands checked into domain events
  (or refused with a reason) and carried out.
- `bus` — `MqttBus`: the aiomqtt client and its reconnect loop, wiring the
  parts above.

Routing never waits on MQTT: the router hands each published fact to the
bus synchronously, and the bus only appends it to a bounded buffer.
"""

from router.mqtt.bus import MqttBus
from router.mqtt.settings import MqttSettings

__all__ = ["MqttBus", "MqttSettings"]
