"""The compiled build: ROUTER_COMPILE=1 compiles the what-if's hot modules
with mypyc (scripts/build-compiled.sh; docs/WHATIF.md, "Speed").

Without ROUTER_COMPILE the package is pure Python, as pyproject.toml
describes it, and nothing here runs but `setup()`. With it, COMPILED are
compiled to C extensions beside their sources, and router/_compiled.py
records each source's SHA-256 so that router/__init__.py refuses a
checkout whose sources changed after they were compiled (an extension is
imported before its .py: an edit would otherwise do nothing).

Why these: they are where a simulated week spends its time outside the
engine's own handlers (router/core/sla.py's windows, index.py's agent
buckets, the strategies, the discrete simulator and the what-if world and
clock). Not compiled: the engine's handler mixins (mypyc's classes take one
base and traits, not the nine mixins of `Engine`); the records the engine
works on (state.py: interpreted code reads fields more slowly off a
compiled class than off a Python one); router/runtime/tally.py (the
compiled class lost the subscriber attribute the daemon reads).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from setuptools import setup

COMPILED = (
    "router/core/sla.py",
    "router/core/index.py",
    "router/core/strategy.py",
    "router/core/calendar.py",
    "router/core/classify.py",
    "router/core/patterns.py",
    "router/core/erlang.py",
    "router/sim/discrete.py",
    "router/whatif/world.py",
    "router/whatif/run.py",
)
ROOT = Path(__file__).resolve().parent
MANIFEST = ROOT / "router" / "_compiled.py"


def _manifest() -> str:
    lines = ['"""Written by setup.py (ROUTER_COMPILE=1): the sources compiled, by SHA-256."""', "", "SOURCES = {"]
    for path in COMPILED:
        digest = hashlib.sha256((ROOT / path).read_bytes()).hexdigest()
        lines.append(f"    {path!r}: {digest!r},")
    return "\n".join(lines + ["}", ""])


ext_modules = []
if os.environ.get("ROUTER_COMPILE") == "1":
    from mypyc.build import mypycify

    MANIFEST.write_text(_manifest(), encoding="utf-8")
    # (mypy options among the paths: the modules they import are read for
    # their types, not checked: they run interpreted, as they are)
    ext_modules = mypycify(["--follow-imports=silent", *COMPILED], opt_level="3")
setup(ext_modules=ext_modules)
