"""How the router reaches its MQTT broker.

The password never comes from the YAML config or the command line: it is
read from the environment (`ROUTER_MQTT_PASSWORD`) or from a file. It is
kept out of `repr()` so that it can never reach a log line.
"""

from __future__ import annotations

import os
import re
import ssl
from dataclasses import dataclass, field

from router.process.files import read_secret

PASSWORD_ENV = "ROUTER_MQTT_PASSWORD"
_PREFIX = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")


class MqttSettingsError(ValueError):
    """A bad MQTT option; the message names the option and never a secret."""


@dataclass(frozen=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "router"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    prefix: str = "router"
    qos: int = 1
    # TLS: off unless tls is set; ca_file None = the system's CAs.
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    tls_insecure: bool = False  # skip host name verification (test brokers only)
    keepalive: int = 30
    buffer: int = 10_000  # events held while the broker is unreachable
    reply_buffer: int = 1_000  # command replies waiting to be sent (apart from events)
    command_rate: float = 5.0  # commands a second per sender, after a burst of
    command_burst: int = 20
    stats_interval: float = 5.0  # real seconds between queue statistics
    sl_min_calls: int = 5  # finished calls before a service-level alert may fire
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0

    def __post_init__(self) -> None:
        if not _PREFIX.fullmatch(self.prefix):
            raise MqttSettingsError(f"topic prefix {self.prefix!r}: use letters, digits, '_', '-', '.' "
                                    "and '/' between levels (no wildcards, no leading or trailing '/')")
        if self.qos not in (0, 1, 2):
            raise MqttSettingsError(f"QoS {self.qos}: must be 0, 1 or 2")
        if not 0 < self.port < 65536:
            raise MqttSettingsError(f"port {self.port} is out of range")
        if self.buffer < 1:
            raise MqttSettingsError("the buffer must hold at least one event")
        if self.reply_buffer < 1 or self.command_burst < 1 or self.command_rate <= 0:
            raise MqttSettingsError("the reply buffer, command rate and burst must be above 0")
        if self.stats_interval <= 0:
            raise MqttSettingsError("the statistics interval must be above 0")
        if (self.cert_file is None) != (self.key_file is None):
            raise MqttSettingsError("give both a client certificate and its key, or neither")
        if not self.client_id:
            raise MqttSettingsError("the client id must not be empty")

    def tls_context(self) -> ssl.SSLContext | None:
        if not (self.tls or self.ca_file or self.cert_file):
            return None
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        if self.tls_insecure:
            context.check_hostname = False
        return context


def read_password(path: str | None, environ=os.environ) -> str | None:
    """The broker password from a file (first line, stripped) or from
    ROUTER_MQTT_PASSWORD; None when neither is given."""
    return read_secret(path, PASSWORD_ENV, "MQTT password", MqttSettingsError, environ)
