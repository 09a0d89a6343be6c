"""deploy/systemd/router.service: hardened, non-root, reload on SIGHUP,
restart on failure; `systemd-analyze verify` finds nothing (where systemd
is installed)."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "deploy" / "systemd" / "router.service"
INSTALLED = "/opt/router/.venv/bin/router"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True, empty_lines_in_values=False)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def test_the_unit_runs_unprivileged_hardened_and_reloads_on_sighup():
    service = unit()["Service"]
    assert service["User"] == "router" and service["Group"] == "router"
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices", "RestrictNamespaces"):
        assert service[key] == "yes", key
    assert service["ProtectSystem"] == "strict"
    assert service["CapabilityBoundingSet"] == ""
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"].split() == ["1", "2"]  # bad config / flags: no loop
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["KillSignal"] == "SIGTERM"
    assert service["EnvironmentFile"] == "/etc/router/router.env"
    assert service["StateDirectory"] == "router"
    start = service["ExecStart"].split()
    assert start[:3] == [INSTALLED, "run", "/etc/router/config"]
    assert start[start.index("--state-file") + 1].startswith("/var/lib/router/")  # the StateDirectory
    assert "--log-format" in start and "SECRET" not in service["ExecStart"].upper()
    # The control socket lives in the RuntimeDirectory (PrivateTmp would hide
    # a /tmp socket from the admin's shell), group-readable for supervisors.
    control = start[start.index("--control") + 1]
    assert control.startswith(f"/run/{service['RuntimeDirectory']}/")
    assert service["RuntimeDirectoryMode"] == "0750"
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


def test_the_router_flags_in_the_unit_exist():
    from router.present.cli import build_parser

    start = unit()["Service"]["ExecStart"].replace("${ROUTER_AMI}", "pbx1=127.0.0.1:5038").split()
    args = build_parser().parse_args(start[1:])
    assert args.command == "run" and args.log_format == "json" and args.quiet
    assert args.control == "/run/router/control.sock"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_finds_nothing(tmp_path):
    # verify insists that the binaries exist: point them at this checkout's router.
    router = Path(sys.executable).with_name("router")
    assert router.exists()
    copy = tmp_path / "router.service"
    copy.write_text(UNIT.read_text(encoding="utf-8").replace(INSTALLED, str(router))
                    .replace("EnvironmentFile=/", "EnvironmentFile=-/"), encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""  # unknown keys are only warnings: none allowed
