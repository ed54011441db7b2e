#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Install the Debian 12 packages pyhound needs to build and test, if any is missing.
# Idempotent: runs `apt-get update` only when something has to be installed.
set -eu
PKGS="make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config
      libcriterion-dev python3.11 python3.11-minimal util-linux procps
      libxml2-utils golang-go libmicrohttpd-dev libgnutls28-dev libcapstone-dev libcrypt-dev prometheus wrk
      systemd perl curl openssl tmux libpython3.11-testsuite debootstrap gdb
      postgresql python3-psycopg2 python3-psycopg gunicorn python3-flask"
missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "pyhound: missing Debian packages:$missing" >&2
	echo "pyhound: run as root (sudo make ...) to install them" >&2
	exit 1
fi
echo "  DEPS     installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
