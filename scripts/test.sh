#!/usr/bin/env bash
# Set up and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/router check config
# Lint the Asterisk dialplan (deploy/asterisk/) before the tests. asterisklint
# exits 1 on any finding (errors and warnings alike), which stops this script;
# tests/test_deploy_asterisk.py runs it again from pytest. Pinned because a
# new version may add checks.
.venv/bin/python -m pip install -q --disable-pip-version-check asterisklint==0.4.3
.venv/bin/asterisklint dialplan-check deploy/asterisk/extensions.conf
echo "asterisklint: deploy/asterisk/extensions.conf: no findings"
# systemd-analyze, for tests/test_deploy_systemd.py (which skips that one
# check where systemd cannot be installed, e.g. without root).
if ! command -v systemd-analyze >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd >/dev/null) \
        || echo "test.sh: could not install systemd; systemd-analyze verify will be skipped" >&2
fi
exec .venv/bin/python -m pytest -q "$@"
