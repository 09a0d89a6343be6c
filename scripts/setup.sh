#!/usr/bin/env bash
# Create .venv (once) and install the router with its test dependencies.
# Safe to run again: pip only installs what is missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/apt.sh
PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null; then
    apt_need "the router" python3 python3-venv python3-pip
fi
# The MQTT tests start a real mosquitto broker (Debian's package).
if ! { [ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null; } || ! command -v mosquitto_passwd >/dev/null; then
    apt_need "the MQTT tests (a real broker)" mosquitto
fi
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv 2>/dev/null || {
        echo "setup: python3 -m venv failed; installing python3-venv" >&2
        apt_need "the virtual environment" python3-venv
        rm -rf .venv && "$PY" -m venv .venv
    }
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
# pip and setuptools are chatty (build warnings); keep it in a log, show it on failure.
if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' > .venv/pip.log 2>&1; then
    cat .venv/pip.log >&2
    echo "setup: pip install failed (log above, also in .venv/pip.log)" >&2
    exit 1
fi
