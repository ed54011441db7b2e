// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect/queries_user.h"
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
	struct bpf_link *l[MAX_LINKS_PER_LIB];
	int n;
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
	struct text_ent *t = text_find(q, e->pid, e->handle);
	uint32_t n = 0, k = 0, nf = e->nframes < Q_FRAMES ? e->nframes : Q_FRAMES, depth = e->depth;
	bool prep = e->lib == Q_LIB_PQ && (e->fn == Q_FN_PQ_PREPARE || e->fn == Q_FN_PQ_SEND_PREPARE);
	char stmt[NORM_LEN + 80];

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
};

static const struct probe_def sqlite_probes[] = {
	{ "sqlite3_prepare_v2", Q_FN_SQLITE_PREPARE, false, true },
	{ "sqlite3_prepare_v2", Q_FN_SQLITE_PREPARE, true, true },
	{ "sqlite3_prepare_v3", Q_FN_SQLITE_PREPARE_V3, false, false },
	{ "sqlite3_prepare_v3", Q_FN_SQLITE_PREPARE_V3, true, false },
	{ "sqlite3_prepare", Q_FN_SQLITE_PREPARE, false, false },
	{ "sqlite3_prepare", Q_FN_SQLITE_PREPARE, true, false },
	{ "sqlite3_step", Q_FN_SQLITE_STEP, false, true },
	{ "sqlite3_step", Q_FN_SQLITE_STEP, true, true },
	{ "sqlite3_reset", Q_FN_SQLITE_RESET, false, true },
	{ "sqlite3_finalize", Q_FN_SQLITE_FINALIZE, false, true },
};

static const struct probe_def pq_probes[] = {
	{ "PQexec", Q_FN_PQ_EXEC, false, true },
	{ "PQexecParams", Q_FN_PQ_EXEC_PARAMS, false, true },
	{ "PQexecPrepared", Q_FN_PQ_EXEC_PREPARED, false, true },
	{ "PQprepare", Q_FN_PQ_PREPARE, false, true },
	{ "PQexec", Q_FN_PQ_EXEC, true, true }, /* one return probe per function */
	{ "PQexecParams", Q_FN_PQ_EXEC_PARAMS, true, true },
	{ "PQexecPrepared", Q_FN_PQ_EXEC_PREPARED, true, true },
	{ "PQprepare", Q_FN_PQ_PREPARE, true, true },
	/* the asynchronous protocol (psycopg 3) */
	{ "PQsendQuery", Q_FN_PQ_SEND_QUERY, false, false },
	{ "PQsendQuery", Q_FN_PQ_SEND_QUERY, true, false },
	{ "PQsendQueryParams", Q_FN_PQ_SEND_QUERY, false, false },
	{ "PQsendQueryParams", Q_FN_PQ_SEND_QUERY, true, false },
	{ "PQsendQueryPrepared", Q_FN_PQ_SEND_PREPARED, false, false },
	{ "PQsendQueryPrepared", Q_FN_PQ_SEND_PREPARED, true, false },
	{ "PQsendPrepare", Q_FN_PQ_SEND_PREPARE, false, false },
	{ "PQsendPrepare", Q_FN_PQ_SEND_PREPARE, true, false },
	{ "PQgetResult", Q_FN_PQ_GET_RESULT, false, false },
	{ "PQgetResult", Q_FN_PQ_GET_RESULT, true, false },
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

/* PGresult's ntups offset from the library's PQntuples, -1 if not proved */
static int pq_ntups_offset(const char *open_path)
{
	struct elf_file *ef = elf_open(open_path);
	struct elf_sym sym;
	uint8_t code[16];
	int off = -1;

	if (!ef)
		return -1;
	if (!elf_find_symbol(ef, "PQntuples", &sym) && sym.type == STT_FUNC && sym.size >= 9 &&
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

static void attach_lib(struct queries *q, struct queries_lib *l, struct lib_links *ll,
		       const char *open_path)
{
	const struct probe_def *defs = l->lib == Q_LIB_SQLITE ? sqlite_probes : pq_probes;
	size_t ndefs = l->lib == Q_LIB_SQLITE ? sizeof(sqlite_probes) / sizeof(sqlite_probes[0]) :
						 sizeof(pq_probes) / sizeof(pq_probes[0]);
	uint64_t offs[MAX_LINKS_PER_LIB], rows_off = 0;
	size_t i;
	int err;

	if (check_lib(l->lib, open_path, offs, l->status, sizeof(l->status)))
		return;
	if (l->lib == Q_LIB_PQ) {
		int off = pq_ntups_offset(open_path);

		rows_off = off >= 0 ? (uint64_t)(off + 1) << 32 : 0;
		l->rows = off >= 0;
	}
	for (i = 0; i < ndefs; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = defs[i].ret,
			    .bpf_cookie = defs[i].fn | rows_off);
		struct bpf_link *link;

		if (!offs[i])
			continue;
		link = bpf_program__attach_uprobe_opts(prog_for(q, defs[i].fn, defs[i].ret), -1,
						       open_path, offs[i], &uo);
		if (!link) {
			err = -errno;
			snprintf(l->status, sizeof(l->status), "skipped: cannot attach to %s: %s",
				 defs[i].sym, strerror(-err));
			while (ll->n > 0)
				bpf_link__destroy(ll->l[--ll->n]);
			return;
		}
		ll->l[ll->n++] = link;
	}
	l->attached = true;
	l->probes = ll->n;
	snprintf(l->status, sizeof(l->status), "attached: %d probes%s", ll->n,
		 l->lib == Q_LIB_PQ && !l->rows ? " (rows not read: PQntuples not decoded)" : "");
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
	if (now_ns() - q->last_scan >= RESCAN_NS)
		queries_rescan(q);
	return n;
}

void queries_forget(struct queries *q, pid_t pid, const char *comm)
{
	querystats_forget(q->qs, pid, comm);
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
	for (size_t i = 0; i < q->nlibs; i++)
		while (q->links[i].n > 0)
			bpf_link__destroy(q->links[i].l[--q->links[i].n]);
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
	free(q);
}
