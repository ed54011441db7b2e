// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "syscalls.skel.h"
#include "syscalls_user.h"

/* Entries of exited processes, moved out of the kernel maps so that those hold live processes
 * only; bounded like the kernel maps (oldest dropped first, counted). */
struct retired {
	struct sc_entry *sc;
	size_t nsc, sc_cap;
	struct io_entry *io;
	size_t nio, io_cap;
};

struct sc_collector {
	struct syscalls_bpf *skel;
	unsigned int max_stats;
	struct retired ret;
	uint64_t retired_dropped;
};

int sc_open(const struct sc_collector_opts *opts, struct sc_collector **out)
{
	struct sc_collector *c = calloc(1, sizeof(*c));
	unsigned int max = opts->max_stats ? opts->max_stats : 16384;
	unsigned int threads = opts->max_threads ? opts->max_threads : 16384;
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
	bpf_map__set_max_entries(c->skel->maps.inflight, threads);
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

/* Copy every entry of a hash map; keys and values land in consecutive records of size rec. */
static int dump_map(int fd, size_t ksz, size_t vsz, size_t rec, void **out, size_t *n)
{
	char key[16], next[16];
	size_t cap = 0, cnt = 0;
	void *arr = NULL;
	int err;

	err = bpf_map_get_next_key(fd, NULL, next);
	while (!err) {
		if (cnt == cap) {
			void *a;

			cap = cap ? cap * 2 : 256;
			a = realloc(arr, cap * rec);
			if (!a) {
				free(arr);
				return -ENOMEM;
			}
			arr = a;
		}
		memcpy((char *)arr + cnt * rec, next, ksz);
		if (!bpf_map_lookup_elem(fd, next, (char *)arr + cnt * rec + ksz))
			cnt++;
		memcpy(key, next, ksz);
		err = bpf_map_get_next_key(fd, key, next);
	}
	*out = arr;
	*n = cnt;
	return 0;
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
	err = dump_map(bpf_map__fd(c->skel->maps.sc_stats), sizeof(struct sc_key),
		       sizeof(struct sc_stats), sizeof(struct sc_entry), &p, &snap->nsc);
	if (err)
		return err;
	snap->sc = p;
	err = dump_map(bpf_map__fd(c->skel->maps.io_stats), sizeof(struct io_key),
		       sizeof(struct io_stats), sizeof(struct io_entry), &p, &snap->nio);
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

static void purge(int fd, size_t ksz, pid_t pid)
{
	char key[16], next[16];
	int err = bpf_map_get_next_key(fd, NULL, next);

	while (!err) {
		memcpy(key, next, ksz);
		err = bpf_map_get_next_key(fd, key, next);
		if (*(__u32 *)key == (__u32)pid) /* both key types start with the pid */
			bpf_map_delete_elem(fd, key);
	}
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

void sc_purge_pid(struct sc_collector *c, pid_t pid)
{
	purge(bpf_map__fd(c->skel->maps.sc_stats), sizeof(struct sc_key), pid);
	purge(bpf_map__fd(c->skel->maps.io_stats), sizeof(struct io_key), pid);
	retired_drop_pid(&c->ret, pid);
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

int sc_retire_pid(struct sc_collector *c, pid_t pid)
{
	int fds[2] = { bpf_map__fd(c->skel->maps.sc_stats), bpf_map__fd(c->skel->maps.io_stats) };
	struct retired *r = &c->ret;
	int m, err;

	for (m = 0; m < 2; m++) {
		size_t ksz = m ? sizeof(struct io_key) : sizeof(struct sc_key);
		size_t rec = m ? sizeof(struct io_entry) : sizeof(struct sc_entry);
		char key[16], next[16], val[sizeof(struct sc_stats) > sizeof(struct io_stats)
						     ? sizeof(struct sc_stats)
						     : sizeof(struct io_stats)];
		int e = bpf_map_get_next_key(fds[m], NULL, next);

		while (!e) {
			memcpy(key, next, ksz);
			e = bpf_map_get_next_key(fds[m], key, next);
			if (*(__u32 *)key != (__u32)pid || bpf_map_lookup_elem(fds[m], key, val))
				continue;
			err = m ? retired_room((void **)&r->io, &r->nio, &r->io_cap, 1, rec,
					       c->max_stats, &c->retired_dropped)
				: retired_room((void **)&r->sc, &r->nsc, &r->sc_cap, 1, rec,
					       c->max_stats, &c->retired_dropped);
			if (err)
				return err;
			if (m) {
				memcpy(&r->io[r->nio].key, key, ksz);
				memcpy(&r->io[r->nio].s, val, sizeof(struct io_stats));
				r->nio++;
			} else {
				memcpy(&r->sc[r->nsc].key, key, ksz);
				memcpy(&r->sc[r->nsc].s, val, sizeof(struct sc_stats));
				r->nsc++;
			}
			bpf_map_delete_elem(fds[m], key);
		}
	}
	return 0;
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
