"""`--records URL` for `router run`: where the records go and their local
files, and the subscriber built from them.

The spool (writer.py) and the checkpoint of open calls (checkpoint.py) live
in one directory: `--records-spool DIR`, else beside the SQLite file
(`records.db.spool/`), else beside the state file (`records.spool/`). A
PostgreSQL URL with neither is refused: the spool is what makes a database
outage or a kill lose nothing, so it must be somewhere kept.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from router.core.table import RoutingTable


@dataclass(frozen=True)
class RecordsSettings:
    url: str
    password: str | None
    spool_dir: Path
    #: `--records-keep-days N`: prune rows older than N days, whatever the
    #: config says; None: the running config's `records.keep_days`
    keep_days: int | None = None
    #: prune at all (retention.py, once a day)? Not under `router simulate`,
    #: whose days may be long past, nor `router run --records-keep-days 0`
    #: (a cron job prunes)
    prune: bool = False


def records_settings(url: str | None, password_file: str | None, spool: str | None,
                     state_file: str | None, keep_days: int | None = None,
                     prune: bool = False) -> RecordsSettings | None:
    """The checked settings (RecordsError with the reason), None without --records."""
    from router.records.store import RecordsError, parse_url, read_password

    if not url:
        if spool:
            raise RecordsError("--records-spool needs --records URL")
        return None
    password = read_password(password_file)
    parsed = parse_url(url, password)
    if spool:
        spool_dir = Path(spool)
    elif parsed.get_backend_name() == "sqlite":
        spool_dir = Path(f"{parsed.database}.spool")
    elif state_file:
        spool_dir = Path(state_file).parent / "records.spool"
    else:
        raise RecordsError("--records postgresql://...: give --records-spool DIR (or --state-file, "
                           "to keep it beside that): rows wait there while the database is down")
    try:
        spool_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RecordsError(f"cannot make the records spool {spool_dir}: {err.strerror}") from None
    if not os.access(spool_dir, os.W_OK | os.X_OK):
        raise RecordsError(f"the records spool {spool_dir} is not writable")
    return RecordsSettings(url, password, spool_dir, keep_days, prune)


def open_records(settings: RecordsSettings, table_getter: Callable[[], RoutingTable], registry=None,
                 checkpoint: bool = True, db_process: bool = False):
    """The records subscriber (not started) for `settings`; without
    `checkpoint`, open calls are not kept across a restart (a simulation).
    `db_process`: the records (assembly, spool, checkpoint, database) run
    in a child process (router/records/recordsproc.py), as under `router
    run`, where routing shares the process; a simulation, which has no
    routing to protect, keeps them in its own process."""
    from router.records.assemble import RecordAssembler
    from router.records.checkpoint import Checkpoint
    from router.records.retention import Retention
    from router.records.store import open_store
    from router.records.subscriber import RecordsSubscriber
    from router.records.writer import RecordWriter

    if db_process:  # all of it in a child process (recordsproc.py), which runs this function again
        from router.records.recordsproc import RecordsProcess

        return RecordsProcess(settings, table_getter, registry=registry, checkpoint=checkpoint)

    def store():
        return open_store(settings.url, settings.password)
    retention = None
    if settings.prune:  # the flag wins over the config, whose value is read anew after each reload
        retention = Retention(settings.keep_days or (lambda: table_getter().records.keep_days))
    writer = RecordWriter(store, settings.spool_dir, registry=registry, upkeep=retention)
    journal = Checkpoint(settings.spool_dir / "open.journal") if checkpoint else None
    return RecordsSubscriber(RecordAssembler(table_getter), writer, journal, registry=registry)
