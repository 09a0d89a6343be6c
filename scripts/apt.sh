# Sourced by setup.sh and test.sh: install Debian packages, or fail loudly.
#
#   apt_need WHY PKG [PKG ...]     install the packages (one apt-get run); exit 1
#                                  with the reason if they cannot be installed
#   apt_want WHY PKG               the same for one package whose tests can skip
#                                  without it: a warning instead of an exit
#
# Another apt or dpkg may hold the lock (unattended upgrades, a second
# session): apt-get waits for it up to APT_LOCK_TIMEOUT seconds (default 600)
# instead of failing at once. `apt-get update` runs once per script run.
# Services a package would start on install (prometheus, postgresql,
# mosquitto) are kept from starting by a temporary policy-rc.d: the tests
# start their own servers on free ports.

_apt_updated=""
_apt_run() {
    local lock=${APT_LOCK_TIMEOUT:-600}
    if [ "$(id -u)" != 0 ]; then
        echo "cannot install $*: not root (run as root, or install them first)"; return 1
    fi
    if ! command -v apt-get >/dev/null; then
        echo "cannot install $*: no apt-get on this machine (install them first)"; return 1
    fi
    local own_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
    fi
    local rc=0 log
    log=$(mktemp)
    if [ -z "$_apt_updated" ]; then
        apt-get -o DPkg::Lock::Timeout="$lock" update -qq >"$log" 2>&1 \
            || echo "apt-get update failed (trying the install anyway): $(tail -n 3 "$log" | tr '\n' ' ')" >&2
        _apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$lock" install -y -qq \
        --no-install-recommends "$@" >"$log" 2>&1 || rc=$?
    [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
    if [ "$rc" != 0 ]; then
        echo "apt-get install $* failed (exit $rc): $(grep -E '^E:|^W:' "$log" | tail -n 3 | tr '\n' ' ')"
        rm -f "$log"; return 1
    fi
    rm -f "$log"
}

apt_need() {
    local why=$1; shift
    echo "installing Debian packages $* ($why)" >&2
    local err
    if ! err=$(_apt_run "$@"); then
        echo "FATAL: $err" >&2
        echo "FATAL: $why needs: $*" >&2
        exit 1
    fi
}

apt_want() {
    local why=$1; shift
    echo "installing Debian package $* ($why)" >&2
    local err
    err=$(_apt_run "$@") || echo "WARNING: $err; $why will skip" >&2
}
