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
# Debian packages the tests use, installed once (apt-get update only if any
# is missing):
# - prometheus (promtool, prometheus) for tests/test_deploy_prometheus.py and
#   tests/test_e2e_prometheus.py, which start their own server on a free port.
#   Only the binaries are needed: a temporary policy-rc.d keeps the package
#   from starting its service.
# - systemd (systemd-analyze) for tests/test_deploy_systemd.py, which skips
#   that one check where systemd cannot be installed (e.g. without root).
need=()
command -v promtool >/dev/null && command -v prometheus >/dev/null || need+=(prometheus)
command -v systemd-analyze >/dev/null || need+=(systemd)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "test: missing ${need[*]} and cannot apt-get them; their tests will fail or skip" >&2
    else
        echo "test: installing Debian packages: ${need[*]}" >&2
        own_policy=""
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
        fi
        apt-get update -qq || echo "test: apt-get update failed; trying the install anyway" >&2
        for pkg in "${need[@]}"; do
            # One at a time: a package that cannot be installed here (systemd
            # in some containers) only costs the tests that need it.
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null \
                || echo "test: could not install $pkg; the tests that need it will fail or skip" >&2
        done
        if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
    fi
fi
exec .venv/bin/python -m pytest -q "$@"
