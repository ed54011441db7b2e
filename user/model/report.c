// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fdkind.h"
#include "lib/histo.h"
#include "lib/json.h"
#include "model/report.h"
#include "model/findings_code.h"
#include "model/report_mem.h"
#include "model/report_wall.h"
#include "wall.h"
#include "collect/syscall_names.h"

const char *fd_kind_name(unsigned int kind)
{
	static const char *const n[] = { "file", "socket", "pipe", "tty", "other" };

	return kind < FD_KIND_MAX ? n[kind] : "?";
}

static int cmp_sc(const void *a, const void *b)
{
	const struct rep_syscall *x = a, *y = b;

	if (x->s->total_ns != y->s->total_ns)
		return x->s->total_ns < y->s->total_ns ? 1 : -1;
	return x->nr < y->nr ? -1 : x->nr > y->nr;
}

static int cmp_io(const void *a, const void *b)
{
	const struct rep_io *x = a, *y = b;

	if (x->s->calls != y->s->calls)
		return x->s->calls < y->s->calls ? 1 : -1;
	if (x->nr != y->nr)
		return x->nr < y->nr ? -1 : 1;
	return x->kind < y->kind ? -1 : x->kind > y->kind;
}

static int cmp_sc_pid(const void *a, const void *b)
{
	const struct sc_entry *x = a, *y = b;

	return x->key.pid < y->key.pid ? -1 : x->key.pid > y->key.pid;
}

static int cmp_io_pid(const void *a, const void *b)
{
	const struct io_entry *x = a, *y = b;

	return x->key.pid < y->key.pid ? -1 : x->key.pid > y->key.pid;
}

/* first index in a pid-sorted array whose pid is >= pid */
#define LOWER_BOUND(arr, n, pid_)                                                              \
	({                                                                                     \
		size_t lo_ = 0, hi_ = (n);                                                     \
		while (lo_ < hi_) {                                                            \
			size_t mid_ = (lo_ + hi_) / 2;                                         \
			if ((arr)[mid_].key.pid < (unsigned int)(pid_))                        \
				lo_ = mid_ + 1;                                                \
			else                                                                   \
				hi_ = mid_;                                                    \
		}                                                                              \
		lo_;                                                                           \
	})

int report_build(struct report *r, struct sc_snapshot *snap, const struct tracked_proc *procs,
		 size_t nprocs, uint64_t start_ns, uint64_t end_ns)
{
	size_t i, j;

	memset(r, 0, sizeof(*r));
	r->duration_s = (end_ns - start_ns) / 1e9;
	memcpy(r->sc_drops, snap->drops, sizeof(r->sc_drops));
	r->max_stats = snap->max_stats;
	r->stats_used = snap->nsc > snap->nio ? snap->nsc : snap->nio;
	r->nsc_total = snap->kernel_nsc;
	r->nio_total = snap->kernel_nio;
	r->retired_dropped = snap->retired_dropped;
	/* by pid, so that each process finds its entries by binary search */
	qsort(snap->sc, snap->nsc, sizeof(*snap->sc), cmp_sc_pid);
	qsort(snap->io, snap->nio, sizeof(*snap->io), cmp_io_pid);
	r->procs = calloc(nprocs ? nprocs : 1, sizeof(*r->procs));
	if (!r->procs)
		return -ENOMEM;
	for (i = 0; i < nprocs; i++) {
		struct rep_proc *rp = &r->procs[r->nprocs];
		uint64_t from = procs[i].seen_ns > start_ns ? procs[i].seen_ns : start_ns;
		uint64_t to = procs[i].exited && procs[i].exit_ns < end_ns ? procs[i].exit_ns : end_ns;
		pid_t pid = procs[i].info.pid;

		/* a PID that exec'd keeps one record per image: merge into the latest */
		for (j = i + 1; j < nprocs; j++)
			if (procs[j].info.pid == pid)
				break;
		if (j < nprocs)
			continue;
		r->nprocs++;
		rp->tp = procs[i];
		rp->observed_s = to > from ? (to - from) / 1e9 : 0;
		size_t sc0 = LOWER_BOUND(snap->sc, snap->nsc, pid), sc1 = sc0;
		size_t io0 = LOWER_BOUND(snap->io, snap->nio, pid), io1 = io0;

		while (sc1 < snap->nsc && snap->sc[sc1].key.pid == (unsigned int)pid)
			sc1++;
		while (io1 < snap->nio && snap->io[io1].key.pid == (unsigned int)pid)
			io1++;
		rp->sc = calloc(sc1 - sc0 + 1, sizeof(*rp->sc));
		rp->io = calloc(io1 - io0 + 1, sizeof(*rp->io));
		if (!rp->sc || !rp->io)
			return -ENOMEM;
		for (j = sc0; j < sc1; j++) {
			struct rep_syscall *s;

			if (snap->sc[j].key.nr == SC_NR_URETPROBE) { /* probe cost, not the target's */
				rp->probe_sc = &snap->sc[j].s;
				continue;
			}
			s = &rp->sc[rp->nsc++];
			s->nr = snap->sc[j].key.nr;
			s->s = &snap->sc[j].s;
			s->p50_slot = hist_quantile_slot(s->s->lat, SC_LAT_SLOTS, 0.5);
			s->p99_slot = hist_quantile_slot(s->s->lat, SC_LAT_SLOTS, 0.99);
			s->share = rp->observed_s > 0 ? s->s->total_ns / 1e9 / rp->observed_s : 0;
			rp->syscall_ns += s->s->total_ns;
		}
		for (j = io0; j < io1; j++) {
			const struct io_stats *st = &snap->io[j].s;
			struct rep_io *io;
			uint64_t small = 0;
			unsigned int k;
			int m;

			if (!st->calls)
				continue;
			io = &rp->io[rp->nio++];
			io->nr = snap->io[j].key.nr;
			io->kind = snap->io[j].key.kind;
			io->s = st;
			m = hist_quantile_slot(st->size, IO_SIZE_SLOTS, 0.5);
			io->median_lo = slot_lo(m);
			io->median_hi = slot_hi(m);
			/* the median lies within the observed extremes too */
			if (io->median_lo < st->min_bytes)
				io->median_lo = st->min_bytes;
			if (io->median_hi > st->max_bytes)
				io->median_hi = st->max_bytes;
			for (k = 0; k < IO_SIZE_SLOTS && slot_hi(k) < 512; k++)
				small += st->size[k];
			io->small_share = (double)small / st->calls;
			if (st->asked_calls) { /* the size asked for, where the call has one */
				m = hist_quantile_slot(st->asked, IO_SIZE_SLOTS, 0.5);
				io->asked_lo = slot_lo(m);
				io->asked_hi = slot_hi(m);
			}
		}
		qsort(rp->sc, rp->nsc, sizeof(*rp->sc), cmp_sc);
		qsort(rp->io, rp->nio, sizeof(*rp->io), cmp_io);
		report_add_io_findings(rp);
	}
	return 0;
}

void report_free(struct report *r)
{
	size_t i;

	for (i = 0; i < r->nprocs; i++) {
		free(r->procs[i].sc);
		free(r->procs[i].io);
		report_free_gc(&r->procs[i]);
		report_free_mem(&r->procs[i]);
	}
	free(r->procs);
	profile_free(r->mem_prof);
	memset(r, 0, sizeof(*r));
}

static void version_of(const struct py_proc *p, char *buf, size_t len)
{
	if (p->micro >= 0)
		snprintf(buf, len, "%d.%d.%d", p->major, p->minor, p->micro);
	else
		snprintf(buf, len, "%d.%d", p->major, p->minor);
}

#define TOP_SYSCALLS 12

static const char *short_file(const char *f)
{
	const char *s = strrchr(f, '/');

	return s ? s + 1 : f;
}

#define REP_LINE_OPS 6

/* report --opcodes: the instructions the hot line's samples sat on */
static void print_line_ops(const struct report *r, const struct rep_proc *rp,
			   const struct prof_func_stat *fs, FILE *f)
{
	struct line_op ops[REP_LINE_OPS];
	uint64_t tot;
	int n = line_ops(r->prof, rp->tp.info.pid, fs->name, fs->file, fs->first_line,
			 fs->hot_line, ops, REP_LINE_OPS, &tot);

	if (n <= 0 || !tot)
		return;
	fprintf(f, "   %17s line %d (%llu samples on CPU, loop depth %d):", "", fs->hot_line,
		(unsigned long long)tot, ops[0].loop_depth);
	for (int k = 0; k < n; k++)
		fprintf(f, "%s %s %.0f%%", k ? "," : "", ops[k].op, 100.0 * ops[k].count / tot);
	fprintf(f, "\n");
}

static void print_code_findings(const struct report *r, const struct rep_proc *rp, FILE *f)
{
	struct code_finding cf[CODE_MAX_FINDINGS];
	int n = code_findings(r->prof, rp->tp.info.pid, cf, CODE_MAX_FINDINGS);

	if (n <= 0)
		return;
	fprintf(f, "   Findings in the code\n");
	for (int k = 0; k < n; k++)
		fprintf(f, "   ! %s\n", cf[k].text);
}

const char *report_no_samples_reason(const struct rep_proc *rp, unsigned int freq_hz, char *buf,
				     size_t len)
{
	const struct tracked_proc *tp = &rp->tp;
	long tck = sysconf(_SC_CLK_TCK);
	double cpu_s;
	char cb[32];

	if (!tp->info.supported) {
		snprintf(buf, len, "stacks of CPython %d.%d are not supported%s%s", tp->info.major,
			 tp->info.minor, tp->info.unsupported[0] ? ": " : "", tp->info.unsupported);
		return "unsupported";
	}
	if (!tp->cpu_known || tck <= 0 || tp->cpu_ticks_last < tp->cpu_ticks_seen) {
		snprintf(buf, len, "not sampled on CPU while observed (its CPU time could not be "
				   "read to tell idle from unreadable stacks)");
		return "unknown";
	}
	cpu_s = (double)(tp->cpu_ticks_last - tp->cpu_ticks_seen) / tck;
	fmt_ns(cb, sizeof(cb), (uint64_t)(cpu_s * 1e9));
	if (cpu_s * (freq_hz ? freq_hz : 99) < REP_IDLE_PERIODS) {
		snprintf(buf, len, "idle: %s of CPU in %.1f s observed, under %d sample periods",
			 cb, rp->observed_s, REP_IDLE_PERIODS);
		return "idle";
	}
	snprintf(buf, len, "it used %s of CPU in %.1f s observed, yet no stack was read (-v shows "
			   "the sampler's counters)", cb, rp->observed_s);
	return "unreadable";
}

static void print_hot_paths(const struct report *r, const struct rep_proc *rp, FILE *f)
{
	struct prof_stack_group *groups = NULL;
	struct prof_func_stat *fs = NULL;
	uint64_t total = profile_samples(r->prof, rp->tp.info.pid), sys = 0;
	ssize_t n, i;
	uint32_t k;

	if (!total) {
		char why[512];

		report_no_samples_reason(rp, r->prof->frequency_hz, why, sizeof(why));
		fprintf(f, "\n   Hot paths: no samples: %s\n", why);
		return;
	}
	n = profile_top_functions(r->prof, rp->tp.info.pid, REP_TOP_FUNCTIONS, &fs);
	for (i = 0; i < (ssize_t)r->prof->nstacks; i++)
		if (r->prof->stacks[i].pid == rp->tp.info.pid && r->prof->stacks[i].in_syscall)
			sys += r->prof->stacks[i].count;
	if (r->prof->mode == PH_MODE_WALL) { /* wall: off-CPU samples end in a [..] pseudo-frame */
		uint64_t off = 0;

		for (i = 0; i < (ssize_t)r->prof->nstacks; i++) {
			const struct prof_stack *ps = &r->prof->stacks[i];

			if (ps->pid == rp->tp.info.pid && ps->nframes &&
			    !ps->frames[ps->nframes - 1].file[0])
				off += ps->count;
		}
		fprintf(f, "\n   Hot paths, wall clock (%llu samples at %u Hz per thread, running or "
			   "not; %.1f%% of them off the CPU: [gil], [syscall:NAME], [runnable])\n",
			(unsigned long long)total, r->prof->frequency_hz, 100.0 * off / total);
	} else if (r->prof->mode == PH_MODE_GIL) {
		fprintf(f, "\n   Hot paths holding the GIL (%llu samples at %u Hz of the thread "
			   "holding it)\n", (unsigned long long)total, r->prof->frequency_hz);
	} else {
		fprintf(f, "\n   Hot paths (%llu samples at %u Hz while on CPU; %.1f%% of them in "
			   "syscalls)\n", (unsigned long long)total, r->prof->frequency_hz,
			100.0 * sys / total);
	}
	fprintf(f, "   %7s %7s  %-40s %s\n", "SELF%", "TOTAL%", "FUNCTION",
		"FILE:HOT_LINE (def LINE)");
	if (n > 0)
		profile_set_hot_lines(r->prof, rp->tp.info.pid, fs, n);
	for (i = 0; i < n; i++) {
		if (!fs[i].file[0]) { /* wall-mode pseudo-frame */
			fprintf(f, "   %6.1f%% %6.1f%%  %s\n", 100.0 * fs[i].self / total,
				100.0 * fs[i].total / total, fs[i].name);
			continue;
		}
		fprintf(f, "   %6.1f%% %6.1f%%  %-40s %s:%d (def %d)\n", 100.0 * fs[i].self / total,
			100.0 * fs[i].total / total, fs[i].name, short_file(fs[i].file),
			fs[i].hot_line ? fs[i].hot_line : fs[i].first_line, fs[i].first_line);
		if (r->opcodes && fs[i].hot_line)
			print_line_ops(r, rp, &fs[i], f);
	}
	free(fs);
	n = profile_top_stack_groups(r->prof, rp->tp.info.pid, REP_TOP_STACKS, &groups);
	if (n > 0)
		fprintf(f, "   Top stacks (leaf last; the thread, or how many threads share it)\n");
	for (i = 0; i < n; i++) {
		const struct prof_stack *st = groups[i].stack;

		fprintf(f, "   %5.1f%%  ", 100.0 * groups[i].count / total);
		if (groups[i].nthreads > 1)
			fprintf(f, "(%u threads) ", groups[i].nthreads);
		else
			fprintf(f, "(%s) ", st->thread);
		fprintf(f, "%s", st->truncated ? "[truncated] " : "");
		for (k = 0; k < st->nframes; k++) {
			if (!st->frames[k].file[0]) /* wall-mode pseudo-frame: no line */
				fprintf(f, "%s%s", k ? " > " : "", st->frames[k].name);
			else
				fprintf(f, "%s%s:%d", k ? " > " : "", st->frames[k].name,
					prof_frame_line(&st->frames[k]));
		}
		fprintf(f, "%s\n", st->in_syscall ? " > [syscall]" : "");
	}
	free(groups);
	if (r->prof->mode == PH_MODE_CPU) /* the findings read on-CPU samples */
		print_code_findings(r, rp, f);
}

void report_print_text(const struct report *r, FILE *f, int verbosity)
{
	size_t i, j;
	int d;

	fprintf(f, "pyhound report: %.1f s%s, %zu CPython process%s\n", r->duration_s,
		r->interrupted ? " (interrupted)" : "", r->nprocs, r->nprocs == 1 ? "" : "es");
	for (i = 0; i < r->nprocs; i++) {
		const struct rep_proc *rp = &r->procs[i];
		const struct py_proc *p = &rp->tp.info;
		char ver[24], a[32], b[32], c[32], e[32], sn[32];

		version_of(p, ver, sizeof(ver));
		fprintf(f, "\n== PID %d  %s  CPython %s (%s%s)  observed %.1f s%s\n   %s\n",
			(int)p->pid, p->comm, ver, py_proc_build(p), p->usdt_count ? ", USDT" : "",
			rp->observed_s, rp->tp.exited ? ", exited" : "", p->cmdline);
		if (r->prof)
			print_hot_paths(r, rp, f);
		if (r->prof && r->prof->mode == PH_MODE_WALL)
			wall_print_text(r->prof, rp->tp.info.pid, &r->wall, f);
		report_print_gc_text(rp, f);
		report_print_mem_text(rp, f);
		report_print_queries_text(r, rp, f);
		if (rp->probe_sc)
			fprintf(f, "\n   Probe cost, not in the syscalls below: %llu uretprobe syscall%s, "
				   "%s: the return trampoline of return probes on this process "
				   "(pyhound's GC or query probes, or another tracer's)\n",
				(unsigned long long)rp->probe_sc->count,
				rp->probe_sc->count == 1 ? "" : "s",
				fmt_ns(a, sizeof(a), rp->probe_sc->total_ns));
		if (!rp->nsc) {
			fprintf(f, "   no syscalls recorded\n");
			continue;
		}
		fprintf(f, "\n   Syscalls by time (%s in syscalls summed over threads, %.1f%% of wall time; "
			   "p50/p99 are log2-bucket upper bounds)\n",
			fmt_ns(a, sizeof(a), rp->syscall_ns),
			rp->observed_s > 0 ? 100.0 * rp->syscall_ns / 1e9 / rp->observed_s : 0.0);
		fprintf(f, "   %-18s %10s %10s %10s %10s %10s %7s\n", "SYSCALL", "COUNT", "TOTAL",
			"AVG", "P50<=", "P99<=", "WALL%");
		for (j = 0; j < rp->nsc && j < TOP_SYSCALLS; j++) {
			const struct rep_syscall *s = &rp->sc[j];

			fprintf(f, "   %-18s %10llu %10s %10s %10s %10s %6.2f%%\n",
				syscall_name(s->nr, sn, sizeof(sn)), (unsigned long long)s->s->count,
				fmt_ns(a, sizeof(a), s->s->total_ns),
				fmt_ns(b, sizeof(b), s->s->count ? s->s->total_ns / s->s->count : 0),
				fmt_ns(c, sizeof(c), slot_hi(s->p50_slot < 0 ? 0 : s->p50_slot)),
				fmt_ns(e, sizeof(e), slot_hi(s->p99_slot < 0 ? 0 : s->p99_slot)),
				100.0 * s->share);
		}
		if (rp->nsc > TOP_SYSCALLS)
			fprintf(f, "   (%zu more syscalls; --json has all)\n", rp->nsc - TOP_SYSCALLS);
		if (rp->nio) {
			fprintf(f, "\n   I/O batching (read/write family, successful calls; ASKED/CALL: the mean\n"
				   "   size asked for, where the call has one)\n");
			fprintf(f, "   %-12s %-7s %10s %11s %14s %8s %8s %11s\n", "SYSCALL", "FD", "CALLS",
				"BYTES", "MEDIAN/CALL", "<512B", "ERRORS", "ASKED/CALL");
			for (j = 0; j < rp->nio; j++) {
				const struct rep_io *io = &rp->io[j];
				char med[48], ask[32] = "-";

				if (io->s->asked_calls) /* mean size asked for, where known */
					snprintf(ask, sizeof(ask), "%.0f B", (double)io->s->asked_bytes /
						 io->s->asked_calls);

				if (io->median_lo == io->median_hi)
					snprintf(med, sizeof(med), "%llu B",
						 (unsigned long long)io->median_lo);
				else
					snprintf(med, sizeof(med), "%llu-%llu B",
						 (unsigned long long)io->median_lo,
						 (unsigned long long)io->median_hi);
				fprintf(f, "   %-12s %-7s %10llu %11s %14s %7.1f%% %8llu %11s\n",
					syscall_name(io->nr, sn, sizeof(sn)), fd_kind_name(io->kind),
					(unsigned long long)io->s->calls,
					fmt_bytes(a, sizeof(a), io->s->bytes), med,
					100.0 * io->small_share, (unsigned long long)io->s->errors, ask);
			}
		}
		if (rp->nfindings) {
			fprintf(f, "\n   Findings\n");
			for (d = 0; d < rp->nfindings; d++)
				fprintf(f, "   ! %s\n", rp->findings[d].text);
		}
	}
	if (verbosity >= 1 || r->sc_drops[SC_DROP_STATS_FULL] || r->sc_drops[SC_DROP_IO_FULL] ||
	    r->tstats.drop_events || r->tstats.drop_full)
		fprintf(f,
			"\nCollector health: stats entries %zu of %u; dropped: %llu syscall stats "
			"(map full), %llu I/O stats (map full), %llu calls without task storage (out of "
			"memory); %llu lifecycle events lost, %llu processes not tracked (map "
			"full); %llu execs seen, %llu not CPython, %llu could not be inspected\n",
			r->stats_used, r->max_stats, (unsigned long long)r->sc_drops[SC_DROP_STATS_FULL],
			(unsigned long long)r->sc_drops[SC_DROP_IO_FULL],
			(unsigned long long)r->sc_drops[SC_DROP_NO_STORAGE],
			(unsigned long long)r->tstats.drop_events,
			(unsigned long long)r->tstats.drop_full,
			(unsigned long long)r->tstats.exec_seen, (unsigned long long)r->tstats.rejected,
			(unsigned long long)r->tstats.inspect_failed);
	if (verbosity >= 1 && r->sampler_health[0])
		fprintf(f, "Sampler health: %s\n", r->sampler_health);
	if (verbosity >= 1)
		report_print_mem_health_text(r, f);
	report_print_gc_health_text(r, f, verbosity);
}

static void json_line_ops(const struct report *r, pid_t pid, const struct prof_func_stat *fs,
			  struct json *j)
{
	struct line_op ops[REP_LINE_OPS];
	uint64_t tot = 0;
	int n = fs->hot_line ? line_ops(r->prof, pid, fs->name, fs->file, fs->first_line,
					fs->hot_line, ops, REP_LINE_OPS, &tot)
			     : 0;

	json_u64(j, "hot_line_on_cpu", tot);
	json_arr_begin(j, "hot_line_opcodes");
	for (int k = 0; k < n; k++) {
		json_obj_begin(j, NULL);
		json_str(j, "opcode", ops[k].op);
		json_u64(j, "samples", ops[k].count);
		json_double(j, "share", tot ? (double)ops[k].count / tot : 0);
		json_i64(j, "loop_depth", ops[k].loop_depth);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void json_code_findings(const struct report *r, pid_t pid, struct json *j)
{
	struct code_finding cf[CODE_MAX_FINDINGS];
	int n = code_findings(r->prof, pid, cf, CODE_MAX_FINDINGS);

	for (int k = 0; k < n; k++) {
		json_obj_begin(j, NULL);
		json_str(j, "kind", cf[k].kind);
		json_str(j, "function", cf[k].name);
		json_str(j, "file", cf[k].file);
		json_i64(j, "line", cf[k].line);
		json_i64(j, "first_line", cf[k].first_line);
		json_u64(j, "samples", cf[k].samples);
		json_u64(j, "evidence_samples", cf[k].evidence);
		json_double(j, "share", cf[k].share);
		if (cf[k].op)
			json_str(j, "opcode", cf[k].op);
		json_double(j, "opcode_share", cf[k].op_share);
		json_i64(j, "loop_depth", cf[k].loop_depth);
		if (cf[k].recursion_depth)
			json_i64(j, "recursion_depth", cf[k].recursion_depth);
		json_str(j, "message", cf[k].text);
		json_obj_end(j);
	}
}

static void hist_json(struct json *j, const char *key, const unsigned long long *slots,
		      unsigned int n)
{
	unsigned int k;

	json_arr_begin(j, key);
	for (k = 0; k < n; k++) {
		if (!slots[k])
			continue;
		json_obj_begin(j, NULL);
		json_u64(j, "ge", slot_lo(k));
		json_u64(j, "le", slot_hi(k));
		json_u64(j, "count", slots[k]);
		json_obj_end(j);
	}
	json_arr_end(j);
}

void report_print_json(const struct report *r, FILE *f)
{
	struct json j;
	size_t i, k;
	int d;

	json_init(&j, f);
	json_obj_begin(&j, NULL);
	json_double(&j, "duration_s", r->duration_s);
	json_bool(&j, "interrupted", r->interrupted);
	json_arr_begin(&j, "processes");
	for (i = 0; i < r->nprocs; i++) {
		const struct rep_proc *rp = &r->procs[i];
		const struct py_proc *p = &rp->tp.info;
		char ver[24], sn[32];

		version_of(p, ver, sizeof(ver));
		json_obj_begin(&j, NULL);
		json_u64(&j, "pid", p->pid);
		json_str(&j, "comm", p->comm);
		json_str(&j, "cmdline", p->cmdline);
		json_str(&j, "version", ver);
		json_str(&j, "build", py_proc_build(p));
		json_bool(&j, "usdt", p->usdt_count > 0);
		json_double(&j, "observed_s", rp->observed_s);
		json_bool(&j, "exited", rp->tp.exited);
		json_u64(&j, "syscall_ns", rp->syscall_ns);
		/* return probes' trampoline syscalls: probe cost, not in syscalls/syscall_ns */
		json_obj_begin(&j, "probe_syscalls");
		json_str(&j, "syscall", "uretprobe");
		json_u64(&j, "count", rp->probe_sc ? rp->probe_sc->count : 0);
		json_u64(&j, "total_ns", rp->probe_sc ? rp->probe_sc->total_ns : 0);
		json_obj_end(&j);
		json_arr_begin(&j, "syscalls");
		for (k = 0; k < rp->nsc; k++) {
			const struct rep_syscall *s = &rp->sc[k];

			json_obj_begin(&j, NULL);
			json_str(&j, "name", syscall_name(s->nr, sn, sizeof(sn)));
			json_u64(&j, "nr", s->nr);
			json_u64(&j, "count", s->s->count);
			json_u64(&j, "errors", s->s->errors);
			json_u64(&j, "total_ns", s->s->total_ns);
			json_u64(&j, "avg_ns", s->s->count ? s->s->total_ns / s->s->count : 0);
			json_u64(&j, "p50_le_ns", slot_hi(s->p50_slot < 0 ? 0 : s->p50_slot));
			json_u64(&j, "p99_le_ns", slot_hi(s->p99_slot < 0 ? 0 : s->p99_slot));
			json_u64(&j, "max_ns", s->s->max_ns);
			json_double(&j, "wall_share", s->share);
			hist_json(&j, "latency_ns_hist", s->s->lat, SC_LAT_SLOTS);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_arr_begin(&j, "io");
		for (k = 0; k < rp->nio; k++) {
			const struct rep_io *io = &rp->io[k];

			json_obj_begin(&j, NULL);
			json_str(&j, "syscall", syscall_name(io->nr, sn, sizeof(sn)));
			json_str(&j, "fd_kind", fd_kind_name(io->kind));
			json_u64(&j, "calls", io->s->calls);
			json_u64(&j, "bytes", io->s->bytes);
			json_u64(&j, "errors", io->s->errors);
			json_u64(&j, "min_bytes", io->s->min_bytes);
			json_u64(&j, "max_bytes", io->s->max_bytes);
			json_u64(&j, "median_ge_bytes", io->median_lo);
			json_u64(&j, "median_le_bytes", io->median_hi);
			json_double(&j, "under_512_share", io->small_share);
			hist_json(&j, "bytes_hist", io->s->size, IO_SIZE_SLOTS);
			json_u64(&j, "asked_calls", io->s->asked_calls);
			json_u64(&j, "asked_bytes", io->s->asked_bytes);
			json_u64(&j, "asked_median_ge_bytes", io->asked_lo);
			json_u64(&j, "asked_median_le_bytes", io->asked_hi);
			hist_json(&j, "asked_hist", io->s->asked, IO_SIZE_SLOTS);
			json_u64(&j, "round_trips", io->s->round_trips);
			json_u64(&j, "round_trip_ns", io->s->round_trip_ns);
			json_u64(&j, "request_bytes", io->s->request_bytes);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		if (r->prof) {
			struct prof_func_stat *fs = NULL;
			struct prof_stack_group *groups = NULL;
			ssize_t n, q;
			uint32_t fr;

			json_u64(&j, "samples", profile_samples(r->prof, p->pid));
			if (!profile_samples(r->prof, p->pid)) {
				char why[512];

				json_str(&j, "no_samples_reason",
					 report_no_samples_reason(rp, r->prof->frequency_hz, why,
								  sizeof(why)));
				json_str(&j, "no_samples_message", why);
			}
			n = profile_top_functions(r->prof, p->pid, REP_TOP_FUNCTIONS, &fs);
			if (n > 0)
				profile_set_hot_lines(r->prof, p->pid, fs, n);
			json_arr_begin(&j, "hot_functions");
			for (q = 0; q < n; q++) {
				json_obj_begin(&j, NULL);
				json_str(&j, "name", fs[q].name);
				json_str(&j, "file", fs[q].file);
				json_i64(&j, "first_line", fs[q].first_line);
				json_u64(&j, "self", fs[q].self);
				json_u64(&j, "self_in_syscall", fs[q].self_syscall);
				json_u64(&j, "total", fs[q].total);
				json_i64(&j, "hot_line", fs[q].hot_line);
				json_u64(&j, "hot_line_self", fs[q].hot_line_self);
				json_line_ops(r, p->pid, &fs[q], &j);
				json_obj_end(&j);
			}
			json_arr_end(&j);
			free(fs);
			n = profile_top_stack_groups(r->prof, p->pid, REP_TOP_STACKS, &groups);
			json_arr_begin(&j, "top_stacks");
			for (q = 0; q < n; q++) {
				const struct prof_stack *st = groups[q].stack;

				json_obj_begin(&j, NULL);
				json_u64(&j, "count", groups[q].count);
				/* the thread with most of the samples; threads: how many had it */
				json_u64(&j, "tid", st->tid);
				json_str(&j, "thread", st->thread);
				json_u64(&j, "threads", groups[q].nthreads);
				json_bool(&j, "truncated", st->truncated);
				json_bool(&j, "in_syscall", st->in_syscall);
				json_arr_begin(&j, "frames");
				for (fr = 0; fr < st->nframes; fr++) {
					json_obj_begin(&j, NULL);
					json_str(&j, "name", st->frames[fr].name);
					json_str(&j, "file", st->frames[fr].file);
					json_i64(&j, "line", prof_frame_line(&st->frames[fr]));
					json_obj_end(&j);
				}
				json_arr_end(&j);
				json_obj_end(&j);
			}
			json_arr_end(&j);
			free(groups);
		}
		json_arr_begin(&j, "findings");
		for (d = 0; d < rp->nfindings; d++) {
			const struct rep_finding *fi = &rp->findings[d];

			json_obj_begin(&j, NULL);
			json_str(&j, "kind", fi->kind);
			json_str(&j, "syscall", syscall_name(fi->nr, sn, sizeof(sn)));
			json_str(&j, "fd_kind", fd_kind_name(fi->fd_kind));
			json_u64(&j, "calls", fi->calls);
			json_u64(&j, "bytes", fi->bytes);
			json_u64(&j, "median_le_bytes", fi->median_hi);
			json_double(&j, "calls_per_s", fi->per_second);
			json_u64(&j, "syscall_ns", fi->syscall_ns);
			json_str(&j, "message", fi->text);
			json_obj_end(&j);
		}
		report_print_gc_findings_json(rp, &j);
		report_print_mem_findings_json(rp, &j);
		report_print_queries_findings_json(r, rp, &j);
		if (r->prof && r->prof->mode == PH_MODE_WALL)
			wall_print_findings_json(r->prof, rp->tp.info.pid, &r->wall, &j);
		if (r->prof && r->prof->mode == PH_MODE_CPU)
			json_code_findings(r, p->pid, &j);
		json_arr_end(&j);
		if (r->prof && r->prof->mode == PH_MODE_WALL)
			wall_print_json(r->prof, rp->tp.info.pid, &r->wall, &j);
		report_print_gc_json(rp, &j);
		report_print_mem_json(rp, &j);
		report_print_queries_json(r, rp, &j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_obj_begin(&j, "health");
	json_u64(&j, "stats_entries", r->stats_used);
	json_u64(&j, "stats_capacity", r->max_stats);
	json_u64(&j, "dropped_syscall_stats", r->sc_drops[SC_DROP_STATS_FULL]);
	json_u64(&j, "dropped_io_stats", r->sc_drops[SC_DROP_IO_FULL]);
	json_u64(&j, "calls_without_task_storage", r->sc_drops[SC_DROP_NO_STORAGE]);
	json_u64(&j, "accepted_sockets_not_marked", r->sc_drops[SC_DROP_ACCEPTED_FULL]);
	json_u64(&j, "lifecycle_events", r->tstats.events);
	json_u64(&j, "lifecycle_events_lost", r->tstats.drop_events);
	json_u64(&j, "processes_not_tracked_map_full", r->tstats.drop_full);
	json_u64(&j, "execs_seen", r->tstats.exec_seen);
	json_u64(&j, "execs_not_cpython", r->tstats.rejected);
	json_u64(&j, "inspect_failed", r->tstats.inspect_failed);
	json_obj_end(&j);
	report_print_gc_health_json(r, &j);
	report_print_mem_health_json(r, &j);
	json_obj_end(&j);
}
