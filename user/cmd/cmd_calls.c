// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pyhound calls: exact Python call counts and per-call latency, in windows sized by a budget. */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "collect/calls_user.h"
#include "collect/calls_window.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "lib/json.h"
#include "lib/log.h"
#include "host/tracker.h"

#define MAX_PIDS 64
#define PROBE_COST_NS 1000.0 /* a uprobe hit's trap when calibration fails (measured 0.8-1.1 us) */

static void calls_usage(FILE *f)
{
	fprintf(f,
		"Usage: pyhound calls [--pid P ...] [--match GLOB] [--budget PCT] [--duration S]\n"
		"                     [--counts-only] [--usdt] [--json] [-v]\n\n"
		"Count every Python call exactly and time each one, per process and function.\n"
		"Each process's calls are seen through one source, printed with it: uprobes on the\n"
		"interpreter's RESUME/RETURN opcode handlers (CPython 3.11-3.15; in a stripped 3.11,\n"
		"3.14 or 3.15 the handler table is found by decoding the eval loop), on\n"
		"_PyEval_EvalFrameDefault's entry block and RETURN_VALUE (3.8-3.10), or the USDT\n"
		"probe function__return (exact counts, no latency) where handler probes are refused\n"
		"on 3.15, or with --usdt.\n"
		"A probe hit costs 1.5-2 us here, a trivial Python call 50-100 ns: counting every call\n"
		"of a call-heavy program slows it 25-50 times. So probes are attached in windows sized\n"
		"to keep their cost (hits x measured cost per hit, printed) within --budget percent of\n"
		"the time; counts are exact inside windows, rates are extrapolated, and the share of\n"
		"time covered is printed. --budget 100 attaches for the whole run (exact totals).\n"
		"Names are copied at a function's first call (code made by exec() and freed too).\n"
		"No latency ('-') for calls seen through USDT, with --counts-only, or whose start\n"
		"and return were not both seen while the probes were attached (said why under the\n"
		"table; JSON: no_latency). Generators and coroutines (3.11+) are timed from their\n"
		"first start to their final return, across suspensions.\n\n"
		"Options:\n"
		"  -d, --duration S    how long to watch (default 10; with --pid, also stops when\n"
		"                      every process has exited)\n"
		"  -p, --pid P[,P...]  only these processes (repeatable); each must be CPython\n"
		"  -m, --match GLOB    report only functions whose qualified name matches GLOB (the\n"
		"                      probe cost is paid for every call regardless)\n"
		"  -b, --budget PCT    probe overhead budget in percent of run time (default 1)\n"
		"  -c, --counts-only   probe where calls start only: no latency, half the probe\n"
		"                      hits per call (twice the coverage for the same budget)\n"
		"      --usdt          count through the USDT probe function__return where the\n"
		"                      interpreter has one (3.11, 3.15), not handler uprobes. On\n"
		"                      CPython 3.11 it changes the program: a function whose name\n"
		"                      cannot be encoded in UTF-8 raises SystemError while the\n"
		"                      probe is enabled (CPython's own hook); never used without it\n"
		"      --json          one JSON document instead of a table\n"
		"  -v                  also print probe sites and collector counters\n"
		"  -h, --help          this text\n\n"
		"Examples:\n"
		"  sudo pyhound calls --pid 1234 --duration 30\n"
		"  sudo pyhound calls --budget 100 --match 'handle_*' --json\n");
}

struct calls_ctx {
	struct calls_collector *c;
	int added;
};

static void on_add(const struct tracked_proc *tp, void *ctx)
{
	struct calls_ctx *cc = ctx;
	char why[512];
	int err = calls_add_process(cc->c, &tp->info, why, sizeof(why));

	if (err)
		pr_warn("pid %d (CPython %d.%d): calls not counted: %s", tp->info.pid,
			tp->info.major, tp->info.minor, why[0] ? why : strerror(-err));
	else {
		cc->added++;
		if (why[0])
			pr_info("pid %d: %s", tp->info.pid, why);
	}
}

static void on_gone(const struct tracked_proc *tp, void *ctx)
{
	struct calls_ctx *cc = ctx;

	/* its counts stay; names were resolved while it ran */
	calls_process_exited(cc->c, tp->info.pid);
}

struct alive_ctx {
	int alive;
};

static void count_alive(const struct tracked_proc *tp, void *ctx)
{
	struct alive_ctx *a = ctx;

	if (!tp->exited)
		a->alive++;
}

struct print_ctx {
	struct calls_collector *c;
	struct json *j;
	bool counts_only;
};

static void print_proc(const struct tracked_proc *tp, void *ctx)
{
	struct print_ctx *pc = ctx;
	char desc[512] = "", failed[300] = "";
	int src = calls_source_of(pc->c, tp->info.pid, desc, sizeof(desc));

	calls_failure_of(pc->c, tp->info.pid, failed, sizeof(failed));

	if (pc->j) {
		json_obj_begin(pc->j, NULL);
		json_i64(pc->j, "pid", tp->info.pid);
		json_str(pc->j, "comm", tp->info.comm);
		json_i64(pc->j, "major", tp->info.major);
		json_i64(pc->j, "minor", tp->info.minor);
		json_str(pc->j, "build", py_proc_build(&tp->info));
		json_str(pc->j, "source", calls_source_name(src));
		json_bool(pc->j, "latency", !pc->counts_only &&
				  (src == CALLS_SRC_RESUME || src == CALLS_SRC_EVAL_ENTRY));
		json_str(pc->j, "probes", desc);
		json_bool(pc->j, "exited", tp->exited);
		if (failed[0]) /* its binary's probes failed at the last window: not counted since */
			json_str(pc->j, "probes_failed", failed);
		json_obj_end(pc->j);
	} else {
		printf("pid %d %s CPython %d.%d (%s): %s%s\n", tp->info.pid, tp->info.comm,
		       tp->info.major, tp->info.minor, py_proc_build(&tp->info),
		       calls_source_name(src),
		       src == CALLS_SRC_USDT || pc->counts_only ? " (counts only)" : "");
		if (failed[0])
			printf("  not counted since its last window: %s\n", failed);
		if (log_verbosity > 0 && src)
			printf("  probes: %s\n", desc);
	}
}

/* How many calls the run made per call counted, for one process: the calls it made per
 * CPU-second inside windows (from when every probe is in to the detach; the calls counted while
 * attaching are taken out in proportion to its probe hits) times its CPU time over the run. CPU
 * time, not wall time: a process waiting for work (I/O-bound) and one sharing a busy CPU come
 * out right, where a rate per second of window was a burst rate. The probes' cost is not taken
 * out of its CPU time in windows: the process's CPU clock shows little of a hit's trap (0.5 us
 * of CPU time against 1.7-3 us of wall time, measured here by calibration), and subtracting a
 * modelled cost from a few ms of CPU time swung estimates 2-4x above the truth on a loaded host.
 * So for a process the probes slowed the estimate is low: when the hits' modelled CPU cost is
 * over a quarter of its CPU time in windows, it is marked a lower bound. The model understates
 * what the probes take (cache and TLB effects of the traps): on an open loop of 2000 requests
 * (tests/workloads/calls_mix.py open, a quiet host) estimates of 0.29-0.40 of the truth went
 * unmarked at "over half" in 3 runs of 3. A process that hardly ran
 * inside windows (< 1 ms of CPU) is scaled by wall time. */
static double run_scale(const struct calls_usage *u, double hit_ns, double wall, double cov,
			bool *lower, const char **basis)
{
	double win = (double)u->cpu_win_ns;

	*lower = false;
	*basis = "wall";
	if (win < 1e6 || !u->hits || !u->hits_win)
		return cov > 0 ? wall / cov : 1;
	*basis = "cpu";
	*lower = (double)u->hits_win * hit_ns > 0.25 * win;
	return (double)u->hits_win / (double)u->hits * (double)u->cpu_ns / win;
}

struct usage_sum {
	struct calls_collector *c;
	int probed;	   /* processes with probe hits */
	double cpu_s;	   /* their CPU time over the run */
};

static void sum_usage(const struct tracked_proc *tp, void *ctx)
{
	struct usage_sum *us = ctx;
	struct calls_usage u;

	if (calls_proc_usage(us->c, tp->info.pid, &u) || !u.hits)
		return;
	pr_debug("calls: pid %d: %llu probe hits (%llu inside windows), %.3f s of CPU time (%.3f s inside windows)",
		 tp->info.pid, (unsigned long long)u.hits, (unsigned long long)u.hits_win,
		 u.cpu_ns / 1e9, u.cpu_win_ns / 1e9);
	us->probed++;
	us->cpu_s += u.cpu_ns / 1e9;
}

/* Why a function counted has no latency figure (NULL: it has one). */
static const char *no_latency(const struct calls_collector *c, const struct calls_entry *e,
			      bool counts_only, double budget)
{
	int src;

	if (e->s.timed)
		return NULL;
	src = calls_source_of(c, e->pid, NULL, 0);
	if (counts_only)
		return "counts only (--counts-only)";
	if (src == CALLS_SRC_USDT)
		return "counts only (USDT function__return)";
	if (budget < 100)
		return "no call both started and returned inside one window (a call longer than a "
		       "window, or one that raised)";
	if (src == CALLS_SRC_EVAL_ENTRY)
		return "no call returned through RETURN_VALUE after a start seen (raised, still "
		       "running at the end, or a generator/coroutine resumed across calls: 3.8-3.10 "
		       "time those only when they return before their caller)";
	return "no call returned through a probed return (raised, or still running at the end)";
}

static int cmp_calls(const void *a, const void *b)
{
	const struct calls_entry *x = a, *y = b;

	return x->s.calls < y->s.calls ? 1 : x->s.calls > y->s.calls ? -1 : 0;
}

static int cmp_function(const void *a, const void *b)
{
	const struct calls_entry *x = a, *y = b;
	int r;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if ((r = strcmp(x->name, y->name)) || (r = strcmp(x->file, y->file)))
		return r;
	return x->first_line - y->first_line;
}

/* One row per function: code objects of the same (process, name, file, first line) -- the same
 * def run by exec() again, a module reloaded -- are summed; unnamed ones stay apart. */
static void merge_functions(struct calls_snapshot *snap)
{
	size_t i, n = 0;

	qsort(snap->e, snap->n, sizeof(*snap->e), cmp_function);
	for (i = 0; i < snap->n; i++) {
		struct calls_entry *e = &snap->e[i], *m = n ? &snap->e[n - 1] : NULL;

		if (m && strcmp(e->name, "<unknown>") && !cmp_function(m, e)) {
			m->s.calls += e->s.calls;
			m->s.timed += e->s.timed;
			m->s.total_ns += e->s.total_ns;
			m->s.unwound += e->s.unwound;
			if (e->s.max_ns > m->s.max_ns)
				m->s.max_ns = e->s.max_ns;
			for (int k = 0; k < CALLS_LAT_SLOTS; k++)
				m->s.lat[k] += e->s.lat[k];
			m->code_objects++;
			continue;
		}
		if (n != i)
			snap->e[n] = *e;
		snap->e[n].code_objects = 1;
		n++;
	}
	snap->n = n;
}

int cmd_calls(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "pid", required_argument, NULL, 'p' },
		{ "match", required_argument, NULL, 'm' },
		{ "budget", required_argument, NULL, 'b' },
		{ "counts-only", no_argument, NULL, 'c' },
		{ "usdt", no_argument, NULL, 'U' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{},
	};
	struct tracker_opts topts = { .max_procs = 4096 };
	struct calls_collector_opts copts = { .max_stats = 65536 };
	struct tracker *t = NULL;
	struct calls_ctx cc = {};
	struct tracker_hooks hooks = { .on_add = on_add, .on_exit = on_gone, .ctx = &cc };
	struct calls_snapshot snap = {};
	pid_t pids[MAX_PIDS];
	int npids = 0, c, err, ret = 1, windows = 0;
	double duration = 10, budget = 1;
	const char *match = NULL;
	bool as_json = false, calibrated = false;
	struct calls_window win;
	uint64_t start, end, covered, last_resolve, wake;
	double cost_ns = PROBE_COST_NS, spent;
	uint64_t total_hits = 0;
	double bpf_per_hit = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:d:p:m:b:cjhv", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (parse_seconds(optarg, "duration", 0.1, 86400, &duration))
				return usage_error("calls", "bad --duration");
			break;
		case 'p':
			if (parse_pids(optarg, pids, &npids, MAX_PIDS))
				return usage_error("calls", "bad --pid");
			break;
		case 'm': match = optarg; break;
		case 'b':
			if (parse_percent(optarg, "--budget", 0.001, 100, &budget))
				return usage_error("calls", "bad --budget");
			break;
		case 'c': copts.counts_only = true; break;
		case 'U': copts.usdt = true; break;
		case 'j': as_json = true; break;
		case 'v': log_set_verbosity(log_verbosity + 1); break;
		case 'h': calls_usage(stdout); return 0;
		case ':': return usage_error("calls", "option '%s' needs a value", argv[optind - 1]);
		default: return usage_error("calls", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("calls", "unexpected argument '%s'", argv[optind]);
	if (bpf_prepare())
		return 1;
	topts.follow = npids == 0;
	topts.pids = pids;
	topts.npids = npids;
	err = tracker_open(&topts, &t);
	if (err)
		goto out;
	copts.tracked_fd = tracker_map_fd(t);
	copts.max_procs = topts.max_procs;
	err = calls_open(&copts, &cc.c);
	if (err)
		goto out;
	tracker_add_hooks(t, &hooks);
	install_signal_handlers();
	err = tracker_start(t);
	if (err)
		goto out;
	if (npids && !cc.added) { /* each was refused above, with its reason */
		pr_err("no process given can have its calls counted");
		goto out;
	}
	{
		err = calls_calibrate(cc.c, &cost_ns);
		if (err) {
			pr_warn("cannot time a probe hit (%s): assuming %.0f ns", strerror(-err),
				cost_ns);
			cost_ns = PROBE_COST_NS;
		} else {
			calibrated = true;
			pr_info("calls: a probe hit's trap costs %.0f ns here", cost_ns);
		}
	}
	start = now_ns();
	err = calls_window_start(&win, cc.c, budget, cost_ns, start);
	if (err)
		goto out;
	if (npids && !calls_counting(cc.c)) { /* each process's binary failed, said above */
		pr_err("no process given can have its calls counted");
		goto out;
	}
	start = win.start;
	calls_window_set_end(&win, start + (uint64_t)(duration * 1e9));
	wake = win.next;
	last_resolve = start;
	fprintf(stderr, "pyhound: counting calls of %d CPython process%s%s for %.1f s, budget "
		"%g%% (Ctrl-C to stop early)\n", tracker_count(t), tracker_count(t) == 1 ? "" : "es",
		topts.follow ? " and any that start" : "", duration, budget);
	while (!exiting) {
		uint64_t now = now_ns(), lim = start + (uint64_t)(duration * 1e9), until;
		struct alive_ctx ac = {};

		if (now >= lim)
			break;
		until = wake < lim ? wake : lim;
		err = tracker_poll(t, until - now > 100000000ULL ? 100 :
					      (int)((until - now + 999999) / 1000000));
		if (err < 0) {
			pr_err("polling lifecycle events: %s", strerror(-err));
			goto out;
		}
		now = now_ns();
		if (now - last_resolve >= 100000000ULL) {
			calls_resolve(cc.c);
			last_resolve = now;
		}
		if (npids) {
			tracker_foreach(t, count_alive, &ac);
			if (!ac.alive)
				break;
		}
		err = calls_window_step(&win, now, &wake);
		if (err)
			goto out;
	}
	end = now_ns();
	calls_window_finish(&win, end);
	covered = win.covered_ns;
	windows = win.windows;
	spent = calls_window_spent_ns(&win);
	{
		uint64_t bpf_ns, hits = calls_hits(cc.c, &bpf_ns);

		total_hits = hits;
		if (hits)
			bpf_per_hit = (double)bpf_ns / hits;
	}
	tracker_poll(t, 0);
	err = calls_snapshot(cc.c, &snap);
	calls_detach(cc.c);
	if (err)
		goto out;
	merge_functions(&snap);
	qsort(snap.e, snap.n, sizeof(*snap.e), cmp_calls);
	{
		double wall = (double)(end - start) / 1e9, cov = (double)covered / 1e9;
		struct json j;
		struct print_ctx pc = { cc.c, as_json ? &j : NULL, copts.counts_only };
		size_t i;
		const char *why_none = NULL;
		struct usage_sum us = { .c = cc.c };
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		/* a hit's cost in the CPU time of the process it traps in, for rates */
		double cpu_hit_ns = (calls_trap_cpu_ns(cc.c) > 0 ? calls_trap_cpu_ns(cc.c) : cost_ns) +
				    bpf_per_hit;

		tracker_foreach(t, sum_usage, &us);
		if (ncpu < 1)
			ncpu = 1;

		if (as_json) {
			json_init(&j, stdout);
			json_obj_begin(&j, NULL);
			json_double(&j, "duration_s", wall);
			json_double(&j, "covered_s", cov);
			json_double(&j, "coverage", wall > 0 ? cov / wall : 0);
			json_i64(&j, "windows", windows);
			json_double(&j, "budget_pct", budget);
			json_double(&j, "probe_cost_ns", cost_ns + bpf_per_hit);
			json_double(&j, "probe_trap_ns", cost_ns);
			json_bool(&j, "probe_trap_measured", calibrated);
			json_double(&j, "probe_bpf_ns", bpf_per_hit);
			json_u64(&j, "probe_hits", total_hits);
			/* the probes' cost as modelled (hits x measured cost per hit): what the
			 * budget is held to; the real slowdown is measured in bench/calls.sh */
			json_double(&j, "probe_cost_s", spent / 1e9);
			/* CPU time summed over the processes, in percent of one CPU over the run
			 * (what the budget holds), and of all the host's CPUs */
			json_double(&j, "probe_cost_pct", wall > 0 ? 100 * spent / 1e9 / wall : 0);
			json_double(&j, "probe_cost_pct_of_host",
				    wall > 0 ? 100 * spent / 1e9 / wall / ncpu : 0);
			json_i64(&j, "host_cpus", ncpu);
			json_i64(&j, "probed_processes", us.probed);
			json_str(&j, "match", match);
			json_arr_begin(&j, "processes");
			tracker_foreach(t, print_proc, &pc);
			json_arr_end(&j);
			json_arr_begin(&j, "functions");
		} else {
			printf("%d window%s covering %.2f s of %.2f s (%.1f%%), budget %g%%%s\n",
			       windows, windows == 1 ? "" : "s", cov, wall,
			       wall > 0 ? 100 * cov / wall : 0, budget,
			       budget >= 100 ? " (continuous: exact totals)" :
					       ": counts are exact within windows, rates extrapolated");
			/* the cost is CPU time summed over processes: against one CPU's time (what
			 * the budget holds), and against the whole host's when it is more than one
			 * process (host-wide it can pass 100% of one CPU) */
			printf("probe hits: %llu at %.0f ns each (trap %.0f ns %s, BPF %.0f ns "
			       "measured): %.3f s of CPU time%s, %.2f%% of one CPU over the run",
			       (unsigned long long)total_hits, cost_ns + bpf_per_hit, cost_ns,
			       calibrated ? "measured" : "assumed", bpf_per_hit, spent / 1e9,
			       us.probed > 1 ? " summed over the processes" : "",
			       wall > 0 ? 100 * spent / 1e9 / wall : 0);
			if (us.probed > 1)
				printf(" (%.2f%% of the %ld CPUs' time; %d processes)",
				       wall > 0 ? 100 * spent / 1e9 / wall / ncpu : 0, ncpu, us.probed);
			printf("\n");
			if (budget < 100)
				printf("CALLS: counted inside windows. CALLS/S: per second of the whole "
				       "run, each process's calls per CPU-second inside windows times its "
				       "CPU time over the run ('>': a lower bound, the probes took most of "
				       "its CPU time in windows)\n");
			if (match)
				printf("showing functions matching '%s' (probes count every call "
				       "regardless)\n", match);
			tracker_foreach(t, print_proc, &pc);
			if (!copts.counts_only)
				printf("P50, P99: '<' the upper bound of the power-of-two latency bucket "
				       "holding them; a bound above MAX shows MAX\n");
			printf("\n%7s %12s %12s %10s %10s %10s %10s  %s\n", "PID", "CALLS",
			       "CALLS/S", "MEAN", "P50", "P99", "MAX", "FUNCTION");
		}
		for (i = 0; i < snap.n; i++) {
			const struct calls_entry *e = &snap.e[i];
			double mean = e->s.timed ? (double)e->s.total_ns / e->s.timed : 0;
			/* the upper bound of a log2 bucket, capped at the largest value measured */
			uint64_t p50 = calls_hist_percentile(e->s.lat, CALLS_LAT_SLOTS, 50);
			uint64_t p99 = calls_hist_percentile(e->s.lat, CALLS_LAT_SLOTS, 99);
			double raw = cov > 0 ? e->s.calls / cov : 0, scale = 1, est, rate;
			const char *basis = "exact";
			bool lower = false;
			struct calls_usage u;

			if (budget < 100) {
				calls_proc_usage(cc.c, e->pid, &u);
				scale = run_scale(&u, cpu_hit_ns, wall, cov, &lower, &basis);
			}
			est = e->s.calls * scale;
			rate = wall > 0 ? est / wall : 0;

			if (match && fnmatch(match, e->name, 0))
				continue;
			if (p50 > e->s.max_ns)
				p50 = e->s.max_ns;
			if (p99 > e->s.max_ns)
				p99 = e->s.max_ns;
			if (as_json) {
				json_obj_begin(&j, NULL);
				json_i64(&j, "pid", e->pid);
				json_str(&j, "function", e->name);
				json_str(&j, "file", e->file);
				json_u64(&j, "code", e->code);
				json_u64(&j, "code_objects", e->code_objects);
				json_i64(&j, "line", e->first_line);
				json_u64(&j, "calls", e->s.calls);
				/* per second of the whole run: estimated_calls / duration_s */
				json_double(&j, "calls_per_s", rate);
				json_double(&j, "calls_per_s_probed", raw);
				json_bool(&j, "rate_is_lower_bound", lower);
				json_str(&j, "rate_basis", basis);
				json_double(&j, "estimated_calls", est);
				json_u64(&j, "timed", e->s.timed);
				json_u64(&j, "unwound", e->s.unwound);
				json_double(&j, "mean_ns", mean);
				/* upper bounds of log2 buckets, capped at max_ns */
				json_u64(&j, "p50_ns", p50);
				json_u64(&j, "p99_ns", p99);
				json_u64(&j, "max_ns", e->s.max_ns);
				json_u64(&j, "total_ns", e->s.total_ns);
				json_str(&j, "no_latency", no_latency(cc.c, e, copts.counts_only, budget));
				json_obj_end(&j);
			} else {
				char mb[16], pb[16], qb[16], xb[16];

				if (e->s.timed) {
					snprintf(mb, sizeof(mb), "%.1fus", mean / 1e3);
					snprintf(pb, sizeof(pb), "%s%.1fus",
						 p50 < e->s.max_ns ? "<" : "", p50 / 1e3);
					snprintf(qb, sizeof(qb), "%s%.1fus",
						 p99 < e->s.max_ns ? "<" : "", p99 / 1e3);
					snprintf(xb, sizeof(xb), "%.1fus", e->s.max_ns / 1e3);
				} else {
					strcpy(mb, "-"); strcpy(pb, "-"); strcpy(qb, "-"); strcpy(xb, "-");
					if (!why_none)
						why_none = no_latency(cc.c, e, copts.counts_only, budget);
				}
				char rb[24];

				snprintf(rb, sizeof(rb), "%s%.0f", lower ? ">" : "", rate);
				printf("%7d %12llu %12s %10s %10s %10s %10s  %s (%s:%d)\n", e->pid,
				       (unsigned long long)e->s.calls, rb, mb, pb, qb, xb, e->name,
				       e->file, e->first_line);
			}
		}
		if (!as_json && why_none)
			printf("\n'-': no latency, e.g. %s; covered windows lasted %.1f ms on "
			       "average%s\n", why_none, windows ? 1e3 * cov / windows : 0,
			       copts.counts_only ? "" : " (generators and coroutines on 3.11+ are "
			       "timed from their first start to their final return)");
		if (as_json) {
			json_arr_end(&j);
			json_obj_begin(&j, "counters");
			for (i = 0; i < CC_MAX; i++)
				json_u64(&j, calls_counter_name(i), snap.counters[i]);
			json_obj_end(&j);
			json_obj_end(&j);
			fputc('\n', stdout);
		} else if (log_verbosity > 0) {
			printf("\ncollector:");
			for (i = 0; i < CC_MAX; i++)
				printf(" %s=%llu", calls_counter_name(i),
				       (unsigned long long)snap.counters[i]);
			printf("\n");
		}
	}
	ret = 0;
out:
	calls_snapshot_free(&snap);
	calls_free(cc.c);
	tracker_free(t);
	return ret;
}
