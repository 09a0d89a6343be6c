"""The `router` command.

Exit codes: 0 success; 1 the configuration has errors (printed one per line
as file:line:col: key.path: message); 2 bad command-line usage; 3 `router
reload` found no running router to signal, or (status, agent, call,
explain --call) no router answers on the control socket; 4 `router report`
cannot read the records database; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from router import __version__
from router.config import check_config
from router.core.events import CallWaiting
from router.core.table import RoutingTable
from router.present.run_cli import _http_address, add_run_parser  # noqa: F401 (_http_address: tests use it)

EXIT_OK, EXIT_CONFIG, EXIT_USAGE = 0, 1, 2
EXIT_NO_ROUTER = 3  # `router reload`: no running router to signal


class UsageError(Exception):
    """A bad flag value: printed as `router <cmd>: message`, exit 2."""


def _load(path: str) -> RoutingTable | None:
    result = check_config(path)
    for problem in result.errors + result.warnings:
        print(problem, file=sys.stderr)
    if result.table is None:
        unchecked = sum(p.severity == "note" for p in result.warnings)
        print(f"{path}: {len(result.errors)} error(s)" + (f", {unchecked} file(s) not fully checked" if unchecked else "")
              + "; configuration rejected", file=sys.stderr)
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

    if args.call is not None:
        if args.config or args.dnis or args.caller or args.var or args.at:
            raise UsageError("--call ID asks the running router about a waiting call: "
                             "give no CONFIG_DIR, --dnis, --caller, --var or --at with it")
        from router.control.shell import explain_call

        return explain_call(args)
    if args.config is None or args.dnis is None:
        raise UsageError("give CONFIG_DIR --dnis N (a dry run), or --call ID (a call waiting in the running router)")
    table = _load(args.config)
    if table is None:
        return EXIT_CONFIG
    tz = _zone_of(table)
    call = CallWaiting("explain", dnis=args.dnis, caller_num=args.caller or "",
                       variables=parse_vars(args.var or []))
    print(explain(table, call, parse_at(args.at, tz), tz))
    return EXIT_OK


def cmd_reload(args: argparse.Namespace) -> int:
    """SIGHUP to the running router (its pid from --pid-file). The router
    checks the config itself and logs the outcome; with CONFIG_DIR the
    config is checked here first, and a bad one is not sent at all."""
    from router.process.ops import PidFileError, send_reload

    if args.config is not None and _load(args.config) is None:
        return EXIT_CONFIG
    try:
        pid = send_reload(args.pid_file)
    except PidFileError as err:
        print(f"router reload: {err}", file=sys.stderr)
        return EXIT_NO_ROUTER
    print(f"router reload: SIGHUP sent to process {pid}; the outcome is in the router's log")
    return EXIT_OK


#: `router simulate --enforcement`: the config's settings, or these changes to them.
ENFORCEMENT_PARTS = {
    "off": {"order": "arrival", "early_escalation": False, "protection": False},
    "only-deadline": {"order": "deadline", "early_escalation": False, "protection": False},
    "only-early": {"order": "arrival", "early_escalation": True, "protection": False},
    "only-protection": {"order": "arrival", "early_escalation": False, "protection": True},
}


def cmd_simulate(args: argparse.Namespace) -> int:
    from router.sim.simulate import run_simulation

    if args.traffic or args.compare or args.replay or args.date:  # the what-if commands (router/whatif/, docs/WHATIF.md)
        from router.whatif.cli import simulate_whatif

        return simulate_whatif(args, _load, _zone_of, parse_at, UsageError)
    if args.config is None:
        raise UsageError("give CONFIG_DIR (or --compare CONFIG_A CONFIG_B)")
    if args.staffing or args.csv or args.html:
        raise UsageError("--staffing, --csv and --html need --traffic PROFILE")
    if args.days is not None:
        raise UsageError("--days is for --traffic PROFILE (flat traffic runs --duration)")
    if args.seeds is not None:
        raise UsageError("--seeds is for --compare and --replay (one run takes --seed)")
    if args.jobs is not None:
        raise UsageError("--jobs is for --compare (its seeds run at once)")
    table = _load(args.config)
    if table is None:
        return EXIT_CONFIG
    if args.agents is not None and not 0 < args.agents <= len(table.agents):
        raise UsageError(f"--agents {args.agents}: give 1 to {len(table.agents)} "
                         f"(how many of the config's {len(table.agents)} agents log in)")
    if args.enforcement != "config":  # off: the baseline, app_queue's order; only-*: one part of it alone
        from dataclasses import replace

        chosen = replace(table.settings.enforcement, **ENFORCEMENT_PARTS[args.enforcement])
        table = replace(table, settings=replace(table.settings, enforcement=chosen))
    tz = _zone_of(table)
    start = parse_at(args.start or "2026-11-23T09:00", tz)
    from router.present.run_cli import _records_settings

    args.state_file = None
    return run_simulation(table, tz=tz, start=start, duration=args.duration, speed=args.speed,
                          seed=args.seed, calls_per_hour=args.calls_per_hour, quiet=args.quiet,
                          agents=args.agents, records=_records_settings(args))


def cmd_report(args: argparse.Namespace) -> int:
    from router.report.cli import run_report  # KPI reports from the records (docs/REPORTS.md)

    return run_report(args, _load, UsageError)


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


def _simulation_flags(parser, duration: float, speed: float, live: bool) -> None:
    """The simulation's flags; for `router run` (`live`) their defaults are
    applied in cmd_run, so that giving one without --simulate is refused."""
    g = parser.add_argument_group("simulation (--simulate only)") if live else parser
    g.add_argument("--duration", type=_duration, default=None if live else duration,
                   help=f"simulated time (e.g. 10m, 8h; default {duration / 60:g}m)")
    g.add_argument("--speed", type=_positive, default=None if live else speed,
                   help=f"simulated seconds per real second (default {speed:g}"
                        + ("; above 0)" if live else "; 0 = as fast as possible)"))
    g.add_argument("--calls-per-hour", type=_positive, default=None if live else 450.0, help="default 450")
    g.add_argument("--seed", type=int, default=None if live else 1, help="default 1")
    g.add_argument("--start", metavar="ISO-TIME", help="simulated start (default Monday 2026-11-23 09:00)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="router", description="Skills-based call router for Asterisk.")
    parser.add_argument("--version", action="version", version=f"router {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", help="validate a config directory (or file)")
    check.add_argument("config", metavar="CONFIG_DIR")
    check.set_defaults(func=cmd_check)

    exp = sub.add_parser("explain", help="show how a call would be routed, or why a waiting call waits")
    exp.add_argument("config", metavar="CONFIG_DIR", nargs="?")
    exp.add_argument("--dnis", help="the dialled number")
    exp.add_argument("--caller", help="the caller's number")
    exp.add_argument("--var", action="append", metavar="KEY=VALUE", help="an IVR variable (repeatable)")
    exp.add_argument("--at", metavar="ISO-TIME",
                     help="when the call arrives (default now; without an offset, in the calendars' time zone)")
    exp.add_argument("--call", metavar="ID",
                     help="instead: why this call, waiting in the running router, still waits")
    exp.add_argument("--control", metavar="PATH", help="with --call: the router's control socket")
    exp.set_defaults(func=cmd_explain)

    add_run_parser(sub)

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
    w.add_argument("--days", type=int, metavar="N",
                   help="with --traffic: N days from --day mon..sun (1 to 28; default 1)")
    w.add_argument("--compare", nargs=2, metavar=("CONFIG_A", "CONFIG_B"),
                   help="the same traffic through two configs, side by side, over --seeds seeds")
    w.add_argument("--seeds", type=int, metavar="N",
                   help="seeds from --seed, for --compare (default 5) or --replay (default one run)")
    w.add_argument("--jobs", type=int, metavar="N",
                   help="with --compare: seeds run in N processes at once (default: one per CPU)")
    w.add_argument("--staffing", action="store_true", help="with --traffic: the staffing plan per interval")
    w.add_argument("--csv", metavar="PATH", help="with --traffic: write the staffing plan as CSV")
    w.add_argument("--html", metavar="PATH", help="with --traffic: the staffing plan as a chart (HTML)")
    w.add_argument("--replay", metavar="URL", help="a recorded day from the call records (sqlite:PATH, postgresql://...)")
    w.add_argument("--date", metavar="DATE", help="with --replay: the local date to replay, e.g. 2026-11-24")
    sim.add_argument("--agents", type=int, help="how many of the configured agents log in (default: most)")
    sim.add_argument("--quiet", action="store_true", help="only the per-queue summaries")
    sim.add_argument("--enforcement", choices=("config", *ENFORCEMENT_PARTS), default="config",
                     help="off: compare with no service-level enforcement (strict priority, then "
                          "longest waiting; no early escalation, no protection); only-deadline, only-early, "
                          "only-protection: one part alone")
    _simulation_flags(sim, duration=8 * 3600.0, speed=0.0, live=False)
    from router.present.run_cli import _records_flags

    _records_flags(sim)
    sim.set_defaults(func=cmd_simulate)

    from router.report.cli import add_report_parser

    add_report_parser(sub, cmd_report)
    from router.control.shell import add_parsers
    from router.records.cli import add_parser as add_records_parser
    from router.whatif.fit_cli import add_parser as add_traffic_parser

    add_parsers(sub)
    add_records_parser(sub)
    add_traffic_parser(sub)
    return parser


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # said by the subcommand, with its own usage (`--duration 8 hours`)
        _subparser(parser, args.command).error(f"unrecognized arguments: {' '.join(extra)}")
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
