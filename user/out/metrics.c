// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <string.h>
#include "collect/calls_user.h"
#include "model/callstats.h"
#include "fdkind.h"
#include "model/funcstats.h"
#include "lib/histo.h"
#include "lib/utf8.h"
#include "out/metrics.h"
#include "collect/syscall_names.h"

/* bytes-per-call buckets: upper bounds of log2 slots 0, 2, 4, ... 20 (0 B .. 1 MiB - 1) */
static const unsigned int io_bucket_slots[] = { 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20 };

void metrics_label_value(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p) {
		int n = utf8_seq_len(p);

		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '"')
			fputs("\\\"", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (!n) /* Prometheus refuses the whole scrape for one invalid byte */
			fputs(UTF8_REPLACEMENT, f);
		else
			fwrite(p, 1, n, f);
		p += n ? n : 1;
	}
	fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* the labels that identify a process's service */
static void proc_labels(FILE *f, const struct rep_proc *rp)
{
	const struct py_proc *p = &rp->tp.info;
	char ver[24];

	if (p->micro >= 0)
		snprintf(ver, sizeof(ver), "%d.%d.%d", p->major, p->minor, p->micro);
	else
		snprintf(ver, sizeof(ver), "%d.%d", p->major, p->minor);
	fprintf(f, "pid=\"%d\",comm=", (int)p->pid);
	metrics_label_value(f, p->comm);
	fprintf(f, ",python_version=\"%s\"", ver);
	if (rp->tp.unit[0]) {
		fputs(",unit=", f);
		metrics_label_value(f, rp->tp.unit);
	}
	if (rp->tp.container_id[0])
		fprintf(f, ",container_id=\"%s\"", rp->tp.container_id);
}

static void proc_series(FILE *f, const char *name, const struct rep_proc *rp, const char *extra,
			const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void proc_series(FILE *f, const char *name, const struct rep_proc *rp, const char *extra,
			const char *fmt, ...)
{
	va_list ap;

	fprintf(f, "%s{", name);
	proc_labels(f, rp);
	if (extra)
		fprintf(f, ",%s", extra);
	fputs("} ", f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

static void write_syscalls(FILE *f, const struct report *r, unsigned int top,
			   struct metrics_health *h)
{
	static const struct {
		const char *name, *help;
	} fam[] = {
		{ "pyhound_syscalls_total", "Syscalls made by the process (top syscalls by time; "
					    "the rest summed into syscall=\"other\")." },
		{ "pyhound_syscall_seconds_total", "Time spent in syscalls, summed over threads." },
		{ "pyhound_syscall_errors_total", "Syscalls that returned an error." },
	};
	size_t i, j, k;

	h->series_folded = 0;
	for (k = 0; k < 3; k++) {
		family(f, fam[k].name, "counter", fam[k].help);
		for (i = 0; i < r->nprocs; i++) {
			const struct rep_proc *rp = &r->procs[i];
			uint64_t oc = 0, ons = 0, oe = 0;
			char lbl[64], sn[32];

			/* rp->sc is sorted by total time: the first `top` get their own series */
			for (j = 0; j < rp->nsc; j++) {
				const struct sc_stats *s = rp->sc[j].s;

				if (j >= top) {
					oc += s->count;
					ons += s->total_ns;
					oe += s->errors;
					if (k == 0)
						h->series_folded++;
					continue;
				}
				snprintf(lbl, sizeof(lbl), "syscall=\"%s\"",
					 syscall_name(rp->sc[j].nr, sn, sizeof(sn)));
				if (k == 0)
					proc_series(f, fam[k].name, rp, lbl, "%llu", s->count);
				else if (k == 1)
					proc_series(f, fam[k].name, rp, lbl, "%.9f",
						    s->total_ns / 1e9);
				else
					proc_series(f, fam[k].name, rp, lbl, "%llu", s->errors);
			}
			if (rp->nsc > top) {
				if (k == 0)
					proc_series(f, fam[k].name, rp, "syscall=\"other\"", "%" PRIu64, oc);
				else if (k == 1)
					proc_series(f, fam[k].name, rp, "syscall=\"other\"", "%.9f", ons / 1e9);
				else
					proc_series(f, fam[k].name, rp, "syscall=\"other\"", "%" PRIu64, oe);
			}
		}
	}
}

/* the uretprobe trampoline's syscalls: what return probes cost the process, apart from its
 * own syscalls */
static void write_probe_syscalls(FILE *f, const struct report *r)
{
	size_t i;

	family(f, "pyhound_probe_syscalls_total", "counter",
	       "uretprobe syscalls made by return probes' trampoline in the process (pyhound's "
	       "GC probes, or another tracer's): probe cost, not in pyhound_syscalls_total.");
	for (i = 0; i < r->nprocs; i++)
		if (r->procs[i].probe_sc)
			proc_series(f, "pyhound_probe_syscalls_total", &r->procs[i],
				    "syscall=\"uretprobe\"", "%llu", r->procs[i].probe_sc->count);
	family(f, "pyhound_probe_syscall_seconds_total", "counter",
	       "Time in those uretprobe syscalls, summed over threads: not in "
	       "pyhound_syscall_seconds_total.");
	for (i = 0; i < r->nprocs; i++)
		if (r->procs[i].probe_sc)
			proc_series(f, "pyhound_probe_syscall_seconds_total", &r->procs[i],
				    "syscall=\"uretprobe\"", "%.9f",
				    r->procs[i].probe_sc->total_ns / 1e9);
}

static void write_io(FILE *f, const struct report *r)
{
	size_t i, j, b;
	int d;

	family(f, "pyhound_io_calls_total", "counter",
	       "Successful read/write-family calls, by syscall and fd kind.");
	for (i = 0; i < r->nprocs; i++)
		for (j = 0; j < r->procs[i].nio; j++) {
			const struct rep_io *io = &r->procs[i].io[j];
			char lbl[96], sn[32];

			snprintf(lbl, sizeof(lbl), "syscall=\"%s\",fd_kind=\"%s\"",
				 syscall_name(io->nr, sn, sizeof(sn)), fd_kind_name(io->kind));
			proc_series(f, "pyhound_io_calls_total", &r->procs[i], lbl, "%llu",
				    io->s->calls);
		}
	family(f, "pyhound_io_bytes_total", "counter",
	       "Bytes moved by read/write-family calls, by syscall and fd kind.");
	for (i = 0; i < r->nprocs; i++)
		for (j = 0; j < r->procs[i].nio; j++) {
			const struct rep_io *io = &r->procs[i].io[j];
			char lbl[96], sn[32];

			snprintf(lbl, sizeof(lbl), "syscall=\"%s\",fd_kind=\"%s\"",
				 syscall_name(io->nr, sn, sizeof(sn)), fd_kind_name(io->kind));
			proc_series(f, "pyhound_io_bytes_total", &r->procs[i], lbl, "%llu",
				    io->s->bytes);
		}
	/* one histogram per (process, direction, fd kind): syscalls of a direction summed */
	family(f, "pyhound_io_call_bytes", "histogram",
	       "Bytes per successful read/write-family call, by direction and fd kind.");
	for (i = 0; i < r->nprocs; i++) {
		const struct rep_proc *rp = &r->procs[i];

		for (d = 0; d < 2; d++) {
			unsigned int kind;

			for (kind = 0; kind < FD_KIND_MAX; kind++) {
				unsigned long long slots[IO_SIZE_SLOTS] = {};
				uint64_t calls = 0, bytes = 0, cum = 0;
				unsigned int s = 0;
				char lbl[128];

				for (j = 0; j < rp->nio; j++) {
					const struct rep_io *io = &rp->io[j];

					if (io->kind != kind || sc_is_write(io->nr) != (d == 1))
						continue;
					calls += io->s->calls;
					bytes += io->s->bytes;
					for (s = 0; s < IO_SIZE_SLOTS; s++)
						slots[s] += io->s->size[s];
				}
				if (!calls)
					continue;
				s = 0;
				for (b = 0; b < sizeof(io_bucket_slots) / sizeof(io_bucket_slots[0]);
				     b++) {
					for (; s <= io_bucket_slots[b]; s++)
						cum += slots[s];
					snprintf(lbl, sizeof(lbl),
						 "direction=\"%s\",fd_kind=\"%s\",le=\"%llu\"",
						 d ? "write" : "read", fd_kind_name(kind),
						 (unsigned long long)slot_hi(io_bucket_slots[b]));
					proc_series(f, "pyhound_io_call_bytes_bucket", rp, lbl,
						    "%" PRIu64, cum);
				}
				snprintf(lbl, sizeof(lbl), "direction=\"%s\",fd_kind=\"%s\",le=\"+Inf\"",
					 d ? "write" : "read", fd_kind_name(kind));
				proc_series(f, "pyhound_io_call_bytes_bucket", rp, lbl, "%" PRIu64, calls);
				snprintf(lbl, sizeof(lbl), "direction=\"%s\",fd_kind=\"%s\"",
					 d ? "write" : "read", fd_kind_name(kind));
				proc_series(f, "pyhound_io_call_bytes_sum", rp, lbl, "%" PRIu64, bytes);
				proc_series(f, "pyhound_io_call_bytes_count", rp, lbl, "%" PRIu64, calls);
			}
		}
	}
}

static void counter1(FILE *f, const char *name, const char *help, uint64_t v)
{
	family(f, name, "counter", help);
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

static void gauge1(FILE *f, const char *name, const char *help, double v)
{
	family(f, name, "gauge", help);
	fprintf(f, "%s %.17g\n", name, v);
}

static void write_health(FILE *f, const struct report *r, const struct metrics_health *h)
{
	static const char *const sc_reason[SC_DROP_MAX] = { "syscall_stats_full", "io_stats_full",
							    "no_task_storage", "accepted_sockets_full" };
	int i;

	family(f, "pyhound_dropped_total", "counter",
	       "Data pyhound could not record, by reason (maps full, events lost, ...).");
	for (i = 0; i < SC_DROP_MAX; i++)
		fprintf(f, "pyhound_dropped_total{reason=\"%s\"} %llu\n", sc_reason[i],
			(unsigned long long)r->sc_drops[i]);
	fprintf(f, "pyhound_dropped_total{reason=\"lifecycle_events_lost\"} %llu\n",
		(unsigned long long)r->tstats.drop_events);
	fprintf(f, "pyhound_dropped_total{reason=\"tracked_pids_full\"} %llu\n",
		(unsigned long long)r->tstats.drop_full);
	fprintf(f, "pyhound_dropped_total{reason=\"exited_stats_bound\"} %llu\n",
		(unsigned long long)r->retired_dropped);
	if (r->has_gc) {
		static const char *const gc_reason[GC_DROP_MAX] = {
			"gc_stats_full", "gc_end_without_start", "gc_nesting", "import_events_lost",
			"import_end_without_start", "import_nesting", "gc_usdt_arg_unread",
		};

		for (i = 0; i < GC_DROP_MAX; i++)
			fprintf(f, "pyhound_dropped_total{reason=\"%s\"} %llu\n", gc_reason[i],
				(unsigned long long)r->gc_drops[i]);
	}
	if (h->calls) {
		/* the call collector's losses: a code object not counted (stats map full), a name
		 * not queued by the probe (read later from the process while it lives), a thread
		 * without a shadow stack (its calls not timed), a call deeper than the shadow stack
		 * (the outermost call's latency lost) */
		static const struct {
			unsigned int cc;
			const char *reason;
		} calls_loss[] = {
			{ CC_DROP_STATS_FULL, "calls_stats_full" },
			{ CC_DROP_NAMES, "calls_names_dropped" },
			{ CC_DROP_SHADOW, "calls_shadow_full" },
			{ CC_OVERFLOW, "calls_stack_overflow" },
		};

		for (i = 0; i < (int)(sizeof(calls_loss) / sizeof(calls_loss[0])); i++)
			fprintf(f, "pyhound_dropped_total{reason=\"%s\"} %llu\n", calls_loss[i].reason,
				(unsigned long long)h->calls_counters[calls_loss[i].cc]);
	}
	for (i = 0; i < h->nsampler; i++)
		if (h->sampler[i].lost)
			fprintf(f, "pyhound_dropped_total{reason=\"sample_%s\"} %llu\n",
				h->sampler[i].name, (unsigned long long)h->sampler[i].value);
	if (h->nsampler) {
		family(f, "pyhound_sampler_events_total", "counter",
		       "What the stack sampler did with each CPU-clock tick in a tracked process.");
		for (i = 0; i < h->nsampler; i++)
			fprintf(f, "pyhound_sampler_events_total{event=\"%s\"} %llu\n",
				h->sampler[i].name, (unsigned long long)h->sampler[i].value);
	}
	if (h->calls) {
		family(f, "pyhound_calls_collector_events_total", "counter",
		       "What the exact-call probes did (probe hits by kind, calls counted, "
		       "unmatched returns, errors, ...).");
		for (i = 0; i < CC_MAX; i++)
			fprintf(f, "pyhound_calls_collector_events_total{event=\"%s\"} %llu\n",
				calls_counter_name(i), (unsigned long long)h->calls_counters[i]);
	}
	family(f, "pyhound_map_entries", "gauge", "Entries in pyhound's bounded BPF maps.");
	fprintf(f, "pyhound_map_entries{map=\"sc_stats\"} %zu\n", r->nsc_total);
	fprintf(f, "pyhound_map_entries{map=\"io_stats\"} %zu\n", r->nio_total);
	fprintf(f, "pyhound_map_entries{map=\"tracked_pids\"} %d\n", h->live_processes);
	if (h->calls)
		fprintf(f, "pyhound_map_entries{map=\"calls_stats\"} %" PRIu64 "\n", h->calls_entries);
	family(f, "pyhound_map_capacity", "gauge", "Configured size of pyhound's BPF maps.");
	fprintf(f, "pyhound_map_capacity{map=\"sc_stats\"} %u\n", r->max_stats);
	fprintf(f, "pyhound_map_capacity{map=\"io_stats\"} %u\n", r->max_stats);
	fprintf(f, "pyhound_map_capacity{map=\"tracked_pids\"} %u\n", h->tracked_capacity);
	if (h->calls)
		fprintf(f, "pyhound_map_capacity{map=\"calls_stats\"} %" PRIu64 "\n",
			h->calls_capacity);
	if (h->prog_stats) {
		family(f, "pyhound_bpf_run_seconds_total", "counter",
		       "Time the kernel spent in each of pyhound's BPF programs.");
		for (i = 0; i < h->nprogs; i++)
			fprintf(f, "pyhound_bpf_run_seconds_total{program=\"%s\"} %.9f\n",
				h->progs[i].name, h->progs[i].run_ns / 1e9);
		family(f, "pyhound_bpf_runs_total", "counter",
		       "Times each of pyhound's BPF programs ran.");
		for (i = 0; i < h->nprogs; i++)
			fprintf(f, "pyhound_bpf_runs_total{program=\"%s\"} %llu\n", h->progs[i].name,
				(unsigned long long)h->progs[i].run_cnt);
	}
	counter1(f, "pyhound_execs_total", "Processes exec'd while pyhound ran.", r->tstats.exec_seen);
	counter1(f, "pyhound_processes_forgotten_total",
		 "Exited processes whose series were aged out.", r->tstats.forgotten);
	gauge1(f, "pyhound_series_folded", "Per-syscall series folded into syscall=\"other\" in "
	       "this scrape (cardinality bound).", (double)h->series_folded);
	counter1(f, "pyhound_scrapes_total", "Scrapes of /metrics served.", h->scrapes);
	gauge1(f, "pyhound_last_scrape_duration_seconds", "Time the previous /metrics render took.",
	       h->last_scrape_seconds);
	family(f, "pyhound_cpu_seconds_total", "counter", "pyhound's own CPU time (user + system).");
	fprintf(f, "pyhound_cpu_seconds_total %.6f\n", h->cpu_seconds);
	gauge1(f, "pyhound_resident_memory_bytes", "pyhound's resident memory.",
	       (double)h->rss_bytes);
	gauge1(f, "pyhound_resident_memory_peak_bytes", "pyhound's peak resident memory.",
	       (double)h->rss_peak_bytes);
}

int metrics_write(FILE *f, const struct report *r, struct metrics_health *h,
		  unsigned int top_syscalls)
{
	size_t i;

	family(f, "pyhound_python_processes", "gauge", "CPython processes pyhound watches now.");
	fprintf(f, "pyhound_python_processes %d\n", h->live_processes);
	counter1(f, "pyhound_python_processes_seen_total",
		 "CPython processes pyhound has watched since it started.", r->tstats.seen);
	family(f, "pyhound_python_process_info", "gauge",
	       "One series per watched CPython process; labels say what it is.");
	for (i = 0; i < r->nprocs; i++) {
		const struct rep_proc *rp = &r->procs[i];
		char extra[64];

		snprintf(extra, sizeof(extra), "build=\"%s\",usdt=\"%s\",exited=\"%s\"",
			 py_proc_build(&rp->tp.info), rp->tp.info.usdt_count ? "yes" : "no",
			 rp->tp.exited ? "yes" : "no");
		proc_series(f, "pyhound_python_process_info", rp, extra, "1");
	}
	write_syscalls(f, r, top_syscalls, h);
	write_probe_syscalls(f, r);
	write_io(f, r);
	write_health(f, r, h);
	return ferror(f) ? -EIO : 0;
}

struct cpu_ctx {
	FILE *f;
	const struct report *r;
	int pass;
};

static const struct rep_proc *rep_find(const struct report *r, pid_t pid)
{
	size_t i;

	for (i = 0; i < r->nprocs; i++)
		if (r->procs[i].tp.info.pid == pid)
			return &r->procs[i];
	return NULL;
}

static void cpu_cb(const struct fs_proc_view *v, void *ctx)
{
	struct cpu_ctx *c = ctx;
	const struct rep_proc *rp = rep_find(c->r, v->pid);
	size_t i;

	if (!rp)
		return;
	if (c->pass == 0) {
		proc_series(c->f, "pyhound_cpu_samples_total", rp, "state=\"python\"", "%llu",
			    (unsigned long long)v->python);
		proc_series(c->f, "pyhound_cpu_samples_total", rp, "state=\"syscall\"", "%llu",
			    (unsigned long long)v->syscall);
		return;
	}
	for (i = 0; i < v->nseries; i++) {
		fprintf(c->f, "pyhound_function_samples_total{");
		proc_labels(c->f, rp);
		fputs(",function=", c->f);
		metrics_label_value(c->f, v->series[i].name);
		fputs(",file=", c->f);
		metrics_label_value(c->f, v->series[i].file);
		fprintf(c->f, "} %llu\n", (unsigned long long)v->series[i].samples);
	}
	proc_series(c->f, "pyhound_function_samples_total", rp, "function=\"other\",file=\"\"",
		    "%llu", (unsigned long long)v->other);
}

void metrics_write_cpu(FILE *f, const struct report *r, struct funcstats *fs, unsigned int top_n,
		       unsigned int frequency)
{
	struct cpu_ctx c = { f, r, 0 };

	gauge1(f, "pyhound_sample_frequency_hertz", "Stack samples per second per CPU.",
	       (double)frequency);
	family(f, "pyhound_cpu_samples_total", "counter",
	       "Stack samples of the process while on CPU, running Python or in a syscall; "
	       "divide the rate by pyhound_sample_frequency_hertz for CPU cores used.");
	funcstats_foreach(fs, top_n, cpu_cb, &c);
	c.pass = 1;
	family(f, "pyhound_function_samples_total", "counter",
	       "Samples whose innermost Python frame is this function (self time), for each "
	       "process's hottest functions; the rest are function=\"other\".");
	funcstats_foreach(fs, top_n, cpu_cb, &c);
}

/* pause buckets: upper bounds of log2 slots of nanoseconds, ~16 us to ~4.3 s */
static const unsigned int gc_bucket_slots[] = { 14, 17, 20, 23, 26, 29, 32 };

/* a per-generation GC counter family: collections, or objects collected */
static void gc_gen_counter(FILE *f, const struct report *r, const char *name, const char *help,
			   bool collected)
{
	size_t i;
	int g;

	family(f, name, "counter", help);
	for (i = 0; i < r->nprocs; i++)
		for (g = 0; r->procs[i].gc && r->procs[i].gc->has_stats && g < GC_GENS; g++) {
			const struct rep_gc_gen *gs = &r->procs[i].gc->gen[g];
			char lbl[32];

			snprintf(lbl, sizeof(lbl), "generation=\"%d\"", g);
			proc_series(f, name, &r->procs[i], lbl, "%llu",
				    (unsigned long long)(collected ? gs->collected : gs->count));
		}
}

void metrics_write_gc(FILE *f, const struct report *r)
{
	size_t i, b;
	int g;
	unsigned int s;

	family(f, "pyhound_gc_source_info", "gauge",
	       "Where each process's GC measurements come from: usdt, uprobe, or none (reason).");
	for (i = 0; i < r->nprocs; i++) {
		const struct rep_proc *rp = &r->procs[i];
		char lbl[96];

		if (!rp->gc)
			continue;
		snprintf(lbl, sizeof(lbl), "source=\"%.60s\"", rp->gc->source);
		proc_series(f, "pyhound_gc_source_info", rp, lbl, "1");
	}
	gc_gen_counter(f, r, "pyhound_gc_collections_total", "Garbage collections, by generation.",
		       false);
	gc_gen_counter(f, r, "pyhound_gc_collected_objects_total",
		       "Objects the collector found unreachable, by generation.", true);
	family(f, "pyhound_gc_pause_seconds", "histogram",
	       "Garbage collection pauses (the collection function's run time), by generation.");
	for (i = 0; i < r->nprocs; i++) {
		const struct rep_proc *rp = &r->procs[i];

		for (g = 0; rp->gc && rp->gc->has_stats && g < GC_GENS; g++) {
			uint64_t cum = 0;
			char lbl[64];

			s = 0;
			for (b = 0; b < sizeof(gc_bucket_slots) / sizeof(gc_bucket_slots[0]); b++) {
				for (; s <= gc_bucket_slots[b]; s++)
					cum += rp->gc->lat[g][s];
				snprintf(lbl, sizeof(lbl), "generation=\"%d\",le=\"%.9g\"", g,
					 slot_hi(gc_bucket_slots[b]) / 1e9);
				proc_series(f, "pyhound_gc_pause_seconds_bucket", rp, lbl, "%" PRIu64, cum);
			}
			snprintf(lbl, sizeof(lbl), "generation=\"%d\",le=\"+Inf\"", g);
			proc_series(f, "pyhound_gc_pause_seconds_bucket", rp, lbl, "%llu",
				    (unsigned long long)rp->gc->gen[g].count);
			snprintf(lbl, sizeof(lbl), "generation=\"%d\"", g);
			proc_series(f, "pyhound_gc_pause_seconds_sum", rp, lbl, "%.9f",
				    rp->gc->gen[g].total_ns / 1e9);
			proc_series(f, "pyhound_gc_pause_seconds_count", rp, lbl, "%llu",
				    (unsigned long long)rp->gc->gen[g].count);
		}
	}
}

struct calls_ctx {
	FILE *f;
	const struct report *r;
	int pass;
};

static void call_series(FILE *f, const char *name, const struct rep_proc *rp, const char *fn,
			const char *file, const char *extra, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static void call_series(FILE *f, const char *name, const struct rep_proc *rp, const char *fn,
			const char *file, const char *extra, const char *fmt, ...)
{
	va_list ap;

	fprintf(f, "%s{", name);
	proc_labels(f, rp);
	fputs(",function=", f);
	metrics_label_value(f, fn);
	fputs(",file=", f);
	metrics_label_value(f, file);
	if (extra)
		fprintf(f, ",%s", extra);
	fputs("} ", f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

/* one function's latency histogram; a bucket never above the count (a snapshot may catch a
 * return's slot incremented and not yet its count: both only grow, so neither does the min) */
static void call_hist(FILE *f, const struct rep_proc *rp, const char *fn, const char *file,
		      const struct cs_counts *c)
{
	unsigned int b;
	char lbl[32];

	for (b = 0; b < CALLSTATS_BUCKETS; b++) {
		snprintf(lbl, sizeof(lbl), "le=\"%.9g\"", callstats_bucket_le_ns(b) / 1e9);
		call_series(f, "pyhound_call_duration_seconds_bucket", rp, fn, file, lbl,
			    "%" PRIu64, c->le[b] < c->timed ? c->le[b] : c->timed);
	}
	call_series(f, "pyhound_call_duration_seconds_bucket", rp, fn, file, "le=\"+Inf\"",
		    "%" PRIu64, c->timed);
	call_series(f, "pyhound_call_duration_seconds_sum", rp, fn, file, NULL, "%.9f",
		    c->total_ns / 1e9);
	call_series(f, "pyhound_call_duration_seconds_count", rp, fn, file, NULL, "%" PRIu64,
		    c->timed);
}

static void calls_cb(const struct cs_proc_view *v, void *ctx)
{
	struct calls_ctx *c = ctx;
	const struct rep_proc *rp = rep_find(c->r, v->pid);
	size_t i;

	if (!rp)
		return;
	if (c->pass == 0) {
		char lbl[96];

		snprintf(lbl, sizeof(lbl), "source=\"%s\"", calls_source_name(v->source));
		proc_series(c->f, "pyhound_calls_source_info", rp, lbl, "1");
		return;
	}
	if (!v->source || !v->seen)
		return;
	if (c->pass == 1) {
		for (i = 0; i < v->nseries; i++)
			call_series(c->f, "pyhound_calls_observed_total", rp, v->series[i].name,
				    v->series[i].file, NULL, "%" PRIu64, v->series[i].c.calls);
		call_series(c->f, "pyhound_calls_observed_total", rp, "other", "", NULL,
			    "%" PRIu64, v->other.calls);
		return;
	}
	/* USDT counts calls only: no latency, no histogram */
	if (v->source != CALLS_SRC_RESUME && v->source != CALLS_SRC_EVAL_ENTRY)
		return;
	for (i = 0; i < v->nseries; i++)
		call_hist(c->f, rp, v->series[i].name, v->series[i].file, &v->series[i].c);
	call_hist(c->f, rp, "other", "", &v->other);
}

void metrics_write_calls(FILE *f, const struct report *r, struct callstats *cs,
			 const struct metrics_calls *mc)
{
	struct calls_ctx c = { f, r, 0 };

	gauge1(f, "pyhound_calls_budget_percent",
	       "Share of time (percent) the exact-call probes may cost the watched processes "
	       "(calls_budget); 100: attached throughout.", mc->budget_percent);
	family(f, "pyhound_calls_window_seconds_total", "counter",
	       "Time the exact-call probes were attached (budget windows). Calls per second of a "
	       "function: rate(pyhound_calls_observed_total[5m]) / "
	       "rate(pyhound_calls_window_seconds_total[5m]).");
	fprintf(f, "pyhound_calls_window_seconds_total %.9f\n", mc->window_seconds);
	family(f, "pyhound_calls_probe_cost_seconds_total", "counter",
	       "Modelled cost of the exact-call probes to the watched processes: probe hits times "
	       "the measured cost of one hit (trap + BPF program).");
	fprintf(f, "pyhound_calls_probe_cost_seconds_total %.9f\n", mc->probe_cost_seconds);
	family(f, "pyhound_calls_source_info", "gauge",
	       "How each process's calls are seen: uprobes on the eval loop's opcode handlers "
	       "(with latency), usdt:function__return (counts only), or none.");
	callstats_foreach(cs, calls_cb, &c);
	c.pass = 1;
	family(f, "pyhound_calls_observed_total", "counter",
	       "Python calls counted while the probes were attached (exact inside windows), for "
	       "each process's most called functions; the rest are function=\"other\". Divided "
	       "by the rate of pyhound_calls_window_seconds_total: calls per second, a lower bound "
	       "for call-heavy processes (the probes slow them inside windows).");
	callstats_foreach(cs, calls_cb, &c);
	c.pass = 2;
	family(f, "pyhound_call_duration_seconds", "histogram",
	       "Duration of the calls counted that returned through a probed return (not for "
	       "usdt sources, which count only).");
	callstats_foreach(cs, calls_cb, &c);
}

void metrics_proc_labels(FILE *f, const struct rep_proc *rp)
{
	proc_labels(f, rp);
}
