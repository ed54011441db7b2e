// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "syscalls.skel.h"
#include "syscalls_user.h"

struct sc_collector {
	struct syscalls_bpf *skel;
	unsigned int max_stats;
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

void sc_purge_pid(struct sc_collector *c, pid_t pid)
{
	purge(bpf_map__fd(c->skel->maps.sc_stats), sizeof(struct sc_key), pid);
	purge(bpf_map__fd(c->skel->maps.io_stats), sizeof(struct io_key), pid);
}

void sc_free(struct sc_collector *c)
{
	if (!c)
		return;
	syscalls_bpf__destroy(c->skel);
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
