// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pyhound record: sample Python stacks of every CPython process and write a profile. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "lib/log.h"
#include "lib/outfile.h"
#include "out/out_format.h"
#include "collect/profiler.h"
#include "collect/memory.h"
#include "stack/memheld.h"
#include "host/tracker.h"
#include "wall.h"

#define MAX_PIDS 64

static void record_usage(FILE *f)
{
	fprintf(f,
		"Usage: pyhound record -o FILE [--format F] [--duration S] [--frequency HZ]\n"
		"                      [--mode cpu|wall|gil|memory] [--pid P ...] [--opcodes] [-v]\n\n"
		"Sample the Python stacks of every CPython process on this host (or only --pid\n"
		"ones) from CPU-clock perf events, walked inside the kernel, and write a profile.\n"
		"Processes started while recording are included. Ctrl-C stops early and writes\n"
		"what was gathered. CPython 3.8-3.13.\n\n"
		"Options:\n"
		"  -o, --output FILE      where to write the profile ('-' for stdout); FILE is\n"
		"                         replaced only by a complete profile (written beside\n"
		"                         it, then renamed): a failed run leaves it as it was\n"
		"  -f, --format F         collapsed | svg | speedscope | pprof (default: from the\n"
		"                         file name: .collapsed/.folded/.txt, .svg, .json, .pb.gz)\n"
		"  -d, --duration S       how long to sample, in seconds (default 10)\n"
		"  -F, --frequency HZ     samples per second per CPU (default 99, 1-10000)\n"
		"  -m, --mode M           cpu (default): threads on a CPU, from CPU-clock events;\n"
		"                         wall: every thread at HZ, running or not; a thread off\n"
		"                         the CPU ends in [gil] (waiting for the GIL),\n"
		"                         [syscall:NAME] (blocked in it), [runnable] (waiting for\n"
		"                         a CPU) or [blocked]; gil: only the thread holding the GIL;\n"
		"                         memory: resident memory each stack made and still holds\n"
		"                         (bytes; anonymous growth sampled about once per 256 KiB)\n"
		"  -p, --pid P[,P...]     only these processes (repeatable); each must be CPython\n"
		"      --opcodes          end each sample running Python code with a leaf\n"
		"                         pseudo-frame naming the bytecode instruction it sat on,\n"
		"                         as read from the code object as it runs (on 3.11+ its\n"
		"                         specialised form): [op:CONTAINS_OP], [op:BINARY_OP +=],\n"
		"                         [op:?] when it could not be read; in every format\n"
		"  -v                     also print sampler counters (drops, failed walks)\n"
		"  -h, --help             this text\n\n"
		"Formats: collapsed stacks ('process;thread;frame;... count', for flamegraph.pl and\n"
		"speedscope), a self-contained interactive SVG flamegraph, speedscope JSON, pprof\n"
		"(gzipped protobuf, for 'go tool pprof').\n\n"
		"Examples:\n"
		"  sudo pyhound record -d 30 -o profile.svg\n"
		"  sudo pyhound record --pid 1234 -F 999 -o app.pb.gz\n");
}

void print_sampler_stats(FILE *f, struct profiler *pr);
void print_memory_stats(FILE *f, struct profiler *pr, struct tracker *t);

struct mem_print {
	FILE *f;
	struct profiler *pr;
};

static void print_memory_proc(const struct tracked_proc *tp, void *ctx)
{
	const struct mem_print *mp = ctx;
	struct memheld_proc hp = {};
	struct mem_totals mt;

	memheld_proc(profiler_memheld(mp->pr), tp->info.pid, &hp);
	if (mem_totals(profiler_mem(mp->pr), tp->info.pid, &mt))
		return;
	fprintf(mp->f, "pyhound: memory: pid %d: anon+shmem +%llu -%llu B (kernel counters), "
		"sampled %llu B in %llu samples (%llu without an address), held %llu B, "
		"released %llu B; %llu large mappings (%llu B)\n", (int)tp->info.pid,
		(unsigned long long)(mt.grown[PH_MM_ANON] + mt.grown[PH_MM_SHMEM]),
		(unsigned long long)(mt.released[PH_MM_ANON] + mt.released[PH_MM_SHMEM]),
		(unsigned long long)hp.sampled, (unsigned long long)hp.samples,
		(unsigned long long)hp.no_addr, (unsigned long long)hp.held,
		(unsigned long long)hp.released, (unsigned long long)hp.maps,
		(unsigned long long)hp.map_bytes);
}

void print_memory_stats(FILE *f, struct profiler *pr, struct tracker *t)
{
	struct mem_print mp = { f, pr };
	struct mem_stats st;

	mem_get_stats(profiler_mem(pr), &st);
	fprintf(f, "pyhound: memory collector:");
	for (unsigned int i = 0; i < MEM_STAT_MAX; i++)
		if (st.bpf[i])
			fprintf(f, " %s=%llu", mem_stat_name(i), (unsigned long long)st.bpf[i]);
	for (unsigned int i = 0; i < SMP_STAT_MAX; i++)
		if (st.walk[i])
			fprintf(f, " walk_%s=%llu", sampler_stat_name(i),
				(unsigned long long)st.walk[i]);
	fprintf(f, " delivered=%llu unnamed_frames=%llu held_dropped=%llu\n",
		(unsigned long long)st.received, (unsigned long long)st.unknown_frames,
		(unsigned long long)memheld_dropped(profiler_memheld(pr)));
	if (st.nprogs && st.prog[0].runs) {
		fprintf(f, "pyhound: memory collector BPF run time:");
		for (unsigned int i = 0; i < st.nprogs; i++)
			fprintf(f, " %s=%lluns/%llu", st.prog[i].name,
				(unsigned long long)st.prog[i].ns, (unsigned long long)st.prog[i].runs);
		fputc('\n', f);
	}
	tracker_foreach(t, print_memory_proc, &mp);
}

void print_sampler_stats(FILE *f, struct profiler *pr)
{
	struct profiler_stats st;
	unsigned int i;

	profiler_get_stats(pr, &st);
	fprintf(f, "pyhound: sampler:");
	for (i = 0; i < SMP_STAT_MAX; i++)
		if (st.s.bpf[i])
			fprintf(f, " %s=%llu", sampler_stat_name(i), (unsigned long long)st.s.bpf[i]);
	fprintf(f, " delivered=%llu unnamed_frames=%llu processes=%llu refused=%llu "
		   "profile_full=%llu\n",
		(unsigned long long)st.s.received, (unsigned long long)st.s.unknown_frames,
		(unsigned long long)st.procs_added, (unsigned long long)st.procs_refused,
		(unsigned long long)st.profile_full);
	if (st.s.op_timed)
		fprintf(f, "pyhound: opcode attribution: %llu timed, %.2f us each on average\n",
			(unsigned long long)st.s.op_timed, st.s.op_ns / 1e3 / st.s.op_timed);
	if (st.s.args_sampled)
		fprintf(f, "pyhound: argument sampling: %llu samples, %llu decoded, %llu without "
			   "type objects\n", (unsigned long long)st.s.args_sampled,
			(unsigned long long)st.s.args_decoded, (unsigned long long)st.s.args_no_types);
	if (st.s.args_timed)
		fprintf(f, "pyhound: argument decoding: %llu timed, %.2f us each on average\n",
			(unsigned long long)st.s.args_timed, st.s.args_ns / 1e3 / st.s.args_timed);
	if (st.s.wall_runs)
		fprintf(f, "pyhound: wall-clock sampler: runs=%llu avg_run_us=%.1f late=%llu "
			   "failed=%llu gil_unknown=%llu\n", (unsigned long long)st.s.wall_runs,
			st.s.wall_run_ns / 1e3 / st.s.wall_runs, (unsigned long long)st.s.wall_late,
			(unsigned long long)st.s.wall_errors, (unsigned long long)st.s.gil_unknown);
	else if (st.s.jitters || st.s.jitter_errors)
		fprintf(f, "pyhound: sampler period changes=%llu failed=%llu\n",
			(unsigned long long)st.s.jitters, (unsigned long long)st.s.jitter_errors);
}

int cmd_record(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "duration", required_argument, NULL, 'd' },
		{ "frequency", required_argument, NULL, 'F' },
		{ "pid", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "opcodes", no_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{},
	};
	struct tracker_opts topts = { .max_procs = 4096 };
	const char *output = NULL, *format = NULL;
	struct profiler *pr = NULL;
	struct tracker *t = NULL;
	struct profile *prof;
	pid_t pids[MAX_PIDS];
	int npids = 0, c, err, ret = 1, mode = PH_MODE_CPU;
	bool opcodes = false;
	double duration = 10;
	unsigned long freq = 99;
	uint64_t start;
	struct outfile of = { .fd = -1 };

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:o:f:d:F:p:m:hv", opts, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 'f': format = optarg; break;
		case 'd':
			if (parse_seconds(optarg, "duration", 0.1, 86400, &duration))
				return usage_error("record", "bad --duration");
			break;
		case 'F':
			if (parse_uint(optarg, "--frequency", 1, 10000, &freq))
				return usage_error("record", "bad --frequency");
			break;
		case 'p':
			if (parse_pids(optarg, pids, &npids, MAX_PIDS))
				return usage_error("record", "bad --pid");
			break;
		case 'm':
			if (!strcmp(optarg, "memory"))
				mode = PH_MODE_MEMORY;
			else if (parse_mode(optarg, &mode))
				return usage_error("record", "bad --mode");
			break;
		case 'O': opcodes = true; break;
		case 'v': log_set_verbosity(log_verbosity + 1); break;
		case 'h': record_usage(stdout); return 0;
		case ':':
			return usage_error("record", "option '%s' needs a value", argv[optind - 1]);
		default: return usage_error("record", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("record", "unexpected argument '%s'", argv[optind]);
	if (!output)
		return usage_error("record", "-o FILE is required");
	if (!format)
		format = profile_format_from_path(output);
	if (!format)
		return usage_error("record", "cannot tell the format from '%s': use --format", output);
	if (strcmp(format, "collapsed") && strcmp(format, "svg") && strcmp(format, "speedscope") &&
	    strcmp(format, "pprof"))
		return usage_error("record", "unknown format '%s'", format);
	if (bpf_prepare())
		return 1;
	/* create the output's temporary file first: a bad path fails before minutes of
	 * recording, and the file named is replaced only by a complete profile */
	err = outfile_open(&of, output);
	if (err) {
		pr_err("cannot write %s: %s", output, strerror(-err));
		return 1;
	}
	topts.follow = npids == 0;
	topts.pids = pids;
	topts.npids = npids;
	err = tracker_open(&topts, &t);
	if (err)
		goto out;
	err = profiler_open(t, freq, mode, &pr);
	if (!err && opcodes)
		err = profiler_set_opcode_frames(pr, true);
	if (err)
		goto out;
	install_signal_handlers();
	err = tracker_start(t);
	if (err)
		goto out;
	err = profiler_attach(pr);
	if (err)
		goto out;
	if (mode == PH_MODE_MEMORY)
		fprintf(stderr, "pyhound: recording the resident memory growth of %d CPython "
			"process%s%s for %.1f s (Ctrl-C to stop early)\n", tracker_count(t),
			tracker_count(t) == 1 ? "" : "es", topts.follow ? " and any that start" : "",
			duration);
	else
	fprintf(stderr, "pyhound: recording %d CPython process%s%s at %lu Hz%s for %.1f s (Ctrl-C "
		"to stop early)\n", tracker_count(t), tracker_count(t) == 1 ? "" : "es",
		topts.follow ? " and any that start" : "", freq,
		mode == PH_MODE_WALL ? " per thread (wall clock)" :
		mode == PH_MODE_GIL ? " per thread (GIL holders)" : "", duration);
	start = now_ns();
	while (!exiting && now_ns() - start < (uint64_t)(duration * 1e9)) {
		err = tracker_poll(t, 0);
		if (!err)
			err = profiler_poll(pr, 50) < 0 ? -EIO : 0;
		if (err < 0) {
			pr_err("polling: %s", strerror(-err));
			goto out;
		}
	}
	tracker_poll(t, 0);
	profiler_poll(pr, 0);
	prof = profiler_profile(pr);
	err = profile_write(prof, format, of.f);
	if (err) /* a failed write's own errno (ENOSPC, EDQUOT, ...), not stdio's EIO */
		err = outfile_error(&of, err);
	if (!err)
		err = outfile_commit(&of);
	if (err) {
		pr_err("writing %s: %s", output, strerror(-err));
		goto out;
	}
	if (mode == PH_MODE_MEMORY)
		fprintf(stderr, "pyhound: wrote %.1f MiB of resident growth held by %zu stacks from "
			"%d process%s (%.1f s) to %s (%s)\n", prof->total_samples / 1048576.0,
			prof->nstacks, tracker_count(t), tracker_count(t) == 1 ? "" : "es",
			prof->duration_s, output, format);
	else
	fprintf(stderr, "pyhound: wrote %llu samples from %d process%s (%.1f s) to %s (%s)\n",
		(unsigned long long)prof->total_samples, tracker_count(t),
		tracker_count(t) == 1 ? "" : "es", prof->duration_s, output, format);
	if (log_verbosity >= 1)
		print_sampler_stats(stderr, pr);
	if (log_verbosity >= 1 && profiler_mem(pr))
		print_memory_stats(stderr, pr, t);
	ret = 0;
out:
	outfile_abort(&of); /* after a commit: nothing left to do */
	profiler_free(pr);
	tracker_free(t);
	return ret;
}
