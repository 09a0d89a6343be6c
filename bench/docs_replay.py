"""The README's replay example (bench/docs.py, section "replay-example"):
simulated days put on record with `router simulate --traffic --days
--records`, then one of them replayed through the same config with
`--seeds`, both run afresh through the CLI's own `main` into a temporary
SQLite file whose path the text shows as /tmp/days.db."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOWN = "/tmp/days.db"
RECORD = ("--traffic", "examples/traffic.yaml", "--day", "mon", "--days", "2", "--records")
REPLAY = ("--date", "2026-11-24", "--seeds", "5")


def _run(*argv: str) -> str:
    from router.present.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    if code != 0:
        raise RuntimeError(f"`router {' '.join(argv)}` exited {code}")
    return out.getvalue()


def replay_example() -> str:
    """Commands as an admin types them and what they print (the simulated
    run's per-queue table left out)."""
    config = str(ROOT / "config")
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(ROOT):
        url = f"sqlite:{Path(tmp) / 'days.db'}"
        recorded = _run("simulate", config, *RECORD, url).replace(url, f"sqlite:{SHOWN}")
        replayed = _run("simulate", config, "--replay", url, *REPLAY).replace(url, f"sqlite:{SHOWN}")
    head = recorded.splitlines()[:2]
    lines = [f"$ router simulate config {' '.join(RECORD)} sqlite:{SHOWN}", *head, "...",
             f"$ router simulate config --replay sqlite:{SHOWN} {' '.join(REPLAY)}", *replayed.splitlines()]
    return "\n".join("    " + line for line in lines) + "\n"
