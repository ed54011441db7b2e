/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Process lifecycle events (exec, fork, exit) and the map of tracked processes that every
 * collector filters on. */
#ifndef PYHOUND_PROCWATCH_H
#define PYHOUND_PROCWATCH_H

/* hard upper bound on tracked processes; the configured size may be smaller */
#define PH_MAX_TRACKED 65536

enum tracked_state {
	TRACKED_PENDING = 1, /* exec'd while pyhound runs: traced until classified */
	TRACKED_PYTHON = 2,  /* a CPython process */
};

/* value of the tracked_pids map, keyed by the process's PID (tgid, initial namespace) */
struct tracked {
	unsigned int state; /* enum tracked_state */
	unsigned int pad;
};

enum proc_event_type {
	PROC_EV_EXEC = 1,
	PROC_EV_FORK = 2, /* a tracked Python process forked: the child is tracked too */
	PROC_EV_EXIT = 3, /* the last thread of a tracked process exited */
};

struct ph_proc_event {
	unsigned int type; /* enum proc_event_type */
	unsigned int pid;
	unsigned int ppid; /* FORK: the parent */
	unsigned int pad;
	unsigned long long ts_ns; /* CLOCK_MONOTONIC */
};

enum procwatch_drop {
	PW_DROP_EVENTS = 0,  /* ring buffer full */
	PW_DROP_TRACKED_FULL, /* tracked_pids full: a new process could not be followed */
	PW_DROP_MAX,
};

_Static_assert(sizeof(struct ph_proc_event) == 24, "proc_event layout");
_Static_assert(sizeof(struct tracked) == 8, "tracked layout");

#endif
