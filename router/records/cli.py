"""`router records migrate|prune`: the records database's upkeep.

    router records migrate --records URL
    router records prune --records URL [--keep-days N | --config DIR]

How many days prune keeps: --keep-days N if given, else the `records:
keep_days:` of the config at --config DIR (the one `router run` routes
by, so a cron job and the running router agree), else KEEP_DAYS (400).

The password (PostgreSQL) comes from ROUTER_RECORDS_PASSWORD or
--records-password-file, never from a flag.
"""

from __future__ import annotations

import argparse
import sys
import time

from router.core.table import KEEP_DAYS  # the running router's default too

EXIT_OK, EXIT_FAILED = 0, 1


def add_records_flags(parser: argparse.ArgumentParser, required: bool) -> None:
    """--records URL and --records-password-file (also for `router run`)."""
    parser.add_argument("--records", metavar="URL", required=required,
                        help="records database: sqlite:PATH or postgresql://USER@HOST[:PORT]/DB "
                             "(password from ROUTER_RECORDS_PASSWORD)")
    parser.add_argument("--records-password-file", metavar="PATH",
                        help="read the records database password from this file")


def keep_days(text: str) -> int:
    """argparse type of --keep-days and `router run --records-keep-days`."""
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if days < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: keep at least 1 day")
    return days


def add_parser(sub) -> None:
    rec = sub.add_parser("records", help="the call and agent records database: migrate, prune")
    actions = rec.add_subparsers(dest="records_command", required=True, metavar="ACTION")
    mig = actions.add_parser("migrate", help="create or upgrade the records schema to this router's")
    add_records_flags(mig, required=True)
    mig.set_defaults(func=cmd_migrate)
    prune = actions.add_parser("prune", help="delete records older than --keep-days (or the config's)")
    add_records_flags(prune, required=True)
    prune.add_argument("--keep-days", type=keep_days, metavar="N",
                       help="keep this many days of records (default: --config's records.keep_days, "
                            f"else {KEEP_DAYS})")
    prune.add_argument("--config", metavar="CONFIG_DIR",
                       help="take the days to keep from this routing config's records.keep_days")
    prune.set_defaults(func=cmd_prune)


def _failed(args, err: Exception) -> int:
    from router.records.store import RecordsError

    if isinstance(err, RecordsError):
        print(f"router records: {err}", file=sys.stderr)
    else:  # the database's own message: unreachable, login refused, ...
        text = str(err).strip().splitlines()
        print(f"router records: cannot use {args.records}: {type(err).__name__}: {text[0] if text else ''}",
              file=sys.stderr)
    return EXIT_FAILED


def cmd_migrate(args: argparse.Namespace) -> int:
    from router.records.migrate import migrate
    from router.records.store import make_engine, parse_url, read_password

    try:
        engine = make_engine(parse_url(args.records, read_password(args.records_password_file)))
        try:
            before, after = migrate(engine)
        finally:
            engine.dispose()
    except Exception as err:  # noqa: BLE001 (reported, exit 1)
        return _failed(args, err)
    if before == after:
        print(f"router records: {args.records} is at schema revision {after}, this router's newest: nothing to do")
    else:
        print(f"router records: {args.records} migrated from schema revision {before or '(empty)'} to {after}")
    return EXIT_OK


def days_to_keep(args: argparse.Namespace) -> int | None:
    """--keep-days, else --config's records.keep_days, else KEEP_DAYS; None
    when the config has errors (printed, as `router check` does)."""
    if args.keep_days is not None:
        return args.keep_days
    if not args.config:
        return KEEP_DAYS
    from router.present.cli import _load

    table = _load(args.config)
    return None if table is None else table.records.keep_days


def cmd_prune(args: argparse.Namespace) -> int:
    from router.records.store import open_store, read_password

    days = days_to_keep(args)
    if days is None:
        print("router records: nothing pruned: the config has errors, so its records.keep_days is unknown",
              file=sys.stderr)
        return EXIT_FAILED
    before = time.time() - days * 86400
    try:
        store = open_store(args.records, read_password(args.records_password_file))
        try:
            deleted = store.prune(before)
        finally:
            store.close()
    except Exception as err:  # noqa: BLE001 (reported, exit 1)
        return _failed(args, err)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(before))
    print(f"router records: deleted {deleted} rows older than {days} days (before {when})")
    return EXIT_OK
