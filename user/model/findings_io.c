// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* I/O batching findings from the syscall collector's per (process, syscall, fd kind) stats:
 * unbatched small reads and writes (judged by the size asked for where the call has one), and
 * chatty request/response round trips on sockets. Thresholds in report.h and report --help. */
#include <stdio.h>
#include "fdkind.h"
#include "lib/histo.h"
#include "model/report.h"
#include "collect/syscall_names.h"

static const struct sc_stats *find_sc(const struct rep_proc *rp, unsigned int nr)
{
	size_t i;

	for (i = 0; i < rp->nsc; i++)
		if (rp->sc[i].nr == nr)
			return rp->sc[i].s;
	return NULL;
}

static void fmt_range(char *buf, size_t len, uint64_t lo, uint64_t hi)
{
	if (lo == hi)
		snprintf(buf, len, "%llu B", (unsigned long long)lo);
	else
		snprintf(buf, len, "%llu-%llu B", (unsigned long long)lo, (unsigned long long)hi);
}

/* tiny-writes / tiny-reads. The size judged is the one asked for where the call has one (a
 * recv(65536) that returns a 40-byte message read a whole message; a read(fd, 100) asked for
 * 100 bytes), else the one returned. Sockets: reads only when the size asked is known; writes
 * never (a small send is usually a whole message or a request: see chatty round trips). */
static void add_tiny(struct rep_proc *rp, const struct rep_io *io)
{
	const struct sc_stats *sc = find_sc(rp, io->nr);
	bool wr = sc_is_write(io->nr), asked = io->s->asked_calls > 0;
	uint64_t med = asked ? io->asked_hi : io->median_hi;
	double rate = rp->observed_s > 0 ? io->s->calls / rp->observed_s : 0;
	double wall = rp->observed_s > 0 && sc ? sc->total_ns / 1e9 / rp->observed_s : 0;
	char nb[48], ab[96] = "", tb[32], sname[32];
	const char *name = syscall_name(io->nr, sname, sizeof(sname));
	struct rep_finding *f;

	if (io->s->calls < TINY_IO_MIN_CALLS || (io->kind == FD_KIND_SOCKET && (wr || !asked)))
		return;
	if (med >= TINY_IO_MEDIAN_BYTES && (med >= TINY_IO_SMALL_BYTES || rate < TINY_IO_MIN_RATE ||
					    wall < TINY_IO_MIN_WALL_SHARE))
		return;
	f = &rp->findings[rp->nfindings++];
	f->kind = wr ? "tiny-writes" : "tiny-reads";
	f->nr = io->nr;
	f->fd_kind = io->kind;
	f->calls = io->s->calls;
	f->bytes = io->s->bytes;
	f->median_hi = io->median_hi;
	f->per_second = rate;
	f->syscall_ns = sc ? sc->total_ns : 0;
	fmt_range(nb, sizeof(nb), io->median_lo, io->median_hi);
	if (asked && !wr) { /* the caller asked for small reads: not whole messages */
		char a[48];

		fmt_range(a, sizeof(a), io->asked_lo, io->asked_hi);
		snprintf(ab, sizeof(ab), " having asked for a median of %s (%.0f B on average)", a,
			 (double)io->s->asked_bytes / io->s->asked_calls);
	}
	fmt_ns(tb, sizeof(tb), f->syscall_ns);
	snprintf(f->text, sizeof(f->text),
		 "%s: %llu %s calls on %s fds moved a median of %s each%s (%.0f%% under 512 B, "
		 "%.0f calls/s, %s in %s overall, %.1f%% of wall time). %s",
		 wr ? "unbatched writes" : "unbatched reads", (unsigned long long)f->calls, name,
		 fd_kind_name(f->fd_kind), nb, ab, 100.0 * io->small_share, f->per_second, tb, name,
		 100.0 * wall,
		 wr ? "Buffer them: write through a buffered file object (open(..., 'wb') / "
		      "io.BufferedWriter) or collect pieces and write once (writelines, b\"\".join) "
		      "instead of os.write per piece."
		    : "Read larger chunks: use a buffered reader (open(..., 'rb'), io.BufferedReader, "
		      "sock.makefile('rb')) or recv_into a large buffer instead of many small reads.");
}

/* chatty-round-trips: many small request/response exchanges on sockets the process did not
 * accept, each waiting for its reply (counted by the syscall collector on the socket reads);
 * pipelined or batched requests are large on average */
static void add_chatty(struct rep_proc *rp)
{
	uint64_t trips = 0, ns = 0, req = 0, reply_calls = 0, reply_bytes = 0;
	unsigned int nr = 0, best = 0;
	double rate, wall;
	char tb[32], sname[32];
	struct rep_finding *f;
	size_t i;

	for (i = 0; i < rp->nio; i++) {
		const struct rep_io *io = &rp->io[i];

		if (io->kind != FD_KIND_SOCKET || !io->s->round_trips)
			continue;
		trips += io->s->round_trips;
		ns += io->s->round_trip_ns;
		req += io->s->request_bytes;
		reply_calls += io->s->calls;
		reply_bytes += io->s->bytes;
		if (io->s->round_trips > best) {
			best = io->s->round_trips;
			nr = io->nr;
		}
	}
	rate = rp->observed_s > 0 ? trips / rp->observed_s : 0;
	wall = rp->observed_s > 0 ? ns / 1e9 / rp->observed_s : 0;
	if (trips < CHATTY_MIN_ROUND_TRIPS || rate < CHATTY_MIN_RATE || wall < CHATTY_MIN_WALL_SHARE ||
	    req > CHATTY_MAX_REQUEST_BYTES * trips || rp->nfindings >= REP_MAX_FINDINGS)
		return;
	f = &rp->findings[rp->nfindings++];
	f->kind = "chatty-round-trips";
	f->nr = nr;
	f->fd_kind = FD_KIND_SOCKET;
	f->calls = trips;
	f->bytes = req;
	f->median_hi = 0;
	f->per_second = rate;
	f->syscall_ns = ns;
	fmt_ns(tb, sizeof(tb), ns / trips);
	snprintf(f->text, sizeof(f->text),
		 "chatty round trips: %llu request/response round trips on sockets (%.0f/s; "
		 "requests of %.0f B and replies read %.0f B at a time on average; a request's "
		 "first send to its reply's %s took %s on average, %.1f%% of wall time in all). "
		 "Each request waits for the previous reply: batch them or pipeline them (send "
		 "several before reading the replies: a client's pipeline()/executemany()/batch "
		 "endpoint), or move the loop to the other side (one query or call for the whole "
		 "set).",
		 (unsigned long long)trips, rate, (double)req / trips,
		 reply_calls ? (double)reply_bytes / reply_calls : 0.0,
		 syscall_name(nr, sname, sizeof(sname)), tb, 100.0 * wall);
}

void report_add_io_findings(struct rep_proc *rp)
{
	size_t i;

	for (i = 0; i < rp->nio && rp->nfindings < REP_MAX_FINDINGS; i++)
		add_tiny(rp, &rp->io[i]);
	add_chatty(rp);
}
