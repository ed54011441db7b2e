// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unbatched I/O findings judged by rate and wall-time share, not only by a median under 64 B,
 * and by the size asked for where known (whole messages are not unbatched reads); chatty
 * request/response round trips on sockets. */
#include <criterion/criterion.h>
#include <string.h>
#include "fdkind.h"
#include "hist.h"
#include "lib/histo.h"
#include "model/report.h"

/* the size asked for and the round trips of build_x() */
struct extra {
	uint64_t asked;			  /* bytes each call asked for, 0: not known */
	uint64_t trips, trip_ns, req_bytes; /* round trips, each taking trip_ns, requests' size */
};

static void build_x(struct report *r, unsigned int nr, unsigned int kind, uint64_t calls,
		    uint64_t size, uint64_t total_ns, const struct extra *x);

/* one process observed 10 s with `calls` syscalls nr on fd kind, each of `size` bytes, taking
 * total_ns in all */
static void build(struct report *r, unsigned int nr, unsigned int kind, uint64_t calls,
		  uint64_t size, uint64_t total_ns)
{
	build_x(r, nr, kind, calls, size, total_ns, NULL);
}

static void build_x(struct report *r, unsigned int nr, unsigned int kind, uint64_t calls,
		    uint64_t size, uint64_t total_ns, const struct extra *x)
{
	static struct sc_entry sc[1];
	static struct io_entry io[1];
	struct sc_snapshot snap = { .sc = sc, .nsc = 1, .io = io, .nio = 1, .max_stats = 100 };
	struct tracked_proc tp = {};

	memset(sc, 0, sizeof(sc));
	memset(io, 0, sizeof(io));
	sc[0].key = (struct sc_key){ 42, nr };
	sc[0].s.count = calls;
	sc[0].s.total_ns = total_ns;
	sc[0].s.lat[ph_log2_slot(total_ns / calls, SC_LAT_SLOTS)] = calls;
	io[0].key = (struct io_key){ 42, nr, kind };
	io[0].s.calls = calls;
	io[0].s.bytes = calls * size;
	io[0].s.min_bytes = io[0].s.max_bytes = size;
	io[0].s.size[ph_log2_slot(size, IO_SIZE_SLOTS)] = calls;
	if (x && x->asked) {
		io[0].s.asked_calls = calls;
		io[0].s.asked_bytes = calls * x->asked;
		io[0].s.asked[ph_log2_slot(x->asked, IO_SIZE_SLOTS)] = calls;
	}
	if (x) {
		io[0].s.round_trips = x->trips;
		io[0].s.round_trip_ns = x->trips * x->trip_ns;
		io[0].s.request_bytes = x->trips * x->req_bytes;
	}
	tp.info.pid = 42;
	tp.info.major = 3;
	tp.info.minor = 12;
	cr_assert_eq(report_build(r, &snap, &tp, 1, 0, 10000000000ULL), 0);
	cr_assert_eq(r->nprocs, 1);
}

Test(io_findings, hundred_byte_writes_at_a_third_of_wall_time)
{
	struct report r;

	/* 2.2 M 100-byte writes in 10 s, 3.7 s in write: the case */
	build(&r, 1, FD_KIND_FILE, 2200000, 100, 3700000000ULL);
	cr_assert_eq(r.procs[0].nfindings, 1);
	cr_expect_str_eq(r.procs[0].findings[0].kind, "tiny-writes");
	cr_expect_float_eq(r.procs[0].findings[0].per_second, 220000.0, 1e-6);
	cr_expect(strstr(r.procs[0].findings[0].text, "37.0% of wall time"), "%s",
		  r.procs[0].findings[0].text);
	report_free(&r);
}

Test(io_findings, hundred_byte_writes_rare_or_cheap_are_fine)
{
	struct report r;

	build(&r, 1, FD_KIND_FILE, 5000, 100, 3700000000ULL); /* 500 calls/s */
	cr_expect_eq(r.procs[0].nfindings, 0);
	report_free(&r);
	build(&r, 1, FD_KIND_FILE, 2200000, 100, 100000000ULL); /* 1% of wall time */
	cr_expect_eq(r.procs[0].nfindings, 0);
	report_free(&r);
	build(&r, 1, FD_KIND_FILE, 2200000, 600, 3700000000ULL); /* median >= 512 B */
	cr_expect_eq(r.procs[0].nfindings, 0);
	report_free(&r);
}

Test(io_findings, whole_small_messages_on_sockets_are_not_unbatched)
{
	struct report r;

	/* gunicorn/asyncio style: recvfrom of 40-byte requests, sendto of 60-byte replies */
	build(&r, 45, FD_KIND_SOCKET, 400000, 40, 2000000000ULL);
	cr_expect_eq(r.procs[0].nfindings, 0);
	report_free(&r);
	build(&r, 44, FD_KIND_SOCKET, 400000, 16, 2000000000ULL);
	cr_expect_eq(r.procs[0].nfindings, 0);
	report_free(&r);
}

Test(io_findings, tiny_pipe_reads_still_found)
{
	struct report r;

	build(&r, 0, FD_KIND_PIPE, 20000, 8, 20000000ULL);
	cr_assert_eq(r.procs[0].nfindings, 1);
	cr_expect_str_eq(r.procs[0].findings[0].kind, "tiny-reads");
	report_free(&r);
}

Test(io_findings, whole_messages_by_the_size_asked_for)
{
	struct report r;
	struct extra x = { .asked = 65536 };

	char buf[8192];
	FILE *f;

	/* recv(65536) returning 40-byte requests: whole messages, however many */
	build_x(&r, 45, FD_KIND_SOCKET, 400000, 40, 4000000000ULL, &x);
	cr_expect_eq(r.procs[0].nfindings, 0);
	f = fmemopen(buf, sizeof(buf), "w");
	report_print_text(&r, f, 0);
	fclose(f);
	cr_expect(strstr(buf, "   recvfrom     socket      400000    15.3 MiB           40 B   "
			      "100.0%        0     65536 B\n"), "%s", buf);
	report_free(&r);
	/* os.read(fd, 65536) on a pipe whose writer writes 8 bytes at a time: not the reader's */
	build_x(&r, 0, FD_KIND_PIPE, 20000, 8, 20000000ULL, &x);
	cr_expect_eq(r.procs[0].nfindings, 0);
	report_free(&r);
}

Test(io_findings, tiny_reads_asked_for_are_found_on_sockets_too)
{
	struct report r;
	struct extra x = { .asked = 48 };

	build_x(&r, 45, FD_KIND_SOCKET, 400000, 48, 400000000ULL, &x);
	cr_assert_eq(r.procs[0].nfindings, 1);
	cr_expect_str_eq(r.procs[0].findings[0].kind, "tiny-reads");
	cr_expect(strstr(r.procs[0].findings[0].text, "having asked for a median of 32-63 B (48 B "
						      "on average)"), "%s", r.procs[0].findings[0].text);
	report_free(&r);
	/* sends are never unbatched writes: whole messages or requests */
	build_x(&r, 44, FD_KIND_SOCKET, 400000, 16, 4000000000ULL, &x);
	cr_expect_eq(r.procs[0].nfindings, 0);
	report_free(&r);
}

Test(io_findings, chatty_round_trips)
{
	struct report r;
	/* 300,000 round trips of 50-byte requests, 10 us each: 3 s of 10 s */
	struct extra x = { .asked = 65536, .trips = 300000, .trip_ns = 10000, .req_bytes = 50 };

	build_x(&r, 45, FD_KIND_SOCKET, 300000, 50, 1000000000ULL, &x);
	cr_assert_eq(r.procs[0].nfindings, 1);
	cr_expect_str_eq(r.procs[0].findings[0].kind, "chatty-round-trips");
	cr_expect_eq(r.procs[0].findings[0].calls, 300000);
	cr_expect_float_eq(r.procs[0].findings[0].per_second, 30000.0, 1e-6);
	cr_expect(strstr(r.procs[0].findings[0].text, "300000 request/response round trips on "
						      "sockets (30000/s; requests of 50 B"),
		  "%s", r.procs[0].findings[0].text);
	cr_expect(strstr(r.procs[0].findings[0].text, "10.0 µs on average, 30.0% of wall time"),
		  "%s", r.procs[0].findings[0].text);
	cr_expect(strstr(r.procs[0].findings[0].text, "pipeline"), "%s",
		  r.procs[0].findings[0].text);
	report_free(&r);
}

Test(io_findings, round_trips_near_misses)
{
	struct report r;
	struct extra x = { .asked = 65536, .trips = 300000, .trip_ns = 10000, .req_bytes = 50 };

	x.trip_ns = 1000; /* 3% of wall time waiting */
	build_x(&r, 45, FD_KIND_SOCKET, 300000, 50, 1000000000ULL, &x);
	cr_expect_eq(r.procs[0].nfindings, 0);
	report_free(&r);
	x.trip_ns = 10000;
	x.req_bytes = 25000; /* pipelined: 500 requests a send */
	build_x(&r, 45, FD_KIND_SOCKET, 300000, 50, 1000000000ULL, &x);
	cr_expect_eq(r.procs[0].nfindings, 0);
	report_free(&r);
	x.req_bytes = 50;
	x.trips = 900; /* too few */
	x.trip_ns = 1000000000ULL;
	build_x(&r, 45, FD_KIND_SOCKET, 300000, 50, 1000000000ULL, &x);
	cr_expect_eq(r.procs[0].nfindings, 0);
	report_free(&r);
}
