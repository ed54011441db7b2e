// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pyhound queries: database queries per Python call site, and the N+1 finding. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "collect/queries_user.h"
#include "host/tracker.h"
#include "lib/json.h"
#include "lib/log.h"
#include "out/out_queries.h"

#define MAX_PIDS 64
#define PROBE_COST_NS 1000.0 /* a uprobe hit's trap when calibration fails (as calls) */
#define DEFAULT_BUDGET 1.0   /* percent: as calls; see queries_usage */

static void queries_usage(FILE *f)
{
	fprintf(f,
		"Usage: pyhound queries [--pid P ...] [--duration S] [--budget PCT] [--top N]\n"
		"                       [--min-repeats N] [--json] [-v]\n\n"
		"Database queries of Python processes, seen at the client library with no code\n"
		"change: SQLite (libsqlite3, the stdlib sqlite3 module) and PostgreSQL (libpq:\n"
		"psycopg2, psycopg). Each query is counted with its normalised statement (literals\n"
		"as ?, IN (...) lists folded), its time in the library (SQLite: inside sqlite3_step;\n"
		"libpq: call to result) and the Python function and line that issued it, from a walk\n"
		"of the Python stack at the query.\n"
		"N+1 finding: one call site running the same statement --min-repeats times or more\n"
		"within one call of the function that encloses it (its caller).\n"
		"Each query costs a few uprobe hits (SQLite: step entry and return per row, reset;\n"
		"1.5-2 us each here) and one stack walk: a loop of cheap point queries ran 1.5-1.7x\n"
		"slower with every query probed. So the probes of executions are attached in\n"
		"windows sized to keep their cost (hits x measured cost per hit, printed) within\n"
		"--budget percent of the time (those of prepares stay, to name statements). SEEN\n"
		"counts are exact inside windows; ~RUN estimates each over the run from the\n"
		"process's CPU time (marked as estimates, low by up to the probes' slowdown). The\n"
		"N+1 finding is a ratio per call, taken from calls seen whole inside windows (a\n"
		"call cut by a window's end counts apart, its start unseen: not at all).\n"
		"--budget 100 attaches for the whole run: exact counts. See bench/RESULTS-queries.md.\n\n"
		"Options:\n"
		"  -d, --duration S      how long to watch (default 10; with --pid, also stops when\n"
		"                        every process has exited)\n"
		"  -p, --pid P[,P...]    only these processes (repeatable); each must be CPython\n"
		"  -b, --budget PCT      probe overhead budget in percent of run time (default %g,\n"
		"                        as calls: an always-on agent's usual share)\n"
		"  -n, --top N           statements shown per process (default 10; JSON: all)\n"
		"  -r, --min-repeats N   repeats per call that make an N+1 (default %d)\n"
		"      --json            one JSON document instead of text\n"
		"  -v                    also print libraries, probes and collector counters\n"
		"  -h, --help            this text\n\n"
		"Examples:\n"
		"  sudo pyhound queries --pid 1234 --duration 30\n"
		"  sudo pyhound queries --budget 100 --json | jq '.n_plus_one'\n",
		DEFAULT_BUDGET, QS_N1_MIN);
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
	struct queries *q;
	size_t top;
};

static void print_proc(const struct tracked_proc *tp, void *ctx)
{
	struct print_ctx *pc = ctx;
	struct querystats *qs = queries_stats(pc->q);

	printf("\npid %d %s CPython %d.%d%s\n", (int)tp->info.pid, tp->info.comm, tp->info.major,
	       tp->info.minor, tp->exited ? " (exited)" : "");
	if (!queries_print_proc(stdout, qs, tp->info.pid, pc->top, "  "))
		printf("  no queries seen\n");
	queries_print_n1(stdout, qs, tp->info.pid, "  ");
}

static void print_libs(struct queries *q, struct json *j)
{
	size_t n;
	const struct queries_lib *l = queries_libs(q, &n);

	if (j)
		json_arr_begin(j, "libraries");
	for (size_t i = 0; i < n; i++) {
		if (j) {
			json_obj_begin(j, NULL);
			json_str(j, "path", l[i].path);
			json_str(j, "library", l[i].lib == Q_LIB_PQ ? "libpq" : "sqlite");
			json_i64(j, "first_pid", l[i].first_pid);
			json_bool(j, "attached", l[i].attached);
			json_str(j, "status", l[i].status);
			json_obj_end(j);
		} else {
			printf("library %s (first seen in pid %d): %s\n", l[i].path,
			       (int)l[i].first_pid, l[i].status);
		}
	}
	if (j)
		json_arr_end(j);
}

int cmd_queries(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "pid", required_argument, NULL, 'p' },
		{ "top", required_argument, NULL, 'n' },
		{ "min-repeats", required_argument, NULL, 'r' },
		{ "budget", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{},
	};
	struct tracker_opts topts = { .max_procs = 4096 };
	struct queries_opts qopts = {};
	struct tracker *t = NULL;
	struct queries *q = NULL;
	struct tracker_hooks hooks;
	pid_t pids[MAX_PIDS];
	int npids = 0, c, err, ret = 1;
	double duration = 10, budget = DEFAULT_BUDGET, trap_ns = PROBE_COST_NS;
	struct probe_window win;
	uint64_t wake;
	bool calibrated = false;
	unsigned long top = 10, minrep = QS_N1_MIN;
	bool as_json = false;
	uint64_t start, end;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:d:p:n:r:b:jhv", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (parse_seconds(optarg, "duration", 0.1, 86400, &duration))
				return usage_error("queries", "bad --duration");
			break;
		case 'p':
			if (parse_pids(optarg, pids, &npids, MAX_PIDS))
				return usage_error("queries", "bad --pid");
			break;
		case 'n':
			if (parse_uint(optarg, "top", 1, 100000, &top))
				return usage_error("queries", "bad --top");
			break;
		case 'r':
			if (parse_uint(optarg, "min-repeats", 2, 1000000, &minrep))
				return usage_error("queries", "bad --min-repeats");
			break;
		case 'b':
			if (parse_percent(optarg, "--budget", 0.001, 100, &budget))
				return usage_error("queries", "bad --budget");
			break;
		case 'j': as_json = true; break;
		case 'v': log_set_verbosity(log_verbosity + 1); break;
		case 'h': queries_usage(stdout); return 0;
		case ':': return usage_error("queries", "option '%s' needs a value", argv[optind - 1]);
		default: return usage_error("queries", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("queries", "unexpected argument '%s'", argv[optind]);
	if (bpf_prepare())
		return 1;
	topts.follow = npids == 0;
	topts.pids = pids;
	topts.npids = npids;
	err = tracker_open(&topts, &t);
	if (err)
		goto out;
	qopts.tracked_fd = tracker_map_fd(t);
	qopts.max_procs = topts.max_procs;
	qopts.n1_min = minrep;
	err = queries_open(&qopts, &q);
	if (err)
		goto out;
	hooks = queries_tracker_hooks(q);
	tracker_add_hooks(t, &hooks);
	err = queries_attach(q);
	if (err)
		goto out;
	install_signal_handlers();
	err = tracker_start(t);
	if (err)
		goto out;
	if (budget < 100) {
		err = queries_calibrate(q, &trap_ns);
		if (err) {
			pr_warn("cannot time a probe hit (%s): assuming %.0f ns", strerror(-err),
				PROBE_COST_NS);
			trap_ns = PROBE_COST_NS;
		} else {
			calibrated = true;
			pr_info("queries: a probe hit's trap costs %.0f ns here", trap_ns);
		}
	}
	fprintf(stderr, "pyhound: following the database queries of %d CPython process%s%s for "
		"%.1f s, budget %g%% (Ctrl-C to stop early)\n", tracker_count(t),
		tracker_count(t) == 1 ? "" : "es", topts.follow ? " and any that start" : "",
		duration, budget);
	start = now_ns();
	probe_window_start(&win, &queries_window_ops, q, budget, trap_ns, start);
	probe_window_set_end(&win, start + (uint64_t)(duration * 1e9));
	wake = win.next;
	while (!exiting) {
		uint64_t now = now_ns(), lim = start + (uint64_t)(duration * 1e9), until;
		struct alive_ctx ac = {};

		if (now >= lim)
			break;
		err = tracker_poll(t, 0);
		if (err < 0) {
			pr_err("polling lifecycle events: %s", strerror(-err));
			goto out;
		}
		until = wake < lim ? wake : lim;
		err = queries_poll(q, until <= now ? 0 : until - now > 100000000ULL ? 100 :
					      (int)((until - now + 999999) / 1000000));
		if (err < 0 && err != -EINTR) {
			pr_err("polling query records: %s", strerror(-err));
			goto out;
		}
		if (npids) {
			tracker_foreach(t, count_alive, &ac);
			if (!ac.alive)
				break;
		}
		err = probe_window_step(&win, now_ns(), &wake);
		if (err) {
			pr_err("attaching the query probes for a window: %s", strerror(-err));
			goto out;
		}
	}
	end = now_ns();
	probe_window_finish(&win, end);
	tracker_poll(t, 0);
	queries_poll(q, 0);
	if (budget < 100) /* calls in progress were cut by the run's end */
		querystats_cut(queries_stats(q));
	else
		querystats_flush(queries_stats(q));
	queries_set_coverage(q, &win, start, end, true);
	{
		uint64_t bs[Q_STAT_MAX];
		struct querystats *qs = queries_stats(q);
		struct print_ctx pc = { q, top };
		struct json j;

		queries_bpf_stats(q, bs);
		if (as_json) {
			json_init(&j, stdout);
			json_obj_begin(&j, NULL);
			json_double(&j, "duration_s", (end - start) / 1e9);
			json_double(&j, "probe_trap_ns", trap_ns);
			json_bool(&j, "probe_trap_measured", calibrated);
			queries_json_coverage(&j, qs);
			print_libs(q, &j);
			queries_json(&j, qs, 0);
			json_obj_begin(&j, "counters");
			for (unsigned int i = 0; i < Q_STAT_MAX; i++)
				json_u64(&j, queries_bpf_stat_name(i), bs[i]);
			for (unsigned int i = 0; i < QC_COUNTER_MAX; i++)
				json_u64(&j, queries_counter_name(i), queries_counter(q, i));
			for (unsigned int i = 0; i < QS_COUNTER_MAX; i++)
				json_u64(&j, querystats_counter_name(i), querystats_counter(qs, i));
			json_obj_end(&j);
			json_obj_end(&j);
			fputc('\n', stdout);
		} else {
			printf("%llu queries %sin %.1f s (time: SQLite inside sqlite3_step, libpq from "
			       "call to result; P99: '<' the upper bound of its power-of-two bucket)\n",
			       (unsigned long long)bs[Q_STAT_QUERIES],
			       budget < 100 ? "seen inside windows " : "", (end - start) / 1e9);
			queries_print_coverage(stdout, qs, "");
			if (log_verbosity > 0)
				print_libs(q, NULL);
			tracker_foreach(t, print_proc, &pc);
			if (log_verbosity > 0) {
				printf("\ncollector:");
				for (unsigned int i = 0; i < Q_STAT_MAX; i++)
					printf(" %s=%llu", queries_bpf_stat_name(i),
					       (unsigned long long)bs[i]);
				for (unsigned int i = 0; i < QC_COUNTER_MAX; i++)
					printf(" %s=%llu", queries_counter_name(i),
					       (unsigned long long)queries_counter(q, i));
				for (unsigned int i = 0; i < QS_COUNTER_MAX; i++)
					printf(" %s=%llu", querystats_counter_name(i),
					       (unsigned long long)querystats_counter(qs, i));
				printf("\n");
			}
		}
	}
	ret = 0;
out:
	queries_free(q);
	tracker_free(t);
	return ret;
}
