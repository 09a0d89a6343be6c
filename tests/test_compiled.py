"""The compiled build (setup.py, ROUTER_COMPILE=1; scripts/build-compiled.sh)
is the same router: built for real with mypyc in a copy of this tree, it
imports its compiled modules, gives the very same facts at the very same
moments as pure Python for a simulated day of the sample profile, passes
the engine's, the simulator's and the what-if's tests, and refuses to run
once a compiled module's source has changed.

The copies are made from this tree, so that a checkout compiled in place
(its own .so files) is still compared with pure Python.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP = shutil.ignore_patterns(".venv", ".git", "*.so", "_compiled.py", "build", ".hypothesis", "__pycache__",
                              ".pytest_cache", "*.egg-info")
#: The tests run again on the compiled tree: those of the modules it compiles.
SUITES = ["tests/test_core_*.py", "tests/test_sim_*.py", "tests/test_whatif_*.py", "tests/test_subscribers.py",
          "tests/test_state.py", "tests/test_hostile_input.py", "tests/test_bench_whatif.py"]
#: A day of the sample profile, every fact with its moment, hashed.
DIGEST = """
import hashlib, sys
from datetime import date
from zoneinfo import ZoneInfo
from router.config import load_config
from router.whatif import run
from router.whatif.profile_file import read_profile

table = load_config("config")
profile, errors = read_profile("examples/traffic.yaml", table)
assert not errors, errors
h, n = hashlib.sha256(), 0

class Seen(run.Simulation):
    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.subscribe(self.seen)

    def seen(self, fact, now):
        global n
        n += 1
        h.update(f"{now!r} {fact!r}".encode())

out = run.run_profile(table, profile, start=date(2026, 11, 23), days=1, seed=5, tz=ZoneInfo("Asia/Shanghai"),
                      simulation=Seen)
h.update(run.report(out).encode())
import router.core.sla as sla
print(n, h.hexdigest(), sla.__file__.endswith(".so"))
"""


def _compiled_list(setup: Path) -> tuple[str, ...]:
    """setup.py's COMPILED (read, not imported: importing it runs setup())."""
    for node in ast.parse(setup.read_text()).body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["COMPILED"]:
            return ast.literal_eval(node.value)
    raise AssertionError("no COMPILED in setup.py")


def _python(tree: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("ROUTER_COMPILE", None)
    return subprocess.run([sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """(a pure copy of this tree, a compiled one)."""
    base = tmp_path_factory.mktemp("compiled")
    pure, compiled = base / "pure", base / "compiled"
    shutil.copytree(ROOT, pure, ignore=SKIP)
    shutil.copytree(ROOT, compiled, ignore=SKIP)
    env = {**os.environ, "ROUTER_COMPILE": "1"}
    built = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=compiled, env=env,
                           capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    return pure, compiled


def test_every_module_setup_compiles_is_imported_compiled(trees):
    _, compiled = trees
    COMPILED = _compiled_list(compiled / "setup.py")
    names = [p[:-3].replace("/", ".") for p in COMPILED]
    code = "import importlib, sys\n" + "".join(
        f"print(importlib.import_module({n!r}).__file__)\n" for n in names)
    r = _python(compiled, "-c", code)
    assert r.returncode == 0, r.stderr
    files = r.stdout.split()
    assert len(files) == len(names) >= 10
    assert all(f.endswith(".so") and f.startswith(str(compiled)) for f in files), files


def test_a_simulated_day_gives_the_very_same_facts_compiled_and_pure(trees):
    pure, compiled = trees
    a, b = _python(pure, "-c", DIGEST), _python(compiled, "-c", DIGEST)
    assert a.returncode == 0, a.stderr[-3000:]
    assert b.returncode == 0, b.stderr[-3000:]
    facts_a, digest_a, so_a = a.stdout.split()
    facts_b, digest_b, so_b = b.stdout.split()
    assert (so_a, so_b) == ("False", "True")
    assert int(facts_a) > 20_000  # a day of the sample centre: every state change, every outcome
    assert (facts_b, digest_b) == (facts_a, digest_a)


def test_the_engine_simulator_and_whatif_tests_pass_compiled(trees):
    _, compiled = trees
    files = sorted(str(p.relative_to(compiled)) for pattern in SUITES for p in compiled.glob(pattern))
    files = [f for f in files if f != "tests/test_whatif_chart.py"]  # (the browser: not the compiled code)
    assert len(files) > 30
    r = _python(compiled, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files, timeout=1200)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert " passed" in r.stdout.splitlines()[-1] and "failed" not in r.stdout.splitlines()[-1]


def test_a_compiled_tree_whose_source_changed_refuses_to_import(trees, tmp_path):
    _, compiled = trees
    stale = tmp_path / "stale"
    shutil.copytree(compiled, stale, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", ".hypothesis"))
    (stale / "router/core/sla.py").write_text((stale / "router/core/sla.py").read_text() + "\n# edited\n")
    r = _python(stale, "-c", "import router")
    assert r.returncode != 0
    assert "compiled router modules older than their sources: router/core/sla.py" in r.stderr
