"""`router run`: its flags, their checks, and the start of the router.

A flag that does nothing in the chosen mode (`--simulate` or `--ami`) is
refused with the reason, never ignored.
"""

from __future__ import annotations

import argparse
import os


def _usage(message: str) -> Exception:
    from router.present.cli import UsageError

    return UsageError(message)


def _pbx_addresses(args: argparse.Namespace) -> list:
    """--ami [NAME=]HOST[:PORT] ..., the secret from the environment or a file."""
    from router.present.run_modes import PbxAddress

    addresses = []
    for n, spec in enumerate(args.ami, 1):
        name, _, address = spec.rpartition("=")
        try:
            host, port = parse_address(address, shown=f"--ami {spec!r}", form="[NAME=]HOST[:PORT]",
                                       example="--ami pbx1=127.0.0.1:5038", colons="one")
        except AddressError as err:
            raise _usage(str(err)) from None
        addresses.append((name or f"pbx{n}", host, 5038 if port is None else port))
    if args.ami_secret_file:
        try:
            with open(args.ami_secret_file, encoding="utf-8") as handle:
                secret = handle.read().strip()
        except OSError as err:
            raise _usage(f"--ami-secret-file: cannot read {args.ami_secret_file}: {err.strerror}") from None
    else:
        secret = os.environ.get("ROUTER_AMI_SECRET", "")
    if not secret:
        raise _usage("no AMI secret: set ROUTER_AMI_SECRET or pass --ami-secret-file")
    return [PbxAddress(name, host, port, args.ami_user or "router", secret) for name, host, port in addresses]


class AddressError(ValueError):
    """A HOST[:PORT] flag that does not parse; the message quotes the flag."""


def parse_address(text: str, *, shown: str, form: str, example: str, colons: str,
                  lowest: int | None = 1, port_required: bool = False,
                  default_host: str | None = None) -> tuple[str, int | None]:
    """HOST[:PORT] of --ami, --http and --mqtt: (host, port), port None when not given.

    `colons` says where the port begins: "one" (after the first colon, so a
    second colon is refused), "last" (after the last colon; an IPv6 host may
    be written in brackets) or "bare" (after the only colon; two or more mean
    an IPv6 host and no port).
    `lowest` is the lowest port accepted (None: the range is checked later);
    `default_host` stands for an empty host, which is refused without it.
    `shown` is the flag as the messages quote it.
    """
    if colons == "bare" and text.count(":") != 1:
        host, sep, port = text, "", ""
    elif colons == "last":
        host, sep, port = text.rpartition(":")
        host = host.strip("[]")
    else:
        host, sep, port = text.partition(":")
    host = host or default_host or ""
    if not host or (port_required and not (sep and port)) or (port and not port.isdigit()):
        raise AddressError(f"{shown} must be {form}, e.g. {example}")
    if port and lowest is not None and not lowest <= int(port) < 65536:
        raise AddressError(f"{shown}: port {port} is out of range {lowest}-65535")
    return host, int(port) if port else None


def _http_address(text: str) -> tuple[str, int]:
    """--http HOST:PORT (or :PORT, on 127.0.0.1)."""
    try:
        host, port = parse_address(text, shown=repr(text), form="HOST:PORT", example="127.0.0.1:9464",
                                   colons="last", lowest=0, port_required=True,  # 0: any free port
                                   default_host="127.0.0.1")
    except AddressError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return host, port


def _mqtt_settings(args: argparse.Namespace):
    """--mqtt HOST[:PORT] and its options; the password from
    ROUTER_MQTT_PASSWORD or --mqtt-password-file, never a flag or the YAML."""
    from router.mqtt.settings import MqttSettings, MqttSettingsError, read_password

    if not args.mqtt:
        return None
    try:
        host, port = parse_address(args.mqtt, shown=f"--mqtt {args.mqtt!r}", form="HOST[:PORT]",
                                   example="--mqtt 127.0.0.1:1883", colons="bare",
                                   lowest=None)  # MqttSettings checks the range
    except AddressError as err:
        raise _usage(str(err)) from None
    tls = args.mqtt_tls or bool(args.mqtt_ca or args.mqtt_cert)
    try:
        return MqttSettings(
            host=host, port=(8883 if tls else 1883) if port is None else port, client_id=args.mqtt_client_id,
            username=args.mqtt_user or os.environ.get("ROUTER_MQTT_USER") or None,
            password=read_password(args.mqtt_password_file), prefix=args.mqtt_prefix, qos=args.mqtt_qos,
            tls=tls, ca_file=args.mqtt_ca, cert_file=args.mqtt_cert, key_file=args.mqtt_key,
            tls_insecure=args.mqtt_tls_insecure, buffer=args.mqtt_buffer,
            stats_interval=args.mqtt_stats_interval)
    except MqttSettingsError as err:
        raise _usage(f"--mqtt: {err}") from None


def _records_settings(args: argparse.Namespace):
    """--records URL, --records-password-file, --records-spool, and for `router
    run` --records-keep-days (router/records/setup.py)."""
    from router.records.setup import records_settings
    from router.records.store import RecordsError

    # `router simulate` has no such flag, and never prunes: its days may be long past
    prune = hasattr(args, "records_keep_days") and args.records_keep_days != 0
    keep = getattr(args, "records_keep_days", None) or None  # None: the config's records.keep_days
    try:
        return records_settings(args.records, args.records_password_file, args.records_spool, args.state_file,
                                keep, prune)
    except RecordsError as err:
        raise _usage(f"--records: {err}") from None


def _logging(args: argparse.Namespace) -> None:
    """Structured logs on stderr, once every flag has been checked."""
    from router.process.logs import setup_logging

    setup_logging(args.log_format, args.log_level)


def cmd_run(args: argparse.Namespace) -> int:
    from router.process.ops import hold_signals

    hold_signals()  # first: a SIGHUP while the config loads must not kill the router
    import asyncio

    from router.present.cli import EXIT_CONFIG, _load, _zone_of, parse_at

    from router.present.run_modes import run_daemon, run_simulated

    if args.simulate == bool(args.ami):
        raise _usage("give either --simulate or --ami HOST[:PORT]")
    _check_mode_flags(args)
    pbxs = [] if args.simulate else _pbx_addresses(args)
    mqtt = _mqtt_settings(args)
    records = _records_settings(args)
    table = _load(args.config)
    if table is None:
        return EXIT_CONFIG
    tz = _zone_of(table)
    control = None if args.control == "off" else (args.control or default_control())
    if args.simulate:
        start = parse_at(args.start or "2026-11-23T09:00", tz)
        _logging(args)
        return asyncio.run(run_simulated(table, tz=tz, start=start, duration=_given(args.duration, 600.0),
                                         speed=_given(args.speed, 10.0), seed=_given(args.seed, 1),
                                         calls_per_hour=_given(args.calls_per_hour, 450.0), quiet=args.quiet,
                                         http=args.http, config_dir=args.config, mqtt=mqtt, control=control,
                                         pid_file=args.pid_file, records=records))
    _logging(args)
    return asyncio.run(run_daemon(table, pbxs, tz=tz, quiet=args.quiet, state_file=args.state_file,
                                  http=args.http, config_dir=args.config, pid_file=args.pid_file,
                                  mqtt=mqtt, control=control, records=records))


#: `router run` flags that only one mode uses: (flag, attribute).
SIMULATION_ONLY = (("--duration", "duration"), ("--speed", "speed"), ("--seed", "seed"),
                   ("--calls-per-hour", "calls_per_hour"), ("--start", "start"))
LIVE_ONLY = (("--state-file", "state_file"), ("--ami-user", "ami_user"), ("--ami-secret-file", "ami_secret_file"))


def _check_mode_flags(args: argparse.Namespace) -> None:
    """Refuse flags that would do nothing in the chosen mode."""
    if args.simulate:
        given = [flag for flag, attr in LIVE_ONLY if getattr(args, attr) is not None]
        if given:
            raise _usage(f"{', '.join(given)}: only for a run on Asterisk (--ami), not for --simulate")
        if args.speed is not None and args.speed <= 0:
            raise _usage(f"--speed {args.speed:g}: a live simulated run needs a speed above 0 "
                             "(`router simulate` runs as fast as possible)")
    else:
        given = [flag for flag, attr in SIMULATION_ONLY if getattr(args, attr) is not None]
        if given:
            raise _usage(f"{', '.join(given)}: only for --simulate; a run on Asterisk goes in real time")


def _given(value, default):
    return default if value is None else value


def default_control() -> str:
    from router.control import default_path

    return default_path()



def _mqtt_flags(parser: argparse.ArgumentParser) -> None:
    from router.present.cli import _positive

    g = parser.add_argument_group("MQTT event bus (docs/MQTT.md)")
    g.add_argument("--mqtt", metavar="HOST[:PORT]", help="publish events to and take commands from this broker")
    g.add_argument("--mqtt-client-id", default="router", metavar="ID", help="MQTT client id (default router)")
    g.add_argument("--mqtt-user", metavar="NAME",
                   help="broker username (or ROUTER_MQTT_USER); password from ROUTER_MQTT_PASSWORD")
    g.add_argument("--mqtt-password-file", metavar="PATH", help="read the broker password from this file")
    g.add_argument("--mqtt-prefix", default="router", metavar="PREFIX", help="topic prefix (default router)")
    g.add_argument("--mqtt-qos", type=int, default=1, choices=(0, 1, 2), help="QoS of events and commands")
    g.add_argument("--mqtt-tls", action="store_true", help="connect with TLS (default port 8883)")
    g.add_argument("--mqtt-ca", metavar="PATH", help="CA bundle for the broker's certificate (implies TLS)")
    g.add_argument("--mqtt-cert", metavar="PATH", help="client certificate (with --mqtt-key)")
    g.add_argument("--mqtt-key", metavar="PATH", help="client certificate key")
    g.add_argument("--mqtt-tls-insecure", action="store_true", help="do not check the broker's host name")
    g.add_argument("--mqtt-buffer", type=int, default=10_000, metavar="N",
                   help="events held while the broker is down, then dropped and counted (default 10000)")
    g.add_argument("--mqtt-stats-interval", type=_positive, default=5.0, metavar="SECONDS",
                   help="seconds between queue statistics (default 5)")


def _records_flags(parser: argparse.ArgumentParser) -> None:
    from router.records.cli import add_records_flags

    g = parser.add_argument_group("call and agent records (router report reads them)")
    add_records_flags(g, required=False)
    g.add_argument("--records-spool", metavar="DIR",
                   help="the records' local spool and open-call checkpoint (default: beside the SQLite "
                        "file, or beside --state-file)")


def _keep_days_or_off(text: str) -> int:
    from router.records.cli import keep_days

    return 0 if text.strip() == "0" else keep_days(text)


def add_run_parser(sub) -> None:
    """`router run` on the subparsers `sub`."""
    from router.present.cli import _positive, _simulation_flags
    from router.core.table import KEEP_DAYS

    run = sub.add_parser("run", help="run the router (on Asterisk over AMI, or on the simulated PBX)")
    run.add_argument("config", metavar="CONFIG_DIR")
    run.add_argument("--simulate", action="store_true",
                     help="route a simulated contact centre on the built-in PBX simulator (over TCP)")
    run.add_argument("--ami", action="append", default=[], metavar="[NAME=]HOST[:PORT]",
                     help="an Asterisk AMI to connect to (repeatable); secret from ROUTER_AMI_SECRET")
    run.add_argument("--ami-user", help="AMI username (default router)")
    run.add_argument("--ami-secret-file", metavar="PATH", help="read the AMI secret from this file")
    run.add_argument("--state-file", metavar="PATH",
                     help="keep agents' login/pause state here across restarts (e.g. /var/lib/router/agents.json)")
    run.add_argument("--quiet", action="store_true", help="no line per decision")
    run.add_argument("--http", type=_http_address, metavar="HOST:PORT",
                     help="serve Prometheus /metrics and /healthz here (e.g. 127.0.0.1:9464; off by default)")
    run.add_argument("--pid-file", metavar="PATH", help="write the process id here (for `router reload`)")
    run.add_argument("--log-format", choices=("text", "json"), default="text",
                     help="logs on stderr, one line per event: key=value (text) or JSON")
    run.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info")
    _mqtt_flags(run)
    _records_flags(run)
    run.add_argument("--records-keep-days", type=_keep_days_or_off, metavar="N",
                     help="delete records older than N days, once a day, whatever the config's "
                          f"records.keep_days says (default: that, else {KEEP_DAYS}; 0: never, e.g. "
                          "when a cron job prunes)")
    run.add_argument("--control", metavar="PATH|off",
                     help="serve the control API (router status, agent, call) on this Unix socket "
                          "(default $ROUTER_CONTROL or $XDG_RUNTIME_DIR/router/control.sock; off: none)")
    _simulation_flags(run, duration=600.0, speed=10.0, live=True)
    run.set_defaults(func=cmd_run)
