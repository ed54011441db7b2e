#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# `make bench`: run every benchmark script in bench/ against PYHOUND, syscalls.sh first.
# Each script prints a Markdown table and rewrites its own section of bench/RESULTS.md.
set -eu
PYHOUND=${1:-build/pyhound}
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "bench: needs root (BPF): run 'sudo make bench'" >&2; exit 1; }
status=0
for s in "$HERE/syscalls.sh" "$HERE"/*.sh; do
	case ${s##*/} in run.sh) continue ;; esac
	case " ${done:-} " in *" $s "*) continue ;; esac
	done="${done:-} $s"
	echo "== bench: ${s##*/}"
	if ! "$s" "$PYHOUND"; then
		echo "bench: ${s##*/} failed" >&2
		status=1
	fi
done
exit $status
