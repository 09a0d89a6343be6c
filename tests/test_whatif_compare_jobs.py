"""`router simulate --compare --jobs N`: seeds in forked processes give the
same comparison as one process (each seed's runs are independent)."""

from __future__ import annotations

from router.config import load_config
from router.whatif.compare import compare
from router.whatif.run import run_flat
from tests.test_cli import SAMPLE, run

T0 = 1_795_395_600.0  # 2026-11-23 09:00 Shanghai


def _runner(table, agents):
    return lambda seed: run_flat(table, start=T0, duration=1800.0, seed=seed, calls_per_hour=400.0, agents=agents)


def test_seeds_in_worker_processes_give_the_same_comparison_as_in_one():
    table = load_config(SAMPLE)
    seen: list[str] = []
    serial = compare(_runner(table, 30), _runner(table, 24), [1, 2, 3], jobs=1)
    forked = compare(_runner(table, 30), _runner(table, 24), [1, 2, 3], seen.append, jobs=2)
    assert forked == serial
    assert seen == ["seed 1: done", "seed 2: done", "seed 3: done"]  # in seed order
    # fewer agents: the runs differ, so the equality above compared real figures
    assert any(rows["ASA"][4] > 0 for rows in serial.values()), serial


def test_jobs_is_checked(capsys):
    code, _, err = run(capsys, "simulate", SAMPLE, "--jobs", "2")
    assert code != 0 and "--jobs is for --compare" in err
    code, _, err = run(capsys, "simulate", "--compare", SAMPLE, SAMPLE, "--jobs", "0")
    assert code != 0 and "--jobs must be at least 1" in err
