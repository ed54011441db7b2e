// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* serve's call metrics without BPF: per-process call counters from collector snapshots
 * (admission once, monotonic, "other"), and their Prometheus rendering, linted by promtool. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/callstats.h"
#include "out/metrics.h"
#include "model/report.h"

static void entry(struct calls_entry *e, pid_t pid, uint64_t code, const char *name,
		  const char *file, uint64_t calls)
{
	memset(e, 0, sizeof(*e));
	e->pid = pid;
	e->code = code;
	e->s.name_ptr = code + 0x100;
	e->s.first_line = 1;
	e->s.calls = calls;
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->file, sizeof(e->file), "%s", file);
}

/* timed calls of ns each */
static void timed(struct calls_entry *e, uint64_t n, uint64_t ns, unsigned int slot)
{
	e->s.timed = n;
	e->s.total_ns = n * ns;
	memset(e->s.lat, 0, sizeof(e->s.lat));
	e->s.lat[slot] = n;
}

struct found {
	pid_t pid;
	const char *fn;
	struct cs_counts c;
	bool hit;
};

static void find_cb(const struct cs_proc_view *v, void *ctx)
{
	struct found *f = ctx;
	size_t i;

	if (v->pid != f->pid)
		return;
	if (!strcmp(f->fn, "other")) {
		f->c = v->other;
		f->hit = true;
		return;
	}
	for (i = 0; i < v->nseries; i++)
		if (!strcmp(v->series[i].name, f->fn)) {
			f->c = v->series[i].c;
			f->hit = true;
		}
}

static bool get(struct callstats *cs, pid_t pid, const char *fn, struct cs_counts *c)
{
	struct found f = { .pid = pid, .fn = fn };

	callstats_foreach(cs, find_cb, &f);
	*c = f.c;
	return f.hit;
}

Test(callstats, admission_once_other_and_monotonic)
{
	struct callstats *cs = callstats_new();
	struct calls_entry e[5];
	struct calls_snapshot snap = { .e = e, .n = 5 };
	struct cs_counts c;

	cr_assert_not_null(cs);
	entry(&e[0], 100, 0x1000, "f", "a.py", 100);
	entry(&e[1], 100, 0x2000, "g", "a.py", 10);
	entry(&e[2], 100, 0x3000, "h", "a.py", 5);
	entry(&e[3], 100, 0x4000, "<unknown>", "", 7); /* not named yet */
	entry(&e[4], 100, 0x5000, "k", "a.py", 3);
	e[4].s.name_ptr = 0; /* the probe has not recorded the fingerprint's parts yet */
	e[4].s.first_line = 0;
	cr_assert_eq(callstats_update(cs, &snap, 3), 0);
	/* the top 3 by calls are admitted with the calls seen so far */
	cr_expect(get(cs, 100, "f", &c) && c.calls == 100);
	cr_expect(get(cs, 100, "g", &c) && c.calls == 10);
	cr_expect(get(cs, 100, "h", &c) && c.calls == 5);
	cr_expect(!get(cs, 100, "k", &c), "k is not among the top 3");
	/* the unnamed one's calls are held back (up to 10 s) for its name */
	cr_expect(get(cs, 100, "other", &c) && c.calls == 3, "other %llu",
		  (unsigned long long)c.calls);

	/* k becomes the hottest, the unknown one is named, f's entry is re-created (restarts at
	 * 20), k's fingerprint parts arrive: no series ever goes back, k stays in "other" */
	e[0].s.calls = 20;
	e[2].s.calls = 6;
	snprintf(e[3].name, sizeof(e[3].name), "u");
	e[3].s.calls = 9;
	e[4].s.name_ptr = 0x5100;
	e[4].s.first_line = 1;
	e[4].s.calls = 1003;
	cr_assert_eq(callstats_update(cs, &snap, 3), 0);
	cr_expect(get(cs, 100, "f", &c) && c.calls == 120, "f %llu", (unsigned long long)c.calls);
	cr_expect(get(cs, 100, "h", &c) && c.calls == 6);
	cr_expect(!get(cs, 100, "k", &c));
	cr_expect(!get(cs, 100, "u", &c));
	/* 3 before, k's 1000 more (matched to its entry: not 1003 again), u's 9 (named now, all
	 * its calls, not admitted: the bound is reached) */
	cr_expect(get(cs, 100, "other", &c) && c.calls == 3 + 1000 + 9, "other %llu",
		  (unsigned long long)c.calls);

	/* a bigger bound admits k from now on, starting with this update's calls */
	e[4].s.calls = 1010;
	cr_assert_eq(callstats_update(cs, &snap, 4), 0);
	cr_expect(get(cs, 100, "k", &c) && c.calls == 7, "k %llu", (unsigned long long)c.calls);
	cr_expect(get(cs, 100, "other", &c) && c.calls == 1012);

	/* a hot function whose name comes late (its name dropped by the probes, read later):
	 * admitted with every call, none left in "other" */
	{
		struct calls_entry e2[2];
		struct calls_snapshot s2 = { .e = e2, .n = 2 };

		entry(&e2[0], 300, 0x1000, "<unknown>", "", 100000);
		entry(&e2[1], 300, 0x2000, "g", "c.py", 5);
		cr_assert_eq(callstats_update(cs, &s2, 4), 0);
		cr_expect(!get(cs, 300, "f", &c));
		cr_expect(get(cs, 300, "other", &c) && c.calls == 0, "other %llu",
			  (unsigned long long)c.calls);
		snprintf(e2[0].name, sizeof(e2[0].name), "f");
		snprintf(e2[0].file, sizeof(e2[0].file), "c.py");
		e2[0].s.calls = 100001;
		cr_assert_eq(callstats_update(cs, &s2, 4), 0);
		cr_expect(get(cs, 300, "f", &c) && c.calls == 100001, "f %llu",
			  (unsigned long long)c.calls);
		cr_expect(get(cs, 300, "other", &c) && c.calls == 0);
		callstats_forget(cs, 300);
	}

	/* the process is forgotten: its entries too */
	callstats_forget(cs, 100);
	cr_expect(!get(cs, 100, "other", &c));
	snap.n = 1;
	e[0].s.calls = 5;
	cr_assert_eq(callstats_update(cs, &snap, 4), 0);
	cr_expect(get(cs, 100, "f", &c) && c.calls == 5, "a new process with the PID starts at 0");
	callstats_free(cs);
}

/* A burst of functions new in one update, more than a process's table holds: the slots go to
 * the most called first, whatever their code addresses (a hot function at the highest address
 * went to "other" for good: serve/exact_calls_debian_3_11 failed about 1 run in 30) */
Test(callstats, burst_of_new_functions_most_called_first)
{
	enum { N = 1100 };
	struct callstats *cs = callstats_new();
	struct calls_entry *e = calloc(N, sizeof(*e));
	struct calls_snapshot snap = { .e = e, .n = N };
	struct cs_counts c;
	char name[32];

	cr_assert(cs && e);
	for (int i = 0; i < N - 1; i++) {
		snprintf(name, sizeof(name), "once%d", i);
		entry(&e[i], 100, 0x1000 + 0x100 * (uint64_t)i, name, "a.py", 1);
	}
	entry(&e[N - 1], 100, 0x1000 + 0x100 * (uint64_t)N, "hot", "a.py", 100000);
	cr_assert_eq(callstats_update(cs, &snap, 1000), 0);
	cr_expect(get(cs, 100, "hot", &c) && c.calls == 100000, "hot %llu",
		  (unsigned long long)c.calls);
	/* 1023 of the others have slots (999 admitted), the rest of their calls in "other" */
	cr_expect(get(cs, 100, "other", &c) && c.calls == N - 1 - 999, "other %llu",
		  (unsigned long long)c.calls);
	callstats_free(cs);
	free(e);
}

Test(callstats, buckets_accumulate_from_log2_slots)
{
	struct callstats *cs = callstats_new();
	struct calls_entry e[1];
	struct calls_snapshot snap = { .e = e, .n = 1 };
	struct cs_counts c;
	unsigned int b;

	entry(&e[0], 7, 0x1000, "g", "b.py", 40);
	timed(&e[0], 40, 1500000, 21); /* 1.5 ms: slot 21 holds [1048576, 2097151] ns */
	cr_assert_eq(callstats_update(cs, &snap, 20), 0);
	cr_assert(get(cs, 7, "g", &c));
	cr_expect_eq(c.timed, 40);
	cr_expect_eq(c.total_ns, 60000000);
	for (b = 0; b < CALLSTATS_BUCKETS; b++)
		cr_expect_eq(c.le[b], callstats_bucket_slot(b) >= 21 ? 40 : 0, "bucket %u", b);
	cr_expect_eq(callstats_bucket_le_ns(0), 1023);
	cr_expect_eq(callstats_bucket_le_ns(CALLSTATS_BUCKETS - 1), (1ULL << 31) - 1);
	callstats_free(cs);
}

static struct report rep;

static void build_report(void)
{
	struct sc_snapshot snap = {};
	struct tracked_proc tp[2] = {};
	uint64_t s = 1000000000ULL;

	tp[0].info.pid = 100;
	tp[0].info.major = 3;
	tp[0].info.minor = 12;
	tp[0].info.micro = 1;
	snprintf(tp[0].info.comm, sizeof(tp[0].info.comm), "python3.12");
	snprintf(tp[0].unit, sizeof(tp[0].unit), "web.service");
	tp[1].info.pid = 200;
	tp[1].info.major = 3;
	tp[1].info.minor = 11;
	tp[1].info.micro = 2;
	snprintf(tp[1].info.comm, sizeof(tp[1].info.comm), "python3.11");
	tp[0].seen_ns = tp[1].seen_ns = s;
	cr_assert_eq(report_build(&rep, &snap, tp, 2, s, s + 10 * s), 0);
}

Test(metrics_calls, families_render_and_pass_promtool)
{
	struct callstats *cs = callstats_new();
	struct calls_entry e[4];
	struct calls_snapshot snap = { .e = e, .n = 4 };
	struct metrics_calls mc = { .budget_percent = 0.5, .window_seconds = 2.5,
				    .probe_cost_seconds = 0.0125 };
	struct metrics_health h = { .calls = true };
	char *buf = NULL, cmd[256];
	size_t len = 0;
	FILE *f;
	int rc;

	build_report();
	entry(&e[0], 100, 0x1000, "f", "/srv/a.py", 100000);
	timed(&e[0], 100000, 3000, 12); /* 3 us: slot 12 */
	entry(&e[1], 100, 0x2000, "We\"ird\\name", "/srv/a.py", 3);
	timed(&e[1], 3, 1000, 10);
	entry(&e[2], 100, 0x3000, "rare", "/srv/a.py", 1);
	timed(&e[2], 1, 1000, 10);
	e[2].s.lat[10] = 2; /* a slot counted before its call's count: the bucket stays <= count */
	entry(&e[3], 200, 0x1000, "f", "/srv/b.py", 42); /* USDT: counts only */
	cr_assert_eq(callstats_set_source(cs, 100, CALLS_SRC_RESUME), 0);
	cr_assert_eq(callstats_set_source(cs, 200, CALLS_SRC_USDT), 0);
	cr_assert_eq(callstats_update(cs, &snap, 2), 0);
	h.calls_counters[CC_DROP_STATS_FULL] = 4;
	h.calls_counters[CC_CALLS] = 100046;
	h.calls_entries = 4;
	h.calls_capacity = 16384;
	f = open_memstream(&buf, &len);
	cr_assert_eq(metrics_write(f, &rep, &h, 15), 0);
	metrics_write_calls(f, &rep, cs, &mc);
	fclose(f);

	cr_expect(strstr(buf, "\npyhound_calls_observed_total{pid=\"100\",comm=\"python3.12\","
			      "python_version=\"3.12.1\",unit=\"web.service\",function=\"f\","
			      "file=\"/srv/a.py\"} 100000\n"), "%s", buf);
	cr_expect(strstr(buf, "function=\"We\\\"ird\\\\name\",file=\"/srv/a.py\"} 3\n"),
		  "label escaping: %s", buf);
	cr_expect(strstr(buf, "\npyhound_calls_observed_total{pid=\"100\",comm=\"python3.12\","
			      "python_version=\"3.12.1\",unit=\"web.service\",function=\"other\","
			      "file=\"\"} 1\n"), "%s", buf);
	cr_expect(strstr(buf, "\npyhound_calls_observed_total{pid=\"200\",comm=\"python3.11\","
			      "python_version=\"3.11.2\",function=\"f\",file=\"/srv/b.py\"} 42\n"));
	/* 3 us calls: none up to 1.023 us, all up to 8.191 us */
	cr_expect(strstr(buf, "function=\"f\",file=\"/srv/a.py\",le=\"1.023e-06\"} 0\n"));
	cr_expect(strstr(buf, "function=\"f\",file=\"/srv/a.py\",le=\"8.191e-06\"} 100000\n"));
	cr_expect(strstr(buf, "function=\"f\",file=\"/srv/a.py\",le=\"+Inf\"} 100000\n"));
	cr_expect(strstr(buf, "pyhound_call_duration_seconds_sum{pid=\"100\",comm=\"python3.12\","
			      "python_version=\"3.12.1\",unit=\"web.service\",function=\"f\","
			      "file=\"/srv/a.py\"} 0.300000000\n"), "%s", buf);
	cr_expect(strstr(buf, "pyhound_call_duration_seconds_count{pid=\"100\",comm=\"python3.12\","
			      "python_version=\"3.12.1\",unit=\"web.service\",function=\"other\","
			      "file=\"\"} 1\n"));
	cr_expect(strstr(buf, "function=\"other\",file=\"\",le=\"1.023e-06\"} 1\n"),
		  "bucket clamped to the count: %s", buf);
	cr_expect_null(strstr(buf, "pyhound_call_duration_seconds_bucket{pid=\"200\""),
		       "USDT counts only: no histogram");
	cr_expect(strstr(buf, "pyhound_calls_source_info{pid=\"100\",comm=\"python3.12\","
			      "python_version=\"3.12.1\",unit=\"web.service\","
			      "source=\"uprobe:RESUME+RETURN\"} 1\n"));
	cr_expect(strstr(buf, "source=\"usdt:function__return\"} 1\n"));
	cr_expect(strstr(buf, "\npyhound_calls_window_seconds_total 2.500000000\n"));
	cr_expect(strstr(buf, "\npyhound_calls_probe_cost_seconds_total 0.012500000\n"));
	cr_expect(strstr(buf, "\npyhound_calls_budget_percent 0.5\n"));
	cr_expect(strstr(buf, "\npyhound_dropped_total{reason=\"calls_stats_full\"} 4\n"));
	cr_expect(strstr(buf, "\npyhound_dropped_total{reason=\"calls_shadow_full\"} 0\n"));
	cr_expect(strstr(buf, "\npyhound_calls_collector_events_total{event=\"calls\"} 100046\n"));
	cr_expect(strstr(buf, "\npyhound_map_entries{map=\"calls_stats\"} 4\n"));
	cr_expect(strstr(buf, "\npyhound_map_capacity{map=\"calls_stats\"} 16384\n"));
	cr_expect(strstr(buf, "rate(pyhound_calls_observed_total[5m]) / "
			      "rate(pyhound_calls_window_seconds_total[5m])"), "HELP says how to read");

	f = fopen("/tmp/pyhound-unit-calls-metrics.txt", "w");
	cr_assert_not_null(f);
	fputs(buf, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < /tmp/pyhound-unit-calls-metrics.txt "
		 "> /tmp/pyhound-unit-calls-promtool.txt 2>&1");
	rc = system(cmd);
	cr_expect_eq(rc, 0, "promtool check metrics failed (see /tmp/pyhound-unit-calls-promtool.txt)");
	free(buf);
	report_free(&rep);
	callstats_free(cs);
}

Test(metrics_calls, off_writes_nothing_of_calls)
{
	struct metrics_health h = {};
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	build_report();
	f = open_memstream(&buf, &len);
	cr_assert_eq(metrics_write(f, &rep, &h, 15), 0);
	fclose(f);
	cr_expect_null(strstr(buf, "pyhound_calls"), "%s", buf);
	cr_expect_null(strstr(buf, "pyhound_call_"));
	cr_expect_null(strstr(buf, "reason=\"calls_"));
	free(buf);
	report_free(&rep);
}
