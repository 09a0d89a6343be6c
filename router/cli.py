"""The `router` command.

Exit codes: 0 success; 1 the configuration has errors (printed one per line
as file:line:col: key.path: message); 2 bad command-line usage; 3 `router
reload` found no running router to signal; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from router import __version__
from router.config import check_config
from router.core.events import CallWaiting
from router.core.table import RoutingTable

EXIT_OK, EXIT_CONFIG, EXIT_USAGE = 0, 1, 2
EXIT_NO_ROUTER = 3  # `router reload`: no running router to signal


class UsageError(Exception):
    """A bad flag value: printed as `router <cmd>: message`, exit 2."""


def _load(path: str) -> RoutingTable | None:
    result = check_config(path)
    for problem in result.errors + result.warnings:
        print(problem, file=sys.stderr)
    if result.table is None:
        print(f"{path}: {len(result.errors)} error(s); configuration rejected", file=sys.stderr)
    return result.table


def summary(table: RoutingTable) -> str:
    return (f"{len(table.agents)} agents in {len(table.teams)} teams, {len(table.queues)} queues, "
            f"{len(table.rules)} rules + default, {len(table.skills)} skills, "
            f"{len(table.calendars)} calendars; digest {table.digest[:12]}")


def cmd_check(args: argparse.Namespace) -> int:
    table = _load(args.config)
    if table is None:
        return EXIT_CONFIG
    print(f"{args.config}: OK: {summary(table)}")
    return EXIT_OK


def _zone_of(table: RoutingTable) -> ZoneInfo:
    """The calendars' time zone when they all share one, else UTC."""
    zones = {c.timezone for c in table.calendars.values()}
    return ZoneInfo(zones.pop()) if len(zones) == 1 else ZoneInfo("UTC")


def parse_at(text: str | None, tz: ZoneInfo) -> float:
    if text is None:
        return time.time()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--at {text!r} is not an ISO date-time such as 2026-11-23T09:30 "
                         "or 2026-11-23T09:30+08:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp()


def parse_vars(items: list[str]) -> tuple[tuple[str, str], ...]:
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--var {item!r} must be KEY=VALUE, e.g. --var lang=yue")
        out.append((key, value))
    return tuple(out)


def cmd_explain(args: argparse.Namespace) -> int:
    from router.explain import explain

    table = _load(args.config)
    if table is None:
        return EXIT_CONFIG
    tz = _zone_of(table)
    call = CallWaiting("explain", dnis=args.dnis, caller_num=args.caller or "",
                       variables=parse_vars(args.var or []))
    print(explain(table, call, parse_at(args.at, tz), tz))
    return EXIT_OK


def _pbx_addresses(args: argparse.Namespace) -> list:
    """--ami [NAME=]HOST[:PORT] ..., the secret from the environment or a file."""
    import os

    from router.runner import PbxAddress

    if args.ami_secret_file:
        try:
            with open(args.ami_secret_file, encoding="utf-8") as handle:
                secret = handle.read().strip()
        except OSError as err:
            raise UsageError(f"--ami-secret-file: cannot read {args.ami_secret_file}: {err.strerror}") from None
    else:
        secret = os.environ.get("ROUTER_AMI_SECRET", "")
    if not secret:
        raise UsageError("no AMI secret: set ROUTER_AMI_SECRET or pass --ami-secret-file")
    out = []
    for n, spec in enumerate(args.ami, 1):
        name, _, address = spec.rpartition("=")
        host, _, port = address.partition(":")
        if not host or (port and not port.isdigit()) or not 0 < int(port or 5038) < 65536:
            raise UsageError(f"--ami {spec!r} must be [NAME=]HOST[:PORT], e.g. --ami pbx1=127.0.0.1:5038")
        out.append(PbxAddress(name or f"pbx{n}", host, int(port or 5038), args.ami_user, secret))
    return out


def _http_address(text: str) -> tuple[str, int]:
    """--http HOST:PORT (or :PORT, on 127.0.0.1)."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:  # 0: any free port
        raise argparse.ArgumentTypeError(f"{text!r} must be HOST:PORT, e.g. 127.0.0.1:9464")
    return host, int(port)


def _mqtt_settings(args: argparse.Namespace):
    """--mqtt HOST[:PORT] and its options; the password from
    ROUTER_MQTT_PASSWORD or --mqtt-password-file, never a flag or the YAML."""
    from router.mqtt.settings import MqttSettings, MqttSettingsError, read_password

    if not args.mqtt:
        return None
    host, _, port = args.mqtt.rpartition(":") if args.mqtt.count(":") == 1 else (args.mqtt, "", "")
    if not host or (port and not port.isdigit()):
        raise UsageError(f"--mqtt {args.mqtt!r} must be HOST[:PORT], e.g. --mqtt 127.0.0.1:1883")
    tls = args.mqtt_tls or bool(args.mqtt_ca or args.mqtt_cert)
    try:
        return MqttSettings(
            host=host, port=int(port or (8883 if tls else 1883)), client_id=args.mqtt_client_id,
            username=args.mqtt_user or os.environ.get("ROUTER_MQTT_USER") or None,
            password=read_password(args.mqtt_password_file), prefix=args.mqtt_prefix, qos=args.mqtt_qos,
            tls=tls, ca_file=args.mqtt_ca, cert_file=args.mqtt_cert, key_file=args.mqtt_key,
            tls_insecure=args.mqtt_tls_insecure, buffer=args.mqtt_buffer,
            stats_interval=args.mqtt_stats_interval)
    except MqttSettingsError as err:
        raise UsageError(f"--mqtt: {err}") from None


def _logging(args: argparse.Namespace) -> None:
    """Structured logs on stderr, once every flag has been checked."""
    from router.logs import setup_logging

    setup_logging(args.log_format, args.log_level)


def cmd_run(args: argparse.Namespace) -> int:
    import asyncio

    from router.runner import run_daemon, run_simulated

    if args.simulate == bool(args.ami):
        raise UsageError("give either --simulate or --ami HOST[:PORT]")
    pbxs = [] if args.simulate else _pbx_addresses(args)
    mqtt = _mqtt_settings(args)
    table = _load(args.config)
    if table is None:
        return EXIT_CONFIG
    tz = _zone_of(table)
    if args.simulate:
        if args.speed <= 0:
            raise UsageError("--speed must be above 0 for a live run; `router simulate` runs as fast as possible")
        start = parse_at(args.start or "2026-11-23T09:00", tz)
        _logging(args)
        return asyncio.run(run_simulated(table, tz=tz, start=start, duration=args.duration, speed=args.speed,
                                         seed=args.seed, calls_per_hour=args.calls_per_hour, quiet=args.quiet,
                                         http=args.http, config_dir=args.config, mqtt=mqtt))
    _logging(args)
    return asyncio.run(run_daemon(table, pbxs, tz=tz, quiet=args.quiet, state_file=args.state_file,
                                  http=args.http, config_dir=args.config, pid_file=args.pid_file,
                                  mqtt=mqtt))


def cmd_reload(args: argparse.Namespace) -> int:
    """SIGHUP to the running router (its pid from --pid-file). The router
    checks the config itself and logs the outcome; with CONFIG_DIR the
    config is checked here first, and a bad one is not sent at all."""
    from router.ops import PidFileError, send_reload

    if args.config is not None and _load(args.config) is None:
        return EXIT_CONFIG
    try:
        pid = send_reload(args.pid_file)
    except PidFileError as err:
        print(f"router reload: {err}", file=sys.stderr)
        return EXIT_NO_ROUTER
    print(f"router reload: SIGHUP sent to process {pid}; the outcome is in the router's log")
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    from router.sim.run import run_simulation

    if args.traffic or args.compare:  # the what-if commands (router/whatif/, docs/WHATIF.md)
        from router.whatif.cli import simulate_whatif

        return simulate_whatif(args, _load, _zone_of, parse_at, UsageError)
    if args.config is None:
        raise UsageError("give CONFIG_DIR (or --compare CONFIG_A CONFIG_B)")
    if args.staffing or args.csv or args.html:
        raise UsageError("--staffing, --csv and --html need --traffic PROFILE")
    table = _load(args.config)
    if table is None:
        return EXIT_CONFIG
    if args.agents is not None and not 0 < args.agents <= len(table.agents):
        raise UsageError(f"--agents {args.agents}: the config has {len(table.agents)} agents")
    if args.enforcement == "off":  # the baseline: app_queue's order, no enforcement
        from dataclasses import replace

        from router.core.table import Enforcement

        off = Enforcement(order="arrival", early_escalation=False, protection=False)
        table = replace(table, settings=replace(table.settings, enforcement=off))
    tz = _zone_of(table)
    start = parse_at(args.start or "2026-11-23T09:00", tz)
    return run_simulation(table, tz=tz, start=start, duration=args.duration, speed=args.speed,
                          seed=args.seed, calls_per_hour=args.calls_per_hour, quiet=args.quiet,
                          agents=args.agents)


def _duration(text: str) -> float:
    from router.config.values import parse_duration

    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def _simulation_flags(parser: argparse.ArgumentParser, duration: float, speed: float) -> None:
    parser.add_argument("--duration", type=_duration, default=duration, help="simulated time (e.g. 10m, 8h)")
    parser.add_argument("--speed", type=_positive, default=speed,
                        help=f"simulated seconds per real second (default {speed:g}; 0 = as fast as possible)")
    parser.add_argument("--calls-per-hour", type=_positive, default=450.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", metavar="ISO-TIME", help="simulated start (default Monday 2026-11-23 09:00)")


def _mqtt_flags(parser: argparse.ArgumentParser) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="router", description="Skills-based call router for Asterisk.")
    parser.add_argument("--version", action="version", version=f"router {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", help="validate a config directory (or file)")
    check.add_argument("config", metavar="CONFIG_DIR")
    check.set_defaults(func=cmd_check)

    exp = sub.add_parser("explain", help="show how a call would be routed")
    exp.add_argument("config", metavar="CONFIG_DIR")
    exp.add_argument("--dnis", required=True, help="the dialled number")
    exp.add_argument("--caller", help="the caller's number")
    exp.add_argument("--var", action="append", metavar="KEY=VALUE", help="an IVR variable (repeatable)")
    exp.add_argument("--at", metavar="ISO-TIME",
                     help="when the call arrives (default now; without an offset, in the calendars' time zone)")
    exp.set_defaults(func=cmd_explain)

    run = sub.add_parser("run", help="run the router (on Asterisk over AMI, or on the simulated PBX)")
    run.add_argument("config", metavar="CONFIG_DIR")
    run.add_argument("--simulate", action="store_true",
                     help="route a simulated contact centre on the built-in PBX simulator (over TCP)")
    run.add_argument("--ami", action="append", default=[], metavar="[NAME=]HOST[:PORT]",
                     help="an Asterisk AMI to connect to (repeatable); secret from ROUTER_AMI_SECRET")
    run.add_argument("--ami-user", default="router", help="AMI username (default router)")
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
    _simulation_flags(run, duration=600.0, speed=10.0)
    run.set_defaults(func=cmd_run)

    rel = sub.add_parser("reload", help="make a running router reload its config (SIGHUP)")
    rel.add_argument("config", metavar="CONFIG_DIR", nargs="?",
                     help="check this config first and send nothing if it has errors")
    rel.add_argument("--pid-file", required=True, metavar="PATH", help="as given to `router run --pid-file`")
    rel.set_defaults(func=cmd_reload)

    sim = sub.add_parser("simulate", help="what-if: a simulated day of the rules, as fast as possible")
    sim.add_argument("config", metavar="CONFIG_DIR", nargs="?")
    w = sim.add_argument_group("what-if on the centre's own traffic (docs/WHATIF.md)")
    w.add_argument("--traffic", metavar="PROFILE", help="a traffic profile (YAML): arrivals, handle times, roster")
    w.add_argument("--day", default="mon", help="with --traffic: mon..sun (of the week of --start) or week")
    w.add_argument("--compare", nargs=2, metavar=("CONFIG_A", "CONFIG_B"),
                   help="the same traffic through two configs, side by side, over --seeds seeds")
    w.add_argument("--seeds", type=int, default=5, help="seeds for --compare (default 5, from --seed)")
    w.add_argument("--staffing", action="store_true", help="with --traffic: the staffing plan per interval")
    w.add_argument("--csv", metavar="PATH", help="with --traffic: write the staffing plan as CSV")
    w.add_argument("--html", metavar="PATH", help="with --traffic: the staffing plan as a chart (HTML)")
    sim.add_argument("--agents", type=int, help="how many of the configured agents log in (default: most)")
    sim.add_argument("--quiet", action="store_true", help="only the per-queue summaries")
    sim.add_argument("--enforcement", choices=("config", "off"), default="config",
                     help="off: compare with no service-level enforcement (strict priority, then "
                          "longest waiting; no early escalation, no protection)")
    _simulation_flags(sim, duration=8 * 3600.0, speed=0.0)
    sim.set_defaults(func=cmd_simulate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as err:
        print(f"router {args.command}: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `router ... | head`: the reader left, not an error
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
