"""A real PostgreSQL server for the tests (Debian's postgresql, installed by
scripts/test.sh): initdb into a temporary directory, pg_ctl start on a free
loopback port, password authentication for a `router` user.

PostgreSQL refuses to run as root; CI runs as root, so then the server runs
as the `postgres` user the Debian package creates (runuser).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from support.ports import free_port

USER = "router"
PASSWORD = "router-pw 密码"  # UTF-8 and a space: the password travels intact


def pg_bin(name: str) -> str:
    """A PostgreSQL server program (initdb, pg_ctl): Debian keeps them off PATH."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path is None:
        raise RuntimeError(f"PostgreSQL's {name} is missing: scripts/test.sh installs it "
                           "(apt-get install postgresql)")
    return on_path


class Postgres:
    """One throw-away server; `url(db)` names a database on it (no password
    in it: pass PASSWORD to open_store, as the router does)."""

    def __init__(self, fsync: bool = False) -> None:
        self.as_user = "postgres" if os.geteuid() == 0 else None
        # Not under pytest's tmp_path: that is private to root, and the
        # server may run as another user.
        self.dir = Path(tempfile.mkdtemp(prefix="router-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.fsync = fsync
        if self.as_user:
            entry = pwd.getpwnam(self.as_user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        pwfile = self.dir / "pw"
        pwfile.write_text(PASSWORD + "\n", encoding="utf-8")
        if self.as_user:
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        self._run(pg_bin("initdb"), "-D", str(self.data), "-U", USER, "--pwfile", str(pwfile),
                  "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8")
        pwfile.unlink()
        self.start()

    def _run(self, *argv: str) -> str:
        if self.as_user:
            argv = ("runuser", "-u", self.as_user, "--", *argv)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.dir / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stdout}{done.stderr}{tail}")
        return done.stdout

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
                   + ("" if self.fsync else " -c fsync=off -c synchronous_commit=off"))
        self._run(pg_bin("pg_ctl"), "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.dir / "log"),
                  "-o", options)

    def stop(self) -> None:
        self._run(pg_bin("pg_ctl"), "stop", "-w", "-t", "60", "-m", "fast", "-D", str(self.data))

    def create_database(self, name: str) -> str:
        """A new empty database; returns its records URL."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=USER, password=PASSWORD,
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, db: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{db}"

    def close(self) -> None:
        try:
            self.stop()
        except RuntimeError:
            pass  # already stopped (an outage test), or it died: the directory goes anyway
        shutil.rmtree(self.dir, ignore_errors=True)
