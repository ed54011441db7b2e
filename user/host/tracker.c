// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "host/cgroup.h"
#include "host/elf.h"
#include "lib/log.h"
#include "lib/utf8.h"
#include "procwatch.h"
#include "procwatch.skel.h"
#include "host/tracker.h"

#define MAX_HOOKS 8
#define RESCAN_NS (10ULL * 1000000000ULL) /* catch libpython dlopen'ed after exec */
#define ALIVE_CHECK_NS (2ULL * 1000000000ULL)
/* delays after exec at which a pending process is inspected again (the dynamic loader maps
 * libpython a few milliseconds after exec) */
static const unsigned int retry_ms[] = { 0, 2, 10, 30, 100, 300, 1000, 3000 };
#define NRETRY (sizeof(retry_ms) / sizeof(retry_ms[0]))

struct pending {
	pid_t pid;
	uint64_t exec_ns;
	unsigned int attempt;
};

struct tracker {
	struct tracker_opts opts;
	struct procwatch_bpf *skel;
	struct ring_buffer *rb;
	struct tracked_proc *procs;
	size_t nprocs, cap;
	struct pending *pend;
	size_t npend, pend_cap;
	struct tracker_hooks hooks[MAX_HOOKS];
	int nhooks;
	struct tracker_stats st;
	uint64_t last_scan_ns, last_alive_ns;
	bool started;
};

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int tracker_open(const struct tracker_opts *opts, struct tracker **out)
{
	struct tracker *t = calloc(1, sizeof(*t));
	unsigned int max = opts->max_procs ? opts->max_procs : 4096;
	int err;

	if (!t)
		return -ENOMEM;
	t->opts = *opts;
	if (max > PH_MAX_TRACKED)
		max = PH_MAX_TRACKED;
	t->opts.max_procs = max;
	t->skel = procwatch_bpf__open();
	if (!t->skel) {
		err = -errno;
		pr_err("cannot open the process watcher BPF object: %s", strerror(-err));
		goto err_free;
	}
	t->skel->rodata->targ_follow = opts->follow;
	bpf_map__set_max_entries(t->skel->maps.tracked_pids, max);
	err = procwatch_bpf__load(t->skel);
	if (err) {
		pr_err("cannot load the process watcher BPF programs: %s (run with -vv for "
		       "libbpf's log)", strerror(-err));
		goto err_destroy;
	}
	*out = t;
	return 0;

err_destroy:
	procwatch_bpf__destroy(t->skel);
err_free:
	free(t);
	return err;
}

int tracker_map_fd(const struct tracker *t)
{
	return bpf_map__fd(t->skel->maps.tracked_pids);
}

int tracker_add_hooks(struct tracker *t, const struct tracker_hooks *h)
{
	if (t->nhooks >= MAX_HOOKS)
		return -E2BIG;
	t->hooks[t->nhooks++] = *h;
	return 0;
}

static struct tracked_proc *find_live(struct tracker *t, pid_t pid)
{
	size_t i;

	for (i = t->nprocs; i-- > 0;)
		if (t->procs[i].info.pid == pid && !t->procs[i].exited)
			return &t->procs[i];
	return NULL;
}

const struct tracked_proc *tracker_find(const struct tracker *t, pid_t pid)
{
	size_t i;

	for (i = t->nprocs; i-- > 0;)
		if (t->procs[i].info.pid == pid)
			return &t->procs[i];
	return NULL;
}

static int set_state(struct tracker *t, pid_t pid, unsigned int state)
{
	struct tracked v = { .state = state };
	__u32 key = pid;

	if (bpf_map_update_elem(tracker_map_fd(t), &key, &v, BPF_ANY)) {
		t->st.drop_full++;
		pr_warn("cannot track PID %d: %s", (int)pid, strerror(errno));
		return -errno;
	}
	return 0;
}

static void untrack(struct tracker *t, pid_t pid)
{
	__u32 key = pid;

	bpf_map_delete_elem(tracker_map_fd(t), &key);
}

#define FIRE(t, hook, arg)                                                                     \
	do {                                                                                   \
		for (int _i = 0; _i < (t)->nhooks; _i++)                                       \
			if ((t)->hooks[_i].hook)                                               \
				(t)->hooks[_i].hook((arg), (t)->hooks[_i].ctx);                \
	} while (0)

static int add_proc(struct tracker *t, const struct py_proc *p, uint64_t seen_ns)
{
	struct tracked_proc *tp;
	int err;

	if (t->nprocs == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		void *n = realloc(t->procs, cap * sizeof(*t->procs));

		if (!n)
			return -ENOMEM;
		t->procs = n;
		t->cap = cap;
	}
	err = set_state(t, p->pid, TRACKED_PYTHON);
	if (err)
		return err;
	tp = &t->procs[t->nprocs++];
	memset(tp, 0, sizeof(*tp));
	tp->info = *p;
	/* names any local user chooses: every output must stay valid UTF-8 */
	utf8_sanitize(tp->info.comm, sizeof(tp->info.comm));
	utf8_sanitize(tp->info.cmdline, sizeof(tp->info.cmdline));
	tp->seen_ns = seen_ns;
	tp->cpu_known = !proc_cpu_ticks(p->pid, p->start_ticks, &tp->cpu_ticks_seen);
	tp->cpu_ticks_last = tp->cpu_ticks_seen;
	cgroup_labels(p->pid, tp->unit, sizeof(tp->unit), tp->container_id,
		      sizeof(tp->container_id));
	utf8_sanitize(tp->unit, sizeof(tp->unit));
	utf8_sanitize(tp->container_id, sizeof(tp->container_id));
	t->st.seen++;
	pr_info("tracking PID %d (CPython %d.%d, %s): %s", (int)p->pid, p->major, p->minor,
		py_proc_build(p), p->cmdline);
	FIRE(t, on_add, tp);
	return 0;
}

static void mark_exited(struct tracker *t, struct tracked_proc *tp, uint64_t ts)
{
	tp->exited = true;
	tp->exit_ns = ts;
	/* until its parent reaps it, an exited process's CPU time is still readable */
	if (tp->cpu_known &&
	    proc_cpu_ticks(tp->info.pid, tp->info.start_ticks, &tp->cpu_ticks_last))
		tp->cpu_known = false;
	pr_info("PID %d exited", (int)tp->info.pid);
	FIRE(t, on_exit, tp);
}

static void reject(struct tracker *t, pid_t pid)
{
	struct tracked_proc tmp = {};

	untrack(t, pid);
	tmp.info.pid = pid;
	t->st.rejected++;
	FIRE(t, on_reject, &tmp);
}

static int add_pending(struct tracker *t, pid_t pid, uint64_t ts)
{
	size_t i;

	for (i = 0; i < t->npend; i++)
		if (t->pend[i].pid == pid) {
			t->pend[i].exec_ns = ts;
			t->pend[i].attempt = 0;
			return 0;
		}
	if (t->npend == t->pend_cap) {
		size_t cap = t->pend_cap ? t->pend_cap * 2 : 64;
		void *n = realloc(t->pend, cap * sizeof(*t->pend));

		if (!n)
			return -ENOMEM;
		t->pend = n;
		t->pend_cap = cap;
	}
	t->pend[t->npend++] = (struct pending){ .pid = pid, .exec_ns = ts };
	return 0;
}

static void drop_pending(struct tracker *t, size_t i)
{
	t->pend[i] = t->pend[--t->npend];
}

/* Could this executable become CPython once its dynamic loader has run? It can if it holds
 * _PyRuntime itself or needs a libpython. */
static int needed_cb(const char *lib, void *ctx)
{
	return !strncmp(lib, "libpython3", 10);
}

static bool exe_may_be_python(pid_t pid)
{
	char path[64];
	struct elf_file *ef;
	struct elf_sym sym;
	bool may;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ef = elf_open(path);
	if (!ef)
		return false;
	may = !elf_find_symbol(ef, "_PyRuntime", &sym) || elf_foreach_needed(ef, needed_cb, NULL);
	elf_close(ef);
	return may;
}

static void classify_pending(struct tracker *t, uint64_t now)
{
	struct py_proc p;
	size_t i = 0;

	while (i < t->npend) {
		struct pending *pe = &t->pend[i];
		int err;

		if (now < pe->exec_ns + retry_ms[pe->attempt] * 1000000ULL) {
			i++;
			continue;
		}
		err = py_proc_inspect(pe->pid, &p);
		if (!err) {
			if (add_proc(t, &p, pe->exec_ns))
				reject(t, pe->pid);
			drop_pending(t, i);
			continue;
		}
		if (err == -ENOEXEC && pe->attempt == 0 && !exe_may_be_python(pe->pid)) {
			char exe[256] = "?", f[64];
			ssize_t r;

			snprintf(f, sizeof(f), "/proc/%d/exe", (int)pe->pid);
			r = readlink(f, exe, sizeof(exe) - 1);
			if (r > 0)
				exe[r] = '\0';
			pr_debug("PID %d: executable %s cannot be CPython", (int)pe->pid, exe);
			err = -ESRCH; /* settled: not CPython */
		}
		if (err == -ENOEXEC && ++pe->attempt < NRETRY) {
			i++;
			continue;
		}
		if (err != -ENOEXEC && err != -ESRCH)
			t->st.inspect_failed++;
		pr_debug("PID %d: not followed (%s after %u attempts)", (int)pe->pid, strerror(-err),
			 pe->attempt);
		reject(t, pe->pid);
		drop_pending(t, i);
	}
}

static int handle_event(void *ctx, void *data, size_t len)
{
	const struct ph_proc_event *e = data;
	struct tracker *t = ctx;
	struct tracked_proc *tp;
	struct py_proc child;
	size_t i;

	if (len < sizeof(*e))
		return 0;
	t->st.events++;
	switch (e->type) {
	case PROC_EV_EXEC:
		t->st.exec_seen++;
		pr_debug("exec: PID %u", e->pid);
		tp = find_live(t, e->pid);
		if (tp) /* a tracked process exec'd: its old image is gone */
			mark_exited(t, tp, e->ts_ns);
		if (t->opts.follow || tp)
			add_pending(t, e->pid, e->ts_ns);
		break;
	case PROC_EV_FORK:
		t->st.forks++;
		tp = find_live(t, e->ppid);
		if (!tp || find_live(t, e->pid))
			break;
		child = tp->info; /* same mappings, hence the same interpreter and addresses */
		child.pid = e->pid;
		child.start_ticks = proc_start_ticks(e->pid);
		if (add_proc(t, &child, e->ts_ns))
			untrack(t, e->pid);
		break;
	case PROC_EV_EXIT:
		t->st.exits++;
		tp = find_live(t, e->pid);
		if (tp)
			mark_exited(t, tp, e->ts_ns);
		for (i = 0; i < t->npend; i++)
			if (t->pend[i].pid == (pid_t)e->pid) {
				reject(t, e->pid);
				drop_pending(t, i);
				break;
			}
		break;
	}
	return 0;
}

static int scan_cb(const struct py_proc *p, void *ctx)
{
	struct tracker *t = ctx;

	if (find_live(t, p->pid))
		return 0;
	add_proc(t, p, now_ns());
	return 0;
}

int tracker_start(struct tracker *t)
{
	struct py_proc p;
	int err, i;

	err = procwatch_bpf__attach(t->skel);
	if (err) {
		pr_err("cannot attach the process watcher: %s", strerror(-err));
		return err;
	}
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.proc_events), handle_event, t, NULL);
	if (!t->rb) {
		err = -errno;
		pr_err("cannot create the event ring buffer: %s", strerror(-err));
		return err;
	}
	t->started = true;
	t->last_scan_ns = now_ns();
	if (t->opts.npids) {
		for (i = 0; i < t->opts.npids; i++) {
			pid_t pid = t->opts.pids[i];

			err = py_proc_inspect(pid, &p);
			if (err == -ESRCH && proc_is_zombie(pid)) {
				pr_err("PID %d has exited (a zombie: its parent has not reaped it)",
				       (int)pid);
				return err;
			} else if (err == -ESRCH) {
				pr_err("PID %d does not exist (or exited)", (int)pid);
				return err;
			} else if (err == -ENOEXEC) {
				char comm[32] = "?", f[64];
				FILE *cf;

				snprintf(f, sizeof(f), "/proc/%d/comm", (int)pid);
				cf = fopen(f, "re");
				if (cf) {
					if (fgets(comm, sizeof(comm), cf))
						comm[strcspn(comm, "\n")] = '\0';
					fclose(cf);
				}
				pr_err("PID %d (%s) is not running CPython (no _PyRuntime in its "
				       "executable or a mapped libpython)", (int)pid, comm);
				return err;
			} else if (err) {
				pr_err("cannot inspect PID %d: %s", (int)pid, strerror(-err));
				return err;
			}
			if (!find_live(t, pid)) {
				err = add_proc(t, &p, now_ns());
				if (err)
					return err;
			}
		}
		return 0;
	}
	err = py_proc_scan(scan_cb, t);
	return err < 0 ? err : 0;
}

int tracker_poll(struct tracker *t, int timeout_ms)
{
	uint64_t now;
	int err;

	/* wake up in time for the next pending retry */
	if (t->npend && timeout_ms > 2)
		timeout_ms = 2;
	err = ring_buffer__poll(t->rb, timeout_ms);
	if (err < 0 && err != -EINTR)
		return err;
	now = now_ns();
	classify_pending(t, now);
	/* a process found by a scan just before it exited never gets an exit event: check */
	if (now - t->last_alive_ns > ALIVE_CHECK_NS) {
		size_t i;

		t->last_alive_ns = now;
		for (i = 0; i < t->nprocs; i++) {
			struct tracked_proc *tp = &t->procs[i];

			if (!tp->exited && !proc_alive(tp->info.pid, tp->info.start_ticks)) {
				untrack(t, tp->info.pid);
				mark_exited(t, tp, now);
			}
		}
	}
	if (t->opts.follow && now - t->last_scan_ns > RESCAN_NS) {
		t->last_scan_ns = now;
		py_proc_scan(scan_cb, t);
	}
	return 0;
}

void tracker_foreach(const struct tracker *t, tracker_iter cb, void *ctx)
{
	size_t i;

	for (i = 0; i < t->nprocs; i++)
		cb(&t->procs[i], ctx);
}

void tracker_read_cpu(struct tracker *t)
{
	size_t i;

	for (i = 0; i < t->nprocs; i++) {
		struct tracked_proc *tp = &t->procs[i];

		if (!tp->exited && tp->cpu_known &&
		    proc_cpu_ticks(tp->info.pid, tp->info.start_ticks, &tp->cpu_ticks_last))
			tp->cpu_known = false;
	}
}

int tracker_count(const struct tracker *t)
{
	return (int)t->nprocs;
}

void tracker_get_stats(const struct tracker *t, struct tracker_stats *s)
{
	int fd = bpf_map__fd(t->skel->maps.pw_drops);
	int ncpu = libbpf_num_possible_cpus();
	__u32 k;

	*s = t->st;
	if (ncpu <= 0)
		return;
	for (k = 0; k < PW_DROP_MAX; k++) {
		__u64 vals[ncpu];
		__u64 sum = 0;
		int c;

		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (c = 0; c < ncpu; c++)
			sum += vals[c];
		if (k == PW_DROP_EVENTS)
			s->drop_events += sum;
		else
			s->drop_full += sum;
	}
}

int tracker_forget_exited(struct tracker *t, uint64_t cutoff_ns)
{
	size_t i, j = 0;
	int n = 0;

	for (i = 0; i < t->nprocs; i++) {
		struct tracked_proc *tp = &t->procs[i];

		if (tp->exited && tp->exit_ns < cutoff_ns) {
			/* a PID that exec'd again is live under a later record: keep its data */
			if (!find_live(t, tp->info.pid))
				FIRE(t, on_forget, tp);
			n++;
			continue;
		}
		if (j != i)
			t->procs[j] = *tp;
		j++;
	}
	t->nprocs = j;
	t->st.forgotten += n;
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int tracker_forget_over(struct tracker *t, unsigned int max_exited)
{
	size_t i, nexited = 0;
	uint64_t *ts;
	int n;

	for (i = 0; i < t->nprocs; i++)
		nexited += t->procs[i].exited;
	if (nexited <= max_exited)
		return 0;
	ts = malloc(nexited * sizeof(*ts));
	if (!ts)
		return -ENOMEM;
	for (i = nexited = 0; i < t->nprocs; i++)
		if (t->procs[i].exited)
			ts[nexited++] = t->procs[i].exit_ns;
	qsort(ts, nexited, sizeof(*ts), cmp_u64);
	/* the earliest exits first (ties at the cut go too) */
	n = tracker_forget_exited(t, ts[nexited - max_exited - 1] + 1);
	free(ts);
	t->st.forgotten_over += n;
	return n;
}

int tracker_epoll_fd(const struct tracker *t)
{
	return ring_buffer__epoll_fd(t->rb);
}

int tracker_next_timeout(const struct tracker *t)
{
	return t->npend ? 2 : -1;
}

struct bpf_object *tracker_bpf_object(const struct tracker *t)
{
	return t->skel->obj;
}

void tracker_free(struct tracker *t)
{
	if (!t)
		return;
	ring_buffer__free(t->rb);
	procwatch_bpf__destroy(t->skel);
	free(t->procs);
	free(t->pend);
	free(t);
}
