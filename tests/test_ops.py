"""`router reload` and the pid file (router/process/ops.py); the exit codes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from router.present.cli import main
from router.process.ops import read_pid, remove_pid_file, write_pid_file


def test_pid_file_round_trip_and_only_our_own_is_removed(tmp_path):
    path = tmp_path / "router.pid"
    write_pid_file(str(path))
    assert read_pid(str(path)) == os.getpid()
    path.write_text("999999\n")  # a newer router took it over
    remove_pid_file(str(path))
    assert path.exists()
    path.write_text(f"{os.getpid()}\n")
    remove_pid_file(str(path))
    assert not path.exists()


def test_router_reload_signals_the_process_in_the_pid_file(tmp_path, capsys):
    got = []
    previous = signal.signal(signal.SIGHUP, lambda sig, frame: got.append(sig))
    try:
        write_pid_file(str(tmp_path / "router.pid"))
        assert main(["reload", "config", "--pid-file", str(tmp_path / "router.pid")]) == 0
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert got == [signal.SIGHUP]
    assert f"SIGHUP sent to process {os.getpid()}" in capsys.readouterr().out


def test_router_reload_with_a_bad_config_sends_nothing(tmp_path, capsys):
    got = []
    previous = signal.signal(signal.SIGHUP, lambda sig, frame: got.append(sig))
    (tmp_path / "bad.yaml").write_text("skills: [\n", encoding="utf-8")
    try:
        write_pid_file(str(tmp_path / "router.pid"))
        assert main(["reload", str(tmp_path / "bad.yaml"), "--pid-file", str(tmp_path / "router.pid")]) == 1
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert got == []
    assert "configuration rejected" in capsys.readouterr().err


def test_router_reload_without_a_running_router_exits_3(tmp_path, capsys):
    assert main(["reload", "--pid-file", str(tmp_path / "missing.pid")]) == 3
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "stale.pid").write_text(f"{dead.pid}\n")
    assert main(["reload", "--pid-file", str(tmp_path / "stale.pid")]) == 3
    (tmp_path / "junk.pid").write_text("not a pid\n")
    assert main(["reload", "--pid-file", str(tmp_path / "junk.pid")]) == 3
    err = capsys.readouterr().err
    assert "cannot read" in err and f"no process {dead.pid}" in err and "does not hold a process id" in err


def test_python_dash_m_router_is_the_router_command():
    result = subprocess.run([sys.executable, "-m", "router", "--version"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and result.stdout.startswith("router ")
