"""The records database in a child process: the SQLAlchemy work (building
the inserts, the driver, SQLite's own CPU) off the router's process, so it
never holds the GIL the event loop needs.

    writer = RecordWriter(lambda: StoreProcess(url, password), spool_dir)

StoreProcess stands for a Store (router.records.store) on the writer's
database thread: `write_dicts` sends the rows to the child through a pipe
and waits for its answer (the wait releases the GIL); the spool, its cursor
and the retries stay in the writer, so a row is on disk before the child
sees it and a child that dies loses nothing: its transaction is not
committed, the spool's cursor does not move, the writer retries.

Started with the spawn method (a fork of a process with threads and an
event loop is not safe); the password goes through the pipe, never the
command line. A child that dies (killed, out of memory) is started again by
the next write and counted (`restarts`, router_records_db_process_restarts);
the failed write shows as a write failure like any database error. The
child ends when the router's process does (the pipe closes), even on a
SIGKILL.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
from collections.abc import Mapping, Sequence

from sqlalchemy import exc as sa_exc

from router.records.store import RecordsError

log = logging.getLogger("router.records")

#: Seconds the child may take to open (and migrate) the database.
START_TIMEOUT = 60.0


def _serve(conn) -> None:
    """The child: open the store, then one transaction per request."""
    from router.records.store import open_store

    url, password = conn.recv()
    try:
        store = open_store(url, password)
    except Exception as err:  # noqa: BLE001 (told to the parent, which retries)
        conn.send(("other", f"{type(err).__name__}: {err}"))
        return
    conn.send(("ok", 0))
    try:
        while True:
            try:
                request = conn.recv()
            except EOFError:  # the router's process is gone
                return
            if request is None:
                return
            try:
                if isinstance(request, tuple):  # ("prune", before): retention.Retention
                    conn.send(("ok", store.prune(request[1])))
                else:
                    conn.send(("ok", store.write_dicts(request)))
            except (sa_exc.IntegrityError, sa_exc.DataError) as err:
                kind = "integrity" if isinstance(err, sa_exc.IntegrityError) else "data"
                conn.send((kind, str(err).strip().splitlines()[0] if str(err).strip() else kind))
            except Exception as err:  # noqa: BLE001
                conn.send(("other", f"{type(err).__name__}: {err}"))
    finally:
        store.close()


class StoreProcess:
    """A Store whose writes run in a child process (see the module doc)."""

    restarts = 0  # children started after one died, this process's total (for the metrics)

    def __init__(self, url: str, password: str | None = None) -> None:
        self.url, self.password = url, password
        self._proc = None
        self._conn = None
        self._start()

    def _start(self) -> None:
        ctx = mp.get_context("spawn")
        here, there = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(there,), name="router-records-db", daemon=True)
        proc.start()
        there.close()
        self._proc, self._conn = proc, here
        try:
            here.send((self.url, self.password))
            if not here.poll(START_TIMEOUT):
                raise RecordsError(f"the records database process did not open {self.url} "
                                   f"within {START_TIMEOUT:.0f}s")
            self._answer()
        except BaseException:
            self.close()
            raise

    def _answer(self):
        try:
            kind, value = self._conn.recv()
        except (EOFError, OSError):
            code = self._proc.exitcode if self._proc is not None else None
            raise RecordsError(f"the records database process died (exit code {code}); "
                               "it is started again for the next write") from None
        if kind == "ok":
            return value
        if kind == "integrity":
            raise sa_exc.IntegrityError(value, None, Exception(value))
        if kind == "data":
            raise sa_exc.DataError(value, None, Exception(value))
        raise RecordsError(value)

    def write_dicts(self, by_table: Mapping[str, Sequence[dict]]) -> int:
        """Store.write_dicts, in the child (started again if it died)."""
        return self._ask({table: list(values) for table, values in by_table.items()})

    def prune(self, before: float) -> int:
        """Store.prune, in the child (router/records/retention.py calls it
        on the writer's database thread)."""
        return self._ask(("prune", before))

    def _ask(self, request):
        if self._proc is None or not self._proc.is_alive():
            self.close()
            StoreProcess.restarts += 1
            log.warning("records: starting the records database process again")
            self._start()
        try:
            self._conn.send(request)
        except OSError:
            pass  # it died: _answer says so
        return self._answer()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def close(self) -> None:
        """Stop the child (it finishes the write in hand first)."""
        conn, proc = self._conn, self._proc
        self._conn = self._proc = None
        if conn is not None:
            try:
                conn.send(None)
            except OSError:
                pass
            conn.close()
        if proc is not None:
            proc.join(5.0)
            if proc.is_alive():
                proc.kill()
                proc.join(1.0)
