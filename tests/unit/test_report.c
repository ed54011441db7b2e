// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Histogram slots and percentiles, fd kinds, the JSON writer, and the report's findings. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fdkind.h"
#include "hist.h"
#include "lib/histo.h"
#include "lib/json.h"
#include "model/report.h"
#include "out/metrics.h"
#include "collect/syscall_names.h"

Test(hist, log2_slots)
{
	cr_expect_eq(ph_log2_slot(0, 36), 0);
	cr_expect_eq(ph_log2_slot(1, 36), 1);
	cr_expect_eq(ph_log2_slot(2, 36), 2);
	cr_expect_eq(ph_log2_slot(3, 36), 2);
	cr_expect_eq(ph_log2_slot(16, 36), 5);
	cr_expect_eq(ph_log2_slot(31, 36), 5);
	cr_expect_eq(ph_log2_slot(1024, 36), 11);
	cr_expect_eq(ph_log2_slot(~0ULL, 36), 35, "clamped to the last slot");
	cr_expect_eq(slot_lo(5), 16);
	cr_expect_eq(slot_hi(5), 31);
	cr_expect_eq(slot_hi(0), 0);
}

Test(hist, quantiles)
{
	unsigned long long s[8] = { 0 };

	cr_expect_eq(hist_quantile_slot(s, 8, 0.5), -1);
	s[2] = 50;
	s[5] = 49;
	s[7] = 1;
	cr_expect_eq(hist_quantile_slot(s, 8, 0.5), 2);
	cr_expect_eq(hist_quantile_slot(s, 8, 0.51), 5);
	cr_expect_eq(hist_quantile_slot(s, 8, 0.99), 5);
	cr_expect_eq(hist_quantile_slot(s, 8, 1.0), 7);
	cr_expect_eq(hist_total(s, 8), 100);
}

Test(fdkind, classification)
{
	cr_expect_eq(ph_fd_kind(0100644, 0), FD_KIND_FILE);
	cr_expect_eq(ph_fd_kind(0140777, 0), FD_KIND_SOCKET);
	cr_expect_eq(ph_fd_kind(0010600, 0), FD_KIND_PIPE);
	cr_expect_eq(ph_fd_kind(0020620, (136u << 20) | 3), FD_KIND_TTY, "/dev/pts/3");
	cr_expect_eq(ph_fd_kind(0020666, (5u << 20) | 0), FD_KIND_TTY, "/dev/tty");
	cr_expect_eq(ph_fd_kind(0020666, (1u << 20) | 3), FD_KIND_OTHER, "/dev/null");
	cr_expect_eq(ph_fd_kind(0060660, (8u << 20)), FD_KIND_OTHER, "block device");
	cr_expect_eq(ph_fd_kind(0040755, 0), FD_KIND_OTHER, "directory");
}

static char *json_of(void (*fn)(struct json *))
{
	static char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	struct json j;

	json_init(&j, f);
	fn(&j);
	fclose(f);
	return buf;
}

static void doc(struct json *j)
{
	json_obj_begin(j, NULL);
	json_str(j, "name", "naïve \"q\"\\\n\t\x01");
	json_u64(j, "n", 18446744073709551615ULL);
	json_i64(j, "neg", -5);
	json_double(j, "half", 0.5);
	json_double(j, "nan", 0.0 / 0.0);
	json_bool(j, "t", true);
	json_str(j, "null", NULL);
	json_arr_begin(j, "a");
	json_u64(j, NULL, 1);
	json_obj_begin(j, NULL);
	json_obj_end(j);
	json_arr_end(j);
	json_str(j, "bad", "\xff ok");
	json_str(j, "sur", "\xed\xb9\xb0\xe0\x80\x80\xf4\x90\x80\x80.");
	json_obj_end(j);
}

#define U3 "\\ufffd\\ufffd\\ufffd"
#define U4 U3 "\\ufffd"

Test(json, writes_valid_escaped_json)
{
	cr_expect_str_eq(json_of(doc),
			 "{\"name\":\"naïve \\\"q\\\"\\\\\\n\\t\\u0001\",\"n\":18446744073709551615,"
			 "\"neg\":-5,\"half\":0.5,\"nan\":null,\"t\":true,\"null\":null,"
			 "\"a\":[1,{}],\"bad\":\"\\ufffd ok\","
			 "\"sur\":\"" U3 U3 U4 ".\"}\n");
}

/* A snapshot by hand: 20,000 16-byte writes to a file, 5,000 1 KiB sends, 300 tiny reads. */
Test(report, findings_need_many_small_calls)
{
	struct sc_entry sc[3] = {};
	struct io_entry io[3] = {};
	struct sc_snapshot snap = { .sc = sc, .nsc = 3, .io = io, .nio = 3, .max_stats = 100 };
	struct tracked_proc tp = {};
	struct report r;
	char buf[8192];
	FILE *f;

	sc[0].key = (struct sc_key){ 42, 1 };
	sc[0].s.count = 20000;
	sc[0].s.total_ns = 40000000;
	sc[0].s.lat[ph_log2_slot(2000, SC_LAT_SLOTS)] = 20000;
	sc[1].key = (struct sc_key){ 42, 44 };
	sc[1].s.count = 5000;
	sc[1].s.total_ns = 10000000;
	sc[1].s.lat[ph_log2_slot(2000, SC_LAT_SLOTS)] = 5000;
	sc[2].key = (struct sc_key){ 42, 0 };
	sc[2].s.count = 300;
	sc[2].s.total_ns = 300000;
	io[0].key = (struct io_key){ 42, 1, FD_KIND_FILE };
	io[0].s.calls = 20000;
	io[0].s.bytes = 320000;
	io[0].s.min_bytes = io[0].s.max_bytes = 16;
	io[0].s.size[ph_log2_slot(16, IO_SIZE_SLOTS)] = 20000;
	io[1].key = (struct io_key){ 42, 44, FD_KIND_SOCKET };
	io[1].s.calls = 5000;
	io[1].s.bytes = 5000 * 1024;
	io[1].s.min_bytes = io[1].s.max_bytes = 1024;
	io[1].s.size[ph_log2_slot(1024, IO_SIZE_SLOTS)] = 5000;
	io[2].key = (struct io_key){ 42, 0, FD_KIND_PIPE };
	io[2].s.calls = 300; /* too few calls for a finding */
	io[2].s.bytes = 300;
	io[2].s.min_bytes = io[2].s.max_bytes = 1;
	io[2].s.size[1] = 300;
	tp.info.pid = 42;
	tp.info.major = 3;
	tp.info.minor = 12;
	tp.info.micro = 1;
	snprintf(tp.info.comm, sizeof(tp.info.comm), "python3.12");
	tp.seen_ns = 0;

	cr_assert_eq(report_build(&r, &snap, &tp, 1, 0, 10000000000ULL), 0);
	cr_assert_eq(r.nprocs, 1);
	cr_expect_eq(r.procs[0].nsc, 3);
	cr_expect_eq(r.procs[0].sc[0].nr, 1, "sorted by total time");
	cr_expect_eq(r.procs[0].syscall_ns, 50300000);
	cr_expect_float_eq(r.procs[0].sc[0].share, 0.004, 1e-9);
	cr_assert_eq(r.procs[0].nfindings, 1);
	cr_expect_str_eq(r.procs[0].findings[0].kind, "tiny-writes");
	cr_expect_eq(r.procs[0].findings[0].calls, 20000);
	cr_expect_eq(r.procs[0].findings[0].median_hi, 16);
	cr_expect_float_eq(r.procs[0].findings[0].per_second, 2000.0, 1e-9);
	cr_expect(strstr(r.procs[0].findings[0].text, "20000 write calls on file fds moved a median "
						       "of 16 B each (100% under 512 B"),
		  "%s", r.procs[0].findings[0].text);
	cr_expect_eq(r.procs[0].io[1].median_lo, 1024);
	cr_expect_eq(r.procs[0].io[1].median_hi, 1024);
	cr_expect_float_eq(r.procs[0].io[1].small_share, 0.0, 1e-12);

	f = fmemopen(buf, sizeof(buf), "w");
	report_print_text(&r, f, 0);
	fclose(f);
	cr_expect(strstr(buf, "== PID 42  python3.12  CPython 3.12.1 (shared)  observed 10.0 s"),
		  "%s", buf);
	cr_expect(strstr(buf, "write        file         20000   312.5 KiB           16 B"), "%s",
		  buf);
	report_free(&r);
}

/* Top stacks name the thread, or say how many threads share the stack */
Test(report, top_stacks_name_their_threads)
{
	struct prof_frame work[] = { { "run", "w.py", 9, 7 }, { "work", "w.py", 3, 1 } };
	struct prof_frame idle[] = { { "<module>", "w.py", 20, 1 } };
	struct sc_snapshot snap = { .max_stats = 100 };
	struct tracked_proc tp = {};
	struct report r;
	struct profile *prof = profile_new(10, 99);
	char buf[16384];
	FILE *f;

	cr_assert_not_null(prof);
	tp.info.pid = 42;
	tp.info.major = 3;
	tp.info.minor = 12;
	snprintf(tp.info.comm, sizeof(tp.info.comm), "python3.12");
	cr_assert_eq(report_build(&r, &snap, &tp, 1, 0, 10000000000ULL), 0);
	r.prof = prof;
	for (int t = 43; t < 47; t++)
		cr_assert_eq(profile_add(prof, 42, t, "py", "w", work, 2, false, false, 10), 0);
	cr_assert_eq(profile_add(prof, 42, 42, "py", "main thread 42", idle, 1, false, false, 10),
		     0);
	f = fmemopen(buf, sizeof(buf), "w");
	report_print_text(&r, f, 0);
	fclose(f);
	cr_expect(strstr(buf, "Top stacks (leaf last; the thread, or how many threads share it)\n"
			      "    80.0%  (4 threads) run:9 > work:3\n"
			      "    20.0%  (main thread 42) <module>:20\n"), "%s", buf);
	r.prof = NULL;
	report_free(&r);
	profile_free(prof);
}

/* The uretprobe trampoline's syscalls are probe cost: apart, in no total or share */
Test(report, uretprobe_syscalls_are_probe_cost)
{
	struct sc_entry sc[2] = {};
	struct sc_snapshot snap = { .sc = sc, .nsc = 2, .max_stats = 100 };
	struct tracked_proc tp = { .info = { .pid = 7, .major = 3, .minor = 12, .supported = true } };
	struct report r;
	char buf[8192];
	FILE *f;

	sc[0].key = (struct sc_key){ 7, SC_NR_URETPROBE };
	sc[0].s.count = 8502;
	sc[0].s.total_ns = 9000000;
	sc[1].key = (struct sc_key){ 7, 1 };
	sc[1].s.count = 10;
	sc[1].s.total_ns = 1000000;
	cr_assert_eq(report_build(&r, &snap, &tp, 1, 0, 1000000000ULL), 0);
	cr_expect_eq(r.procs[0].nsc, 1);
	cr_expect_eq(r.procs[0].sc[0].nr, 1);
	cr_expect_eq(r.procs[0].syscall_ns, 1000000);
	cr_assert(r.procs[0].probe_sc);
	cr_expect_eq(r.procs[0].probe_sc->count, 8502);
	f = fmemopen(buf, sizeof(buf), "w");
	report_print_text(&r, f, 0);
	fclose(f);
	cr_expect(strstr(buf, "Probe cost, not in the syscalls below: 8502 uretprobe syscalls, "
			      "9.00 ms"), "%s", buf);
	cr_expect(strstr(buf, "(1.00 ms in syscalls summed over threads, 0.1% of wall time"), "%s",
		  buf);
	cr_expect(!strstr(buf, "uretprobe    "), "in the syscall table: %s", buf);
	f = fmemopen(buf, sizeof(buf), "w");
	report_print_json(&r, f);
	fclose(f);
	cr_expect(strstr(buf, "\"probe_syscalls\":{\"syscall\":\"uretprobe\",\"count\":8502,"
			      "\"total_ns\":9000000}"), "%s", buf);
	{
		struct metrics_health h = {};
		char *mb = NULL;
		size_t ml = 0;

		f = open_memstream(&mb, &ml);
		cr_assert_eq(metrics_write(f, &r, &h, 15), 0);
		fclose(f);
		cr_expect(strstr(mb, "\npyhound_probe_syscalls_total{pid=\"7\",comm=\"\","
				     "python_version=\"3.12.0\",syscall=\"uretprobe\"} 8502\n"), "%s", mb);
		cr_expect(strstr(mb, "\npyhound_probe_syscall_seconds_total{pid=\"7\",comm=\"\","
				     "python_version=\"3.12.0\",syscall=\"uretprobe\"} 0.009000000\n"),
			  "%s", mb);
		cr_expect(strstr(mb, "pyhound_syscalls_total{pid=\"7\",comm=\"\","
				     "python_version=\"3.12.0\",syscall=\"write\"} 10\n"), "%s", mb);
		cr_expect(!strstr(mb, "pyhound_syscalls_total{pid=\"7\",comm=\"\","
				      "python_version=\"3.12.0\",syscall=\"uretprobe\""), "%s", mb);
		free(mb);
	}
	report_free(&r);
}

/* No samples: unsupported, idle or unreadable, told apart */
Test(report, no_samples_reason)
{
	struct rep_proc rp = { .observed_s = 10 };
	long tck = sysconf(_SC_CLK_TCK);
	char why[256];

	rp.tp.info.major = 3;
	rp.tp.info.minor = 16;
	cr_expect_str_eq(report_no_samples_reason(&rp, 99, why, sizeof(why)), "unsupported");
	cr_expect(strstr(why, "CPython 3.16 are not supported"), "%s", why);
	rp.tp.info.minor = 11;
	rp.tp.info.supported = true;
	cr_expect_str_eq(report_no_samples_reason(&rp, 99, why, sizeof(why)), "unknown");
	rp.tp.cpu_known = true;
	rp.tp.cpu_ticks_seen = 100;
	rp.tp.cpu_ticks_last = 100; /* no CPU while observed */
	cr_expect_str_eq(report_no_samples_reason(&rp, 99, why, sizeof(why)), "idle");
	cr_expect(strstr(why, "idle: 0 ns of CPU in 10.0 s observed"), "%s", why);
	rp.tp.cpu_ticks_last = 100 + (tck + 19) / 20; /* >= 50 ms: under 10 periods at 99 Hz */
	cr_expect_str_eq(report_no_samples_reason(&rp, 99, why, sizeof(why)), "idle");
	cr_expect(strstr(why, "under 10 sample periods"), "%s", why);
	rp.tp.cpu_ticks_last = 100 + tck; /* one second of CPU */
	cr_expect_str_eq(report_no_samples_reason(&rp, 99, why, sizeof(why)), "unreadable");
	cr_expect(strstr(why, "it used 1.00 s of CPU"), "%s", why);
}
