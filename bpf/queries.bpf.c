// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Database queries at the client library, with the Python stack that issued each one.
 * SQLite: sqlite3_prepare* tells the SQL of a statement handle (one Q_EV_TEXT record); an
 * execution starts at the first sqlite3_step of a handle not executing (the Python stack is
 * walked there and kept with it in the active map), adds up the time inside each step and the
 * rows (SQLITE_ROW), and ends at SQLITE_DONE, an error, sqlite3_reset or sqlite3_finalize: one
 * Q_EV_QUERY record. libpq: PQexec, PQexecParams, PQexecPrepared and PQprepare are timed from
 * the call to their result, the stack walked at the return (the same Python stack as the
 * call); PQsendQuery, PQsendQueryParams, PQsendQueryPrepared and PQsendPrepare (psycopg 3) from
 * the send to the last result before PQgetResult returns NULL, the stack walked at the send
 * (the connection's query kept in the active map meanwhile). The synchronous calls run the
 * asynchronous ones inside (Debian's libpq calls them through its PLT): those inner calls are
 * skipped. Rows: the ntups field of each result, at the offset userspace decoded from the
 * library's own PQntuples (in the attach cookie), read at the result: no probe on PQntuples
 * (its first instruction is single-stepped out of line: ~25 us per hit in this VM). Probes are attached per library file for every process (pid -1); only tracked
 * CPython processes are looked at. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "procwatch.h"
#include "queries.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#include "tracked.bpf.h"

/* enum q_stat counters */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, Q_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} qstats SEC(".maps");

static __always_inline void qcount(__u32 what)
{
	__u64 *v = bpf_map_lookup_elem(&qstats, &what);

	if (v)
		(*v)++;
}

/* set by userspace (include/queries.h: budget windows) */
__u32 window_gen = 0;	 /* bumped at each window's start and end */
__u32 window_closed = 0; /* between windows: prepares send their text only */

/* A probe hit, in every process (the trap is paid by all of them): counted, and one run in
 * 16 timed, for the budget's cost model (hits x (trap + BPF time)). */
static __always_inline __u64 hit_begin(void)
{
	__u32 k = Q_STAT_HITS;
	__u64 *v = bpf_map_lookup_elem(&qstats, &k);

	if (!v)
		return 0;
	(*v)++;
	return (*v & 15) == 0 ? bpf_ktime_get_ns() : 0;
}

/* a return probe's hit: its trap (the return trampoline's) costs more than an entry's */
static __always_inline __u64 hit_begin_ret(void)
{
	qcount(Q_STAT_HITS_RET);
	return hit_begin();
}

static __always_inline void hit_end(__u64 t0)
{
	__u32 k = Q_STAT_BPF_NS;
	__u64 *v;

	if (!t0)
		return;
	v = bpf_map_lookup_elem(&qstats, &k);
	if (v)
		*v += bpf_ktime_get_ns() - t0;
	qcount(Q_STAT_TIMED);
}

/* the walker's skipped-frame counter has no use here */
static __always_inline void count_n(__u32 stat, __u64 n)
{
}

static __always_inline long py_read(void *ctx, void *dst, __u32 size, __u64 addr)
{
	return bpf_probe_read_user(dst, size, (const void *)addr);
}

#include "pystack.bpf.h"

/* PID -> offsets and addresses of its interpreter; sized by userspace (max processes) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct py_proc_info);
} proc_info SEC(".maps");

struct stmt_key {
	__u32 pid;
	__u32 pad;
	__u64 stmt;
};

/* SQLite statements executing now: (pid, handle) -> the record being built. Sized by userspace
 * (at most Q_MAX_ACTIVE); full: the execution is not timed (Q_DROP_ACTIVE_FULL). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct stmt_key);
	__type(value, struct q_query_event);
} active SEC(".maps");

/* a call in progress on a thread: what its return probe needs */
struct call_args {
	__u64 ts;
	__u64 a1, a2, a3; /* prepare: sql, nbyte, ppStmt; step: stmt; libpq: text/name, text, conn;
			   * PQntuples: res */
	__u32 fn;	  /* enum q_func */
	__u32 gen;	  /* window_gen when it was made */
};

/* thread -> call in progress (SQLite and libpq calls do not nest on a thread, but for PQexec &
 * co.'s own calls, skipped); task-local storage: freed with the thread, no hash update per
 * call (an LRU hash cost 0.1-0.2 us per update and per delete); fn 0: no call */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct call_args);
} calls SEC(".maps");

/* records to userspace; size set by userspace */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

/* an empty record to copy into the active map (too big for the stack) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct q_query_event);
} qscratch SEC(".maps");

/* when this CPU last woke the reader */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} last_wake SEC(".maps");

#define WAKE_EVERY_NS 2000000 /* at most one wake-up per CPU per 2 ms */

/* Wake the reader for the first record after a quiet spell, or when the buffer is a quarter
 * full: a wake-up per record (the default while the reader keeps up) cost several microseconds
 * per query. Userspace also reads every few milliseconds (queries_poll), so the records of a
 * process are read while it still runs (its frames are named from its memory). */
static __always_inline __u64 rb_flags(void)
{
	__u32 zero = 0;
	__u64 now = bpf_ktime_get_ns(), *last = bpf_map_lookup_elem(&last_wake, &zero);

	if (last && now - *last > WAKE_EVERY_NS) {
		*last = now;
		return BPF_RB_FORCE_WAKEUP;
	}
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >
			       bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 4 ?
		       BPF_RB_FORCE_WAKEUP :
		       BPF_RB_NO_WAKEUP;
}

static __always_inline bool tracked(__u32 pid)
{
	struct tracked *tr = bpf_map_lookup_elem(&tracked_pids, &pid);

	return tr && tr->state == TRACKED_PYTHON;
}

/* Walk the current thread's Python stack into q (innermost Q_FRAMES frames). */
static __always_inline void walk_into(struct q_query_event *q, __u32 pid)
{
	struct py_proc_info *info = bpf_map_lookup_elem(&proc_info, &pid);
	struct task_struct *task;
	struct walk_state *w;
	__u64 fsbase, tstate;
	__u32 err = 0, n;

	q->nframes = 0;
	q->depth = 0;
	if (!info) {
		qcount(Q_DROP_NO_INFO);
		q->walk_err = SMP_ERR_NO_INFO;
		return;
	}
	task = (struct task_struct *)bpf_get_current_task();
	fsbase = BPF_CORE_READ(task, thread.fsbase);
	err = py_tstate(NULL, info, fsbase, &tstate);
	w = err ? NULL : py_walk(NULL, info, tstate, &err);
	qcount(Q_STAT_WALKS);
	if (!w) {
		q->walk_err = err;
		qcount(Q_STAT_WALK_FAILED);
		return;
	}
	q->walk_err = 0;
	n = w->n;
	q->depth = w->truncated ? 0 : n;
	if (n > Q_FRAMES)
		n = Q_FRAMES;
	for (__u32 i = 0; i < Q_FRAMES; i++) {
		if (i >= n)
			break;
		q->frames[i] = w->s.frames[i];
	}
	q->nframes = n;
}

/* the record without its unused frames */
static __always_inline __u64 query_size(const struct q_query_event *q)
{
	__u32 n = q->nframes;

	if (n > Q_FRAMES)
		n = Q_FRAMES;
	return Q_QUERY_HDR_SIZE + (__u64)n * sizeof(struct ph_frame);
}

/* this thread's call in progress (fn 0: none), NULL if it never made one */
static __always_inline struct call_args *cur_call(void)
{
	return bpf_task_storage_get(&calls, bpf_get_current_task_btf(), 0, 0);
}

/* a call in progress made in this window (not one whose return probe went with the last) */
static __always_inline bool live_call(const struct call_args *c)
{
	return c && c->fn && c->gen == window_gen;
}

static __always_inline void save_call(__u32 fn, __u64 a1, __u64 a2, __u64 a3)
{
	struct call_args *c = bpf_task_storage_get(&calls, bpf_get_current_task_btf(), 0,
						   BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!c)
		return;
	c->ts = bpf_ktime_get_ns();
	c->a1 = a1;
	c->a2 = a2;
	c->a3 = a3;
	c->fn = fn;
	c->gen = window_gen;
}

/* ---- SQLite ---- */

SEC("uprobe")
int BPF_KPROBE(sqlite_prepare, void *db, const char *sql, int nbyte, __u64 a4, __u64 a5)
{
	__u64 fn = bpf_get_attach_cookie(ctx), t0 = hit_begin();

	/* ppStmt: 4th argument, 5th for _v3 (prepFlags before it) */
	if (tracked(bpf_get_current_pid_tgid() >> 32))
		save_call(fn, (__u64)sql, (__u64)(__s64)nbyte,
			  fn == Q_FN_SQLITE_PREPARE_V3 ? a5 : a4);
	hit_end(t0);
	return 0;
}

static __always_inline void prepare_ret(int rc)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;
	struct call_args *c = cur_call();
	struct q_text_event *e;
	__u64 stmt = 0;
	long len;

	if (!c)
		return;
	/* prepares are probed throughout: no window_gen check (a prepare across a window's
	 * start still names its statement) */
	if (c->fn != Q_FN_SQLITE_PREPARE && c->fn != Q_FN_SQLITE_PREPARE_V3)
		goto out;
	if (rc != 0 || bpf_probe_read_user(&stmt, sizeof(stmt), (const void *)c->a3) || !stmt)
		goto out;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		qcount(Q_DROP_RINGBUF);
		goto out;
	}
	e->type = Q_EV_TEXT;
	e->pid = pid;
	e->handle = stmt;
	e->lib = Q_LIB_SQLITE;
	e->name[0] = 0;
	e->pad = 0;
	len = bpf_probe_read_user_str(e->text, sizeof(e->text), (const void *)c->a1);
	if (len < 1) {
		len = 1;
		e->text[0] = 0;
	}
	len -= 1;
	e->truncated = len >= Q_TEXT_LEN - 1;
	/* nbyte >= 0: the SQL is at most nbyte bytes */
	if ((__s64)c->a2 >= 0 && (__s64)c->a2 < len) {
		len = c->a2;
		e->truncated = 0;
	}
	e->len = len & (Q_TEXT_LEN - 1);
	bpf_ringbuf_submit(e, rb_flags());
	qcount(Q_STAT_TEXTS);
out:
	c->fn = 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(sqlite_prepare_ret, int rc)
{
	__u64 t0 = hit_begin_ret();

	prepare_ret(rc);
	hit_end(t0);
	return 0;
}

static __always_inline void step(void *stmt)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, zero = 0;
	struct stmt_key k = { .pid = pid, .stmt = (__u64)stmt };
	struct q_query_event *q;

	/* an execution in progress is a tracked process's: one lookup for the steps after the
	 * first */
	q = bpf_map_lookup_elem(&active, &k);
	if (!q) {
		if (!tracked(pid))
			return;
		/* the first step of an execution: walk the stack that issued it */
		q = bpf_map_lookup_elem(&qscratch, &zero);
		if (!q)
			return;
		q->type = Q_EV_QUERY;
		q->pid = pid;
		q->tid = (__u32)id;
		q->lib = Q_LIB_SQLITE;
		q->handle = (__u64)stmt;
		q->dur_ns = 0;
		q->rows = 0;
		q->res = 0;
		q->fn = Q_FN_SQLITE_STEP;
		q->hits = 1;
		q->end = Q_END_DONE;
		walk_into(q, pid);
		q->start_ns = bpf_ktime_get_ns();
		if (bpf_map_update_elem(&active, &k, q, BPF_NOEXIST)) {
			qcount(Q_DROP_ACTIVE_FULL);
			return;
		}
	} else {
		q->hits++;
	}
	save_call(Q_FN_SQLITE_STEP, (__u64)stmt, 0, 0);
}

SEC("uprobe")
int BPF_KPROBE(sqlite_step, void *stmt)
{
	__u64 t0 = hit_begin();

	step(stmt);
	hit_end(t0);
	return 0;
}

static __always_inline void sqlite_end(struct stmt_key *k, struct q_query_event *q, __u32 end)
{
	q->end = end;
	if (bpf_ringbuf_output(&events, q, query_size(q), rb_flags()))
		qcount(Q_DROP_RINGBUF);
	else
		qcount(Q_STAT_QUERIES);
	bpf_map_delete_elem(&active, k);
}

static __always_inline void step_ret(int rc)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns();
	__u32 pid = id >> 32;
	struct call_args *c = cur_call();
	struct q_query_event *q;
	struct stmt_key k = { .pid = pid };

	if (!c)
		return;
	if (c->fn != Q_FN_SQLITE_STEP) {
		c->fn = 0;
		return;
	}
	k.stmt = c->a1;
	q = bpf_map_lookup_elem(&active, &k);
	if (!q) {
		qcount(Q_STAT_END_ORPHAN);
		c->fn = 0;
		return;
	}
	q->dur_ns += now - c->ts;
	q->hits++;
	c->fn = 0;
	if ((rc & 0xff) == 100) { /* SQLITE_ROW */
		q->rows++;
		return;
	}
	sqlite_end(&k, q, rc == 101 ? Q_END_DONE : Q_END_ERROR); /* SQLITE_DONE */
}

SEC("uretprobe")
int BPF_KRETPROBE(sqlite_step_ret, int rc)
{
	__u64 t0 = hit_begin_ret();

	step_ret(rc);
	hit_end(t0);
	return 0;
}

/* sqlite3_reset / sqlite3_finalize: an execution still returning rows ends here */
SEC("uprobe")
int BPF_KPROBE(sqlite_reset, void *stmt)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct stmt_key k = { .pid = pid, .stmt = (__u64)stmt };
	struct q_query_event *q;
	__u64 t0 = hit_begin();

	if (stmt) {
		q = bpf_map_lookup_elem(&active, &k);
		if (q) {
			q->hits++;
			sqlite_end(&k, q, Q_END_RESET);
		}
	}
	hit_end(t0);
	return 0;
}

/* ---- libpq ---- */

static __always_inline bool pq_sync_fn(__u32 fn)
{
	return fn >= Q_FN_PQ_EXEC && fn <= Q_FN_PQ_PREPARE;
}

static __always_inline bool pq_send_fn(__u32 fn)
{
	return fn == Q_FN_PQ_SEND_QUERY || fn == Q_FN_PQ_SEND_PREPARED ||
	       fn == Q_FN_PQ_SEND_PREPARE;
}

/* PQexec(conn, query), PQexecParams(conn, command, ...), PQexecPrepared(conn, name, ...),
 * PQprepare(conn, name, query, ...), the PQsend* ones alike, PQgetResult(conn),
 * PQntuples(res) */
SEC("uprobe")
int BPF_KPROBE(pq_call, void *conn, const char *a, const char *b)
{
	__u64 fn = bpf_get_attach_cookie(ctx), t0 = hit_begin();
	struct call_args *c;

	if (!tracked(bpf_get_current_pid_tgid() >> 32))
		goto out;
	c = cur_call();
	if (live_call(c) && pq_sync_fn(c->fn)) { /* PQexec & co.'s own calls */
		qcount(Q_STAT_PQ_NESTED);
		goto out;
	}
	save_call(fn & 0xffff, (__u64)a, (__u64)b, (__u64)conn);
out:
	hit_end(t0);
	return 0;
}

/* the text of the query c issued, for the next query record of key (thread or connection) */
static __always_inline void pq_text(struct call_args *c, __u32 pid, __u64 key)
{
	struct q_text_event *t;
	bool prep = c->fn == Q_FN_PQ_PREPARE || c->fn == Q_FN_PQ_SEND_PREPARE;
	bool named = prep || c->fn == Q_FN_PQ_EXEC_PREPARED || c->fn == Q_FN_PQ_SEND_PREPARED;
	long len = 0;

	t = bpf_ringbuf_reserve(&events, sizeof(*t), 0);
	if (!t) {
		qcount(Q_DROP_RINGBUF);
		return;
	}
	t->type = Q_EV_TEXT;
	t->pid = pid;
	t->handle = key;
	t->lib = Q_LIB_PQ;
	t->pad = 0;
	t->name[0] = 0;
	t->text[0] = 0;
	if (named)
		bpf_probe_read_user_str(t->name, sizeof(t->name), (const void *)c->a1);
	if (!named || prep)
		len = bpf_probe_read_user_str(t->text, sizeof(t->text),
					      (const void *)(prep ? c->a2 : c->a1));
	if (len < 1)
		len = 1;
	len -= 1;
	t->truncated = len >= Q_TEXT_LEN - 1;
	t->len = len & (Q_TEXT_LEN - 1);
	bpf_ringbuf_submit(t, rb_flags());
	qcount(Q_STAT_TEXTS);
}

static __always_inline void pq_query_init(struct q_query_event *q, struct call_args *c,
					  __u32 pid, __u32 tid, __u64 key)
{
	q->type = Q_EV_QUERY;
	q->pid = pid;
	q->tid = tid;
	q->lib = Q_LIB_PQ;
	q->handle = key;
	q->fn = c->fn;
	q->hits = 0;
	q->start_ns = c->ts;
	q->dur_ns = 0;
	q->rows = 0;
	q->res = 0;
	q->end = Q_END_DONE;
}

static __always_inline void pq_send(struct q_query_event *q)
{
	if (bpf_ringbuf_output(&events, q, query_size(q), rb_flags()))
		qcount(Q_DROP_RINGBUF);
	else
		qcount(Q_STAT_QUERIES);
}

/* the rows of a result: its ntups field, at the offset (+1; 0: unknown) userspace decoded from
 * the library's PQntuples and put in the attach cookie's high half */
static __always_inline __u64 pq_rows(void *ctx, __u64 res)
{
	__u64 off1 = bpf_get_attach_cookie(ctx) >> 32;
	int n = 0;

	if (!res || !off1 || off1 > 256)
		return 0;
	if (bpf_probe_read_user(&n, sizeof(n), (const void *)(res + off1 - 1)) || n < 0)
		return 0;
	return n;
}

/* whether a result is a server-side error (PGRES_BAD_RESPONSE 5, PGRES_FATAL_ERROR 7): its
 * resultStatus field, at the offset (+1; 0: unknown) userspace decoded from the library's
 * PQresultStatus and put in bits 16-31 of the attach cookie */
static __always_inline bool pq_failed(void *ctx, __u64 res)
{
	__u64 off1 = (bpf_get_attach_cookie(ctx) >> 16) & 0xffff;
	int st = 0;

	if (!res || !off1 || off1 > 256)
		return false;
	if (bpf_probe_read_user(&st, sizeof(st), (const void *)(res + off1 - 1)))
		return false;
	return st == 5 || st == 7;
}

/* PQexec & co. return their result */
static __always_inline void call_ret(void *ctx, void *res)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns();
	__u32 tid = (__u32)id, pid = id >> 32, zero = 0;
	struct call_args *c = cur_call();
	struct q_query_event *q;

	if (!c || !pq_sync_fn(c->fn))
		return;
	/* the text first (the query record names it by this thread's last text) */
	pq_text(c, pid, tid);
	if (window_closed) /* a PQprepare between windows: its name's text only */
		goto out;
	q = bpf_map_lookup_elem(&qscratch, &zero);
	if (!q)
		goto out;
	pq_query_init(q, c, pid, tid, tid);
	q->dur_ns = now - c->ts;
	q->res = (__u64)res;
	q->rows = pq_rows(ctx, (__u64)res);
	q->end = res && !pq_failed(ctx, (__u64)res) ? Q_END_DONE : Q_END_ERROR;
	walk_into(q, pid);
	pq_send(q);
out:
	c->fn = 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(pq_call_ret, void *res)
{
	__u64 t0 = hit_begin_ret();

	call_ret(ctx, res);
	hit_end(t0);
	return 0;
}

/* PQsend* returned: 1 if the query went; its record builds until PQgetResult's NULL */
static __always_inline void send_ret(int ok)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns();
	__u32 tid = (__u32)id, pid = id >> 32, zero = 0;
	struct call_args *c = cur_call();
	struct stmt_key k = { .pid = pid };
	struct q_query_event *q, *old;

	if (!c || !pq_send_fn(c->fn))
		return;
	k.stmt = c->a3;
	pq_text(c, pid, c->a3);
	if (window_closed) /* a PQsendPrepare between windows: its name's text only */
		goto out;
	q = bpf_map_lookup_elem(&qscratch, &zero);
	if (!q)
		goto out;
	pq_query_init(q, c, pid, tid, c->a3);
	walk_into(q, pid);
	old = bpf_map_lookup_elem(&active, &k);
	if (old) { /* pipeline mode: not followed; the earlier query ends here */
		qcount(Q_STAT_PQ_SUPERSEDED);
		old->end = Q_END_RESET;
		if (!old->dur_ns)
			old->dur_ns = now - old->start_ns;
		pq_send(old);
		bpf_map_delete_elem(&active, &k);
	}
	if (ok != 1) { /* not sent */
		q->dur_ns = now - c->ts;
		q->end = Q_END_ERROR;
		pq_send(q);
	} else if (bpf_map_update_elem(&active, &k, q, BPF_NOEXIST)) {
		qcount(Q_DROP_ACTIVE_FULL);
	}
out:
	c->fn = 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(pq_send_ret, int ok)
{
	__u64 t0 = hit_begin_ret();

	send_ret(ok);
	hit_end(t0);
	return 0;
}

/* PQgetResult returned: a result of the connection's query (its time so far), or NULL: the
 * query is over */
static __always_inline void result_ret(void *ctx, void *res)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns();
	__u32 pid = id >> 32;
	struct call_args *c = cur_call();
	struct stmt_key k = { .pid = pid };
	struct q_query_event *q;

	if (!c || c->fn != Q_FN_PQ_GET_RESULT)
		return;
	k.stmt = c->a3;
	c->fn = 0;
	q = bpf_map_lookup_elem(&active, &k);
	if (!q)
		return;
	if (res) {
		q->dur_ns = now - q->start_ns;
		q->res = (__u64)res;
		q->rows += pq_rows(ctx, (__u64)res);
		if (pq_failed(ctx, (__u64)res)) /* a server-side error: the query failed */
			q->end = Q_END_ERROR;
		return;
	}
	if (!q->dur_ns) { /* no result at all */
		q->dur_ns = now - q->start_ns;
		q->end = Q_END_ERROR;
	}
	pq_send(q);
	bpf_map_delete_elem(&active, &k);
}

SEC("uretprobe")
int BPF_KRETPROBE(pq_result_ret, void *res)
{
	__u64 t0 = hit_begin_ret();

	result_ret(ctx, res);
	hit_end(t0);
	return 0;
}

/* the trap's cost: a probe on a branch of pyhound's own code, its hits counted */
SEC("uprobe")
int queries_calib(struct pt_regs *ctx)
{
	qcount(Q_STAT_CALIB);
	return 0;
}
