#!/usr/bin/env bash
# Write the router's AMI secret for Asterisk, from the environment.
#
#   ROUTER_AMI_SECRET='...' deploy/asterisk/install.sh
#
# Writes $ASTERISK_ETC/manager.d/router-secret.conf (ASTERISK_ETC defaults
# to /etc/asterisk) containing
#
#   [router](+)
#   secret = <ROUTER_AMI_SECRET>
#
# which manager.conf includes at its end. The secret never goes to git, to
# the command line (ps) or to this script's output. Refuses to run when
# ROUTER_AMI_SECRET is unset, empty, shorter than 16 characters, or holds
# characters Asterisk's config parser would change (';' starts a comment,
# surrounding blanks are stripped, line breaks end the value).
#
# It does not copy the other config files or reload Asterisk: see README.md.
set -euo pipefail

etc=${ASTERISK_ETC:-/etc/asterisk}
secret=${ROUTER_AMI_SECRET-}

die() { echo "install.sh: $*" >&2; exit 1; }

[ -n "$secret" ] || die "ROUTER_AMI_SECRET is not set (or empty); refusing to write an AMI user without a secret"
[ "${#secret}" -ge 16 ] || die "ROUTER_AMI_SECRET is shorter than 16 characters; use e.g. \$(openssl rand -hex 24)"
case $secret in
    *';'*) die "ROUTER_AMI_SECRET contains ';', which starts a comment in Asterisk config files" ;;
    *[[:cntrl:]]*) die "ROUTER_AMI_SECRET contains control characters (line breaks, tabs, ...)" ;;
    [[:space:]]*|*[[:space:]]) die "ROUTER_AMI_SECRET starts or ends with blanks, which Asterisk would strip" ;;
esac
[ -d "$etc" ] || die "$etc does not exist (is Asterisk installed? set ASTERISK_ETC to its config directory)"

dir=$etc/manager.d
target=$dir/router-secret.conf
mkdir -p "$dir"

# Written under a temporary name in the same directory, then renamed: Asterisk
# never reads a half-written file, and the file is never readable by others.
umask 077
tmp=$(mktemp "$dir/.router-secret.XXXXXX")
trap 'rm -f "$tmp"' EXIT
{
    echo "; Written by deploy/asterisk/install.sh from \$ROUTER_AMI_SECRET. Do not commit."
    echo "[router](+)"
    printf 'secret = %s\n' "$secret"
} >"$tmp"

# Asterisk usually runs as user/group asterisk: let that group read the file.
if getent group asterisk >/dev/null 2>&1; then
    chgrp asterisk "$tmp"
    chmod 0640 "$tmp"
else
    chmod 0600 "$tmp"
fi
mv -f "$tmp" "$target"
trap - EXIT

echo "install.sh: wrote $target (mode $(stat -c %a "$target"))"
echo "install.sh: load it with: asterisk -rx 'manager reload'"
