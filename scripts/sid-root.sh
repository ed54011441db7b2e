#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Make (or reuse) the Debian sid root whose python3.14/3.15, release and -dbg builds, the tests
# run chrooted as a container would run them. Kept outside the checkout; reused when complete.
# Any failure of debootstrap or apt fails the test run with its message: tests never skip.
set -eu
ROOT=${PYHOUND_SID_ROOT:-/var/cache/pyhound-test/sid}
MIRROR=${PYHOUND_SID_MIRROR:-http://deb.debian.org/debian}
PKGS="python3.14 python3.15 python3.14-dbg python3.15-dbg"
STAMP="$ROOT/.pyhound-root"
if [ -e "$STAMP" ] && [ "$(cat "$STAMP")" = "$PKGS" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "sid-root: making $ROOT needs root (sudo make test)" >&2
	exit 1
fi
LOG=$(mktemp /tmp/pyhound-sid-root.XXXXXX)
echo "  SIDROOT  $ROOT: debootstrap sid and $PKGS (about a minute, 1.2 GB; log $LOG)"
fail() {
	echo "sid-root: $1 failed; last lines of $LOG:" >&2
	tail -n 15 "$LOG" >&2
	exit 1
}
if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
	rm -rf "$ROOT"
	mkdir -p "$(dirname "$ROOT")"
	debootstrap --variant=minbase sid "$ROOT" "$MIRROR" >"$LOG" 2>&1 || fail "debootstrap sid"
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Check-Valid-Until=false \
	update -qq >>"$LOG" 2>&1 || fail "apt-get update in the sid root"
# shellcheck disable=SC2086
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	$PKGS >>"$LOG" 2>&1 || fail "apt-get install $PKGS in the sid root"
for b in python3.14 python3.15 python3.14d python3.15d; do
	chroot "$ROOT" /usr/bin/$b -c 'pass' >>"$LOG" 2>&1 || fail "running /usr/bin/$b in the sid root"
done
echo "$PKGS" >"$STAMP"
rm -f "$LOG"
