"""The config's `records:` block (router/config/sections.py read_records):
how many days of call and agent records are kept. Strict like every
section: unknown keys, wrong shapes and days below 1 are errors with the
file, line, column and key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.config import check_config, load_config
from router.core.table import KEEP_DAYS, RecordsPolicy
from tests.test_config_errors import GOOD

REPO = Path(__file__).resolve().parent.parent
AT = "records.keep_days"
RANGE = "a whole number of days from 1 to 36500"
NEVER = "keep at least 1 day; to never prune, run the router with --records-keep-days 0 (e.g. when a cron job prunes)"


def check(tmp_path: Path, block: str):
    path = tmp_path / "all.yaml"
    path.write_text(GOOD + block, encoding="utf-8")
    return path, check_config(path)


def test_the_sample_config_keeps_400_days():
    assert load_config(REPO / "config").records == RecordsPolicy(keep_days=400)


@pytest.mark.parametrize("block, days", [("", KEEP_DAYS), ("records:\n", KEEP_DAYS),
                                         ("records:\n  keep_days: 30\n", 30),
                                         ("records: {keep_days: 1}\n", 1),
                                         ("records:\n  keep_days: 36500\n", 36500)])
def test_keep_days_compiles_into_the_table(tmp_path, block, days):
    _, result = check(tmp_path, block)
    assert result.errors == [] and result.table.records.keep_days == days


@pytest.mark.parametrize("block, where, message", [
    ("records:\n  keep_days: 0\n", "16:14", f"{AT}: '0': {NEVER}"),
    ("records:\n  keep_days: never\n", "16:14", f"{AT}: 'never': {NEVER}"),
    ("records:\n  keep_days: -5\n", "16:14", f"{AT}: '-5' is out of range; write a whole number from 1 to 36500"),
    ("records:\n  keep_days: 99999\n", "16:14",
     f"{AT}: '99999' is out of range; write a whole number from 1 to 36500"),
    ("records:\n  keep_days: 12.5\n", "16:14", f"{AT}: '12.5' is not a whole number; write a whole number "
                                              "from 1 to 36500"),
    ("records:\n  keep_days: 400d\n", "16:14", f"{AT}: '400d' is not a whole number; write a whole number "
                                              "from 1 to 36500"),
    ("records:\n  keep_days: [400]\n", "16:14", f"{AT}: expected {RANGE}, got a list"),
    ("records:\n  keep_days: {days: 400}\n", "16:14", f"{AT}: expected {RANGE}, got a mapping"),
    ("records:\n  keep_days:\n", "16:13", f"{AT}: no value given; expected {RANGE}"),
    ("records:\n  keep_day: 30\n", "16:3", "records.keep_day: unknown key 'keep_day'; did you mean 'keep_days'?"),
    ("records:\n  retention: 30\n", "16:3", "records.retention: unknown key 'retention'; expected one of: keep_days"),
    ("records: 400\n", "15:10", "records: expected a mapping (keep_days:), got '400'"),
    ("records:\n  - keep_days: 400\n", "16:3", "records: expected a mapping (keep_days:), got a list"),
    ("recrods:\n  keep_days: 400\n", "15:1", "recrods: unknown section 'recrods'; did you mean 'records'?"),
])
def test_a_wrong_records_block_is_one_exact_error(tmp_path, block, where, message):
    path, result = check(tmp_path, block)
    assert [str(p) for p in result.errors] == [f"{path}:{where}: {message}"]
    assert result.table is None


def test_records_in_its_own_file_and_not_twice(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text("records:\n  keep_days: 90\n", encoding="utf-8")
    assert check_config(tmp_path).table.records.keep_days == 90
    (tmp_path / "c.yaml").write_text("records:\n  keep_days: 30\n", encoding="utf-8")
    assert [str(p) for p in check_config(tmp_path).errors] == [
        f"{tmp_path}/c.yaml:1:1: records: section 'records' is already defined in b.yaml:1"]
