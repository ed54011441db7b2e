// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "lib/log.h"
#include "syscalls.skel.h"
#include "collect/syscalls_user.h"

/* Entries of exited processes, moved out of the kernel maps so that those hold live processes
 * only; bounded like the kernel maps (oldest dropped first, counted). */
struct retired {
	struct sc_entry *sc;
	size_t nsc, sc_cap;
	struct io_entry *io;
	size_t nio, io_cap;
};

/* pids whose entries leave the kernel maps at the next flush: retired (kept in userspace) or
 * purged (forgotten) */
struct pid_queue {
	pid_t *pids;
	bool *keep;
	size_t n, cap;
};

struct sc_collector {
	struct syscalls_bpf *skel;
	unsigned int max_stats;
	struct retired ret;
	uint64_t retired_dropped;
	struct pid_queue q;
};

/* Does the running kernel have the kfunc name (in its BTF)? */
static bool kernel_has_kfunc(const char *name)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool has;

	if (!btf)
		return false;
	has = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;
	btf__free(btf);
	return has;
}

/* the lowest ephemeral port (net.ipv4.ip_local_port_range), 32768 when unreadable */
static unsigned int ephemeral_lo(void)
{
	unsigned int lo = 32768, hi;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	if (f) {
		if (fscanf(f, "%u %u", &lo, &hi) != 2 || !lo || lo > 65535)
			lo = 32768;
		fclose(f);
	}
	return lo;
}

int sc_open(const struct sc_collector_opts *opts, struct sc_collector **out)
{
	struct sc_collector *c = calloc(1, sizeof(*c));
	unsigned int max = opts->max_stats ? opts->max_stats : 16384;
	bool cast;
	int err;

	if (!c)
		return -ENOMEM;
	if (max > SC_MAX_STATS)
		max = SC_MAX_STATS;
	c->max_stats = max;
	c->skel = syscalls_bpf__open();
	if (!c->skel) {
		err = -errno;
		pr_err("cannot open the syscall collector BPF object: %s", strerror(-err));
		goto err_free;
	}
	bpf_map__set_max_entries(c->skel->maps.sc_stats, max);
	bpf_map__set_max_entries(c->skel->maps.io_stats, max);
	c->skel->rodata->targ_ephemeral_lo = ephemeral_lo();
	/* the fd-kind walk is all direct loads with bpf_rdonly_cast (6.2+), probe reads before */
	cast = kernel_has_kfunc("bpf_rdonly_cast");
	pr_debug("syscalls: sys_enter program %s", cast ? "sc_enter" : "sc_enter_compat");
	bpf_program__set_autoload(c->skel->progs.sc_enter, cast);
	bpf_program__set_autoload(c->skel->progs.sc_enter_compat, !cast);
	err = bpf_map__reuse_fd(c->skel->maps.tracked_pids, opts->tracked_fd);
	if (err) {
		pr_err("cannot share the tracked-process map: %s", strerror(-err));
		goto err_destroy;
	}
	err = syscalls_bpf__load(c->skel);
	if (err) {
		pr_err("cannot load the syscall collector BPF programs: %s (run with -vv for "
		       "libbpf's log)", strerror(-err));
		goto err_destroy;
	}
	*out = c;
	return 0;

err_destroy:
	syscalls_bpf__destroy(c->skel);
err_free:
	free(c);
	return err;
}

int sc_attach(struct sc_collector *c)
{
	int err = syscalls_bpf__attach(c->skel);

	if (err)
		pr_err("cannot attach to the sys_enter/sys_exit tracepoints: %s", strerror(-err));
	return err;
}

/* Copy every entry of a hash map into consecutive records of size rec (key then value), with
 * batch lookups: a few syscalls for the whole map rather than two per entry. */
static int dump_map(int fd, size_t ksz, size_t vsz, size_t rec, unsigned int max, void **out,
		    size_t *n)
{
	char *keys = malloc((size_t)max * ksz), *vals = malloc((size_t)max * vsz), *arr = NULL;
	__u32 count, total = 0, batch;
	bool first = true;
	int err = 0;
	size_t i;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (total < max) {
		count = max - total;
		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, keys + total * ksz,
					   vals + total * vsz, &count, &opts);
		first = false;
		total += count;
		if (err) {
			err = errno == ENOENT ? 0 : -errno; /* ENOENT: the whole map was read */
			break;
		}
	}
	if (err)
		goto out;
	arr = malloc((total ? total : 1) * rec);
	if (!arr) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < total; i++) {
		memcpy(arr + i * rec, keys + i * ksz, ksz);
		memcpy(arr + i * rec + ksz, vals + i * vsz, vsz);
	}
	*out = arr;
	*n = total;
out:
	free(keys);
	free(vals);
	return err;
}

/* append the retired entries after the kernel's */
static int add_retired(struct sc_collector *c, struct sc_snapshot *snap)
{
	void *p;

	if (c->ret.nsc) {
		p = realloc(snap->sc, (snap->nsc + c->ret.nsc) * sizeof(*snap->sc));
		if (!p)
			return -ENOMEM;
		snap->sc = p;
		memcpy(snap->sc + snap->nsc, c->ret.sc, c->ret.nsc * sizeof(*snap->sc));
		snap->nsc += c->ret.nsc;
	}
	if (c->ret.nio) {
		p = realloc(snap->io, (snap->nio + c->ret.nio) * sizeof(*snap->io));
		if (!p)
			return -ENOMEM;
		snap->io = p;
		memcpy(snap->io + snap->nio, c->ret.io, c->ret.nio * sizeof(*snap->io));
		snap->nio += c->ret.nio;
	}
	return 0;
}

int sc_snapshot(struct sc_collector *c, struct sc_snapshot *snap)
{
	int ncpu = libbpf_num_possible_cpus(), err;
	void *p;
	__u32 k;

	memset(snap, 0, sizeof(*snap));
	snap->max_stats = c->max_stats;
	_Static_assert(offsetof(struct sc_entry, s) == sizeof(struct sc_key), "sc_entry packing");
	_Static_assert(offsetof(struct io_entry, s) == sizeof(struct io_key), "io_entry packing");
	err = sc_flush(c);
	if (err)
		return err;
	err = dump_map(bpf_map__fd(c->skel->maps.sc_stats), sizeof(struct sc_key),
		       sizeof(struct sc_stats), sizeof(struct sc_entry), c->max_stats, &p, &snap->nsc);
	if (err)
		return err;
	snap->sc = p;
	err = dump_map(bpf_map__fd(c->skel->maps.io_stats), sizeof(struct io_key),
		       sizeof(struct io_stats), sizeof(struct io_entry), c->max_stats, &p, &snap->nio);
	if (err) {
		sc_snapshot_free(snap);
		return err;
	}
	snap->io = p;
	snap->kernel_nsc = snap->nsc;
	snap->kernel_nio = snap->nio;
	snap->retired_dropped = c->retired_dropped;
	err = add_retired(c, snap);
	if (err) {
		sc_snapshot_free(snap);
		return err;
	}
	for (k = 0; ncpu > 0 && k < SC_DROP_MAX; k++) {
		__u64 vals[ncpu];
		int i;

		if (bpf_map_lookup_elem(bpf_map__fd(c->skel->maps.sc_drops), &k, vals))
			continue;
		for (i = 0; i < ncpu; i++)
			snap->drops[k] += vals[i];
	}
	return 0;
}

void sc_snapshot_free(struct sc_snapshot *snap)
{
	free(snap->sc);
	free(snap->io);
	snap->sc = NULL;
	snap->io = NULL;
}

static int queue_pid(struct pid_queue *q, pid_t pid, bool keep)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		pid_t *p = realloc(q->pids, cap * sizeof(*p));
		bool *k;

		if (!p)
			return -ENOMEM;
		q->pids = p;
		k = realloc(q->keep, cap * sizeof(*k));
		if (!k)
			return -ENOMEM;
		q->keep = k;
		q->cap = cap;
	}
	q->pids[q->n] = pid;
	q->keep[q->n++] = keep;
	return 0;
}

static void retired_drop_pid(struct retired *r, pid_t pid)
{
	size_t i, j;

	for (i = j = 0; i < r->nsc; i++)
		if (r->sc[i].key.pid != (unsigned int)pid)
			r->sc[j++] = r->sc[i];
	r->nsc = j;
	for (i = j = 0; i < r->nio; i++)
		if (r->io[i].key.pid != (unsigned int)pid)
			r->io[j++] = r->io[i];
	r->nio = j;
}

void sc_pid_totals(const struct sc_collector *c, pid_t pid, uint64_t *calls, uint64_t *ns)
{
	size_t i;

	*calls = *ns = 0;
	for (i = 0; i < c->ret.nsc; i++)
		if (c->ret.sc[i].key.pid == (unsigned int)pid) {
			*calls += c->ret.sc[i].s.count;
			*ns += c->ret.sc[i].s.total_ns;
		}
}

void sc_purge_pid(struct sc_collector *c, pid_t pid)
{
	retired_drop_pid(&c->ret, pid);
	if (queue_pid(&c->q, pid, false))
		pr_warn("cannot queue PID %d's statistics for removal", (int)pid);
}

int sc_retire_pid(struct sc_collector *c, pid_t pid)
{
	return queue_pid(&c->q, pid, true);
}

/* Make room for n more entries of size sz in *arr (capacity *cap, count *cnt), dropping the
 * oldest entries beyond max. */
static int retired_room(void **arr, size_t *cnt, size_t *cap, size_t n, size_t sz, size_t max,
			uint64_t *dropped)
{
	if (*cnt + n > max) {
		size_t drop = *cnt + n - max;

		if (drop > *cnt)
			drop = *cnt;
		memmove(*arr, (char *)*arr + drop * sz, (*cnt - drop) * sz);
		*cnt -= drop;
		*dropped += drop;
	}
	if (*cnt + n > *cap) {
		size_t nc = (*cnt + n) * 2;
		void *p = realloc(*arr, nc * sz);

		if (!p)
			return -ENOMEM;
		*arr = p;
		*cap = nc;
	}
	return 0;
}

/* 1: keep (retire), 0: forget (purge), -1: not queued */
static int queued(const struct pid_queue *q, unsigned int pid)
{
	size_t i;

	for (i = q->n; i-- > 0;)
		if ((unsigned int)q->pids[i] == pid)
			return q->keep[i];
	return -1;
}

static int flush_map(struct sc_collector *c, int fd, bool io)
{
	size_t ksz = io ? sizeof(struct io_key) : sizeof(struct sc_key);
	size_t rec = io ? sizeof(struct io_entry) : sizeof(struct sc_entry);
	size_t vsz = io ? sizeof(struct io_stats) : sizeof(struct sc_stats);
	char *ents = NULL, *del = NULL;
	size_t n = 0, i, ndel = 0;
	__u32 cnt;
	int err;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	err = dump_map(fd, ksz, vsz, rec, c->max_stats, (void **)&ents, &n);
	if (err)
		return err;
	del = malloc((n ? n : 1) * ksz);
	if (!del) {
		free(ents);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		char *e = ents + i * rec;
		int q = queued(&c->q, *(__u32 *)e);

		if (q < 0)
			continue;
		memcpy(del + ndel++ * ksz, e, ksz);
		if (!q)
			continue;
		if (io) {
			err = retired_room((void **)&c->ret.io, &c->ret.nio, &c->ret.io_cap, 1, rec,
					   c->max_stats, &c->retired_dropped);
			if (!err)
				memcpy(&c->ret.io[c->ret.nio++], e, rec);
		} else {
			err = retired_room((void **)&c->ret.sc, &c->ret.nsc, &c->ret.sc_cap, 1, rec,
					   c->max_stats, &c->retired_dropped);
			if (!err)
				memcpy(&c->ret.sc[c->ret.nsc++], e, rec);
		}
		if (err)
			break;
	}
	cnt = ndel;
	if (ndel && bpf_map_delete_batch(fd, del, &cnt, &opts) && !err)
		err = -errno;
	free(del);
	free(ents);
	return err;
}

int sc_flush(struct sc_collector *c)
{
	int err;

	if (!c->q.n)
		return 0;
	err = flush_map(c, bpf_map__fd(c->skel->maps.sc_stats), false);
	if (!err)
		err = flush_map(c, bpf_map__fd(c->skel->maps.io_stats), true);
	c->q.n = 0;
	return err;
}

struct bpf_object *sc_bpf_object(const struct sc_collector *c)
{
	return c->skel->obj;
}

void sc_free(struct sc_collector *c)
{
	if (!c)
		return;
	syscalls_bpf__destroy(c->skel);
	free(c->ret.sc);
	free(c->ret.io);
	free(c->q.pids);
	free(c->q.keep);
	free(c);
}

int sc_is_write(unsigned int nr)
{
	switch (nr) {
	case 1: case 18: case 20: case 44: case 46: case 296: case 328:
		return 1;
	}
	return 0;
}
