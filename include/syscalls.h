/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Per-process syscall latency and I/O bytes-per-call, aggregated in the kernel. */
#ifndef PYHOUND_SYSCALLS_H
#define PYHOUND_SYSCALLS_H

#define SC_LAT_SLOTS 40	  /* log2 of nanoseconds; last slot: >= 2^38 ns (~4.6 min) */
#define IO_SIZE_SLOTS 36  /* log2 of bytes per call */
#define SC_MAX_STATS 262144 /* hard cap on (process, syscall) and (process, syscall, fd kind) keys */

struct sc_key {
	unsigned int pid;
	unsigned int nr; /* syscall number */
};

struct sc_stats {
	unsigned long long count;
	unsigned long long total_ns;
	unsigned long long max_ns;
	unsigned long long errors; /* returned < 0 */
	unsigned long long lat[SC_LAT_SLOTS];
};

struct io_key {
	unsigned int pid;
	unsigned short nr;
	unsigned short kind; /* enum fd_kind */
};

struct io_stats {
	unsigned long long calls; /* successful calls (return >= 0) */
	unsigned long long bytes;
	unsigned long long errors;
	unsigned long long min_bytes, max_bytes;
	unsigned long long size[IO_SIZE_SLOTS];
	/* the size asked for (count/len argument), where the call has one: read, write,
	 * pread64, pwrite64, sendto, recvfrom; successful calls only */
	unsigned long long asked_calls;
	unsigned long long asked_bytes;
	unsigned long long asked[IO_SIZE_SLOTS]; /* log2 of bytes asked for */
	/* request/response round trips, on a socket read's key: a read that returned data on
	 * a socket this thread last sent on (its request), not one the process accept()ed */
	unsigned long long round_trips;
	unsigned long long round_trip_ns; /* from the request's first send to the reply's return */
	unsigned long long request_bytes; /* bytes the requests sent */
};

enum sc_drop {
	SC_DROP_STATS_FULL = 0, /* sc_stats map full: a (process, syscall) pair not counted */
	SC_DROP_IO_FULL,	/* io_stats map full */
	SC_DROP_NO_STORAGE,	/* no task storage for a thread (out of memory): a call not timed */
	SC_DROP_ACCEPTED_FULL,	/* accepted-socket map update failed: a server socket not marked */
	SC_DROP_MAX,
};

_Static_assert(sizeof(struct sc_key) == 8, "sc_key layout");
_Static_assert(sizeof(struct io_key) == 8, "io_key layout");
_Static_assert(sizeof(struct sc_stats) == 8 * (4 + SC_LAT_SLOTS), "sc_stats layout");
_Static_assert(sizeof(struct io_stats) == 8 * (10 + 2 * IO_SIZE_SLOTS), "io_stats layout");

#define SC_ROUND_TRIP_SLOTS 4 /* sockets per thread with a request awaiting its reply */
#define SC_MAX_ACCEPTED 65536 /* (process, fd) of accept()ed sockets remembered (LRU) */

#endif
