"""`router simulate ... --traffic PROFILE --day DAY` and `router simulate
--compare CONFIG_A CONFIG_B`: the what-if commands (docs/WHATIF.md).

Called from router/present/cli.py with the parsed arguments and the CLI's own
helpers (config loading, time zone, --start parsing), so that messages and
exit codes are the CLI's.
"""

from __future__ import annotations

import os

import sys
from datetime import datetime, timedelta

from router.config.values import DAYS
from router.whatif.compare import compare, format_comparison
from router.whatif.profile_file import read_profile
from router.whatif.run import report, run_flat, run_profile
from router.whatif.staffing import csv_text, plan, table_text
from router.whatif.world import midnight
from router.process.files import write_text

EXIT_OK, EXIT_CONFIG = 0, 1
COMPARE_SEEDS = 5  # --compare's default --seeds


#: `--days` at most: four weeks, what a fit of a month reads.
MAX_DAYS = 28


def _days(text: str, count: int | None, start: datetime, usage) -> tuple:
    """(first date, number of days) for --day mon..sun (and --days N) or
    week, in the week of --start (default the week of Monday 2026-11-23)."""
    monday = start.date() - timedelta(days=start.weekday())
    if text == "week":
        if count is not None:
            raise usage("--days counts from --day mon..sun; --day week is --day mon --days 7")
        return monday, 7
    if text not in DAYS:
        raise usage(f"--day {text!r} must be one of {', '.join(DAYS)} or week")
    count = 1 if count is None else count
    if not 1 <= count <= MAX_DAYS:
        raise usage(f"--days {count}: give 1 to {MAX_DAYS} days")
    return monday + timedelta(days=DAYS.index(text)), count


def _profile(path: str, table):
    profile, errors = read_profile(path, table)
    for problem in errors:
        print(problem, file=sys.stderr)
    if profile is None:
        print(f"{path}: {len(errors)} error(s); traffic profile rejected", file=sys.stderr)
    return profile


def simulate_whatif(args, load, zone_of, parse_at, usage) -> int:
    """Dispatch of `router simulate` when --traffic, --compare or --replay is given."""
    if args.replay or args.date:
        from router.whatif.replay_cli import simulate_replay

        return simulate_replay(args, load, usage)
    if args.compare and args.config:
        raise usage("give either CONFIG_DIR or --compare CONFIG_A CONFIG_B, not both")
    if (args.staffing or args.csv or args.html) and (args.compare or not args.traffic):
        raise usage("--staffing, --csv and --html need --traffic PROFILE and no --compare")
    if args.enforcement != "config":
        raise usage("--enforcement off is for plain runs; to compare, give the config with it off as CONFIG_B")
    if args.traffic and args.agents is not None:
        raise usage("--agents is for flat traffic; with --traffic the profile's roster says who logs in")
    if args.days is not None and not args.traffic:
        raise usage("--days is for --traffic PROFILE (flat traffic runs --duration)")
    if args.records and args.compare:
        raise usage("--records puts one run on record: give CONFIG_DIR and --traffic, not --compare")
    if args.seeds is not None and not args.compare:
        raise usage("--seeds is for --compare and --replay (one run takes --seed)")
    if args.jobs is not None and not args.compare:
        raise usage("--jobs is for --compare (its seeds run at once)")
    if args.jobs is not None and args.jobs < 1:
        raise usage("--jobs must be at least 1")
    if args.seeds is not None and args.seeds < 2:
        raise usage("--seeds must be at least 2 for confidence intervals")
    records = None
    if args.records:
        from router.present.run_cli import _records_settings

        args.state_file = None  # a simulation keeps no agent state file
        records = _records_settings(args)
    tables = [load(path) for path in (args.compare or [args.config])]
    if None in tables:
        return EXIT_CONFIG
    tz = zone_of(tables[0])
    start = datetime.fromtimestamp(parse_at(args.start or "2026-11-23T09:00", tz), tz)
    profile = None
    if args.traffic:
        profile = _profile(args.traffic, tables[0])
        if profile is None or any(_profile(args.traffic, t) is None for t in tables[1:]):
            return EXIT_CONFIG
        if profile.timezone:
            from zoneinfo import ZoneInfo

            tz = ZoneInfo(profile.timezone)
        first, days = _days(args.day, args.days, start, usage)
        if (args.staffing or args.csv or args.html) and days != 1:
            raise usage("--staffing, --csv and --html plan one day: give --day mon..sun")

        def runner(table, records=None):
            return lambda seed: run_profile(table, profile, start=first, days=days, seed=seed, tz=tz,
                                            records=records)
        what = f"{args.traffic}, {first:%a %Y-%m-%d}" + (
            f" + {days - 1} day{'s' if days > 2 else ''}" if days > 1 else "")
    else:
        def runner(table, records=None):
            return lambda seed: run_flat(table, start=start.timestamp(), duration=args.duration, seed=seed,
                                         calls_per_hour=args.calls_per_hour, agents=args.agents)
        what = f"{args.calls_per_hour:g} calls/h for {args.duration:g}s from {start:%Y-%m-%d %H:%M}"
    if args.compare:
        seeds = list(range(args.seed, args.seed + (args.seeds or COMPARE_SEEDS)))
        print(f"comparing on {what}, seeds {seeds[0]}-{seeds[-1]}", flush=True)
        jobs = args.jobs or len(os.sched_getaffinity(0))
        result = compare(runner(tables[0]), runner(tables[1]), seeds, jobs=jobs)
        print(format_comparison(result, args.compare[0], args.compare[1], len(seeds)))
        return EXIT_OK
    print(f"simulating {what}, seed {args.seed}", flush=True)
    outcome = runner(tables[0], records)(args.seed)
    print(report(outcome))
    if args.staffing or args.csv or args.html:
        rows = plan(tables[0], profile, first.weekday(), midnight(first, tz), outcome)
        if args.staffing:
            print()
            print(f"staffing plan, {first:%a %Y-%m-%d}: need = Erlang C agents for the queue's target, "
                  "have = rostered and eligible, '<' = short")
            print(table_text(rows))
        if args.csv:
            write_text(args.csv, csv_text(rows), usage)
            print(f"staffing plan written to {args.csv} ({len(rows)} rows)")
        if args.html:
            from router.whatif.chart import render

            title = f"Staffing plan, {first:%a %Y-%m-%d} ({args.traffic}, seed {args.seed})"
            write_text(args.html, render(rows, title, profile.intervals, profile.interval), usage)
            print(f"staffing chart written to {args.html}")
    return EXIT_OK
