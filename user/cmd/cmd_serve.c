// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pyhound serve: continuous collection with a Prometheus endpoint, for systemd. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect/calls_user.h"
#include "collect/calls_window.h"
#include "model/callstats.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "serve/config.h"
#include "model/funcstats.h"
#include "collect/gc_user.h"
#include "collect/queries_user.h"
#include "out/out_format.h"
#include "collect/profiler.h"
#include "collect/memory.h"
#include "serve/http.h"
#include "lib/log.h"
#include "out/metrics.h"
#include "model/report.h"
#include "collect/syscalls_user.h"
#include "host/tracker.h"

#define DEFAULT_CONFIG "/etc/pyhound/pyhound.conf"
#define CALLS_TRAP_NS 1000.0	       /* a uprobe hit's trap when calibration fails (as calls) */
#define CALLS_RESOLVE_NS 100000000ULL /* name captured code objects this often, at most */
/* calls_resolve() drains the names the probes queued and walks the whole stats map only when
 * an entry may lack a name or a process is purged (a syscall per entry: ~40 ms for 12,000
 * entries here): space the calls so that they take at most 1/20 of the time */
#define CALLS_RESOLVE_SHARE 20

#define MAX_FOLDED 256
struct folded {
	char comm[16];
	uint64_t procs, python, syscall, syscalls, syscall_ns;
};

static volatile sig_atomic_t reload;

static void on_hup(int sig)
{
	reload = 1;
}

/* an on-demand profile being gathered for /profile; its connection waits suspended, holding
 * no HTTP thread, and the main loop answers it when its time is up */
struct profile_req {
	struct profile *prof;
	pid_t pid; /* 0: all */
	uint64_t until;
	unsigned long secs;
	const char *format;
	struct http_deferred *d;
	struct profile_req *next;
};

struct serve {
	pthread_mutex_t lock; /* tracker, collectors, cache: main loop vs HTTP threads */
	struct serve_config cfg;
	const char *config_path;
	struct tracker *t;
	struct sc_collector *sc;
	int stats_fd; /* holds kernel BPF run-time stats on while we run */
	char *cache;
	size_t cache_len;
	uint64_t cache_ns;
	struct metrics_health health;
	uint64_t start_ns;
	struct profiler *pr;
	struct funcstats *fs;
	struct funcstats *mfs; /* memory growth per function; NULL: the memory collector is off */
	struct gc_collector *gc;
	struct profile_req *reqs;
	unsigned int nreqs;
	uint64_t profiles_refused; /* 429: max_profiles already running */
	struct http_server *http;
	struct folded folded[MAX_FOLDED + 1]; /* the last: comm="other" */
	size_t nfolded;
	/* exact calls (calls_budget > 0; else calls is NULL) */
	struct calls_collector *calls;
	struct calls_window win;
	struct callstats *cstats;
	uint64_t calls_wake;	     /* when the window wants its next step */
	uint64_t calls_resolved;     /* last calls_resolve() */
	uint64_t calls_resolve_gap;  /* until the next one */
	uint64_t calls_hits;	     /* probe hits at the last one */
	bool calls_purge;	     /* purges queued since */
	double calls_window_s;	     /* exported counters, kept monotonic */
	double calls_cost_s;
	struct queries *queries; /* database queries (queries = yes), else NULL */
	struct probe_window qwin; /* their probes' budget windows */
	uint64_t qwake;		  /* when qwin wants its next step */
};

static void serve_usage(FILE *f)
{
	fprintf(f,
		"Usage: pyhound serve [--listen ADDR:PORT] [--config FILE] [-v]\n\n"
		"Run continuously, as a systemd service: watch every CPython process on the host\n"
		"and serve what is measured over HTTP for Prometheus.\n\n"
		"  /metrics   Prometheus text format 0.0.4: processes, CPU samples and hottest\n"
		"             functions, GC collections and pauses, syscalls, I/O batching,\n"
		"             exact call counts and latency (with calls_budget > 0), and\n"
		"             pyhound's own health (drops, map fill, CPU, RSS; BPF run time\n"
		"             per program with bpf_run_stats = yes)\n"
		"  /healthz   200 \"ok\" while collecting\n"
		"  /profile?seconds=N[&pid=P][&format=collapsed|pprof|svg|speedscope]\n"
		"             an on-demand CPU profile of the next N seconds\n"
		"  /          an index of the endpoints\n\n"
		"Memory is bounded whatever the number of processes: exited processes are aged out\n"
		"after process_max_age seconds (at most max_exited are kept; what they counted\n"
		"stays in pyhound_forgotten_*_total by command), and per-process series are capped\n"
		"(top_syscalls, top_functions, top_calls). Profiles hold no HTTP thread\n"
		"(max_profiles at once, 429 beyond); slow clients are cut after header_timeout.\n"
		"Exact call counts are off by default: every probe hit costs the target about 2 us.\n"
		"calls_budget = PCT (e.g. 0.5 or 1) attaches the call probes in windows whose cost\n"
		"stays near PCT percent of the time (100: attached throughout, exact totals); calls\n"
		"per second = rate(pyhound_calls_observed_total) /\n"
		"rate(pyhound_calls_window_seconds_total), a lower bound for call-heavy processes.\n"
		"SIGHUP reloads the configuration; SIGTERM stops cleanly.\n\n"
		"Options:\n"
		"  -l, --listen ADDR:PORT  where to listen (default 127.0.0.1:9464); a non-loopback\n"
		"                          address needs 'allow_remote = yes' in the config\n"
		"  -c, --config FILE       configuration file (default " DEFAULT_CONFIG
		" if present)\n"
		"  -F, --frequency HZ      sampling frequency for sampling collectors (default 19)\n"
		"  -m, --mode M            what stacks are sampled (config key mode): cpu (default;\n"
		"                          pyhound_cpu_samples_total, pyhound_function_samples_total),\n"
		"                          wall (every Python thread, running or not, at HZ each:\n"
		"                          pyhound_thread_wall_seconds_total{state=running|gil|\n"
		"                          runnable|syscall|blocked} and\n"
		"                          pyhound_function_wall_seconds_total{function,file,state},\n"
		"                          state e.g. syscall:recvfrom) or gil (the thread holding\n"
		"                          the GIL: pyhound_function_gil_seconds_total). Per process,\n"
		"                          top_functions (function, state) series, the rest \"other\".\n"
		"                          Wall and gil walk every thread at every tick: see\n"
		"                          bench/RESULTS-wall.md for the cost; takes effect at restart\n"
		"  -v                      more logging (-vv: libbpf's log)\n"
		"  -h, --help              this text\n\n"
		"Configuration keys (key = value): listen, allow_remote, frequency, mode,\n"
		"max_procs, max_stats, top_syscalls, top_functions, top_calls, calls_budget,\n"
		"bpf_run_stats (yes/no: the kernel's BPF run-time statistics, for\n"
		"pyhound_bpf_run_seconds_total; off by default: host-wide, every BPF program on the\n"
		"host pays ~44 ns a run while they are on; takes effect at restart),\n"
		"queries (yes/no:\n"
		"database queries per statement and function; off by default), queries_budget\n"
		"(percent of time the query probes may cost, in windows; default 1; 100: attached\n"
		"throughout, exact counts), top_queries, process_max_age,\n"
		"max_exited, cache_seconds, max_profiles, max_connections, max_connections_per_ip,\n"
		"header_timeout, basic_auth_user, basic_auth_hash (crypt(3)/bcrypt, e.g. from\n"
		"'htpasswd -nB'), tls_cert, tls_key. See deploy/pyhound.conf.\n\n"
		"Example:\n  sudo pyhound serve --listen 127.0.0.1:9464\n"
		"  curl -s localhost:9464/metrics | grep pyhound_syscall_seconds_total\n");
}

/* What forgotten processes counted, per command (comm), so that totals stay monotonic once
 * their per-PID series go; bounded: past MAX_FOLDED commands, comm="other". */

static void fold(struct serve *sv, const struct tracked_proc *tp)
{
	struct folded *f = NULL;
	uint64_t a, b;
	size_t i;

	for (i = 0; i < sv->nfolded; i++)
		if (!strcmp(sv->folded[i].comm, tp->info.comm)) {
			f = &sv->folded[i];
			break;
		}
	if (!f && sv->nfolded < MAX_FOLDED) {
		f = &sv->folded[sv->nfolded++];
		snprintf(f->comm, sizeof(f->comm), "%s", tp->info.comm);
	} else if (!f) {
		f = &sv->folded[MAX_FOLDED]; /* "other" */
		snprintf(f->comm, sizeof(f->comm), "other");
	}
	f->procs++;
	funcstats_totals(sv->fs, tp->info.pid, &a, &b);
	f->python += a;
	f->syscall += b;
	sc_pid_totals(sv->sc, tp->info.pid, &a, &b);
	f->syscalls += a;
	f->syscall_ns += b;
}

static void write_folded(FILE *f, const struct serve *sv)
{
	static const char *const fam[][2] = {
		{ "pyhound_forgotten_processes_total",
		  "Exited processes whose per-PID series were dropped (process_max_age or "
		  "max_exited), by command; what they counted is in the pyhound_forgotten_* "
		  "families." },
		{ "pyhound_forgotten_cpu_samples_total",
		  "CPU samples of forgotten processes, by command and state." },
		{ "pyhound_forgotten_syscalls_total", "Syscalls of forgotten processes, by command." },
		{ "pyhound_forgotten_syscall_seconds_total",
		  "Time in syscalls of forgotten processes, by command." },
	};
	size_t i, n = sv->nfolded + (sv->folded[MAX_FOLDED].procs ? 1 : 0);

	for (int k = 0; k < 4; k++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", fam[k][0], fam[k][1], fam[k][0]);
		for (i = 0; i < n; i++) {
			const struct folded *x = i < sv->nfolded ? &sv->folded[i] :
								   &sv->folded[MAX_FOLDED];

			if (k == 1) {
				fprintf(f, "%s{comm=", fam[k][0]);
				metrics_label_value(f, x->comm);
				fprintf(f, ",state=\"python\"} %llu\n", (unsigned long long)x->python);
				fprintf(f, "%s{comm=", fam[k][0]);
				metrics_label_value(f, x->comm);
				fprintf(f, ",state=\"syscall\"} %llu\n",
					(unsigned long long)x->syscall);
				continue;
			}
			fprintf(f, "%s{comm=", fam[k][0]);
			metrics_label_value(f, x->comm);
			if (k == 3)
				fprintf(f, "} %.9f\n", x->syscall_ns / 1e9);
			else
				fprintf(f, "} %llu\n",
					(unsigned long long)(k == 0 ? x->procs : x->syscalls));
		}
	}
}

/* the exporter's own resources: links, HTTP clients refused or cut, profiles (lock held) */
static void write_serve_health(FILE *f, struct serve *sv)
{
	struct http_stats hs = {};

	if (sv->http)
		http_get_stats(sv->http, &hs);
	fprintf(f, "# HELP pyhound_bpf_links BPF links held now, by collector (the GC probes of a "
		   "binary go with its last process).\n# TYPE pyhound_bpf_links gauge\n");
	if (sv->gc)
		fprintf(f, "pyhound_bpf_links{collector=\"gc\"} %d\n", gc_links(sv->gc));
	fprintf(f, "# HELP pyhound_http_connections HTTP connections open now.\n"
		   "# TYPE pyhound_http_connections gauge\npyhound_http_connections %llu\n",
		(unsigned long long)hs.connections);
	fprintf(f, "# HELP pyhound_http_refused_total HTTP requests and connections refused or cut, "
		   "by reason.\n# TYPE pyhound_http_refused_total counter\n"
		   "pyhound_http_refused_total{reason=\"header_timeout\"} %llu\n"
		   "pyhound_http_refused_total{reason=\"bad_credentials\"} %llu\n"
		   "pyhound_http_refused_total{reason=\"auth_queue_full\"} %llu\n"
		   "pyhound_http_refused_total{reason=\"max_profiles\"} %llu\n",
		(unsigned long long)hs.timed_out, (unsigned long long)hs.auth_failed,
		(unsigned long long)hs.auth_busy, (unsigned long long)sv->profiles_refused);
	fprintf(f, "# HELP pyhound_profiles_running /profile requests being gathered now.\n"
		   "# TYPE pyhound_profiles_running gauge\npyhound_profiles_running %u\n",
		sv->nreqs);
}

static void forget(const struct tracked_proc *tp, void *ctx)
{
	struct serve *sv = ctx;

	if (tp->exited)
		fold(sv, tp);

	if (sv->queries)
		queries_forget(sv->queries, tp->info.pid, tp->info.comm);
	sc_purge_pid(sv->sc, tp->info.pid);
	funcstats_forget(sv->fs, tp->info.pid);
	if (sv->mfs)
		funcstats_forget(sv->mfs, tp->info.pid);
	if (sv->gc)
		gc_purge_pid(sv->gc, tp->info.pid);
}

static void calls_on_add(const struct tracked_proc *tp, void *ctx)
{
	struct serve *sv = ctx;
	char why[512];
	int err = calls_add_process(sv->calls, &tp->info, why, sizeof(why));

	/* an interpreter without usable probe sites is not an error of pyhound's: its
	 * pyhound_calls_source_info says source="none" */
	if (err == -ENOTSUP || err == -ENOENT)
		pr_info("pid %d (CPython %d.%d): calls not counted: %s", tp->info.pid,
			tp->info.major, tp->info.minor, why[0] ? why : strerror(-err));
	else if (err)
		pr_warn("pid %d (CPython %d.%d): calls not counted: %s", tp->info.pid,
			tp->info.major, tp->info.minor, why[0] ? why : strerror(-err));
	else if (why[0])
		pr_info("pid %d: %s", tp->info.pid, why);
}

/* aged out: its counts and names go at the next calls_resolve() (a rejected process was never
 * registered with the call collector: nothing to drop) */
static void calls_on_forget(const struct tracked_proc *tp, void *ctx)
{
	struct serve *sv = ctx;

	if (calls_purge_pid(sv->calls, tp->info.pid))
		pr_warn("pid %d: cannot queue its call counts for removal", tp->info.pid);
	sv->calls_purge = true;
	callstats_forget(sv->cstats, tp->info.pid);
}

static void calls_on_exit(const struct tracked_proc *tp, void *ctx)
{
	struct serve *sv = ctx;

	/* its counts stay until it is aged out; names were taken while it ran */
	calls_process_exited(sv->calls, tp->info.pid);
}

static void retire(const struct tracked_proc *tp, void *ctx)
{
	struct serve *sv = ctx;

	sc_retire_pid(sv->sc, tp->info.pid);
}

/* a wall/gil sample: the leaf pseudo-frame ([gil], [syscall:read], ...) says what the thread
 * was doing, the frame under it is its innermost Python function */
static void add_wall(struct funcstats *fs, pid_t pid, const struct prof_frame *frames, uint32_t n)
{
	const struct prof_frame *leaf = &frames[n - 1], *fn = leaf;
	unsigned int st = PH_WALL_ONCPU;
	const char *state = "running";

	if (!leaf->file[0] && leaf->name[0] == '[') {
		state = leaf->name + 1; /* "gil]", "syscall:read]": the label drops the ']' */
		if (!strcmp(leaf->name, "[gil]"))
			st = PH_WALL_GIL;
		else if (!strcmp(leaf->name, "[runnable]"))
			st = PH_WALL_RUNNABLE;
		else if (!strcmp(leaf->name, "[blocked]"))
			st = PH_WALL_BLOCKED;
		else
			st = PH_WALL_SYSCALL;
		if (n >= 2)
			fn = &frames[n - 2];
	}
	if (fn == leaf) {
		funcstats_add_wall(fs, pid, fn->name, fn->file, st, state);
	} else {
		char label[64];
		size_t len = strlen(state);

		snprintf(label, sizeof(label), "%.*s", (int)(len ? len - 1 : 0), state);
		funcstats_add_wall(fs, pid, n >= 2 ? fn->name : "(no Python frame)",
				   n >= 2 ? fn->file : "", st, label);
	}
}

/* every named sample (main thread, lock held) */
static void on_sample(void *ctx, pid_t pid, pid_t tid, const char *process, const char *thread,
		      const struct prof_frame *frames, uint32_t n, bool truncated, bool in_syscall)
{
	struct serve *sv = ctx;
	struct profile_req *r;

	if (n && sv->cfg.mode != PH_MODE_CPU)
		add_wall(sv->fs, pid, frames, n);
	else if (n)
		funcstats_add(sv->fs, pid, frames[n - 1].name, frames[n - 1].file, in_syscall);
	for (r = sv->reqs; r; r = r->next)
		if (!r->pid || r->pid == pid)
			profile_add(r->prof, pid, tid, process, thread, frames, n, truncated,
				    in_syscall, 1);
}

static void on_mem_growth(void *ctx, pid_t pid, const struct prof_frame *frames, uint32_t n,
			  uint64_t bytes)
{
	struct serve *sv = ctx;

	funcstats_add_weight(sv->mfs, pid, frames[n - 1].name, frames[n - 1].file, bytes);
}

struct collect_ctx {
	struct tracked_proc *arr;
	size_t n;
	int live;
};

static void collect(const struct tracked_proc *tp, void *ctx)
{
	struct collect_ctx *cc = ctx;

	cc->arr[cc->n++] = *tp;
	cc->live += !tp->exited;
}

static void own_usage(struct metrics_health *h)
{
	struct rusage ru;
	char line[256];
	FILE *f;

	if (!getrusage(RUSAGE_SELF, &ru))
		h->cpu_seconds = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
				 ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	f = fopen("/proc/self/status", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long kb;

		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			h->rss_bytes = kb * 1024;
		else if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
			h->rss_peak_bytes = kb * 1024;
	}
	fclose(f);
}

static void prog_stats(struct metrics_health *h, struct bpf_object *obj)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || h->nprogs >= METRICS_MAX_PROGS)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		snprintf(h->progs[h->nprogs].name, sizeof(h->progs[0].name), "%s",
			 bpf_program__name(prog));
		h->progs[h->nprogs].run_ns = info.run_time_ns;
		h->progs[h->nprogs].run_cnt = info.run_cnt;
		h->nprogs++;
	}
}

/* Render /metrics (caller holds the lock). */
static int render(struct serve *sv)
{
	struct sc_snapshot snap = {};
	struct gc_snapshot gsnap = {};
	struct calls_snapshot csnap = {};
	struct collect_ctx cc = {};
	struct report rep = {};
	uint64_t t0 = now_ns();
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	err = sc_snapshot(sv->sc, &snap);
	if (err)
		return err;
	cc.arr = calloc(tracker_count(sv->t) + 1, sizeof(*cc.arr));
	if (!cc.arr) {
		err = -ENOMEM;
		goto out;
	}
	tracker_foreach(sv->t, collect, &cc);
	err = report_build(&rep, &snap, cc.arr, cc.n, sv->start_ns, t0);
	if (err)
		goto out;
	tracker_get_stats(sv->t, &rep.tstats);
	if (sv->gc) {
		err = gc_snapshot(sv->gc, &gsnap);
		if (!err)
			err = report_add_gc(&rep, &gsnap);
		if (err)
			goto out;
	}
	if (sv->calls) {
		size_t i;

		err = calls_snapshot(sv->calls, &csnap);
		if (!err)
			err = callstats_update(sv->cstats, &csnap, sv->cfg.top_calls);
		for (i = 0; !err && i < cc.n; i++)
			err = callstats_set_source(sv->cstats, cc.arr[i].info.pid,
						   calls_source_of(sv->calls, cc.arr[i].info.pid,
								   NULL, 0));
		if (err)
			goto out;
		sv->health.calls = true;
		memcpy(sv->health.calls_counters, csnap.counters, sizeof(csnap.counters));
		sv->health.calls_entries = csnap.n;
		sv->health.calls_capacity = sv->cfg.max_stats < CALLS_MAX_STATS ? sv->cfg.max_stats :
										   CALLS_MAX_STATS;
	}
	sv->health.scrapes++;
	sv->health.live_processes = cc.live;
	sv->health.tracked_capacity = sv->cfg.max_procs;
	sv->health.nprogs = 0;
	prog_stats(&sv->health, tracker_bpf_object(sv->t));
	prog_stats(&sv->health, sc_bpf_object(sv->sc));
	prog_stats(&sv->health, sampler_bpf_object(profiler_sampler(sv->pr)));
	if (sv->gc)
		prog_stats(&sv->health, gc_bpf_object(sv->gc));
	if (sv->queries)
		prog_stats(&sv->health, queries_bpf_object(sv->queries));
	if (sv->calls)
		prog_stats(&sv->health, calls_bpf_object(sv->calls));
	if (profiler_mem(sv->pr))
		prog_stats(&sv->health, mem_bpf_object(profiler_mem(sv->pr)));
	own_usage(&sv->health);
	{
		struct profiler_stats ps;
		unsigned int k;

		profiler_get_stats(sv->pr, &ps);
		sv->health.nsampler = 0;
		for (k = 0; k < SMP_STAT_MAX && k < 24; k++) {
			sv->health.sampler[k].name = sampler_stat_name(k);
			sv->health.sampler[k].value = ps.s.bpf[k];
			sv->health.sampler[k].lost = k == SMP_DROP_RINGBUF || k == SMP_ERR_READ ||
						     k == SMP_ERR_BAD_CODE || k == SMP_ERR_TSS_KEY ||
						     k == SMP_ERR_TSTATE_MISMATCH;
			sv->health.nsampler++;
		}
	}
	f = open_memstream(&buf, &len);
	if (!f) {
		err = -errno;
		goto out;
	}
	err = metrics_write(f, &rep, &sv->health, sv->cfg.top_syscalls);
	if (!err && sv->cfg.mode == PH_MODE_CPU)
		metrics_write_cpu(f, &rep, sv->fs, sv->cfg.top_functions, sv->cfg.frequency);
	else if (!err)
		metrics_write_wall(f, &rep, sv->fs, sv->cfg.top_functions, sv->cfg.frequency,
				   sv->cfg.mode);
	if (!err) {
		write_folded(f, sv);
		write_serve_health(f, sv);
	}
	if (!err && sv->gc)
		metrics_write_gc(f, &rep);
	if (!err)
		metrics_write_mem(f, &rep);
	if (!err && sv->mfs)
		metrics_write_mem_growth(f, &rep, sv->mfs, sv->cfg.top_functions,
					 profiler_mem(sv->pr));
	if (!err && sv->queries) {
		queries_set_coverage(sv->queries, &sv->qwin, sv->qwin.start, now_ns(), false);
		metrics_write_queries(f, &rep, queries_stats(sv->queries), sv->cfg.top_queries);
	}
	if (!err && sv->calls) {
		struct metrics_calls mc = { .budget_percent = sv->cfg.calls_budget };
		double win = calls_window_covered(&sv->win, now_ns()) / 1e9;
		double cost = calls_window_spent_ns(&sv->win) / 1e9;

		/* the cost is hits x the mean measured cost per hit, and the mean moves: keep the
		 * counter from going back */
		if (win > sv->calls_window_s)
			sv->calls_window_s = win;
		if (cost > sv->calls_cost_s)
			sv->calls_cost_s = cost;
		mc.window_seconds = sv->calls_window_s;
		mc.probe_cost_seconds = sv->calls_cost_s;
		metrics_write_calls(f, &rep, sv->cstats, &mc);
	}
	if (fclose(f) && !err)
		err = -EIO;
	if (err) {
		free(buf);
		goto out;
	}
	free(sv->cache);
	sv->cache = buf;
	sv->cache_len = len;
	sv->cache_ns = now_ns();
	sv->health.last_scrape_seconds = (sv->cache_ns - t0) / 1e9;
out:
	/* the render's large temporary buffers: give the memory back */
	malloc_trim(0);
	report_free(&rep);
	free(cc.arr);
	sc_snapshot_free(&snap);
	gc_snapshot_free(&gsnap);
	calls_snapshot_free(&csnap);
	return err;
}

static void h_metrics(struct http_req *req, struct http_resp *resp, void *ctx)
{
	struct serve *sv = ctx;
	int err = 0;

	pthread_mutex_lock(&sv->lock);
	if (!sv->cache || now_ns() - sv->cache_ns >= (uint64_t)(sv->cfg.cache_seconds * 1e9))
		err = render(sv);
	if (!err) {
		resp->body = malloc(sv->cache_len + 1);
		if (resp->body) {
			memcpy(resp->body, sv->cache, sv->cache_len);
			resp->len = sv->cache_len;
			resp->status = 200;
			resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
		}
	}
	pthread_mutex_unlock(&sv->lock);
	if (err)
		http_text(resp, 500, "cannot render metrics: %s\n", strerror(-err));
}

static void h_profile(struct http_req *req, struct http_resp *resp, void *ctx)
{
	struct serve *sv = ctx;
	const char *qs = http_query(req, "seconds"), *qp = http_query(req, "pid");
	const char *qf = http_query(req, "format"), *format = qf ? qf : "collapsed";
	struct profile_req *r;
	unsigned long secs = 10, pid = 0;
	char *end;

	if (qs && (secs = strtoul(qs, &end, 10), *end || !*qs || *qs == '-' || *qs == '+' ||
		   secs < 1 || secs > 300)) {
		http_text(resp, 400, "bad seconds '%s': an integer from 1 to 300\n", qs);
		return;
	}
	if (qp && (pid = strtoul(qp, &end, 10), *end || !*qp || *qp == '-' || *qp == '+' ||
		   pid < 1 || pid > 4194304)) {
		http_text(resp, 400, "bad pid '%s'\n", qp);
		return;
	}
	if (strcmp(format, "collapsed") && strcmp(format, "pprof") && strcmp(format, "svg") &&
	    strcmp(format, "speedscope")) {
		http_text(resp, 400, "bad format '%s': collapsed, pprof, svg or speedscope\n", format);
		return;
	}
	format = !strcmp(format, "svg") ? "svg" : !strcmp(format, "pprof") ? "pprof" :
		 !strcmp(format, "speedscope") ? "speedscope" : "collapsed";
	pthread_mutex_lock(&sv->lock);
	if (pid) {
		const struct tracked_proc *tp = tracker_find(sv->t, (pid_t)pid);

		if (!tp || tp->exited) {
			pthread_mutex_unlock(&sv->lock);
			http_text(resp, 400, "PID %lu is not a running CPython process pyhound "
					     "watches\n", pid);
			return;
		}
	}
	if (sv->nreqs >= sv->cfg.max_profiles || exiting) {
		sv->profiles_refused++;
		pthread_mutex_unlock(&sv->lock);
		http_text(resp, 429, "%u profiles are being taken already (max_profiles); retry "
			  "later\n", sv->cfg.max_profiles);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (r)
		r->prof = profile_new(secs, profiler_frequency(sv->pr));
	if (!r || !r->prof) {
		pthread_mutex_unlock(&sv->lock);
		free(r);
		http_text(resp, 500, "out of memory\n");
		return;
	}
	r->pid = pid;
	r->secs = secs;
	r->format = format;
	r->until = now_ns() + secs * 1000000000ULL;
	r->d = http_defer(req);
	r->next = sv->reqs;
	sv->reqs = r;
	sv->nreqs++;
	pthread_mutex_unlock(&sv->lock);
}

/* Answer a profile request (taken off the list; no lock needed) */
static void profile_answer(struct profile_req *r, bool stopping)
{
	struct http_resp resp = {};
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	if (stopping) {
		http_text(&resp, 503, "pyhound is stopping\n");
		goto out;
	}
	r->prof->duration_s = r->secs;
	f = open_memstream(&buf, &len);
	err = f ? profile_write(r->prof, r->format, f) : -ENOMEM;
	if (f && fclose(f) && !err)
		err = -EIO;
	if (err) {
		free(buf);
		http_text(&resp, 500, "cannot write the profile: %s\n", strerror(-err));
		goto out;
	}
	resp.status = 200;
	resp.body = buf;
	resp.len = len;
	resp.content_type = !strcmp(r->format, "svg")	     ? "image/svg+xml"
			    : !strcmp(r->format, "pprof")      ? "application/octet-stream"
			    : !strcmp(r->format, "speedscope") ? "application/json"
							       : "text/plain; charset=utf-8";
out:
	http_complete(r->d, &resp);
	profile_free(r->prof);
	free(r);
}

/* Answer the profiles whose time is up (all when stopping); the nearest deadline left, or 0 */
static uint64_t profiles_due(struct serve *sv, uint64_t now, bool stopping)
{
	struct profile_req **pp = &sv->reqs, *done = NULL, *r;
	uint64_t next = 0;

	pthread_mutex_lock(&sv->lock);
	while ((r = *pp)) {
		if (stopping || now >= r->until) {
			*pp = r->next;
			r->next = done;
			done = r;
			sv->nreqs--;
			continue;
		}
		if (!next || r->until < next)
			next = r->until;
		pp = &r->next;
	}
	pthread_mutex_unlock(&sv->lock);
	while ((r = done)) { /* written outside the lock: scrapes go on meanwhile */
		done = r->next;
		profile_answer(r, stopping);
	}
	return next;
}

static void h_healthz(struct http_req *req, struct http_resp *resp, void *ctx)
{
	struct serve *sv = ctx;
	int n;

	pthread_mutex_lock(&sv->lock);
	n = tracker_count(sv->t);
	pthread_mutex_unlock(&sv->lock);
	http_text(resp, 200, "ok: collecting, %d CPython processes known\n", n);
}

static void h_index(struct http_req *req, struct http_resp *resp, void *ctx)
{
	http_text(resp, 200,
		  "<!doctype html><html><head><meta charset=\"utf-8\"><title>pyhound</title>"
		  "</head><body><h1>pyhound %s</h1><p>Where every CPython process on this host "
		  "spends its time.</p><ul>"
		  "<li><a href=\"/metrics\">/metrics</a>: Prometheus metrics</li>"
		  "<li><a href=\"/healthz\">/healthz</a>: health check</li>"
		  "<li><a href=\"/profile?seconds=10&amp;format=svg\">/profile?seconds=10&amp;"
		  "format=svg</a>: an on-demand CPU profile (formats collapsed, svg, pprof, "
		  "speedscope; &amp;pid=P for one process)</li>"
		  "</ul></body></html>\n", PYHOUND_VERSION);
	resp->content_type = "text/html; charset=utf-8";
}

static const struct http_route routes[] = {
	{ "/", h_index },
	{ "/metrics", h_metrics },
	{ "/healthz", h_healthz },
	{ "/profile", h_profile },
};

static int check_listen(const struct serve_config *c, struct sockaddr_storage *ss,
			unsigned int *len)
{
	bool loopback;

	if (config_parse_listen(c->listen, ss, len, &loopback)) {
		pr_err("invalid listen address '%s' (expected HOST:PORT, e.g. 127.0.0.1:9464)",
		       c->listen);
		return -EINVAL;
	}
	if (!loopback && !c->allow_remote) {
		pr_err("refusing to listen on non-loopback address %s: set 'allow_remote = yes' in "
		       "the configuration (and consider basic_auth_* and tls_*)", c->listen);
		return -EPERM;
	}
	return 0;
}

/* HOST:PORT as bound (port 0 in the configuration becomes the port the kernel chose) */
static void bound_address(const struct http_server *http, const char *configured, char *buf,
			  size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "";
	int fd = http_listen_fd(http);

	snprintf(buf, len, "%s", configured);
	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl))
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

		if (inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host)))
			snprintf(buf, len, "%s:%u", host, ntohs(a->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

		if (inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host)))
			snprintf(buf, len, "[%s]:%u", host, ntohs(a->sin6_port));
	}
}

static void do_reload(struct serve *sv, struct http_server *http)
{
	struct serve_config nc;
	char err[512];

	if (!sv->config_path) {
		pr_info("SIGHUP: no configuration file to reload");
		return;
	}
	nc = sv->cfg;
	if (config_load(sv->config_path, &nc, err, sizeof(err))) {
		pr_err("reload failed, keeping the running configuration: %s", err);
		return;
	}
	if (strcmp(nc.listen, sv->cfg.listen) || strcmp(nc.tls_cert, sv->cfg.tls_cert) ||
	    strcmp(nc.tls_key, sv->cfg.tls_key) || nc.max_procs != sv->cfg.max_procs ||
	    nc.max_stats != sv->cfg.max_stats || nc.max_connections != sv->cfg.max_connections ||
	    nc.max_connections_per_ip != sv->cfg.max_connections_per_ip ||
	    nc.header_timeout != sv->cfg.header_timeout)
		pr_warn("listen, tls_*, max_procs, max_stats, max_connections*, header_timeout "
			"take effect at restart");
	if (nc.bpf_run_stats != sv->cfg.bpf_run_stats) {
		pr_warn("bpf_run_stats takes effect at restart");
		nc.bpf_run_stats = sv->cfg.bpf_run_stats;
	}
	if (nc.mode != sv->cfg.mode) {
		pr_warn("mode: a new sampling mode takes effect at restart");
		nc.mode = sv->cfg.mode;
	}
	if (nc.calls_budget != sv->cfg.calls_budget && !(sv->calls && nc.calls_budget > 0)) {
		pr_warn("calls_budget: turning exact call counting on or off takes effect at restart");
		nc.calls_budget = sv->cfg.calls_budget;
	}
	pthread_mutex_lock(&sv->lock);
	sv->cfg.top_syscalls = nc.top_syscalls;
	sv->cfg.top_functions = nc.top_functions;
	sv->cfg.top_calls = nc.top_calls;
	if (sv->queries && nc.queries_budget != sv->cfg.queries_budget) {
		if (probe_window_set_budget(&sv->qwin, nc.queries_budget, now_ns()))
			pr_warn("queries: cannot attach the probes for budget %g%%",
				nc.queries_budget);
		else
			pr_info("queries: budget now %g%%", nc.queries_budget);
		sv->qwake = 0;
	}
	sv->cfg.queries_budget = nc.queries_budget;
	if (nc.calls_budget != sv->cfg.calls_budget) { /* the window is stepped under the lock */
		if (calls_window_set_budget(&sv->win, nc.calls_budget, now_ns()))
			pr_warn("calls: cannot attach the probes for budget %g%%", nc.calls_budget);
		else
			pr_info("calls: budget now %g%%", nc.calls_budget);
		sv->calls_wake = 0;
		sv->cfg.calls_budget = nc.calls_budget;
	}
	sv->cfg.process_max_age = nc.process_max_age;
	sv->cfg.max_exited = nc.max_exited;
	sv->cfg.max_profiles = nc.max_profiles;
	sv->cfg.cache_seconds = nc.cache_seconds;
	snprintf(sv->cfg.basic_auth_user, sizeof(sv->cfg.basic_auth_user), "%s", nc.basic_auth_user);
	snprintf(sv->cfg.basic_auth_hash, sizeof(sv->cfg.basic_auth_hash), "%s", nc.basic_auth_hash);
	free(sv->cache);
	sv->cache = NULL;
	pthread_mutex_unlock(&sv->lock);
	http_set_auth(http, nc.basic_auth_user, nc.basic_auth_hash);
	pr_info("configuration reloaded from %s", sv->config_path);
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "config", required_argument, NULL, 'c' },
		{ "frequency", required_argument, NULL, 'F' },
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{},
	};
	struct serve sv = { .lock = PTHREAD_MUTEX_INITIALIZER, .stats_fd = -1 };
	struct tracker_opts topts = { .follow = true };
	struct sc_collector_opts sopts = {};
	struct tracker_hooks hooks = {};
	struct http_server *http = NULL;
	struct sockaddr_storage ss;
	const char *listen_arg = NULL, *freq_arg = NULL, *mode_arg = NULL;
	unsigned int sslen;
	char err[512], bound[sizeof(sv.cfg.listen) + INET6_ADDRSTRLEN];
	unsigned long v;
	int c, rc = 1;
	uint64_t last_age = 0, profile_next = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:l:c:F:m:hv", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen_arg = optarg; break;
		case 'c': sv.config_path = optarg; break;
		case 'F': freq_arg = optarg; break;
		case 'm': mode_arg = optarg; break;
		case 'v': log_set_verbosity(log_verbosity + 1); break;
		case 'h': serve_usage(stdout); return 0;
		case ':':
			return usage_error("serve", "option '%s' needs a value", argv[optind - 1]);
		default: return usage_error("serve", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("serve", "unexpected argument '%s'", argv[optind]);
	if (log_journal_detected())
		log_use_journal(true);
	{ /* max_connections sockets plus BPF links and maps: the hard limit, not 1024 */
		struct rlimit rl;

		if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	/* renders run on the HTTP threads: keep them from each growing a malloc arena */
	mallopt(M_ARENA_MAX, 2);
	config_defaults(&sv.cfg);
	if (!sv.config_path && access(DEFAULT_CONFIG, R_OK) == 0)
		sv.config_path = DEFAULT_CONFIG;
	if (sv.config_path && config_load(sv.config_path, &sv.cfg, err, sizeof(err))) {
		pr_err("%s", err);
		return 1;
	}
	if (listen_arg) {
		if (strlen(listen_arg) >= sizeof(sv.cfg.listen))
			return usage_error("serve", "--listen too long");
		snprintf(sv.cfg.listen, sizeof(sv.cfg.listen), "%s", listen_arg);
	}
	if (freq_arg) {
		if (parse_uint(freq_arg, "--frequency", 1, 1000, &v))
			return usage_error("serve", "bad --frequency");
		sv.cfg.frequency = v;
	}
	if (mode_arg) {
		int m;

		if (parse_mode(mode_arg, &m) || m > PH_MODE_GIL)
			return usage_error("serve", "bad --mode (cpu, wall or gil)");
		sv.cfg.mode = m;
	}
	if (check_listen(&sv.cfg, &ss, &sslen))
		return listen_arg ? EXIT_USAGE : 1;
	if (bpf_prepare())
		return 1;

	topts.max_procs = sv.cfg.max_procs;
	sopts.max_stats = sv.cfg.max_stats;
	if (tracker_open(&topts, &sv.t))
		goto out;
	sopts.tracked_fd = tracker_map_fd(sv.t);
	if (sc_open(&sopts, &sv.sc))
		goto out;
	hooks.on_reject = forget;
	hooks.on_forget = forget;
	hooks.on_exit = retire;
	hooks.ctx = &sv;
	tracker_add_hooks(sv.t, &hooks);
	{
		struct gc_collector_opts go = { .tracked_fd = tracker_map_fd(sv.t),
						.max_procs = sv.cfg.max_procs };
		struct tracker_hooks gh;

		if (gc_open(&go, &sv.gc))
			goto out;
		gh = gc_tracker_hooks(sv.gc);
		tracker_add_hooks(sv.t, &gh);
		if (gc_attach(sv.gc))
			goto out;
	}
	if (sv.cfg.queries) {
		struct queries_opts qo = { .tracked_fd = tracker_map_fd(sv.t),
					   .max_procs = sv.cfg.max_procs };
		struct tracker_hooks qh;

		if (queries_open(&qo, &sv.queries))
			goto out;
		qh = queries_tracker_hooks(sv.queries);
		tracker_add_hooks(sv.t, &qh);
		if (queries_attach(sv.queries))
			goto out;
	}
	sv.fs = funcstats_new();
	if (!sv.fs || profiler_open(sv.t, sv.cfg.frequency, sv.cfg.mode, &sv.pr))
		goto out;
	profiler_set_sink(sv.pr, on_sample, &sv);
	sv.mfs = funcstats_new();
	if (!sv.mfs || profiler_enable_memory(sv.pr)) {
		pr_warn("memory growth per function is off (the memory collector did not load)");
		funcstats_free(sv.mfs);
		sv.mfs = NULL;
	} else {
		profiler_set_mem_sink(sv.pr, on_mem_growth, &sv);
	}
	/* the kernel's run-time statistics are host-wide: while they are on, every BPF program on
	 * the host (not only pyhound's) pays two clock reads per run (~44 ns here, more than the
	 * page-fault program's own work: bench/RESULTS-memory.md), so they are asked for */
	if (sv.cfg.bpf_run_stats) {
		sv.stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		sv.health.prog_stats = sv.stats_fd >= 0;
		if (sv.stats_fd < 0)
			pr_warn("kernel BPF run-time statistics unavailable: %s", strerror(errno));
	}
	if (sv.cfg.calls_budget > 0) {
		struct calls_collector_opts co = { .tracked_fd = tracker_map_fd(sv.t),
						   .max_stats = sv.cfg.max_stats,
						   .max_procs = sv.cfg.max_procs };
		struct tracker_hooks ch = { .on_add = calls_on_add, .on_exit = calls_on_exit,
					    .on_forget = calls_on_forget, .ctx = &sv };

		sv.cstats = callstats_new();
		if (!sv.cstats) {
			pr_err("out of memory");
			goto out;
		}
		if (calls_open(&co, &sv.calls))
			goto out;
		tracker_add_hooks(sv.t, &ch);
	}
	if (sc_attach(sv.sc) || tracker_start(sv.t) || profiler_attach(sv.pr))
		goto out;
	if (sv.calls) {
		double trap_ns = CALLS_TRAP_NS;
		int e = calls_calibrate(sv.calls, &trap_ns);

		if (e) {
			trap_ns = CALLS_TRAP_NS;
			pr_warn("cannot time a probe hit (%s): assuming %.0f ns", strerror(-e),
				trap_ns);
		} else {
			pr_info("calls: a probe hit's trap costs %.0f ns here", trap_ns);
		}
		e = calls_window_start(&sv.win, sv.calls, sv.cfg.calls_budget, trap_ns, now_ns());
		if (e) {
			pr_err("cannot attach the call probes: %s", strerror(-e));
			goto out;
		}
		sv.calls_wake = sv.win.next;
		sv.calls_resolved = sv.win.start;
		sv.calls_resolve_gap = CALLS_RESOLVE_NS;
		pr_info("calls: counting calls, budget %g%%", sv.cfg.calls_budget);
	}
	if (sv.queries) {
		double trap_ns = CALLS_TRAP_NS;

		if (sv.cfg.queries_budget < 100 && queries_calibrate(sv.queries, &trap_ns))
			trap_ns = CALLS_TRAP_NS;
		probe_window_start(&sv.qwin, &queries_window_ops, sv.queries, sv.cfg.queries_budget,
				   trap_ns, now_ns());
		sv.qwake = sv.qwin.next;
		pr_info("queries: following queries, budget %g%% (a probe hit's trap %.0f ns)",
			sv.cfg.queries_budget, trap_ns);
	}
	sv.start_ns = now_ns();
	{
		sigset_t set, old;
		struct http_opts ho = {
			.name = sv.cfg.listen,
			.addr = (struct sockaddr *)&ss,
			.addrlen = sslen,
			.auth_user = sv.cfg.basic_auth_user,
			.auth_hash = sv.cfg.basic_auth_hash,
			.tls_cert = sv.cfg.tls_cert,
			.tls_key = sv.cfg.tls_key,
			.max_connections = sv.cfg.max_connections,
			.max_connections_per_ip = sv.cfg.max_connections_per_ip,
			.header_timeout = sv.cfg.header_timeout,
		};

		/* the HTTP threads inherit a mask without the signals, so they reach this thread */
		sigemptyset(&set);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGHUP);
		pthread_sigmask(SIG_BLOCK, &set, &old);
		err[0] = http_start(&ho, routes, sizeof(routes) / sizeof(routes[0]), &sv, &http) ? 1 : 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (err[0])
			goto out;
		sv.http = http;
	}
	install_signal_handlers();
	signal(SIGHUP, on_hup);
	bound_address(http, sv.cfg.listen, bound, sizeof(bound));
	pr_notice("serving on %s%s: %d CPython process%s", sv.cfg.tls_cert[0] ? "https://" : "http://",
		  bound, tracker_count(sv.t), tracker_count(sv.t) == 1 ? "" : "es");
	while (!exiting) {
		struct pollfd pfd = { .fd = tracker_epoll_fd(sv.t), .events = POLLIN };
		int to = tracker_next_timeout(sv.t);
		uint64_t now;

		if (to < 0)
			to = 200;
		if (profile_next) { /* a profile's time is up then */
			now = now_ns();
			if (profile_next <= now)
				to = 0;
			else if (profile_next - now < (uint64_t)to * 1000000ULL)
				to = (int)((profile_next - now + 999999) / 1000000);
		}
		if (sv.queries) { /* the query probes' next window step */
			now = now_ns();
			if (sv.qwake <= now)
				to = 0;
			else if (sv.qwake - now < (uint64_t)to * 1000000ULL)
				to = (int)((sv.qwake - now + 999999) / 1000000);
		}
		if (sv.calls) { /* the window's next step and the next resolve */
			uint64_t until = sv.calls_resolved + sv.calls_resolve_gap;

			now = now_ns();
			if (sv.calls_wake < until)
				until = sv.calls_wake;
			if (until <= now)
				to = 0;
			else if (until - now < (uint64_t)to * 1000000ULL)
				to = (int)((until - now + 999999) / 1000000);
		}
		poll(&pfd, 1, to);
		if (reload) {
			reload = 0;
			do_reload(&sv, http);
		}
		pthread_mutex_lock(&sv.lock);
		if (tracker_poll(sv.t, 0))
			pr_warn("lifecycle events: poll failed");
		profiler_poll(sv.pr, 0);
		gc_poll(sv.gc, 0);
		if (sv.queries) {
			queries_poll(sv.queries, 0);
			if (now_ns() >= sv.qwake) {
				int e = probe_window_step(&sv.qwin, now_ns(), &sv.qwake);

				if (e) {
					pr_warn("queries: budget window: %s (retrying in 1 s)",
						strerror(-e));
					sv.qwake = now_ns() + 1000000000ULL;
				}
			}
		}
		if (sc_flush(sv.sc))
			pr_warn("cannot move exited processes' statistics out of the kernel maps");
		now = now_ns();
		if (sv.calls) {
			if (now >= sv.calls_wake) {
				int e = calls_window_step(&sv.win, now, &sv.calls_wake);

				if (e) {
					pr_warn("calls: budget window: %s (retrying in 1 s)",
						strerror(-e));
					sv.calls_wake = now + 1000000000ULL;
				}
			}
			if (now - sv.calls_resolved >= sv.calls_resolve_gap) {
				uint64_t t0 = now_ns(), hits = calls_hits(sv.calls, NULL), t1;

				/* no probe hit, nothing to purge: no new entry, no name to take */
				if (hits != sv.calls_hits || sv.calls_purge) {
					calls_resolve(sv.calls);
					sv.calls_hits = hits;
					sv.calls_purge = false;
				}
				t1 = now_ns();
				sv.calls_resolve_gap = CALLS_RESOLVE_SHARE * (t1 - t0);
				if (sv.calls_resolve_gap < CALLS_RESOLVE_NS)
					sv.calls_resolve_gap = CALLS_RESOLVE_NS;
				sv.calls_resolved = t1;
			}
			now = now_ns();
		}
		if (now - last_age > 1000000000ULL) {
			last_age = now;
			uint64_t age = sv.cfg.process_max_age * 1000000000ULL;

			tracker_forget_exited(sv.t, now > age ? now - age : 0);
			/* a storm of short-lived processes: the oldest go before their age */
			tracker_forget_over(sv.t, sv.cfg.max_exited);
			/* samples live on in funcstats and in /profile requests: keep the
			 * profiler's own profile small */
			profile_free(profiler_restart(sv.pr));
		}
		pthread_mutex_unlock(&sv.lock);
		profile_next = profiles_due(&sv, now_ns(), false);
	}
	pr_notice("stopping");
	rc = 0;
out:
	profiles_due(&sv, now_ns(), true); /* no connection stays suspended */
	http_stop(http);
	profiler_free(sv.pr);
	funcstats_free(sv.mfs);
	funcstats_free(sv.fs);
	gc_free(sv.gc);
	queries_free(sv.queries);
	calls_free(sv.calls);
	callstats_free(sv.cstats);
	sc_free(sv.sc);
	tracker_free(sv.t);
	if (sv.stats_fd >= 0)
		close(sv.stats_fd);
	free(sv.cache);
	return rc;
}
