// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "model/funcstats.h"

struct fn {
	char *name, *file, *state;
	uint64_t all;	    /* every sample seen of this function */
	uint64_t admitted;  /* samples since it got its own series */
	bool has_series;
};

struct proc {
	pid_t pid;
	uint64_t python, syscall, other;
	uint64_t wall[FS_WALL_STATES];
	struct fn *fns;
	size_t nfns, cap;
	struct fs_series *view;
	size_t nview;
};

struct funcstats {
	struct proc *procs;
	size_t n, cap;
};

struct funcstats *funcstats_new(void)
{
	return calloc(1, sizeof(struct funcstats));
}

static void proc_free(struct proc *p)
{
	size_t i;

	for (i = 0; i < p->nfns; i++) {
		free(p->fns[i].name);
		free(p->fns[i].file);
		free(p->fns[i].state);
	}
	free(p->fns);
	free(p->view);
}

void funcstats_free(struct funcstats *fs)
{
	size_t i;

	if (!fs)
		return;
	for (i = 0; i < fs->n; i++)
		proc_free(&fs->procs[i]);
	free(fs->procs);
	free(fs);
}

static struct proc *get_proc(struct funcstats *fs, pid_t pid)
{
	size_t i;

	for (i = 0; i < fs->n; i++)
		if (fs->procs[i].pid == pid)
			return &fs->procs[i];
	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 16;
		void *p = realloc(fs->procs, cap * sizeof(*fs->procs));

		if (!p)
			return NULL;
		fs->procs = p;
		fs->cap = cap;
	}
	memset(&fs->procs[fs->n], 0, sizeof(fs->procs[0]));
	fs->procs[fs->n].pid = pid;
	return &fs->procs[fs->n++];
}

static int add_n(struct proc *p, const char *name, const char *file, const char *state,
		 uint64_t n)
{
	struct fn *f = NULL;
	size_t i;

	for (i = 0; i < p->nfns; i++)
		if (!strcmp(p->fns[i].name, name) && !strcmp(p->fns[i].file, file) &&
		    !strcmp(p->fns[i].state, state)) {
			f = &p->fns[i];
			break;
		}
	if (!f && p->nfns < FUNCSTATS_TRACK) {
		if (p->nfns == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 16;
			void *n = realloc(p->fns, cap * sizeof(*p->fns));

			if (!n)
				return -ENOMEM;
			p->fns = n;
			p->cap = cap;
		}
		f = &p->fns[p->nfns];
		memset(f, 0, sizeof(*f));
		f->name = strdup(name);
		f->file = strdup(file);
		f->state = strdup(state);
		if (!f->name || !f->file || !f->state) {
			free(f->name);
			free(f->file);
			free(f->state);
			return -ENOMEM;
		}
		p->nfns++;
	}
	if (f) {
		f->all += n;
		if (f->has_series) {
			f->admitted += n;
			return 0;
		}
	}
	p->other += n;
	return 0;
}

static int add(struct proc *p, const char *name, const char *file, const char *state)
{
	return add_n(p, name, file, state, 1);
}

int funcstats_add_weight(struct funcstats *fs, pid_t pid, const char *name, const char *file,
			 uint64_t n)
{
	struct proc *p = get_proc(fs, pid);

	if (!p)
		return -ENOMEM;
	p->python += n;
	return add_n(p, name, file, "", n);
}

int funcstats_add(struct funcstats *fs, pid_t pid, const char *name, const char *file,
		  bool in_syscall)
{
	struct proc *p = get_proc(fs, pid);

	if (!p)
		return -ENOMEM;
	if (in_syscall)
		p->syscall++;
	else
		p->python++;
	return add(p, name, file, "");
}

int funcstats_add_wall(struct funcstats *fs, pid_t pid, const char *name, const char *file,
		       unsigned int wall_state, const char *state)
{
	struct proc *p = get_proc(fs, pid);

	if (!p)
		return -ENOMEM;
	if (wall_state < FS_WALL_STATES)
		p->wall[wall_state]++;
	return add(p, name, file, state);
}

static int by_all(const void *a, const void *b)
{
	const struct fn *const *x = a, *const *y = b;

	return (*x)->all < (*y)->all ? 1 : (*x)->all > (*y)->all ? -1 : 0;
}

void funcstats_foreach(struct funcstats *fs, unsigned int top_n,
		       void (*cb)(const struct fs_proc_view *v, void *ctx), void *ctx)
{
	size_t i, j;

	for (i = 0; i < fs->n; i++) {
		struct proc *p = &fs->procs[i];
		struct fs_proc_view v = { .pid = p->pid, .python = p->python, .syscall = p->syscall };
		struct fn **order = calloc(p->nfns + 1, sizeof(*order));
		size_t admitted = 0;

		if (!order)
			continue;
		for (j = 0; j < p->nfns; j++) {
			order[j] = &p->fns[j];
			admitted += p->fns[j].has_series;
		}
		qsort(order, p->nfns, sizeof(*order), by_all);
		for (j = 0; j < p->nfns && admitted < top_n; j++)
			if (!order[j]->has_series && order[j]->all) {
				order[j]->has_series = true; /* counts from now on */
				admitted++;
			}
		free(order);
		free(p->view);
		p->view = calloc(admitted + 1, sizeof(*p->view));
		p->nview = 0;
		for (j = 0; p->view && j < p->nfns; j++)
			if (p->fns[j].has_series)
				p->view[p->nview++] = (struct fs_series){ p->fns[j].name, p->fns[j].file,
									  p->fns[j].state,
									  p->fns[j].admitted };
		v.other = p->other;
		memcpy(v.wall, p->wall, sizeof(v.wall));
		v.series = p->view;
		v.nseries = p->nview;
		cb(&v, ctx);
	}
}

void funcstats_forget(struct funcstats *fs, pid_t pid)
{
	size_t i;

	for (i = 0; i < fs->n; i++)
		if (fs->procs[i].pid == pid) {
			proc_free(&fs->procs[i]);
			fs->procs[i] = fs->procs[--fs->n];
			return;
		}
}

void funcstats_totals(const struct funcstats *fs, pid_t pid, uint64_t *python, uint64_t *syscall)
{
	size_t i;

	*python = *syscall = 0;
	for (i = 0; i < fs->n; i++)
		if (fs->procs[i].pid == pid) {
			*python = fs->procs[i].python;
			*syscall = fs->procs[i].syscall;
			return;
		}
}
