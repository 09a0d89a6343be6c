"""The records writer's metrics, read at scrape time from its counters
(the writer's threads own them; a scrape only reads numbers)."""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector


class RecordsCollector(Collector):
    """router_records_* of one RecordWriter."""

    def __init__(self, writer) -> None:
        self.writer = writer

    def collect(self):
        w = self.writer
        backlog = GaugeMetricFamily("router_records_backlog_rows", "Record rows put but not yet in the "
                                    "database (queued or in the spool)")
        backlog.add_metric([], w.backlog())
        spool = GaugeMetricFamily("router_records_spool_bytes", "Size of the records spool on disk")
        spool.add_metric([], w.spool.bytes())
        written = CounterMetricFamily("router_records_written", "Record rows committed to the database "
                                      "(rows already there, ignored, included)", labels=["table"])
        for table, count in w.written.items():
            written.add_metric([table], count)
        failures = CounterMetricFamily("router_records_write_failures", "Database writes (or spool writes) "
                                       "that failed and are retried")
        failures.add_metric([], w.failures)
        dropped = CounterMetricFamily("router_records_dropped", "Record rows lost: spool over its bound, "
                                      "writer queue full, or rows the database refused")
        dropped.add_metric([], w.dropped)
        success = GaugeMetricFamily("router_records_last_success_timestamp_seconds", "When rows were last "
                                    "committed to the database (0: not yet)")
        success.add_metric([], w.last_success or 0.0)
        restarts = CounterMetricFamily("router_records_db_process_restarts", "Records processes (router/records/"
                                       "recordsproc.py) started again after one died")
        restarts.add_metric([], getattr(w, "process_restarts", 0))
        yield from (backlog, spool, written, failures, dropped, success, restarts)
