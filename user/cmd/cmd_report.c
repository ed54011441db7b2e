// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pyhound report: watch CPython processes for a while, then say where their time went. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "collect/gc_user.h"
#include "collect/queries_user.h"
#include "lib/log.h"
#include "collect/profiler.h"
#include "collect/memory.h"
#include "stack/memheld.h"
#include "model/report.h"
#include "model/findings_code.h"
#include "model/report_mem.h"
#include "host/rss.h"
#include "collect/syscalls_user.h"
#include "host/tracker.h"
#include "wall.h"
#include "host/hostcpu.h"
#include "model/loopblock.h"

#define MAX_PIDS 64

static void report_usage(FILE *f)
{
	fprintf(f,
		"Usage: pyhound report [--duration S] [--pid P ...] [--json] [--opcodes] [-v]\n\n"
		"Watch every CPython process on this host (or only --pid ones) for S seconds, then\n"
		"print per process: its hot paths (top functions by self and total CPU samples,\n"
		"with file:line, and the top stacks), the syscalls it spent time in (count, total, average, p50/p99,\n"
		"share of wall time), how it batches its I/O (calls, bytes, median bytes per call,\n"
		"share of calls under 512 B, per fd kind: file, socket, pipe, tty, other), and\n"
		"findings such as tiny unbatched writes, with the evidence and the remedy.\n"
		"Processes started while pyhound runs are included from their first syscall.\n"
		"Also per process: garbage-collector pauses per generation (count, rate, p50/p99/max,\n"
		"share of wall time, objects found unreachable; from the python:gc__* USDT probes\n"
		"or, without them, uprobes on the collection function) and, where the build has\n"
		"the python:import__* probes, the slowest module imports.\n"
		"Queries: the top SQLite and PostgreSQL (libpq) statements by time, with the Python\n"
		"function and line that issued them, and N+1 findings (one call site running the\n"
		"same statement %d+ times per call of its caller; see 'pyhound queries --help').\n"
		"Query probes are attached in windows held to --queries-budget percent of the\n"
		"time (default 1; 100: throughout, exact counts), as in 'pyhound queries'.\n"
		"Ctrl-C stops early and prints what was gathered.\n\n"
		"Hot paths: FILE:HOT_LINE is the function's line with most samples of its own (or,\n"
		"without any, the line calling on), then (def N) its first line; the top stacks\n"
		"show the line each frame was executing. A process without samples is\n"
		"said to be idle (under " REP_STR(REP_IDLE_PERIODS) " sample periods of CPU while observed, from\n"
		"/proc/PID/stat), unsupported (its CPython version), or unreadable (it ran, yet no\n"
		"stack was read).\n"
		"Syscalls: the uretprobe syscalls of return probes' trampoline (x86-64, Linux\n"
		"6.11+; pyhound's GC probes cause them) are probe cost: shown apart, never in the\n"
		"process's syscall totals or wall share.\n\n"
		"Findings (kind as in --json), each with its threshold:\n"
		"  tiny-writes, tiny-reads  >= %d calls of one read/write-family syscall on one fd\n"
		"                           kind, successful, with a median under %d B per call,\n"
		"                           or under %d B at >= %d calls/s taking >= %.0f%% of wall\n"
		"                           time. The size judged is the one asked for where the\n"
		"                           call has one (read, write, pread64, pwrite64, sendto,\n"
		"                           recvfrom): a recv(65536) returning a 40 B message read a\n"
		"                           whole message. Socket reads only then; socket writes\n"
		"                           never (whole messages, or requests: see below)\n"
		"  chatty-round-trips       >= %d request/response round trips on sockets (a send,\n"
		"                           then the reply read on that socket by the same thread),\n"
		"                           >= %d/s, waiting for replies >= %.0f%% of wall time,\n"
		"                           requests under %d B on average; not on a connection's\n"
		"                           server side (accepted while watched, a local port below\n"
		"                           the ephemeral range, or a named Unix socket)\n"
		"  gc-time                  collections took more than %.0f%% of wall time observed\n"
		"                           and at least %llu ms in all\n"
		"  gc-long-pause            a gen-2 collection stopped the process for more than\n"
		"                           %llu ms\n"
		"  memory-growth            resident memory grew by >= %llu MiB and >= %.0f%% over\n"
		"                           >= %.0f s of samples, ending within %.0f%% of its peak\n"
		"Evidence rule: GC findings need the process observed >= %.0f s and >= %d collections\n"
		"seen (a process watched for a moment shows only its start-up or exit collections;\n"
		"the report says when a finding was withheld). I/O findings rest on exact counts of\n"
		"at least %d calls, whatever the time observed.\n\n"
		"Options:\n"
		"  -d, --duration S    how long to watch, in seconds (default 10, up to 86400)\n"
		"  -p, --pid P[,P...]  only these processes (repeatable); each must be CPython\n"
		"      --json          one JSON document instead of tables\n"
		"      --max-procs N   bound on tracked processes (default 4096)\n"
		"      --max-stats N   bound on (process, syscall) entries (default 16384)\n"
		"  -F, --frequency HZ  stack samples per second per CPU (default 99)\n"
		"  -m, --mode M        cpu (default), wall (every thread, running or not;\n"
		"                      off-CPU leaves [gil], [syscall:NAME], [runnable]) or gil\n"
		"                      (only the thread holding the GIL)\n"
		"      --no-stacks     do not sample stacks (syscalls and I/O only)\n"
		"      --no-gc         do not trace garbage collections and imports\n"
		"      --no-queries    do not follow database queries\n"
		"      --queries-budget PCT  query probes' cost budget, percent of the time\n"
		"                      (default 1; 100: attached throughout, exact counts)\n"
		"      --opcodes       under each hot function, the instructions its hot line's\n"
		"                      samples sat on (e.g. CONTAINS_OP 91%%; always in --json)\n"
		"  -v                  also print collector health (dropped data, map fill)\n"
		"  -h, --help          this text\n\n"
		"Findings in the code (from the sampled stacks and the instruction each sample sat\n"
		"on; none for a process with fewer than %d on-CPU Python samples; a line or a\n"
		"function's loops must hold at least %.0f%% of those samples):\n"
		"  linear-membership  %.0f%% of a line's samples on a membership test not\n"
		"                     specialised for a set/dict (CONTAINS_OP; 3.8: COMPARE_OP in),\n"
		"                     and %.0f%% of its function's own samples (a scan costs many\n"
		"                     times its loop; a set lookup about as much)\n"
		"  string-concat      %.0f%% of a line's samples on str += (3.11+:\n"
		"                     BINARY_OP_INPLACE_ADD_UNICODE / _ADD_UNICODE)\n"
		"  nested-loop        samples in a loop nested in another loop of one function,\n"
		"                     %.0f%% of them on comparisons\n"
		"  numeric-loop       %.0f%% of a function's in-loop samples on arithmetic, typed\n"
		"                     int/float (3.11+) or not only + (which may join strings)\n"
		"  deep-recursion     a function calling itself, %d+ levels deep (median) in %.0f%%\n"
		"                     of the samples, its own time mostly outside loops\n"
		"  repeated-arguments a function with %.0f%%+ of the samples, %.0f%%+ of them in calls\n"
		"                     of its own (no loop, not in a callee: each such sample is a\n"
		"                     different call), %d+ of those with their first (up to %d)\n"
		"                     arguments decoded (int, float, str, bytes, bool, None, tuples;\n"
		"                     read from the process just after the sample) and %.0f%%+ of\n"
		"                     them decoded, with at most %.0f%% distinct argument tuples\n"
		"                     per decoded sample (each seen 5+ times on average)\n\n"
		"Findings in wall clock (--mode wall, from every thread's samples):\n"
		"  gil-contention       2+ threads waited for the GIL, more than they ran Python and\n"
		"                       over %.0f%% of their time in Python, >= %.1f thread-seconds\n"
		"  cpu-bound-one-core   the process's threads wanted a CPU (running or runnable)\n"
		"                       %.2f-%.2f CPUs over >= %.0f s of samples while the host had\n"
		"                       >= %.1f CPUs idle on average (/proc/stat) and 2+ CPUs: one\n"
		"                       thread, or threads taking turns holding the GIL\n"
		"  blocked-event-loop   an asyncio loop thread stayed in one callback or task step,\n"
		"                       never back in its selector, for >= %.0f ms between its first\n"
		"                       and last sample there (a lower bound); names the stack\n\n"
		"Examples:\n"
		"  sudo pyhound report --duration 30\n"
		"  sudo pyhound report --pid 1234 --json > report.json\n",
		QS_N1_MIN, TINY_IO_MIN_CALLS, TINY_IO_MEDIAN_BYTES, TINY_IO_SMALL_BYTES, TINY_IO_MIN_RATE,
		100 * TINY_IO_MIN_WALL_SHARE, CHATTY_MIN_ROUND_TRIPS, CHATTY_MIN_RATE,
		100 * CHATTY_MIN_WALL_SHARE, CHATTY_MAX_REQUEST_BYTES, 100 * GC_FINDING_SHARE,
		GC_FINDING_MIN_NS / 1000000ULL, GC_FINDING_GEN2_NS / 1000000ULL,
		MEM_GROWTH_MIN_BYTES >> 20, 100 * MEM_GROWTH_MIN_SHARE, MEM_MIN_WINDOW_S,
		100 * MEM_KEEP, GC_FINDING_MIN_OBSERVED_S, GC_FINDING_MIN_COLLECTIONS, TINY_IO_MIN_CALLS,
		CODE_MIN_SAMPLES, 100 * CODE_MIN_SHARE, 100 * CODE_MEMBERSHIP_OP_SHARE,
		100 * CODE_MEMBERSHIP_FUNC_SHARE, 100 * CODE_STRCAT_OP_SHARE,
		100 * CODE_NESTED_CMP_SHARE, 100 * CODE_ARITH_SHARE, CODE_RECURSION_DEPTH,
		100 * CODE_RECURSION_SHARE, 100 * CODE_MIN_SHARE, 100 * CODE_ARGS_OWN_SHARE,
		CODE_ARGS_MIN_CALLS, PH_ARG_SLOTS, 100 * CODE_ARGS_DECODED_SHARE,
		100 * CODE_ARGS_DISTINCT_SHARE, 100 * WALL_GIL_FINDING_SHARE, WALL_GIL_FINDING_MIN_S,
		WALL_ONECORE_MIN, WALL_ONECORE_MAX, WALL_ONECORE_MIN_S, WALL_ONECORE_IDLE,
		LOOP_BLOCK_MIN_S * 1e3);
}

struct report_ctx {
	struct sc_collector *sc;
	struct gc_collector *gc; /* NULL with --no-gc */
	struct profiler *pr;
	struct loopblock *loop;	 /* --mode wall: event-loop blocks, from each sample in turn */
};

/* --mode wall: every sample in time order, for the blocked-event-loop finding */
static void on_wall_sample(void *ctx, pid_t pid, pid_t tid, const char *process,
			   const char *thread, const struct prof_frame *frames, uint32_t n,
			   bool truncated, bool in_syscall)
{
	struct report_ctx *rc = ctx;

	loopblock_add(rc->loop, pid, tid, frames, n,
		      sampler_sample_ns(profiler_sampler(rc->pr)));
}

static void on_reject(const struct tracked_proc *tp, void *ctx)
{
	struct report_ctx *rc = ctx;

	sc_purge_pid(rc->sc, tp->info.pid);
}

static void on_exit_(const struct tracked_proc *tp, void *ctx)
{
	struct report_ctx *rc = ctx;

	sc_retire_pid(rc->sc, tp->info.pid);
}

struct collect_ctx {
	struct tracked_proc *arr;
	size_t n;
};

struct rss_ctx {
	struct rss_watch *w;
	double t;
};

/* one RSS reading of each live tracked process */
static void sample_rss(const struct tracked_proc *tp, void *ctx)
{
	struct rss_ctx *rc = ctx;

	if (!tp->exit_ns)
		rss_watch_sample(rc->w, tp->info.pid, tp->info.start_ticks, rc->t);
}

static void collect(const struct tracked_proc *tp, void *ctx)
{
	struct collect_ctx *cc = ctx;

	cc->arr[cc->n++] = *tp;
}

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "pid", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "max-procs", required_argument, NULL, 'P' },
		{ "max-stats", required_argument, NULL, 'S' },
		{ "frequency", required_argument, NULL, 'F' },
		{ "mode", required_argument, NULL, 'm' },
		{ "no-stacks", no_argument, NULL, 'N' },
		{ "no-gc", no_argument, NULL, 'G' },
		{ "no-queries", no_argument, NULL, 'Q' },
		{ "queries-budget", required_argument, NULL, 'B' },
		{ "opcodes", no_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{},
	};
	struct tracker_opts topts = { .max_procs = 4096 };
	struct sc_collector_opts sopts = { .max_stats = 16384 };
	struct tracker *t = NULL;
	struct report_ctx rc = {};
	struct collect_ctx cc = {};
	struct tracker_hooks hooks = { .on_reject = on_reject, .on_exit = on_exit_, .ctx = &rc };
	struct sc_snapshot snap = {};
	struct gc_snapshot gsnap = {};
	struct gc_collector_opts gopts = {};
	bool no_gc = false, opcodes = false, no_queries = false;
	struct queries *qc = NULL;
	double qbudget = 1, qtrap = 1000;
	struct probe_window qwin = {};
	uint64_t qwake = UINT64_MAX;
	struct report rep = {};
	pid_t pids[MAX_PIDS];
	int npids = 0, c, err, ret = 1;
	double duration = 10;
	unsigned long v;
	bool as_json = false, stacks = true;
	unsigned long freq = 99;
	int mode = PH_MODE_CPU;
	struct profiler *pr = NULL;
	uint64_t start, end, rss_last = 0;
	struct rss_ctx rss = {};
	struct host_cpu cpu0 = {}, cpu1 = {};
	double rep_wall_idle = -1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:d:p:F:m:jhv", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (parse_seconds(optarg, "duration", 0.1, 86400, &duration))
				return usage_error("report", "bad --duration");
			break;
		case 'p':
			if (parse_pids(optarg, pids, &npids, MAX_PIDS))
				return usage_error("report", "bad --pid");
			break;
		case 'j': as_json = true; break;
		case 'F':
			if (parse_uint(optarg, "--frequency", 1, 10000, &freq))
				return usage_error("report", "bad --frequency");
			break;
		case 'm':
			if (parse_mode(optarg, &mode))
				return usage_error("report", "bad --mode");
			break;
		case 'N': stacks = false; break;
		case 'G': no_gc = true; break;
		case 'Q': no_queries = true; break;
		case 'B':
			if (parse_percent(optarg, "--queries-budget", 0.001, 100, &qbudget))
				return usage_error("report", "bad --queries-budget");
			break;
		case 'O': opcodes = true; break;
		case 'P':
			if (parse_uint(optarg, "--max-procs", 1, 65536, &v))
				return usage_error("report", "bad --max-procs");
			topts.max_procs = v;
			break;
		case 'S':
			if (parse_uint(optarg, "--max-stats", 16, 262144, &v))
				return usage_error("report", "bad --max-stats");
			sopts.max_stats = v;
			break;
		case 'v': log_set_verbosity(log_verbosity + 1); break;
		case 'h': report_usage(stdout); return 0;
		case ':':
			return usage_error("report", "option '%s' needs a value", argv[optind - 1]);
		default: return usage_error("report", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("report", "unexpected argument '%s'", argv[optind]);
	if (bpf_prepare())
		return 1;
	topts.follow = npids == 0;
	topts.pids = pids;
	topts.npids = npids;

	/* open -> configure -> load: every collector shares the tracker's map */
	err = tracker_open(&topts, &t);
	if (err)
		goto out;
	sopts.tracked_fd = tracker_map_fd(t);
	err = sc_open(&sopts, &rc.sc);
	if (err)
		goto out;
	tracker_add_hooks(t, &hooks);
	if (stacks) {
		err = profiler_open(t, freq, mode, &pr);
		if (err)
			goto out;
		/* growth per stack for the Memory section; the report goes on without it */
		if (profiler_enable_memory(pr))
			pr_warn("the Memory section goes without growth stacks (the memory "
				"collector did not load)");
		if (mode == PH_MODE_WALL) {
			rc.pr = pr;
			rc.loop = loopblock_new();
			if (!rc.loop) {
				err = -ENOMEM;
				goto out;
			}
			profiler_set_sink(pr, on_wall_sample, &rc);
		}
	}
	if (!no_gc) {
		struct tracker_hooks gh;

		gopts.tracked_fd = tracker_map_fd(t);
		gopts.max_procs = topts.max_procs;
		err = gc_open(&gopts, &rc.gc);
		if (err)
			goto out;
		gh = gc_tracker_hooks(rc.gc);
		tracker_add_hooks(t, &gh);
		err = gc_attach(rc.gc);
		if (err)
			goto out;
	}
	if (!no_queries) {
		struct queries_opts qo = { .tracked_fd = tracker_map_fd(t),
					   .max_procs = topts.max_procs };
		struct tracker_hooks qh;

		err = queries_open(&qo, &qc);
		if (err)
			goto out;
		qh = queries_tracker_hooks(qc);
		tracker_add_hooks(t, &qh);
		err = queries_attach(qc);
		if (err)
			goto out;
	}
	install_signal_handlers();
	/* attach the syscall programs first: a process found by the scan is then counted from
	 * the moment it is marked tracked */
	err = sc_attach(rc.sc);
	if (err)
		goto out;
	err = tracker_start(t);
	if (err)
		goto out;
	if (pr) {
		err = profiler_attach(pr);
		if (err)
			goto out;
	}
	if (qc && qbudget < 100 && queries_calibrate(qc, &qtrap))
		qtrap = 1000; /* a hit's trap when it cannot be timed (as calls) */
	start = now_ns();
	if (qc) {
		probe_window_start(&qwin, &queries_window_ops, qc, qbudget, qtrap, start);
		probe_window_set_end(&qwin, start + (uint64_t)(duration * 1e9));
		qwake = qwin.next;
	}
	if (host_cpu_read(&cpu0))
		cpu0.ncpus = 0;
	/* on stderr even with --json: scripts wait for this line to know pyhound is attached */
	fprintf(stderr, "pyhound: watching %d CPython process%s%s for %.1f s (Ctrl-C to stop "
			"early)\n", tracker_count(t), tracker_count(t) == 1 ? "" : "es",
			topts.follow ? " and any that start" : "", duration);
	rss.w = rss_watch_new(topts.max_procs ? topts.max_procs : 1024);
	if (!rss.w) {
		err = -ENOMEM;
		goto out;
	}
	while (!exiting) {
		uint64_t now = now_ns();
		int left;

		if (now - rss_last >= 1000000000ull) { /* resident memory once a second */
			rss_last = now;
			rss.t = now / 1e9;
			tracker_foreach(t, sample_rss, &rss);
		}

		if (now - start >= (uint64_t)(duration * 1e9))
			break;
		left = (int)((start + (uint64_t)(duration * 1e9) - now) / 1000000) + 1;
		if (qwake < now + (uint64_t)left * 1000000) /* the query probes' next window */
			left = (int)((qwake > now ? qwake - now : 0) / 1000000) + 1;
		err = tracker_poll(t, pr ? 0 : (left < 100 ? left : 100));
		if (!err && pr)
			err = profiler_poll(pr, left < 50 ? left : 50);
		if (!err)
			err = sc_flush(rc.sc);
		if (err < 0) {
			pr_err("polling lifecycle events: %s", strerror(-err));
			goto out;
		}
		if (rc.gc)
			gc_poll(rc.gc, 0);
		if (qc) {
			queries_poll(qc, 0);
			err = probe_window_step(&qwin, now_ns(), &qwake);
			if (err) {
				pr_err("attaching the query probes for a window: %s", strerror(-err));
				goto out;
			}
		}
	}
	tracker_poll(t, 0); /* late exit events */
	if (pr)
		profiler_poll(pr, 0);
	end = now_ns();
	rep_wall_idle = -1;
	if (cpu0.ncpus && !host_cpu_read(&cpu1))
		rep_wall_idle = host_idle_cpus(&cpu0, &cpu1);
	err = sc_snapshot(rc.sc, &snap);
	if (err) {
		pr_err("reading the syscall statistics: %s", strerror(-err));
		goto out;
	}
	rss.t = end / 1e9;
	tracker_foreach(t, sample_rss, &rss); /* the end of the window */
	tracker_read_cpu(t); /* tells idle processes from unreadable ones */
	cc.arr = calloc(tracker_count(t) + 1, sizeof(*cc.arr));
	if (!cc.arr)
		goto out;
	tracker_foreach(t, collect, &cc);
	err = report_build(&rep, &snap, cc.arr, cc.n, start, end);
	if (err)
		goto out;
	if (rc.gc) {
		err = gc_snapshot(rc.gc, &gsnap);
		if (!err)
			err = report_add_gc(&rep, &gsnap);
		if (err) {
			pr_err("reading the GC statistics: %s", strerror(-err));
			goto out;
		}
	}
	err = report_add_mem(&rep, rss.w);
	if (!err && pr && profiler_memheld(pr)) {
		struct mem_stats ms;

		err = report_add_mem_stacks(&rep, profiler_memheld(pr));
		mem_get_stats(profiler_mem(pr), &ms);
		for (unsigned int k = 0; k < MEM_STAT_MAX && k < 16; k++)
			rep.mem_counters[rep.n_mem_counters++] = ms.bpf[k];
		rep.mem_held_dropped = memheld_dropped(profiler_memheld(pr));
	}
	if (err) {
		pr_err("out of memory");
		goto out;
	}
	if (qc) {
		probe_window_finish(&qwin, end);
		queries_poll(qc, 0);
		if (qbudget < 100) /* calls in progress were cut by the run's end */
			querystats_cut(queries_stats(qc));
		else
			querystats_flush(queries_stats(qc));
		queries_set_coverage(qc, &qwin, start, end, true);
		report_add_queries(&rep, queries_stats(qc));
	}
	rep.interrupted = exiting;
	rep.wall.idle_cpus = rep_wall_idle;
	rep.wall.ncpus = cpu1.ncpus;
	if (rc.loop) {
		loopblock_finish(rc.loop);
		rep.wall.loop = rc.loop;
	}
	if (pr) {
		struct profiler_stats ps;
		unsigned int i;
		size_t off = 0;

		rep.prof = profiler_profile(pr);
		rep.opcodes = opcodes;
		profiler_get_stats(pr, &ps);
		for (i = 0; i < SMP_STAT_MAX && off < sizeof(rep.sampler_health); i++)
			if (ps.s.bpf[i])
				off += snprintf(rep.sampler_health + off, sizeof(rep.sampler_health) - off,
						"%s=%llu ", sampler_stat_name(i),
						(unsigned long long)ps.s.bpf[i]);
		if (off < sizeof(rep.sampler_health))
			snprintf(rep.sampler_health + off, sizeof(rep.sampler_health) - off,
				 "unnamed_frames=%llu refused_processes=%llu",
				 (unsigned long long)ps.s.unknown_frames,
				 (unsigned long long)ps.procs_refused);
	}
	tracker_get_stats(t, &rep.tstats);
	if (!rep.nprocs && !as_json) {
		printf("No CPython processes found on this host%s during %.1f s.\n",
		       npids ? " among the given PIDs" : "", rep.duration_s);
	} else if (as_json) {
		report_print_json(&rep, stdout);
	} else {
		report_print_text(&rep, stdout, log_verbosity);
	}
	ret = 0;
out:
	report_free(&rep);
	rss_watch_free(rss.w);
	free(cc.arr);
	sc_snapshot_free(&snap);
	profiler_free(pr);
	loopblock_free(rc.loop);
	gc_snapshot_free(&gsnap);
	gc_free(rc.gc);
	queries_free(qc);
	sc_free(rc.sc);
	tracker_free(t);
	return ret;
}
