// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "host/rss.h"

struct rss_watch {
	struct rss_series *s;
	size_t n, cap;
	uint64_t dropped;
};

const char *rss_kind_name(int kind)
{
	static const char *n[] = { "anon", "file", "shmem" };

	return kind >= 0 && kind < RSS_KINDS ? n[kind] : "?";
}

int rss_read(pid_t pid, uint64_t out[RSS_KINDS])
{
	static const char *keys[] = { "RssAnon:", "RssFile:", "RssShmem:" };
	char path[64], line[256];
	int seen = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -ESRCH;
	memset(out, 0, RSS_KINDS * sizeof(*out));
	while (fgets(line, sizeof(line), f)) {
		for (int k = 0; k < RSS_KINDS; k++) {
			size_t l = strlen(keys[k]);
			unsigned long long kb;

			if (!strncmp(line, keys[k], l) && sscanf(line + l, "%llu", &kb) == 1) {
				out[k] = kb * 1024;
				seen |= 1 << k;
			}
		}
	}
	fclose(f);
	return seen == (1 << RSS_KINDS) - 1 ? 0 : -EIO;
}

struct rss_watch *rss_watch_new(size_t max_procs)
{
	struct rss_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->cap = max_procs ? max_procs : 1;
	w->s = calloc(w->cap, sizeof(*w->s));
	if (!w->s) {
		free(w);
		return NULL;
	}
	return w;
}

void rss_watch_free(struct rss_watch *w)
{
	if (!w)
		return;
	free(w->s);
	free(w);
}

static struct rss_series *find(const struct rss_watch *w, pid_t pid)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->s[i].pid == pid)
			return &w->s[i];
	return NULL;
}

int rss_watch_sample(struct rss_watch *w, pid_t pid, uint64_t start_ticks, double t)
{
	struct rss_series *s = find(w, pid);
	uint64_t v[RSS_KINDS];
	int err = rss_read(pid, v);

	if (err)
		return err;
	if (s && s->start_ticks != start_ticks) /* a new process under a reused PID */
		memset(s, 0, sizeof(*s));
	if (!s) {
		if (w->n == w->cap) {
			w->dropped++;
			return -ENOSPC;
		}
		s = &w->s[w->n++];
	}
	if (!s->n) {
		s->pid = pid;
		s->start_ticks = start_ticks;
		s->t_first = t;
		memcpy(s->first, v, sizeof(v));
	}
	if (!s->n || rss_total(v) > rss_total(s->peak)) {
		memcpy(s->peak, v, sizeof(v));
		s->t_peak = t;
	}
	s->t_last = t;
	memcpy(s->last, v, sizeof(v));
	s->n++;
	return 0;
}

const struct rss_series *rss_watch_find(const struct rss_watch *w, pid_t pid)
{
	return find(w, pid);
}

uint64_t rss_watch_dropped(const struct rss_watch *w)
{
	return w->dropped;
}
