#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Run every test: unit tests, then integration tests that load the real BPF programs and watch
# real Python processes (needs root and a kernel with BTF, as pyhound does).
set -u
OUT=${1:-build}
SRC=$(cd "$(dirname "$0")/.." && pwd)
export PYHOUND="$SRC/$OUT/pyhound" PYHOUND_SRC="$SRC" PYHOUND_SRCDIR="$SRC" PYHOUND_OUTPUT="$OUT"
case "$OUT" in /*) PYHOUND="$OUT/pyhound"; UT="$OUT/tests/unit-tests"; IT="$OUT/tests/integration-tests";;
	*) UT="$SRC/$OUT/tests/unit-tests"; IT="$SRC/$OUT/tests/integration-tests";; esac
if [ "$(id -u)" != 0 ]; then
	echo "run-tests: the integration tests load BPF programs: run as root (sudo make test)" >&2
	exit 1
fi
# tests run with Criterion's default of one job per core; the workloads are timing-sensitive,
# so run one test at a time
status=0
echo "== unit tests"
"$UT" -j1 --short-filename || status=1
echo "== integration tests"
# keep the log, and repeat what failed at the end, so the tail of a long run names the failures
LOG=$(mktemp /tmp/pyhound-integration.XXXXXX)
{ "$IT" -j1 --short-filename --verbose 2>&1 || echo "__status=1"; } | tee "$LOG"
grep -q '^__status=1' "$LOG" && status=1
if [ $status = 0 ]; then
	echo "all tests passed"
else
	echo "== what failed (unit tests above; integration tests here, with their assertions)"
	awk '/Assertion Failed/ { n = 8 } n > 0 { print; n--; next } /^\[(FAIL|CRASH)\]|^\[----\].*(crash|Crash|signal)/ { print }' "$LOG" | tail -60
	echo "SOME TESTS FAILED"
fi
rm -f "$LOG"
exit $status
