"""`router simulate --compare --jobs N`: seeds in forked processes give the
same comparison as one process (each seed's runs are independent). Run as
the real command in a subprocess: a test process has threads, and compare()
forks only a single-threaded one."""

from __future__ import annotations

import subprocess
import sys
import threading

from router.config import load_config
from router.whatif.compare import compare
from router.whatif.run import run_flat
from tests.test_cli import ROOT, SAMPLE, run

T0 = 1_795_395_600.0  # 2026-11-23 09:00 Shanghai


def _compare(jobs: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "router", "simulate", "--compare", SAMPLE, SAMPLE,
                           "--duration", "30m", "--calls-per-hour", "400", "--seeds", "3", "--jobs", str(jobs)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)


def test_seeds_in_worker_processes_give_the_same_comparison_as_in_one():
    one, two = _compare(1), _compare(2)
    assert one.returncode == 0 and two.returncode == 0, (one.stderr, two.stderr)
    assert two.stdout == one.stdout
    assert "general" in one.stdout and "SL" in one.stdout


def test_with_other_threads_the_seeds_run_here_with_the_same_result():
    table = load_config(SAMPLE)

    def runner(agents):
        return lambda seed: run_flat(table, start=T0, duration=1800.0, seed=seed, calls_per_hour=400.0,
                                     agents=agents)

    stop = threading.Event()
    helper = threading.Thread(target=stop.wait)
    helper.start()
    try:
        threaded = compare(runner(30), runner(24), [1, 2], jobs=2)
    finally:
        stop.set()
        helper.join()
    assert threaded == compare(runner(30), runner(24), [1, 2], jobs=1)
    # fewer agents: the runs differ, so the equality compared real figures
    assert any(rows["ASA"][4] > 0 for rows in threaded.values()), threaded


def test_jobs_is_checked(capsys):
    code, _, err = run(capsys, "simulate", SAMPLE, "--jobs", "2")
    assert code != 0 and "--jobs is for --compare" in err
    code, _, err = run(capsys, "simulate", "--compare", SAMPLE, SAMPLE, "--jobs", "0")
    assert code != 0 and "--jobs must be at least 1" in err


HELD = """
import signal, sys
from router.config import load_config
from router.process.ops import hold_signals
from router.whatif.compare import compare
from router.whatif.run import run_flat

table = load_config(sys.argv[1])
hold_signals()  # what a `router run` that stopped before its loop leaves behind in a process


def runner(seed):
    # Pool's terminate() ends its workers with SIGTERM: a worker that keeps the
    # parent's handler may never end, and the parent waits for it for ever.
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, signal.getsignal(signal.SIGTERM)
    return run_flat(table, start=%r, duration=600.0, seed=seed, calls_per_hour=400.0, agents=20)


result = compare(runner, runner, [1, 2], jobs=2)
print(sorted(result))
""" % T0


def test_workers_die_of_sigterm_even_if_the_process_holds_it():
    # Seen: a compare in a test process that an earlier in-process `router
    # run` had left holding SIGTERM hung in the pool's terminate().
    done = subprocess.run([sys.executable, "-c", HELD, SAMPLE], capture_output=True, text=True, timeout=300,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "general" in done.stdout
