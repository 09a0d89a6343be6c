"""The MQTT event bus: live events out, agent and supervisor commands in.

- `settings` — broker address, credentials (environment or file), TLS, QoS,
  topic prefix: `MqttSettings`.
- `schema` — topics and JSON payloads (version `SCHEMA_VERSION`), as
  documented in docs/MQTT.md.
- `commands` — validation of incoming commands into domain events, or a
  refusal with a reason.
- `bus` — `MqttBus`: the aiomqtt client, its bounded outgoing buffer, the
  reconnect loop, periodic queue statistics and service-level alerts.

Routing never waits on MQTT: the router hands each published event to the
bus synchronously, and the bus only appends it to a bounded buffer.
"""

from router.mqtt.bus import MqttBus
from router.mqtt.settings import MqttSettings

__all__ = ["MqttBus", "MqttSettings"]
