"""`router traffic fit --records URL --from DATE --to DATE [--config DIR]
--out PROFILE.yaml`: write the traffic profile measured from the call
records (router/whatif/fit.py; docs/WHATIF.md, "Fit a profile from records").

Exit codes: 0 written; 1 the records cannot be used (missing database, no
calls in the range) or the config has errors; 2 bad usage (dates, flags).
"""

from __future__ import annotations

import argparse
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
INTERVALS = {"15m": 900.0, "30m": 1800.0, "1h": 3600.0}


def add_parser(sub) -> None:
    from router.records.cli import add_records_flags

    traffic = sub.add_parser("traffic", help="traffic profiles: fit one from the call records")
    actions = traffic.add_subparsers(dest="traffic_command", required=True, metavar="ACTION")
    fit = actions.add_parser("fit", help="write the traffic profile measured from the call records")
    add_records_flags(fit, required=True)
    fit.add_argument("--from", dest="first", required=True, metavar="DATE", help="first local date, e.g. 2026-11-01")
    fit.add_argument("--to", dest="last", required=True, metavar="DATE", help="last local date (included)")
    fit.add_argument("--config", metavar="DIR",
                     help="the config the profile is for: its time zone, and roster agents not in it left out")
    fit.add_argument("--interval", choices=tuple(INTERVALS), default="30m", help="default 30m")
    fit.add_argument("--out", required=True, metavar="PROFILE.yaml", help="where to write the profile")
    fit.set_defaults(func=cmd_fit)


def _fail(message: str) -> int:
    print(f"router traffic: {message}", file=sys.stderr)
    return EXIT_FAILED


def cmd_fit(args: argparse.Namespace) -> int:
    from router.present.cli import UsageError, _load
    from router.records.store import RecordsError, read_password
    from router.whatif.fit import fit
    from router.whatif.profile_dump import dump
    from router.whatif.profile_file import read_profile
    from router.whatif.records_db import RecordsInputError, date_range, open_records

    try:
        first, last = date_range(args.first, args.last)
    except RecordsInputError as err:
        raise UsageError(str(err)) from None
    table = None
    if args.config:
        table = _load(args.config)
        if table is None:
            return EXIT_FAILED
    zone = None
    if table is not None:
        from router.records.localtime import zone_of

        zone = zone_of(table).key  # the zone the records' local dates are in
    try:
        engine = open_records(args.records, read_password(args.records_password_file))
    except (RecordsInputError, RecordsError) as err:
        return _fail(str(err))
    try:
        profile, notes = fit(engine, first, last, interval=INTERVALS[args.interval], table=table, timezone=zone)
    except RecordsInputError as err:
        return _fail(f"{args.records}: {err}")
    finally:
        engine.dispose()
    text = dump(profile)
    try:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as err:
        return _fail(f"cannot write {args.out}: {err.strerror or err}")
    _, errors = read_profile(args.out, table)
    for problem in errors:  # the fit must write what the loader reads; say so loudly if not
        print(problem, file=sys.stderr)
    if errors:
        return _fail(f"{args.out}: the written profile does not read back ({len(errors)} error(s))")
    for note in notes:
        print(f"note: {note}")
    week = sum(profile.offered(w) for w in range(7))
    print(f"traffic profile written to {args.out}: {len(profile.calls)} call types, {week:.0f} calls "
          f"in a mean week, {len(profile.roster or ())} roster entries, from records {first} to {last}")
    return EXIT_OK
