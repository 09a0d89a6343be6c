#!/usr/bin/env bash
# Set up, check the sample config, and route a simulated contact centre.
# Extra arguments go to `router run` (e.g. --duration 8h --speed 60 --quiet).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/router check config
exec .venv/bin/router run config --simulate "$@"
