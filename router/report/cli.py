"""`router report`: KPI reports from the call and agent records
(docs/REPORTS.md). It reads the records database only, never the running
router, and opens SQLite read-only.

Called from router/present/cli.py with the CLI's config loader and UsageError, so
that messages and exit codes are the CLI's.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from router.report.buckets import BY, VIEWS
from router.process.files import write_text

EXIT_OK, EXIT_CONFIG, EXIT_RECORDS = 0, 1, 4


def add_report_parser(sub, func) -> None:
    rep = sub.add_parser("report", help="KPI reports (queues, agents, teams) from the call and agent records",
                         description="Service level, volumes, handle times per queue; time per state, "
                                     "calls and occupancy per agent and team. Dates are the centre's "
                                     "local dates. Definitions: docs/REPORTS.md.")
    rep.add_argument("--records", required=True, metavar="URL",
                     help="the records: sqlite:PATH or postgresql://USER@HOST/DB (password from "
                          "ROUTER_RECORDS_PASSWORD or --records-password-file)")
    rep.add_argument("--records-password-file", metavar="PATH", help="PostgreSQL: the password's file")
    rep.add_argument("--from", dest="first", required=True, metavar="DATE", help="first local date, YYYY-MM-DD")
    rep.add_argument("--to", dest="last", metavar="DATE", help="last local date, included (default: --from)")
    rep.add_argument("--by", default="day", metavar="|".join(BY),
                     help="bucket: 15- or 30-minute interval, hour, day (default), ISO week, month")
    rep.add_argument("--queue", action="append", default=[], metavar="Q", help="only this queue (repeatable)")
    rep.add_argument("--team", action="append", default=[], metavar="T", help="only this team (repeatable)")
    rep.add_argument("--agent", action="append", default=[], metavar="A", help="only this agent (repeatable)")
    rep.add_argument("--what", metavar="|".join((*VIEWS, "all")),
                     help="queues (default), agents, teams or all; agents with --agent, teams with --team")
    rep.add_argument("--format", default="table", metavar="table|csv|json", help="default table")
    rep.add_argument("--html", metavar="FILE", help="also write one self-contained page with charts")
    rep.add_argument("--config", metavar="CONFIG_DIR",
                     help="the router's config: queue targets, titles, agent names, team leaders "
                          "(the records hold no targets: without it SL is shown but not judged)")
    rep.set_defaults(func=func)


def _date(flag: str, text: str, usage) -> str:
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise usage(f"{flag} {text!r} is not a date: give YYYY-MM-DD (the centre's local date)") from None


def _choice(flag: str, value: str, choices, usage) -> str:
    if value not in choices:
        raise usage(f"{flag} {value!r} must be one of {', '.join(choices)}")
    return value


def _views(args, usage) -> tuple[str, ...]:
    what = args.what or ("agents" if args.agent else "teams" if args.team else "queues")
    _choice("--what", what, (*VIEWS, "all"), usage)
    views = VIEWS if what == "all" else (what,)
    if views == ("queues",) and (args.team or args.agent):
        raise usage("--team and --agent choose agents: give --what agents, teams or all with them")
    if args.format == "csv" and len(views) > 1:
        raise usage("--format csv writes one view: give --what queues, agents or teams")
    return views


def _check_names(args, table, usage) -> None:
    for flag, given, known in (("--queue", args.queue, table.queues), ("--team", args.team, table.teams),
                               ("--agent", args.agent, table.agents)):
        unknown = [name for name in given if name not in known]
        if unknown:
            names = list(known)
            shown = ", ".join(names[:10]) + (f", ... ({len(names)} in all)" if len(names) > 10 else "")
            raise usage(f"{flag} {unknown[0]!r}: not in {args.config} (known: {shown})")


def run_report(args: argparse.Namespace, load, usage) -> int:
    first = _date("--from", args.first, usage)
    last = _date("--to", args.last, usage) if args.last else first
    if last < first:
        raise usage(f"--to {last} is before --from {first}")
    by = _choice("--by", args.by, BY, usage)
    _choice("--format", args.format, ("table", "csv", "json"), usage)
    views = _views(args, usage)
    table = None
    if args.config:
        table = load(args.config)
        if table is None:
            return EXIT_CONFIG
        _check_names(args, table, usage)
    from sqlalchemy.exc import SQLAlchemyError  # here: `router check` etc. never load the database layer

    from router.report.figures import report_figures
    from router.report.source import RecordsError, open_records, reason

    html_views = tuple(dict.fromkeys((*views, "queues", "agents"))) if args.html else views
    try:
        engine = open_records(args.records, args.records_password_file)
        try:
            figures = report_figures(engine, first, last, by, queues=args.queue, teams=args.team,
                                     agents=args.agent, views=html_views, table=table)
        finally:
            engine.dispose()
    except RecordsError as err:
        print(f"router report: {err}", file=sys.stderr)
        return EXIT_RECORDS
    except SQLAlchemyError as err:  # a query failed (server gone, a table of another shape)
        print(f"router report: --records {args.records}: cannot read the records: {reason(err)}", file=sys.stderr)
        return EXIT_RECORDS
    if args.html:
        from router.report.html import render_page

        write_text(args.html, render_page(figures, table), usage, "--html")
    shown = {k: v for k, v in figures.items() if k in ("from", "to", "by", *views)}
    from router.report.render import csv_text, json_text, table_text

    if args.format == "json":
        sys.stdout.write(json_text(shown))
    elif args.format == "csv":
        sys.stdout.write(csv_text(views[0], figures[views[0]]))
    else:
        sys.stdout.write(_tables(figures, views, table is not None))
    if args.html:
        print(f"report page written to {args.html}", file=sys.stderr)
    return EXIT_OK


def _tables(figures: dict, views, judged: bool) -> str:
    from router.report.render import table_text

    parts = []
    for view in views:
        rows = figures[view]
        head = f"{view} {figures['from']}..{figures['to']} by {figures['by']}"
        body = table_text(view, rows) if rows else "(no records for these dates)"
        parts.append(f"{head}\n{body}\n")
        if view == "queues" and rows and not judged:
            parts.append("(no targets: the records hold none; give --config CONFIG_DIR to judge SL)\n")
    return "\n".join(parts)
