"""A process that puts records and is SIGKILLed by tests/test_records_writer.py.

    python records_child.py SPOOL_DIR STORE_URL CALLS_PER_SECOND

STORE_URL "none" makes the database unusable (every open fails), so that
only the spool can save the rows. After each call's rows are put it prints
`CALL_ID PUT_TIME` (flushed): the test's log of every call it finished.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from router.records.store import open_store  # noqa: E402
from router.records.writer import RecordWriter  # noqa: E402
from test_records_store import call_rows  # noqa: E402


def main() -> None:
    spool, url, rate = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])

    def factory():
        if url == "none":
            raise ConnectionError("the database is down (this test's child)")
        return open_store(url)

    writer = RecordWriter(factory, spool, max_backoff=0.5)
    writer.start()
    i = 0
    while True:
        writer.put(call_rows(i, time.time()))
        print(f"call-{i} {time.time():.6f}", flush=True)
        i += 1
        time.sleep(1 / rate)


if __name__ == "__main__":
    main()
