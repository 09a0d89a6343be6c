"""`router simulate CONFIG --replay URL --date DATE [--seed N] [--seeds N]`: a
recorded day through a candidate config, its per-queue SL, ASA and abandon
rate beside the recorded ones; with --seeds, means over the seeds with
their intervals (router/whatif/replay.py, replay_run.py, replay_seeds.py;
docs/WHATIF.md, "Replay a recorded day").

Exit codes: 0 done; 1 the config has errors or the records cannot be used
(missing database, no calls that day); 2 bad usage. A PostgreSQL password
comes from ROUTER_RECORDS_PASSWORD or --records-password-file.
"""

from __future__ import annotations

import sys

EXIT_OK, EXIT_FAILED = 0, 1


def simulate_replay(args, load, usage) -> int:
    from router.records.localtime import zone_of
    from router.records.store import RecordsError, read_password
    from router.whatif.records_db import RecordsInputError, open_records, parse_day
    from router.whatif.replay import load_day
    from router.whatif.replay_run import recorded, replay, report
    from router.whatif.replay_seeds import replay_seeds, summary
    from router.whatif.replay_seeds import report as seeds_report

    if not args.replay:
        raise usage("--date is for --replay URL: give the records to replay")
    if not args.date:
        raise usage("--replay needs --date DATE, the local date to replay (e.g. --date 2026-11-24)")
    if getattr(args, "records", None):
        raise usage("--replay reads records; --records would write the replay's own: give one of them")
    if (args.compare or args.traffic or args.staffing or args.csv or args.html or args.agents is not None
            or args.days is not None):
        raise usage("--replay takes CONFIG_DIR and --date (and --seed): the day's own calls and roster; "
                    "not --traffic, --compare, --staffing, --csv, --html or --agents")
    if args.config is None:
        raise usage("give CONFIG_DIR, the candidate config to replay the day through")
    if args.seeds is not None and args.seeds < 2:
        raise usage("--seeds must be at least 2 for confidence intervals (without it: one seed, --seed)")
    try:
        day = parse_day(args.date, "--date")
    except RecordsInputError as err:
        raise usage(str(err)) from None
    table = load(args.config)
    if table is None:
        return EXIT_FAILED
    try:
        engine = open_records(args.replay, read_password(getattr(args, "records_password_file", None)))
    except (RecordsInputError, RecordsError) as err:
        print(f"router simulate: {err}", file=sys.stderr)
        return EXIT_FAILED
    try:
        recorded_day = load_day(engine, day, zone_of(table))
        before = recorded(engine, recorded_day)
    except RecordsInputError as err:
        print(f"router simulate: {args.replay}: {err}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        engine.dispose()
    seeds = list(range(args.seed, args.seed + (args.seeds or 1)))
    which = f"seed {args.seed}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    print(f"replaying {day:%a %Y-%m-%d} from {args.replay}: {len(recorded_day.calls)} calls, "
          f"{len({a for a, _, _ in recorded_day.sessions})} agents on record, {which}", flush=True)
    if len(seeds) == 1:
        after, world = replay(table, recorded_day, args.seed)
    else:
        runs, world = replay_seeds(table, recorded_day, seeds)
    if world.skipped:
        print(f"note: {len(world.skipped)} agent(s) on record are not in {args.config}, left out: "
              + ", ".join(world.skipped[:10]) + (" ..." if len(world.skipped) > 10 else ""))
    if len(seeds) == 1:
        print(report(table, before, after))
    else:
        print(seeds_report(table, before, summary(runs), len(seeds)))
    return EXIT_OK
