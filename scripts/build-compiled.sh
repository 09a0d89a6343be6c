#!/usr/bin/env bash
# Compile the what-if's hot modules in place with mypyc (setup.py lists them
# and says why); `--clean` removes them again (pure Python). The router runs
# the same either way, the compiled one faster: docs/WHATIF.md, "Speed".
# Needs .venv (scripts/setup.sh), gcc and the Python headers.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/setup.sh
clean() {
    find router -name '*.so' -delete
    rm -f ./*__mypyc*.so router/_compiled.py
    rm -rf build
}
clean
if [ "${1:-}" = "--clean" ]; then
    echo "build-compiled: removed the compiled modules; the router is pure Python"
    exit 0
fi
# The compiler (pyproject.toml's `compile` extra: mypy, pinned).
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[compile]' > build-compiled.log 2>&1 \
    || { cat build-compiled.log >&2; echo "build-compiled: could not install the compiler (mypy)" >&2; exit 1; }
if ! ROUTER_COMPILE=1 .venv/bin/python setup.py -q build_ext --inplace > build-compiled.log 2>&1; then
    cat build-compiled.log >&2
    clean
    echo "build-compiled: the build failed (log above); left pure Python" >&2
    exit 1
fi
rm -f build-compiled.log
.venv/bin/python -c 'import router.core.sla as m, sys; sys.exit(not m.__file__.endswith(".so"))' \
    || { echo "build-compiled: built, but router.core.sla still imports from source" >&2; exit 1; }
echo "build-compiled: $(find router -name '*.so' | wc -l) modules compiled (setup.py COMPILED)"
