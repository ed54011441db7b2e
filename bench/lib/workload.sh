# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Sourced by bench scripts: a workload in "wait" mode prints "ready <pid>" and waits on a FIFO;
# the tracer (if any) attaches to that PID; then the workload is told to go and prints its wall
# and CPU seconds as the first two fields of a line starting with a digit. Needs $TMP.

start_workload() { # python script args...
	local py=$1
	shift
	rm -f "$TMP/in" "$TMP/last"
	mkfifo "$TMP/in"
	"$py" "$@" <"$TMP/in" >"$TMP/last" &
	WP=$!
	exec 7>"$TMP/in"
	until grep -q ready "$TMP/last" 2>/dev/null; do sleep 0.02; done
	WPID=$(awk '/ready/ {print $2}' "$TMP/last")
}

finish_workload() { # tag: appends wall and CPU time to $TMP/<tag>.{wall,cpu}
	echo go >&7
	exec 7>&-
	wait "$WP"
	awk '/^[0-9]/ {print $1}' "$TMP/last" >>"$TMP/$1.wall"
	awk '/^[0-9]/ {print $2}' "$TMP/last" >>"$TMP/$1.cpu"
}

stop_tracer() { # the tracer started in the background as $TP (none when empty)
	[ -n "$TP" ] || return 0
	kill -TERM "$TP" 2>/dev/null || true
	wait "$TP" || true
}

median() { sort -g "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
