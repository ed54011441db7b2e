// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <elf.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect/queries_user.h"
#include "collect/uprobe_multi.h"
#include "cpython/insn_check.h"
#include "cpython/offsets.h"
#include "cpython/symbolize.h"
#include "cpython/tstate_locate.h"
#include "host/elf.h"
#include "host/procmaps.h"
#include "lib/hashidx.h"
#include "lib/log.h"
#include "lib/ringbuf.h"
#include "model/sqlnorm.h"
#include "queries.skel.h"

#define MAX_LIBS 256	       /* distinct library files followed */
#define MAX_TEXTS 65536	       /* statement texts kept; cleared (counted) when full */
#define MAX_PQ_NAMES 4096      /* libpq prepared statement names kept */
#define MAX_LINKS_PER_LIB 24
#define NORM_LEN 1024
#define RESCAN_NS 1000000000ULL

struct text_ent {
	pid_t pid;
	uint64_t handle;
	char *norm;
	char name[64];
};

struct pq_name {
	pid_t pid;
	char name[64];
	char *norm;
};

struct lib_links {
	struct bpf_link *l[MAX_LINKS_PER_LIB]; /* attached throughout (prepares) */
	int n;
	struct bpf_link *w[MAX_LINKS_PER_LIB]; /* attached in windows (executions) */
	int nw;
	uint64_t offs[MAX_LINKS_PER_LIB];      /* each probe_def's file offset, 0: none */
	uint64_t rows_off;		       /* cookie bits above fn (libpq field offsets) */
	int afd[MAX_LINKS_PER_LIB], naf;       /* uprobe_multi links: attached throughout */
	int wfd[MAX_LINKS_PER_LIB], nwf;       /* ... in windows */
	int fd;				       /* the library, for attaching again: -1 none */
	bool failed;			       /* the last window's attach failed (said once) */
};

/* a process's CPU time, for estimating its queries over the run from those seen in windows */
struct qproc {
	pid_t pid;
	bool exited;
	uint64_t cpu0, cpu_seen; /* at registration, last read */
	uint64_t cpu_mark;	 /* when the open window opened (0: none open) */
	uint64_t cpu_win;	 /* spent inside windows */
	uint64_t hits;		 /* probe hits its query records took (SQLite) */
};

struct queries {
	struct queries_bpf *skel;
	struct ring_buffer *rb;
	struct symbolizer *sym;
	struct querystats *qs;
	struct queries_lib libs[MAX_LIBS];
	struct lib_links links[MAX_LIBS];
	size_t nlibs;
	pid_t *pids;
	size_t npids, cappids;
	struct text_ent *texts;
	size_t ntexts;
	struct hashidx tidx;
	struct pq_name *pq;
	size_t npq;
	uint64_t last_scan;
	bool win_open;	/* the windowed probes are attached (true unless a window closed them) */
	/* uprobe_multi links (Linux 6.6+): closing one removes all its breakpoints at once, then
	 * waits for a grace period; a perf-event uprobe link's breakpoint stayed, trapping
	 * without running a program, through its teardown (about 0.5 s here): every window
	 * then cost the target half a second of traps (measured: the loop ran 2x slower for
	 * 0.4-0.5 s after each window's end) */
	bool multi;
	/* the last window's span (CLOCK_MONOTONIC): from when every probe was in to the start of
	 * the detach. Executions starting outside it (while probes went in or out) are not
	 * counted: the processes' CPU time is measured over the same span (the estimate) */
	uint64_t win_lo, win_hi;
	struct qproc *procs;
	size_t nprocs, capprocs, last_proc;
	double trap_cpu_ns; /* a hit's trap in the CPU time of the process it traps in */
	double trap_ns;	    /* an entry probe's trap (wall time), calibrated */
	double ret_extra_ns; /* what a return probe's trap costs more, calibrated */
	uint64_t counters[QC_COUNTER_MAX];
	struct prof_frame frames[Q_FRAMES];
	char norm[NORM_LEN + 16];
};

static const char *const counter_names[QC_COUNTER_MAX] = {
	[QC_UNKNOWN_TEXT] = "unknown_text",
	[QC_TEXTS_RESET] = "texts_reset",
	[QC_BAD_RECORDS] = "bad_records",
	[QC_UNKNOWN_FRAMES] = "unknown_frames",
	[QC_PROCS_REFUSED] = "procs_refused",
	[QC_DRIVER_FRAMES] = "driver_frames_skipped",
	[QC_CUT] = "cut_by_window_end",
	[QC_WINDOW_ATTACH_FAILED] = "window_attach_failed",
	[QC_OUTSIDE_WINDOW] = "outside_window",
};

static const char *const bpf_stat_names[Q_STAT_MAX] = {
	[Q_STAT_QUERIES] = "queries",
	[Q_STAT_TEXTS] = "texts",
	[Q_STAT_WALKS] = "walks",
	[Q_STAT_WALK_FAILED] = "walk_failed",
	[Q_DROP_RINGBUF] = "drop_ringbuf",
	[Q_DROP_ACTIVE_FULL] = "drop_active_full",
	[Q_DROP_NO_INFO] = "drop_no_info",
	[Q_STAT_END_ORPHAN] = "end_orphan",
	[Q_STAT_PQ_SUPERSEDED] = "pq_superseded",
	[Q_STAT_PQ_NESTED] = "pq_nested_calls",
	[Q_STAT_HITS] = "probe_hits",
	[Q_STAT_HITS_RET] = "probe_hits_return",
	[Q_STAT_TIMED] = "probe_runs_timed",
	[Q_STAT_BPF_NS] = "probe_bpf_ns_timed",
	[Q_STAT_CALIB] = "calibration_hits",
};

const char *queries_counter_name(enum queries_counter c)
{
	return c < QC_COUNTER_MAX ? counter_names[c] : "?";
}

const char *queries_bpf_stat_name(unsigned int s)
{
	return s < Q_STAT_MAX && bpf_stat_names[s] ? bpf_stat_names[s] : "?";
}

int queries_lib_kind(const char *path)
{
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	if (!strncmp(b, "libsqlite3.so", 13))
		return Q_LIB_SQLITE;
	if (!strncmp(b, "libpq.so", 8))
		return Q_LIB_PQ;
	return 0;
}

/* ---- statement texts ---- */

struct text_key {
	const struct queries *q;
	pid_t pid;
	uint64_t handle;
};

static bool text_eq(const void *ctx, uint32_t idx)
{
	const struct text_key *k = ctx;

	return k->q->texts[idx].pid == k->pid && k->q->texts[idx].handle == k->handle;
}

static uint32_t text_hash(pid_t pid, uint64_t handle)
{
	return hash_u64(hash_u64(HASH_SEED, (uint64_t)pid), handle);
}

static void texts_clear(struct queries *q)
{
	for (size_t i = 0; i < q->ntexts; i++)
		free(q->texts[i].norm);
	q->ntexts = 0;
	hashidx_free(&q->tidx);
	hashidx_init(&q->tidx);
}

static struct text_ent *text_find(struct queries *q, pid_t pid, uint64_t handle)
{
	struct text_key k = { q, pid, handle };
	int64_t i = hashidx_find(&q->tidx, text_hash(pid, handle), text_eq, &k);

	return i >= 0 ? &q->texts[i] : NULL;
}

static void text_set(struct queries *q, pid_t pid, uint64_t handle, const char *norm,
		     const char *name)
{
	struct text_ent *t = text_find(q, pid, handle);
	char *c = strdup(norm);

	if (!c)
		return;
	if (!t) {
		if (q->ntexts >= MAX_TEXTS) {
			texts_clear(q);
			q->counters[QC_TEXTS_RESET]++;
		}
		if (hashidx_insert(&q->tidx, text_hash(pid, handle), q->ntexts)) {
			free(c);
			return;
		}
		t = &q->texts[q->ntexts++];
		t->pid = pid;
		t->handle = handle;
		t->norm = NULL;
	}
	free(t->norm);
	t->norm = c;
	snprintf(t->name, sizeof(t->name), "%s", name);
}

static const char *pq_name_text(struct queries *q, pid_t pid, const char *name, const char *set)
{
	struct pq_name *p = NULL;

	for (size_t i = 0; i < q->npq; i++)
		if (q->pq[i].pid == pid && !strcmp(q->pq[i].name, name))
			p = &q->pq[i];
	if (!set)
		return p ? p->norm : NULL;
	if (!p) {
		if (q->npq >= MAX_PQ_NAMES)
			return NULL;
		p = &q->pq[q->npq++];
		p->pid = pid;
		snprintf(p->name, sizeof(p->name), "%s", name);
		p->norm = NULL;
	}
	free(p->norm);
	p->norm = strdup(set);
	return p->norm;
}

/* ---- records ---- */

static void on_text(struct queries *q, const struct q_text_event *e)
{
	size_t len = e->len < Q_TEXT_LEN ? e->len : Q_TEXT_LEN - 1;
	char name[64];

	snprintf(name, sizeof(name), "%.*s", (int)strnlen(e->name, sizeof(e->name)), e->name);
	sql_normalize(e->text, len, q->norm, NORM_LEN);
	if (e->truncated && strlen(q->norm) + 4 < sizeof(q->norm))
		strcat(q->norm, "...");
	if (e->lib == Q_LIB_PQ && name[0]) {
		if (q->norm[0]) /* PQprepare: the name's statement */
			pq_name_text(q, e->pid, name, q->norm);
		else {
			const char *t = pq_name_text(q, e->pid, name, NULL);

			snprintf(q->norm, NORM_LEN, "%s", t ? t : "");
		}
	}
	text_set(q, e->pid, e->handle, q->norm, name);
}

/* Python code of a database driver or ORM (by its package directory): the query's call site
 * is the innermost frame outside them, so that psycopg 3 (pure Python), the stdlib sqlite3
 * package, SQLAlchemy and Django's ORM name the application's function. */
static bool driver_frame(const char *file)
{
	static const char *const dirs[] = { "/psycopg/", "/psycopg2/", "/sqlite3/",
					    "/sqlalchemy/", "/django/db/" };

	for (size_t i = 0; file && i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (strstr(file, dirs[i]))
			return true;
	return false;
}

static void on_query(struct queries *q, const struct q_query_event *e)
{
	struct text_ent *t;
	uint32_t n = 0, k = 0, nf = e->nframes < Q_FRAMES ? e->nframes : Q_FRAMES, depth = e->depth;
	bool prep = e->lib == Q_LIB_PQ && (e->fn == Q_FN_PQ_PREPARE || e->fn == Q_FN_PQ_SEND_PREPARE);
	char stmt[NORM_LEN + 80];

	if (e->start_ns < q->win_lo || e->start_ns > q->win_hi) {
		q->counters[QC_OUTSIDE_WINDOW]++;
		return;
	}
	t = text_find(q, e->pid, e->handle);
	if (t && t->norm[0])
		snprintf(stmt, sizeof(stmt), "%s%s", prep ? "PREPARE " : "", t->norm);
	else if (t && t->name[0])
		snprintf(stmt, sizeof(stmt), "EXECUTE %s", t->name);
	else {
		snprintf(stmt, sizeof(stmt), "<statement prepared before pyhound started>");
		q->counters[QC_UNKNOWN_TEXT]++;
	}
	for (uint32_t i = 0; i < nf; i++) {
		const struct ph_frame *f = &e->frames[i];
		int err = symbolizer_frame(q->sym, e->pid, f->code, f->name, f->first_line,
					   f->instr, &q->frames[n]);

		if (err == 1) { /* a shim left out: the stack is one frame shorter */
			depth = depth ? depth - 1 : 0;
			continue;
		}
		if (err < 0)
			q->counters[QC_UNKNOWN_FRAMES]++;
		n++;
	}
	while (k < n && driver_frame(q->frames[k].file))
		k++;
	if (k > 0 && k < n) {
		memmove(q->frames, q->frames + k, (n - k) * sizeof(q->frames[0]));
		n -= k;
		depth = depth > k ? depth - k : 0;
		q->counters[QC_DRIVER_FRAMES] += k;
	}
	querystats_add(q->qs, e->pid, e->tid, e->lib, stmt, q->frames, n, depth, e->start_ns,
		       e->dur_ns, e->rows, e->end == Q_END_ERROR);
	if (e->hits) { /* the probes' cost in its CPU time inside windows (the estimate) */
		if (q->last_proc >= q->nprocs || q->procs[q->last_proc].pid != (pid_t)e->pid)
			for (size_t i = 0; i < q->nprocs; i++)
				if (q->procs[i].pid == (pid_t)e->pid)
					q->last_proc = i;
		if (q->last_proc < q->nprocs && q->procs[q->last_proc].pid == (pid_t)e->pid)
			q->procs[q->last_proc].hits += e->hits;
	}
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct queries *q = ctx;
	const __u32 *type = data;

	if (size >= sizeof(struct q_text_event) && *type == Q_EV_TEXT)
		on_text(q, data);
	else if (size >= Q_QUERY_HDR_SIZE && *type == Q_EV_QUERY &&
		 ((const struct q_query_event *)data)->nframes <= Q_FRAMES &&
		 size >= Q_QUERY_HDR_SIZE + ((const struct q_query_event *)data)->nframes *
						     sizeof(struct ph_frame))
		on_query(q, data);
	else
		q->counters[QC_BAD_RECORDS]++;
	return 0;
}

/* ---- libraries ---- */

struct probe_def {
	const char *sym;
	int fn; /* cookie */
	bool ret;
	bool required;
	bool always; /* a prepare: attached throughout, not only in windows */
};

static const struct probe_def sqlite_probes[] = {
	{ "sqlite3_prepare_v2", Q_FN_SQLITE_PREPARE, false, true, true },
	{ "sqlite3_prepare_v2", Q_FN_SQLITE_PREPARE, true, true, true },
	{ "sqlite3_prepare_v3", Q_FN_SQLITE_PREPARE_V3, false, false, true },
	{ "sqlite3_prepare_v3", Q_FN_SQLITE_PREPARE_V3, true, false, true },
	{ "sqlite3_prepare", Q_FN_SQLITE_PREPARE, false, false, true },
	{ "sqlite3_prepare", Q_FN_SQLITE_PREPARE, true, false, true },
	{ "sqlite3_step", Q_FN_SQLITE_STEP, false, true, false },
	{ "sqlite3_step", Q_FN_SQLITE_STEP, true, true, false },
	{ "sqlite3_reset", Q_FN_SQLITE_RESET, false, true, false },
	{ "sqlite3_finalize", Q_FN_SQLITE_FINALIZE, false, true, false },
};

static const struct probe_def pq_probes[] = {
	{ "PQexec", Q_FN_PQ_EXEC, false, true, false },
	{ "PQexecParams", Q_FN_PQ_EXEC_PARAMS, false, true, false },
	{ "PQexecPrepared", Q_FN_PQ_EXEC_PREPARED, false, true, false },
	{ "PQprepare", Q_FN_PQ_PREPARE, false, true, true },
	{ "PQexec", Q_FN_PQ_EXEC, true, true, false }, /* one return probe per function */
	{ "PQexecParams", Q_FN_PQ_EXEC_PARAMS, true, true, false },
	{ "PQexecPrepared", Q_FN_PQ_EXEC_PREPARED, true, true, false },
	{ "PQprepare", Q_FN_PQ_PREPARE, true, true, true },
	/* the asynchronous protocol (psycopg 3) */
	{ "PQsendQuery", Q_FN_PQ_SEND_QUERY, false, false, false },
	{ "PQsendQuery", Q_FN_PQ_SEND_QUERY, true, false, false },
	{ "PQsendQueryParams", Q_FN_PQ_SEND_QUERY, false, false, false },
	{ "PQsendQueryParams", Q_FN_PQ_SEND_QUERY, true, false, false },
	{ "PQsendQueryPrepared", Q_FN_PQ_SEND_PREPARED, false, false, false },
	{ "PQsendQueryPrepared", Q_FN_PQ_SEND_PREPARED, true, false, false },
	{ "PQsendPrepare", Q_FN_PQ_SEND_PREPARE, false, false, true },
	{ "PQsendPrepare", Q_FN_PQ_SEND_PREPARE, true, false, true },
	{ "PQgetResult", Q_FN_PQ_GET_RESULT, false, false, false },
	{ "PQgetResult", Q_FN_PQ_GET_RESULT, true, false, false },
};

static struct bpf_program *prog_for(struct queries *q, int fn, bool ret)
{
	switch (fn) {
	case Q_FN_SQLITE_PREPARE:
	case Q_FN_SQLITE_PREPARE_V3:
		return ret ? q->skel->progs.sqlite_prepare_ret : q->skel->progs.sqlite_prepare;
	case Q_FN_SQLITE_STEP:
		return ret ? q->skel->progs.sqlite_step_ret : q->skel->progs.sqlite_step;
	case Q_FN_SQLITE_RESET:
	case Q_FN_SQLITE_FINALIZE:
		return q->skel->progs.sqlite_reset;
	case Q_FN_PQ_SEND_QUERY:
	case Q_FN_PQ_SEND_PREPARED:
	case Q_FN_PQ_SEND_PREPARE:
		return ret ? q->skel->progs.pq_send_ret : q->skel->progs.pq_call;
	case Q_FN_PQ_GET_RESULT:
		return ret ? q->skel->progs.pq_result_ret : q->skel->progs.pq_call;
	default:
		return ret ? q->skel->progs.pq_call_ret : q->skel->progs.pq_call;
	}
}

int queries_pq_ntuples_offset(const uint8_t *c, size_t n)
{
	size_t i = 0;

	if (n >= 4 && c[0] == 0xf3 && c[1] == 0x0f && c[2] == 0x1e && c[3] == 0xfa)
		i = 4; /* endbr64 */
	/* test %rdi,%rdi; je rel8 */
	if (n < i + 9 || c[i] != 0x48 || c[i + 1] != 0x85 || c[i + 2] != 0xff || c[i + 3] != 0x74)
		return -1;
	i += 5;
	if (c[i] == 0x8b && c[i + 1] == 0x07 && c[i + 2] == 0xc3) /* mov (%rdi),%eax; ret */
		return 0;
	if (c[i] == 0x8b && c[i + 1] == 0x47 && c[i + 3] == 0xc3 && c[i + 2] < 0x80)
		return c[i + 2]; /* mov disp8(%rdi),%eax; ret */
	return -1;
}

/* A PGresult field's offset from the library's getter of it (PQntuples: ntups,
 * PQresultStatus: resultStatus; both "return res ? res->field : constant"), -1 if not proved */
static int pq_field_offset(const char *open_path, const char *getter)
{
	struct elf_file *ef = elf_open(open_path);
	struct elf_sym sym;
	uint8_t code[16];
	int off = -1;

	if (!ef)
		return -1;
	if (!elf_find_symbol(ef, getter, &sym) && sym.type == STT_FUNC && sym.size >= 9 &&
	    !elf_read_vaddr(ef, sym.value, code, sym.size < sizeof(code) ? sym.size : sizeof(code)))
		off = queries_pq_ntuples_offset(code, sym.size < sizeof(code) ? sym.size :
										sizeof(code));
	elf_close(ef);
	return off;
}

int queries_wrapper_skip(const uint8_t *c, size_t n)
{
	return n >= 10 && c[0] == 0xba && c[5] == 0xe9 ? 5 : 0;
}

/* Bytes to skip at a function's start so that its probe sits on an instruction the kernel
 * emulates: libpq's PQsendQuery is "mov $1,%edx; jmp <internal>" (Debian 12), and the mov is
 * single-stepped out of line (~25 us per hit in this VM, every psycopg2 query hits it inside
 * PQexec); the jmp after it (an instruction boundary: the mov is 5 bytes, decoded here) is
 * emulated, and the return address is still on top of the stack there. */
static uint64_t wrapper_skip(struct elf_file *ef, const struct elf_sym *sym)
{
	uint8_t code[10];

	if (sym->size < sizeof(code) || elf_read_vaddr(ef, sym->value, code, sizeof(code)))
		return 0;
	return queries_wrapper_skip(code, sizeof(code));
}

/* The file offsets of the probes' functions in a library; 0 and offs filled, or -ENOENT with
 * the reason in status (a library without the symbols is skipped, never probed by guess). */
static int check_lib(int kind, const char *open_path, uint64_t *offs, char *status,
		     size_t len)
{
	const struct probe_def *defs = kind == Q_LIB_SQLITE ? sqlite_probes : pq_probes;
	size_t ndefs = kind == Q_LIB_SQLITE ? sizeof(sqlite_probes) / sizeof(sqlite_probes[0]) :
					       sizeof(pq_probes) / sizeof(pq_probes[0]);
	struct elf_file *ef = elf_open(open_path);
	struct elf_sym sym;
	int n = 0;

	if (!ef) {
		snprintf(status, len, "skipped: cannot open: %s", strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < ndefs; i++) {
		offs[i] = 0;
		if (elf_find_symbol(ef, defs[i].sym, &sym) || sym.type != STT_FUNC || !sym.value ||
		    elf_vaddr_to_offset(ef, sym.value, &offs[i])) {
			offs[i] = 0;
			if (defs[i].required) {
				snprintf(status, len,
					 "skipped: no function symbol %s (static or stripped build?)",
					 defs[i].sym);
				elf_close(ef);
				return -ENOENT;
			}
			continue;
		}
		offs[i] += wrapper_skip(ef, &sym);
		n++;
	}
	elf_close(ef);
	snprintf(status, len, "%d probes can attach", n);
	return 0;
}

static const struct probe_def *lib_defs(int lib, size_t *n)
{
	*n = lib == Q_LIB_SQLITE ? sizeof(sqlite_probes) / sizeof(sqlite_probes[0]) :
				   sizeof(pq_probes) / sizeof(pq_probes[0]);
	return lib == Q_LIB_SQLITE ? sqlite_probes : pq_probes;
}

static void *destroy_link(void *l)
{
	bpf_link__destroy(l);
	return NULL;
}

static void *close_fd(void *p)
{
	close((int)(intptr_t)p);
	return NULL;
}

/* uprobe_multi link fds closed at once, one thread each (each close waits a grace period) */
static void close_fds(const int *fd, int n)
{
	pthread_t th[MAX_LIBS * MAX_LINKS_PER_LIB];
	bool started[MAX_LIBS * MAX_LINKS_PER_LIB];

	for (int i = 0; i < n; i++)
		started[i] = !pthread_create(&th[i], NULL, close_fd, (void *)(intptr_t)fd[i]);
	for (int i = 0; i < n; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			close(fd[i]);
	}
}

/* A set of a library's probes as uprobe_multi links: one per (program, entry/return). */
static int attach_set_multi(struct queries *q, const struct queries_lib *l,
			    struct lib_links *ll, const char *path, bool always, char *why,
			    size_t whylen)
{
	size_t ndefs;
	const struct probe_def *defs = lib_defs(l->lib, &ndefs);
	int *fds = always ? ll->afd : ll->wfd, *nf = always ? &ll->naf : &ll->nwf, start = *nf;
	bool done[MAX_LINKS_PER_LIB] = {};

	for (size_t i = 0; i < ndefs && i < MAX_LINKS_PER_LIB; i++) {
		struct bpf_program *p = prog_for(q, defs[i].fn, defs[i].ret);
		uint64_t offs[MAX_LINKS_PER_LIB], cookies[MAX_LINKS_PER_LIB];
		unsigned int cnt = 0;
		int fd;

		if (!ll->offs[i] || defs[i].always != always || done[i])
			continue;
		for (size_t k = i; k < ndefs && k < MAX_LINKS_PER_LIB; k++) {
			if (!ll->offs[k] || defs[k].always != always || done[k] ||
			    defs[k].ret != defs[i].ret || prog_for(q, defs[k].fn, defs[k].ret) != p)
				continue;
			offs[cnt] = ll->offs[k];
			cookies[cnt++] = defs[k].fn | ll->rows_off;
			done[k] = true;
		}
		fd = uprobe_multi_attach_flags(bpf_program__fd(p), path, offs, NULL, cookies, cnt,
					       0, defs[i].ret ? UPROBE_MULTI_RETURN : 0);
		if (fd < 0) {
			snprintf(why, whylen, "cannot attach to %s and %u more: %s", defs[i].sym,
				 cnt - 1, strerror(-fd));
			close_fds(fds + start, *nf - start);
			*nf = start;
			return fd;
		}
		fds[(*nf)++] = fd;
	}
	return 0;
}

/* Destroying a uprobe link removes its breakpoints and then waits for an RCU grace period
 * (tens to hundreds of ms on a busy host): all at once, one thread each (as calls does). */
static void destroy_links(struct bpf_link **l, int n)
{
	pthread_t th[MAX_LIBS * MAX_LINKS_PER_LIB];
	bool started[MAX_LIBS * MAX_LINKS_PER_LIB];

	for (int i = 0; i < n; i++)
		started[i] = !pthread_create(&th[i], NULL, destroy_link, l[i]);
	for (int i = 0; i < n; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			bpf_link__destroy(l[i]);
	}
}

/* Attach one set of a library's probes (always: the prepares; else the executions' ones). */
static int attach_set(struct queries *q, const struct queries_lib *l, struct lib_links *ll,
		      const char *path, bool always, char *why, size_t whylen)
{
	size_t ndefs;
	const struct probe_def *defs = lib_defs(l->lib, &ndefs);
	struct bpf_link **dst = always ? ll->l : ll->w;
	int *n = always ? &ll->n : &ll->nw;

	if (q->multi)
		return attach_set_multi(q, l, ll, path, always, why, whylen);
	for (size_t i = 0; i < ndefs; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = defs[i].ret,
			    .bpf_cookie = defs[i].fn | ll->rows_off);
		struct bpf_link *link;
		int err;

		if (!ll->offs[i] || defs[i].always != always)
			continue;
		link = bpf_program__attach_uprobe_opts(prog_for(q, defs[i].fn, defs[i].ret), -1,
						       path, ll->offs[i], &uo);
		if (!link) {
			err = -errno;
			snprintf(why, whylen, "cannot attach to %s: %s", defs[i].sym,
				 strerror(-err));
			while (*n > 0)
				bpf_link__destroy(dst[--*n]);
			return err;
		}
		dst[(*n)++] = link;
	}
	return 0;
}

static void attach_lib(struct queries *q, struct queries_lib *l, struct lib_links *ll,
		       const char *open_path)
{
	char why[160];

	ll->fd = -1;
	if (check_lib(l->lib, open_path, ll->offs, l->status, sizeof(l->status)))
		return;
	if (l->lib == Q_LIB_PQ) {
		int off = pq_field_offset(open_path, "PQntuples");
		int st = pq_field_offset(open_path, "PQresultStatus");

		ll->rows_off = (off >= 0 ? (uint64_t)(off + 1) << 32 : 0) |
			       (st >= 0 ? (uint64_t)(st + 1) << 16 : 0);
		l->rows = off >= 0;
		l->status_read = st >= 0;
	}
	/* the file itself, for the windows' attaches: the process it was found in may be gone */
	ll->fd = open(open_path, O_RDONLY | O_CLOEXEC);
	if (ll->fd < 0) {
		snprintf(l->status, sizeof(l->status), "skipped: cannot open: %s", strerror(errno));
		return;
	}
	if (attach_set(q, l, ll, open_path, true, why, sizeof(why)) ||
	    (q->win_open && attach_set(q, l, ll, open_path, false, why, sizeof(why)))) {
		snprintf(l->status, sizeof(l->status), "skipped: %s", why);
		while (ll->n > 0)
			bpf_link__destroy(ll->l[--ll->n]);
		close_fds(ll->afd, ll->naf);
		ll->naf = 0;
		close(ll->fd);
		ll->fd = -1;
		return;
	}
	l->attached = true;
	l->probes = 0;
	for (size_t i = 0; i < MAX_LINKS_PER_LIB; i++) /* the windowed ones as well */
		l->probes += ll->offs[i] != 0;
	snprintf(l->status, sizeof(l->status), "attached: %d probes%s%s", l->probes,
		 l->lib == Q_LIB_PQ && !l->rows ? " (rows not read: PQntuples not decoded)" : "",
		 l->lib == Q_LIB_PQ && !l->status_read ?
			 " (server-side errors not told: PQresultStatus not decoded)" : "");
}

/* ---- budget windows ---- */

static uint64_t proc_cpu_ns(pid_t pid)
{
	struct timespec ts;
	clockid_t cid;

	if (clock_getcpuclockid(pid, &cid) || clock_gettime(cid, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void proc_read(struct qproc *p)
{
	uint64_t cpu;

	if (p->exited)
		return;
	cpu = proc_cpu_ns(p->pid);
	if (cpu > p->cpu_seen)
		p->cpu_seen = cpu;
}

static void procs_mark(struct queries *q, bool open)
{
	for (size_t i = 0; i < q->nprocs; i++) {
		struct qproc *p = &q->procs[i];

		proc_read(p);
		if (open) {
			p->cpu_mark = p->cpu_seen;
		} else if (p->cpu_mark) {
			p->cpu_win += p->cpu_seen - p->cpu_mark;
			p->cpu_mark = 0;
		}
	}
}

static struct qproc *find_qproc(const struct queries *q, pid_t pid)
{
	for (size_t i = q->nprocs; i-- > 0;)
		if (q->procs[i].pid == pid)
			return &q->procs[i];
	return NULL;
}

static void usage_add(struct queries *q, pid_t pid)
{
	struct qproc *p = find_qproc(q, pid);

	if (p && !p->exited)
		return;
	if (!p) {
		if (q->nprocs == q->capprocs) {
			size_t cap = q->capprocs ? 2 * q->capprocs : 64;
			struct qproc *n;

			if (cap > Q_MAX_PROCS)
				return;
			n = realloc(q->procs, cap * sizeof(*n));
			if (!n)
				return;
			q->procs = n;
			q->capprocs = cap;
		}
		p = &q->procs[q->nprocs++];
	}
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->cpu0 = p->cpu_seen = proc_cpu_ns(pid);
	if (q->win_open)
		p->cpu_mark = p->cpu_seen;
}

double queries_run_scale(struct queries *q, pid_t pid, double wall_ns, double covered_ns,
			 const char **basis)
{
	const struct qproc *p = find_qproc(q, pid);
	uint64_t win = p ? p->cpu_win + (p->cpu_mark && p->cpu_seen > p->cpu_mark ?
					 p->cpu_seen - p->cpu_mark : 0) : 0;

	if (p && win >= 1000000 && p->cpu_seen > p->cpu0) {
		uint64_t s[Q_STAT_MAX];
		double bpf, probes, w = (double)win;

		/* the probes' own CPU time inside windows (the hits of its SQLite executions at
		 * the calibrated trap's CPU cost and the measured BPF time per hit) is not the
		 * process's work: taken out, never more than half of it (a model off under load
		 * must not double the estimate) */
		queries_bpf_stats(q, s);
		bpf = s[Q_STAT_TIMED] ? (double)s[Q_STAT_BPF_NS] / s[Q_STAT_TIMED] : 0;
		probes = (double)p->hits * (q->trap_cpu_ns + bpf);
		*basis = probes > 0 ? "cpu, probes' cost taken out" : "cpu";
		w -= probes < w / 2 ? probes : w / 2;
		return (double)(p->cpu_seen - p->cpu0) / w;
	}
	*basis = "wall";
	return covered_ns > 0 ? wall_ns / covered_ns : 1;
}

void queries_refresh_usage(struct queries *q)
{
	for (size_t i = 0; i < q->nprocs; i++)
		proc_read(&q->procs[i]);
}

uint64_t queries_hits(struct queries *q, uint64_t *extra_ns)
{
	uint64_t s[Q_STAT_MAX];

	queries_bpf_stats(q, s);
	if (extra_ns) /* one run in 16 is timed: their mean times the hits */
		*extra_ns = (s[Q_STAT_TIMED] ? (uint64_t)((double)s[Q_STAT_BPF_NS] /
							  s[Q_STAT_TIMED] * s[Q_STAT_HITS]) : 0) +
			    (uint64_t)(s[Q_STAT_HITS_RET] * q->ret_extra_ns);
	return s[Q_STAT_HITS];
}

/* The executions' probes go in (a window opens); each library's failure said once. */
int queries_window_open(struct queries *q)
{
	char path[64], why[160];
	int ok = 0, tried = 0;

	if (q->win_open)
		return 0;
	/* calls in progress made before this window are no longer taken for live ones */
	__atomic_add_fetch(&q->skel->bss->window_gen, 1, __ATOMIC_RELAXED);
	q->skel->bss->window_closed = 0;
	for (size_t i = 0; i < q->nlibs; i++) {
		struct lib_links *ll = &q->links[i];

		if (!q->libs[i].attached || ll->fd < 0)
			continue;
		tried++;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", ll->fd);
		if (attach_set(q, &q->libs[i], ll, path, false, why, sizeof(why))) {
			q->counters[QC_WINDOW_ATTACH_FAILED]++;
			if (!ll->failed)
				pr_warn("queries: %s: %s; its queries are not counted in windows",
					q->libs[i].path, why);
			ll->failed = true;
			continue;
		}
		if (ll->failed)
			pr_info("queries: %s: probes attached again", q->libs[i].path);
		ll->failed = false;
		ok++;
	}
	q->win_open = true;
	procs_mark(q, true);
	q->win_lo = now_ns();
	q->win_hi = UINT64_MAX;
	return tried && !ok ? -ENOENT : 0;
}

/* The executions' probes go (a window closes): what they sent is read, executions still in
 * progress are dropped and counted (cut_by_window_end), calls in progress closed as cut. */
void queries_window_close(struct queries *q)
{
	struct bpf_link *all[MAX_LIBS * MAX_LINKS_PER_LIB];
	int allfd[MAX_LIBS * MAX_LINKS_PER_LIB], nfd = 0;
	struct stmt_key { __u32 pid, pad; __u64 stmt; } k, next;
	int n = 0, fd = bpf_map__fd(q->skel->maps.active);

	if (!q->win_open)
		return;
	procs_mark(q, false);
	q->win_hi = now_ns();
	for (size_t i = 0; i < q->nlibs; i++) {
		struct lib_links *ll = &q->links[i];

		while (ll->nw > 0)
			all[n++] = ll->w[--ll->nw];
		while (ll->nwf > 0)
			allfd[nfd++] = ll->wfd[--ll->nwf];
	}
	destroy_links(all, n);
	close_fds(allfd, nfd);
	/* calls made in the window whose return probes went with it are not live any more */
	__atomic_add_fetch(&q->skel->bss->window_gen, 1, __ATOMIC_RELAXED);
	q->skel->bss->window_closed = 1;
	q->win_open = false;
	if (q->rb)
		ring_buffer__consume(q->rb);
	/* no execution probe can fire now: what is left in the map was cut */
	while (!bpf_map_get_next_key(fd, NULL, &next)) {
		k = next;
		if (bpf_map_delete_elem(fd, &k))
			break;
		q->counters[QC_CUT]++;
	}
	querystats_cut(q->qs);
}

bool queries_window_is_open(const struct queries *q)
{
	return q->win_open;
}

/* A function of pyhound's own with a known emulated branch (user/collect/calls.c). */
int pyhound_calls_calib_target(int x);

/* One whose first instruction is an emulated jmp (a return probe's entry goes there), for the
 * return probes' trap. */
int pyhound_queries_calib_ret(int x);
__asm__(".text\n"
	".globl pyhound_queries_calib_ret\n"
	".type pyhound_queries_calib_ret, @function\n"
	"pyhound_queries_calib_ret:\n"
	"	jmp 1f\n"
	"1:	movl %edi, %eax\n"
	"	ret\n"
	".size pyhound_queries_calib_ret, .-pyhound_queries_calib_ret\n");

static double calib_ret_loop(int n)
{
	volatile int r = 0;
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++)
		r += pyhound_queries_calib_ret(i & 1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	(void)r;
	return (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
}

/* What a return probe costs more than an entry probe: a uretprobe on a function starting with
 * a jmp (checked: 0xeb) costs an entry trap and the return trampoline's per call. */
static int calibrate_ret(struct queries *q, double entry_ns)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = true);
	const int n = 50000;
	uint64_t before[Q_STAT_MAX], after[Q_STAT_MAX], off = 0;
	struct elf_file *ef = elf_open("/proc/self/exe");
	struct elf_sym sym;
	struct bpf_link *l;
	uint8_t c = 0;
	double plain, probed;
	int err;

	if (!ef)
		return -errno;
	err = elf_find_symbol(ef, "pyhound_queries_calib_ret", &sym);
	if (!err)
		err = elf_read_vaddr(ef, sym.value, &c, 1);
	if (!err)
		err = elf_vaddr_to_offset(ef, sym.value, &off);
	elf_close(ef);
	if (err)
		return err < 0 ? err : -ENOENT;
	if (c != 0xeb)
		return -ENOEXEC;
	l = bpf_program__attach_uprobe_opts(q->skel->progs.queries_calib, 0, "/proc/self/exe",
					    off, &uo);
	if (!l)
		return -errno;
	queries_bpf_stats(q, before);
	probed = calib_ret_loop(n);
	queries_bpf_stats(q, after);
	bpf_link__destroy(l);
	plain = calib_ret_loop(n);
	if (after[Q_STAT_CALIB] - before[Q_STAT_CALIB] < (uint64_t)n)
		return -EPROTO;
	q->ret_extra_ns = (probed - plain) / n - 2 * entry_ns;
	if (q->ret_extra_ns < 0)
		q->ret_extra_ns = 0;
	return 0;
}

/* wall time of n calls (and the thread's CPU time in *cpu) */
static double calib_loop(int n, double *cpu)
{
	volatile int r = 0;
	struct timespec a, b, ca, cb;

	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ca);
	for (int i = 0; i < n; i++)
		r += pyhound_calls_calib_target(i & 1);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cb);
	clock_gettime(CLOCK_MONOTONIC, &b);
	(void)r;
	*cpu = (cb.tv_sec - ca.tv_sec) * 1e9 + (cb.tv_nsec - ca.tv_nsec);
	return (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
}

/* A uprobe hit's trap here (as calls_calibrate): a probe on a branch of pyhound's own code,
 * 100000 calls with and without it. */
int queries_calibrate(struct queries *q, double *ns_per_hit)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo);
	const int n = 100000;
	uint64_t before[Q_STAT_MAX], after[Q_STAT_MAX], off = 0, at = 0;
	struct elf_file *ef;
	struct elf_sym sym;
	struct bpf_link *l;
	uint8_t code[16];
	double plain, probed, plain_cpu, probed_cpu;
	char why[256];
	int err;

	ef = elf_open("/proc/self/exe");
	if (!ef)
		return -errno;
	err = elf_find_symbol(ef, "pyhound_calls_calib_target", &sym);
	if (!err && sym.size <= sizeof(code))
		err = elf_read_vaddr(ef, sym.value, code, sym.size);
	if (!err)
		err = insn_first_branch(code, sym.size, sym.value, sym.value, 8, NULL, 0, &at, NULL,
					NULL, 0, why, sizeof(why));
	if (!err)
		err = elf_vaddr_to_offset(ef, at, &off);
	elf_close(ef);
	if (err)
		return err < 0 ? err : -ENOENT;
	l = bpf_program__attach_uprobe_opts(q->skel->progs.queries_calib, 0, "/proc/self/exe",
					    off, &uo);
	if (!l)
		return -errno;
	queries_bpf_stats(q, before);
	probed = calib_loop(n, &probed_cpu);
	queries_bpf_stats(q, after);
	bpf_link__destroy(l);
	plain = calib_loop(n, &plain_cpu);
	if (after[Q_STAT_CALIB] - before[Q_STAT_CALIB] < (uint64_t)n)
		return -EPROTO; /* the probe did not fire on every call */
	*ns_per_hit = (probed - plain) / n;
	if (*ns_per_hit < 1)
		*ns_per_hit = 1;
	q->trap_cpu_ns = (probed_cpu - plain_cpu) / n;
	if (q->trap_cpu_ns < 0)
		q->trap_cpu_ns = 0;
	q->trap_ns = *ns_per_hit;
	err = calibrate_ret(q, *ns_per_hit);
	if (err)
		pr_warn("queries: cannot time a return probe's trap (%s): counted as an entry's",
			strerror(-err));
	pr_debug("queries: a hit's trap: %.0f ns of wall time, %.0f ns of the thread's CPU "
		 "time; a return probe's %.0f ns more", *ns_per_hit, q->trap_cpu_ns,
		 q->ret_extra_ns);
	return 0;
}

struct scan_ctx {
	struct queries *q;
	pid_t pid;
};

static int scan_one(const struct map_entry *e, void *ctx)
{
	struct scan_ctx *sc = ctx;
	struct queries *q = sc->q;
	char open_path[PATH_MAX + 64];
	struct queries_lib *l;
	struct stat st;
	int kind;

	if (!e->path[0] || e->offset != 0 || !(kind = queries_lib_kind(e->path)))
		return 0;
	snprintf(open_path, sizeof(open_path), "/proc/%d/root%s", (int)sc->pid, e->path);
	if (stat(open_path, &st) || st.st_ino != e->inode) {
		snprintf(open_path, sizeof(open_path), "/proc/%d/map_files/%llx-%llx", (int)sc->pid,
			 (unsigned long long)e->start, (unsigned long long)e->end);
		if (stat(open_path, &st))
			return 0;
	}
	for (size_t i = 0; i < q->nlibs; i++)
		if (q->libs[i].dev == (uint64_t)st.st_dev && q->libs[i].ino == (uint64_t)st.st_ino)
			return 0;
	if (q->nlibs >= MAX_LIBS) {
		pr_warn("queries: more than %d client library files; %s not probed", MAX_LIBS,
			e->path);
		return 0;
	}
	l = &q->libs[q->nlibs];
	memset(l, 0, sizeof(*l));
	l->lib = kind;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->first_pid = sc->pid;
	snprintf(l->path, sizeof(l->path), "%s", e->path);
	attach_lib(q, l, &q->links[q->nlibs], open_path);
	q->nlibs++;
	if (l->attached)
		pr_info("queries: %s (pid %d): %s", l->path, (int)sc->pid, l->status);
	else
		pr_warn("queries: %s (pid %d): %s", l->path, (int)sc->pid, l->status);
	return 0;
}

static void scan_pid(struct queries *q, pid_t pid)
{
	struct scan_ctx sc = { q, pid };

	procmaps_foreach(pid, scan_one, &sc);
}

void queries_rescan(struct queries *q)
{
	for (size_t i = 0; i < q->npids; i++)
		scan_pid(q, q->pids[i]);
	q->last_scan = now_ns();
}

struct list_ctx {
	pid_t pid;
	queries_lib_cb cb;
	void *ctx;
};

static int list_one(const struct map_entry *e, void *ctx)
{
	struct list_ctx *lc = ctx;
	char open_path[PATH_MAX + 64], status[192];
	uint64_t offs[MAX_LINKS_PER_LIB];
	struct stat st;
	int kind, err;

	if (!e->path[0] || e->offset != 0 || !(kind = queries_lib_kind(e->path)))
		return 0;
	snprintf(open_path, sizeof(open_path), "/proc/%d/root%s", (int)lc->pid, e->path);
	if (stat(open_path, &st) || st.st_ino != e->inode)
		snprintf(open_path, sizeof(open_path), "/proc/%d/map_files/%llx-%llx", (int)lc->pid,
			 (unsigned long long)e->start, (unsigned long long)e->end);
	err = check_lib(kind, open_path, offs, status, sizeof(status));
	lc->cb(e->path, kind, !err, status, lc->ctx);
	return 0;
}

void queries_list_libs(pid_t pid, queries_lib_cb cb, void *ctx)
{
	struct list_ctx lc = { pid, cb, ctx };

	procmaps_foreach(pid, list_one, &lc);
}

/* ---- processes ---- */

static uint64_t code_type_addr(const struct py_proc *p)
{
	struct elf_file *ef = elf_open(p->obj_open_path);
	struct elf_sym sym;
	uint64_t v = 0;

	if (!ef)
		return 0;
	if (!elf_find_symbol(ef, "PyCode_Type", &sym))
		v = p->load_bias + sym.value;
	elf_close(ef);
	return v;
}

int queries_add_process(struct queries *q, const struct py_proc *p)
{
	struct py_proc_info info = {};
	__u32 pid = p->pid;
	char why[256] = "";
	int err;

	if (!p->supported)
		return -ENOTSUP;
	err = py_offsets_resolve(p, &info.off);
	if (err)
		return err;
	err = py_tstate_locate(p, &info, why, sizeof(why));
	if (err) {
		pr_info("pid %d: can't find its thread states: %s; its queries are not followed",
			p->pid, why);
		return err;
	}
	info.runtime_addr = p->runtime_addr;
	info.code_type_addr = code_type_addr(p);
	err = symbolizer_add_process(q->sym, p->pid, &info.off);
	if (err)
		return err;
	if (bpf_map_update_elem(bpf_map__fd(q->skel->maps.proc_info), &pid, &info, BPF_ANY)) {
		err = -errno;
		symbolizer_remove_process(q->sym, p->pid);
		return err;
	}
	if (q->npids == q->cappids) {
		size_t cap = q->cappids ? 2 * q->cappids : 64;
		pid_t *n = realloc(q->pids, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		q->pids = n;
		q->cappids = cap;
	}
	q->pids[q->npids++] = p->pid;
	usage_add(q, p->pid);
	scan_pid(q, p->pid);
	return 0;
}

static void on_add(const struct tracked_proc *tp, void *ctx)
{
	struct queries *q = ctx;
	int err = queries_add_process(q, &tp->info);

	if (err) {
		q->counters[QC_PROCS_REFUSED]++;
		pr_info("pid %d: queries not followed: %s", (int)tp->info.pid,
			tp->info.supported ? strerror(-err) : tp->info.unsupported);
	}
}

/* the statement texts and prepared statement names of an exited process */
static void texts_purge(struct queries *q, pid_t pid)
{
	size_t n = 0;

	for (size_t i = 0; i < q->ntexts; i++) {
		if (q->texts[i].pid == pid)
			free(q->texts[i].norm);
		else
			q->texts[n++] = q->texts[i];
	}
	if (n != q->ntexts) {
		q->ntexts = n;
		hashidx_free(&q->tidx);
		hashidx_init(&q->tidx);
		for (size_t i = 0; i < q->ntexts; i++)
			if (hashidx_insert(&q->tidx, text_hash(q->texts[i].pid, q->texts[i].handle),
					   i)) {
				texts_clear(q); /* out of memory: start again */
				q->counters[QC_TEXTS_RESET]++;
				break;
			}
	}
	n = 0;
	for (size_t i = 0; i < q->npq; i++) {
		if (q->pq[i].pid == pid)
			free(q->pq[i].norm);
		else
			q->pq[n++] = q->pq[i];
	}
	q->npq = n;
}

static void on_exit_proc(const struct tracked_proc *tp, void *ctx)
{
	struct queries *q = ctx;
	__u32 pid = tp->info.pid;

	/* name what is queued while its memory may still be read */
	if (q->rb)
		ring_buffer__consume(q->rb);
	querystats_flush_pid(q->qs, tp->info.pid); /* its N+1 rows are complete */
	{
		struct qproc *p = find_qproc(q, tp->info.pid);

		if (p) { /* its CPU time while it can still be read (a zombie's can) */
			proc_read(p);
			if (p->cpu_mark) {
				p->cpu_win += p->cpu_seen - p->cpu_mark;
				p->cpu_mark = 0;
			}
			p->exited = true;
		}
	}
	texts_purge(q, tp->info.pid);
	bpf_map_delete_elem(bpf_map__fd(q->skel->maps.proc_info), &pid);
	for (size_t i = 0; i < q->npids; i++)
		if (q->pids[i] == tp->info.pid) {
			q->pids[i] = q->pids[--q->npids];
			break;
		}
}

struct tracker_hooks queries_tracker_hooks(struct queries *q)
{
	struct tracker_hooks h = { .on_add = on_add, .on_exit = on_exit_proc, .ctx = q };

	return h;
}

int queries_open(const struct queries_opts *opts, struct queries **out)
{
	unsigned int max_procs = opts->max_procs ? opts->max_procs : 4096;
	unsigned int max_active = opts->max_active ? opts->max_active : 4096;
	unsigned int rb_bytes = ringbuf_bytes(opts->ringbuf_kb ? opts->ringbuf_kb : 4096);
	struct queries *q;
	int err;

	if (max_procs > Q_MAX_PROCS)
		max_procs = Q_MAX_PROCS;
	if (max_active > Q_MAX_ACTIVE)
		max_active = Q_MAX_ACTIVE;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	hashidx_init(&q->tidx);
	q->win_open = true; /* attached throughout until a budget window closes */
	q->win_hi = UINT64_MAX;
	q->texts = calloc(MAX_TEXTS, sizeof(*q->texts));
	q->pq = calloc(MAX_PQ_NAMES, sizeof(*q->pq));
	q->sym = symbolizer_new();
	q->qs = querystats_new(opts->n1_min);
	if (!q->texts || !q->pq || !q->sym || !q->qs) {
		err = -ENOMEM;
		goto err_free;
	}
	q->skel = queries_bpf__open();
	if (!q->skel) {
		err = -errno;
		pr_err("can't open the queries BPF object: %s", strerror(errno));
		goto err_free;
	}
	q->multi = uprobe_multi_supported();
	if (q->multi) { /* every library probe's program (not the calibration's) */
		struct bpf_program *progs[] = {
			q->skel->progs.sqlite_prepare, q->skel->progs.sqlite_prepare_ret,
			q->skel->progs.sqlite_step,    q->skel->progs.sqlite_step_ret,
			q->skel->progs.sqlite_reset,   q->skel->progs.pq_call,
			q->skel->progs.pq_call_ret,    q->skel->progs.pq_send_ret,
			q->skel->progs.pq_result_ret,
		};

		for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
			bpf_program__set_expected_attach_type(progs[i], UPROBE_MULTI_ATTACH_TYPE);
	}
	bpf_map__set_max_entries(q->skel->maps.proc_info, max_procs);
	bpf_map__set_max_entries(q->skel->maps.active, max_active);
	bpf_map__set_max_entries(q->skel->maps.events, rb_bytes);
	err = bpf_map__reuse_fd(q->skel->maps.tracked_pids, opts->tracked_fd);
	if (err) {
		pr_err("can't reuse the tracked_pids map: %s", strerror(-err));
		goto err_free;
	}
	err = queries_bpf__load(q->skel);
	if (err) {
		pr_err("can't load the queries BPF programs: %s (-vv for libbpf's log)",
		       strerror(-err));
		goto err_free;
	}
	*out = q;
	return 0;

err_free:
	queries_free(q);
	return err;
}

int queries_attach(struct queries *q)
{
	q->rb = ring_buffer__new(bpf_map__fd(q->skel->maps.events), handle_event, q, NULL);
	if (!q->rb) {
		int err = -errno;

		pr_err("can't open the queries ring buffer: %s", strerror(-err));
		return err;
	}
	q->last_scan = now_ns();
	return 0;
}

int queries_poll(struct queries *q, int timeout_ms)
{
	uint64_t until = now_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000ULL;
	int n = 0, m;

	/* records come without a wake-up for up to 2 ms (bpf/queries.bpf.c): read every 5 ms */
	do {
		uint64_t now = now_ns();
		int slice = until > now ? (int)((until - now + 999999) / 1000000) : 0;

		m = q->rb ? ring_buffer__poll(q->rb, slice > 5 ? 5 : slice) : 0;
		if (m < 0 && m != -EINTR)
			return m;
		n += m > 0 ? m : 0;
		m = q->rb ? ring_buffer__consume(q->rb) : 0;
		n += m > 0 ? m : 0;
	} while (now_ns() < until);
	if (now_ns() - q->last_scan >= RESCAN_NS) {
		queries_rescan(q);
		queries_refresh_usage(q);
	}
	return n;
}

void queries_forget(struct queries *q, pid_t pid, const char *comm)
{
	struct qproc *p = find_qproc(q, pid);

	querystats_forget(q->qs, pid, comm);
	if (p)
		*p = q->procs[--q->nprocs];
}

struct querystats *queries_stats(struct queries *q)
{
	return q->qs;
}

const struct queries_lib *queries_libs(const struct queries *q, size_t *n)
{
	*n = q->nlibs;
	return q->libs;
}

void queries_bpf_stats(struct queries *q, uint64_t out[Q_STAT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v;

	memset(out, 0, sizeof(uint64_t) * Q_STAT_MAX);
	if (ncpu <= 0 || !(v = calloc(ncpu, sizeof(*v))))
		return;
	for (__u32 k = 0; k < Q_STAT_MAX; k++) {
		if (bpf_map_lookup_elem(bpf_map__fd(q->skel->maps.qstats), &k, v))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += v[c];
	}
	free(v);
}

uint64_t queries_counter(const struct queries *q, enum queries_counter c)
{
	return c < QC_COUNTER_MAX ? q->counters[c] : 0;
}

struct bpf_object *queries_bpf_object(const struct queries *q)
{
	return q->skel ? q->skel->obj : NULL;
}

void queries_free(struct queries *q)
{
	if (!q)
		return;
	ring_buffer__free(q->rb);
	for (size_t i = 0; i < q->nlibs; i++) {
		struct lib_links *ll = &q->links[i];

		while (ll->n > 0)
			bpf_link__destroy(ll->l[--ll->n]);
		while (ll->nw > 0)
			bpf_link__destroy(ll->w[--ll->nw]);
		close_fds(ll->afd, ll->naf);
		close_fds(ll->wfd, ll->nwf);
		if (ll->fd >= 0)
			close(ll->fd);
	}
	queries_bpf__destroy(q->skel);
	if (q->texts)
		texts_clear(q);
	hashidx_free(&q->tidx);
	free(q->texts);
	for (size_t i = 0; i < q->npq; i++)
		free(q->pq[i].norm);
	free(q->pq);
	symbolizer_free(q->sym);
	querystats_free(q->qs);
	free(q->pids);
	free(q->procs);
	free(q);
}

/* ---- the budget windows' glue (user/collect/probe_window.h) ---- */

static int ops_attach(void *ctx)
{
	return queries_window_open(ctx);
}

static void ops_detach(void *ctx)
{
	queries_window_close(ctx);
}

static uint64_t ops_hits(void *ctx, uint64_t *bpf_ns)
{
	return queries_hits(ctx, bpf_ns);
}

const struct probe_window_ops queries_window_ops = {
	.attach = ops_attach,
	.detach = ops_detach,
	.hits = ops_hits,
};

void queries_set_coverage(struct queries *q, const struct probe_window *w, uint64_t start,
			  uint64_t now, bool estimate)
{
	struct qs_coverage c = {
		.windowed = w->budget < 100,
		.budget_pct = w->budget,
		.wall_s = now > start ? (now - start) / 1e9 : 0,
		.covered_s = probe_window_covered(w, now) / 1e9,
		.windows = w->windows + (w->attached && w->budget < 100),
		.probe_cost_s = probe_window_spent_ns(w) / 1e9,
		.cut = q->counters[QC_CUT],
	};

	queries_refresh_usage(q);
	querystats_set_coverage(q->qs, &c);
	if (!c.windowed || !estimate)
		return;
	for (size_t i = 0; i < q->nprocs; i++) {
		const char *basis;
		double s = queries_run_scale(q, q->procs[i].pid, c.wall_s * 1e9, c.covered_s * 1e9,
					     &basis);

		pr_debug("queries: pid %d: %.1f queries over the run per query seen (%s)",
			 (int)q->procs[i].pid, s, basis);
		querystats_set_scale(q->qs, q->procs[i].pid, s);
	}
}
