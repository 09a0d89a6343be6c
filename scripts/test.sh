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
# Debian packages the tests use (scripts/apt.sh waits for the dpkg lock and
# stops here, loudly, if a needed one cannot be installed):
# - prometheus (promtool, prometheus) for tests/test_deploy_prometheus.py and
#   tests/test_e2e_prometheus.py, which start their own server on a free port.
# - systemd (systemd-analyze) for tests/test_deploy_systemd.py, which skips
#   that one check where systemd cannot be installed (some containers).
# - chromium for tests/test_whatif_chart.py, which opens the staffing chart
#   (`router simulate --html`) in a real headless browser.
# - postgresql for the records tests (tests/test_records_*.py): the test
#   support (tests/support/postgres.py) runs its own server on a free port.
. scripts/apt.sh
command -v promtool >/dev/null && command -v prometheus >/dev/null \
    || apt_need "the Prometheus tests" prometheus
command -v systemd-analyze >/dev/null || apt_want "the systemd unit check" systemd
command -v chromium >/dev/null || apt_need "the staffing chart test" chromium
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_need "the records tests (a real PostgreSQL)" postgresql
# - the runtime libraries of the real Asterisk 22 in ../shared/asterisk, for
#   tests/test_asterisk_*.py (tests/support/asterisk.py; they fail, not skip,
#   without them).
asterisk_libs=$(for p in libedit2 libjansson4 libxml2 libxslt1.1 libsqlite3-0 libssl3 libuuid1; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"; done)
[ -z "$asterisk_libs" ] || apt_need "the real-Asterisk tests" $asterisk_libs
# - Asterisk's own English prompts (VoiceMail() hangs up without them), for
#   tests/test_asterisk_fallback.py.
#   The -gsm package holds them in en_US_f_Allison; asterisk-core-sounds-en
#   links sounds/en to it (update-alternatives), where Asterisk looks.
[ -e /usr/share/asterisk/sounds/en/vm-theperson.gsm ] \
    || apt_need "the real-Asterisk voicemail tests" asterisk-core-sounds-en asterisk-core-sounds-en-gsm
exec .venv/bin/python -m pytest -q "$@"
