"""bench.tcp with records on PostgreSQL: a very short run over loopback TCP
against a real server, and the calls it routed are in the database. No
timing is asserted: the figures come from `python -m bench.tcp`."""

from __future__ import annotations

from pathlib import Path

import psycopg

from bench.tcp import tcp_latency
from support.postgres import PASSWORD, USER


def _count(postgres, db: str, table: str) -> int:
    with psycopg.connect(host="127.0.0.1", port=postgres.port, user=USER, password=PASSWORD, dbname=db) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_short_bench_writes_its_calls_to_postgresql(postgres):
    url = postgres.create_database("bench_tcp")
    result = tcp_latency(20, 5, seconds=2.0, warmup=1.0, records=url, password=PASSWORD)
    assert result["latency"]["count"] > 0 and result["sim_errors"] == 0
    assert result["record_rows"] > 0
    # Written by the records process, not only handed to it: the rows are there.
    assert _count(postgres, "bench_tcp", "calls") > 0
    assert _count(postgres, "bench_tcp", "offers") > 0


def test_the_word_postgres_starts_a_throwaway_server_and_removes_it(monkeypatch):
    import bench.tcp as tcp

    started = []
    real = tcp.throwaway_postgres

    def spy():
        server, url, password = real()
        started.append((server, url))
        return server, url, password

    monkeypatch.setattr(tcp, "throwaway_postgres", spy)
    result = tcp.tcp_latency(20, 5, seconds=1.0, warmup=1.0, records="postgres")
    assert result["record_rows"] > 0
    ((server, url),) = started
    assert url.startswith("postgresql://") and not Path(server.dir).exists()
