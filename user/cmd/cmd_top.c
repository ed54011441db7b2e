// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pyhound top: a live view of where every CPython process spends its CPU (or, with --mode
 * memory, which Python stacks make its resident memory grow). */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "lib/log.h"
#include "collect/profiler.h"
#include "host/rss.h"
#include "host/tracker.h"
#include "wall.h"

#define MAX_PIDS 64
#define MAX_ROWS 256

enum sort_by { SORT_CPU, SORT_PID };

struct top_state {
	bool tty;
	enum sort_by sort;
	bool by_total;	/* functions ordered by total rather than self */
	pid_t focus;	/* 0: all processes */
	int nfuncs;	/* functions shown per process */
	double interval;
	int rows, cols;
};

struct row {
	pid_t pid;
	char comm[16];
	uint64_t samples; /* memory mode: bytes of resident growth sampled in the interval */
	uint64_t rss;	  /* memory mode: anon + shmem resident bytes now */
	int threads;
	bool exited;
};

/* memory mode: growth samples (bytes per stack) of the current interval */
struct top_mem {
	struct profile *cur;
	uint64_t dropped; /* samples the profile could not hold (its bounds) */
};

static void on_growth(void *ctx, pid_t pid, const struct prof_frame *frames, uint32_t n,
		      uint64_t bytes)
{
	struct top_mem *tm = ctx;

	if (!tm->cur || profile_add(tm->cur, pid, pid, NULL, "", frames, n, false, false, bytes))
		tm->dropped++;
}

static struct profile *mem_interval(double interval)
{
	struct profile *p = profile_new(interval, 0);

	if (p) {
		profile_set_max_stacks(p, 1u << 16);
		p->mode = PH_MODE_MEMORY;
	}
	return p;
}

static void top_usage(FILE *f)
{
	fprintf(f,
		"Usage: pyhound top [--interval S] [--duration S] [--frequency HZ] [--mode M]\n"
		"                  [--pid P ...]\n\n"
		"A live view of every CPython process on this host, refreshed every interval:\n"
		"PID, command, threads, CPU%% (from stack samples while on CPU; with --mode wall,\n"
		"WALL%%: threads sampled, 100%% a thread; --mode gil, GIL%%: time the GIL is held)\n"
		"and its top Python functions by self and total samples over the last interval.\n"
		"With --mode memory: GROW MiB/s, the anonymous memory the process's threads made\n"
		"resident over the last interval (sampled about once per 256 KiB, as record --mode\n"
		"memory does; releases are not subtracted), RSS MiB (anon + shmem now), and the\n"
		"functions whose stacks made it, by self and total share of those bytes.\n\n"
		"Keys (on a terminal): c sort processes by CPU, p by PID; s order functions by\n"
		"self, t by total; f focus the next process (more of its functions), a all\n"
		"processes; q quit. When stdout is not a terminal, plain text is printed every\n"
		"interval instead.\n\n"
		"Options:\n"
		"  -i, --interval S       refresh every S seconds (default 1)\n"
		"  -d, --duration S       stop after S seconds (default: until q or Ctrl-C)\n"
		"  -F, --frequency HZ     samples per second per CPU (default 99)\n"
		"  -m, --mode M           cpu (default), wall (every thread, running or not;\n"
		"                         off-CPU leaves [gil], [syscall:NAME], [runnable]) or gil\n"
		"                         (only the thread holding the GIL) or memory (resident\n"
		"                         growth per stack)\n"
		"  -p, --pid P[,P...]     only these processes\n"
		"  -h, --help             this text\n\n"
		"Example:\n  sudo pyhound top\n");
}

static int read_threads(pid_t pid)
{
	char f[64], line[128];
	int n = 0;
	FILE *fp;

	snprintf(f, sizeof(f), "/proc/%d/status", (int)pid);
	fp = fopen(f, "re");
	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(fp);
	return n;
}

struct rows_ctx {
	struct row *rows;
	int n;
	const struct profile *prof;
};

static void add_row(const struct tracked_proc *tp, void *ctx)
{
	struct rows_ctx *rc = ctx;
	struct row *r;
	int i;

	for (i = 0; i < rc->n; i++)
		if (rc->rows[i].pid == tp->info.pid) {
			rc->rows[i].exited = tp->exited;
			return;
		}
	if (rc->n >= MAX_ROWS || (tp->exited && !profile_samples(rc->prof, tp->info.pid)))
		return;
	r = &rc->rows[rc->n++];
	r->pid = tp->info.pid;
	snprintf(r->comm, sizeof(r->comm), "%s", tp->info.comm);
	r->samples = profile_samples(rc->prof, tp->info.pid);
	r->threads = tp->exited ? 0 : read_threads(tp->info.pid);
	r->exited = tp->exited;
	r->rss = 0;
	if (rc->prof->mode == PH_MODE_MEMORY && !tp->exited) {
		uint64_t v[RSS_KINDS];

		if (!rss_read(tp->info.pid, v))
			r->rss = v[RSS_ANON] + v[RSS_SHMEM];
	}
}

static int cmp_cpu(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->samples != y->samples)
		return x->samples < y->samples ? 1 : -1;
	return x->pid - y->pid;
}

static int cmp_pid(const void *a, const void *b)
{
	return ((const struct row *)a)->pid - ((const struct row *)b)->pid;
}

static int cmp_total(const void *a, const void *b)
{
	const struct prof_func_stat *x = a, *y = b;

	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return x->self < y->self ? 1 : x->self > y->self ? -1 : 0;
}

static void draw(struct top_state *st, struct tracker *t, const struct profile *prof,
		 unsigned int freq)
{
	struct row rows[MAX_ROWS];
	struct rows_ctx rc = { rows, 0, prof };
	double per_cpu = freq * st->interval;
	int i, lines = 0, maxlines = st->tty ? st->rows - 1 : 1 << 30;
	FILE *f = stdout;

	bool mem = prof->mode == PH_MODE_MEMORY;

	tracker_foreach(t, add_row, &rc);
	qsort(rows, rc.n, sizeof(rows[0]), st->sort == SORT_CPU ? cmp_cpu : cmp_pid);
	if (st->tty)
		fputs("\033[H\033[2J", f);
	if (mem)
		fprintf(f, "pyhound top - %d CPython process%s, %.1f MiB of resident growth sampled "
			   "over %.1f s; sort: %s, functions by %s%s\n", rc.n, rc.n == 1 ? "" : "es",
			prof->total_samples / 1048576.0, st->interval,
			st->sort == SORT_CPU ? "growth" : "pid", st->by_total ? "total" : "self",
			st->focus ? " (focused: a for all)" : "");
	else
		fprintf(f, "pyhound top - %d CPython process%s, %llu sample%s at %u Hz over %.1f s; "
			   "sort: %s, functions by %s%s\n", rc.n, rc.n == 1 ? "" : "es",
			(unsigned long long)prof->total_samples,
			prof->total_samples == 1 ? "" : "s", freq, st->interval,
			st->sort == SORT_CPU ? "cpu" : "pid", st->by_total ? "total" : "self",
			st->focus ? " (focused: a for all)" : "");
	lines++;
	/* samples per (rate x interval): CPUs busy; threads (wall); share of time the GIL is held;
	 * memory: growth bytes per second and resident MiB now */
	if (mem)
		fprintf(f, "%8s %-15s %4s %6s %7s  %6s %6s  %s\n", "PID", "COMMAND", "THR", "GROW/s",
			"RSS", "SELF%", "TOTAL%", "FUNCTION (FILE:LINE)");
	else
		fprintf(f, "%8s %-15s %4s %6s  %6s %6s  %s\n", "PID", "COMMAND", "THR",
			prof->mode == PH_MODE_WALL ? "WALL%" :
			prof->mode == PH_MODE_GIL ? "GIL%" : "CPU%",
			"SELF%", "TOTAL%", "FUNCTION (FILE:LINE)");
	lines++;
	for (i = 0; i < rc.n && lines < maxlines; i++) {
		struct prof_func_stat *fs = NULL;
		const struct row *r = &rows[i];
		ssize_t n, k;
		int want = st->focus ? st->rows - 4 : st->nfuncs;

		if (st->focus && r->pid != st->focus)
			continue;
		if (mem)
			fprintf(f, "%8d %-15s %4d %5.1fM %6.1fM%s\n", (int)r->pid, r->comm,
				r->threads, r->samples / 1048576.0 / st->interval,
				r->rss / 1048576.0, r->exited ? "  (exited)" : "");
		else
			fprintf(f, "%8d %-15s %4d %5.1f%%%s\n", (int)r->pid, r->comm, r->threads,
				per_cpu > 0 ? 100.0 * r->samples / per_cpu : 0.0,
				r->exited ? "  (exited)" : "");
		lines++;
		if (!r->samples)
			continue;
		n = profile_top_functions(prof, r->pid, 0, &fs);
		if (n > 0 && st->by_total)
			qsort(fs, n, sizeof(*fs), cmp_total);
		for (k = 0; k < n && k < want && lines < maxlines; k++) {
			const char *file = strrchr(fs[k].file, '/');

			/* memory mode: one column more (RSS) */
			fprintf(f, "%8s %-15s %4s %6s %*s %5.1f%% %5.1f%%  %s", "", "", "", "",
				mem ? 8 : 0, "", 100.0 * fs[k].self / r->samples,
				100.0 * fs[k].total / r->samples, fs[k].name);
			/* no file: a pseudo-frame ([gil], [syscall:NAME], [no Python frame]) */
			if (fs[k].file[0])
				fprintf(f, " (%s:%d)", file ? file + 1 : fs[k].file, fs[k].first_line);
			fputc('\n', f);
			lines++;
		}
		free(fs);
	}
	if (!st->tty)
		fputc('\n', f);
	fflush(f);
}

static void handle_key(struct top_state *st, int ch, struct tracker *t, const struct profile *prof)
{
	struct row rows[MAX_ROWS];
	struct rows_ctx rc = { rows, 0, prof };
	int i;

	switch (ch) {
	case 'q': exiting = 1; break;
	case 'c': st->sort = SORT_CPU; break;
	case 'p': st->sort = SORT_PID; break;
	case 's': st->by_total = false; break;
	case 't': st->by_total = true; break;
	case 'a': st->focus = 0; break;
	case 'f':
		tracker_foreach(t, add_row, &rc);
		qsort(rows, rc.n, sizeof(rows[0]), st->sort == SORT_CPU ? cmp_cpu : cmp_pid);
		for (i = 0; i < rc.n && st->focus && rows[i].pid != st->focus; i++)
			;
		st->focus = rc.n ? rows[(i + (st->focus ? 1 : 0)) % rc.n].pid : 0;
		break;
	}
}

int cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "frequency", required_argument, NULL, 'F' },
		{ "mode", required_argument, NULL, 'm' },
		{ "pid", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{},
	};
	struct top_state st = { .interval = 1, .nfuncs = 3, .rows = 24, .cols = 80 };
	struct tracker_opts topts = { .max_procs = 4096 };
	struct termios old_tio, tio;
	struct profiler *pr = NULL;
	struct tracker *t = NULL;
	struct profile *last = NULL;
	struct top_mem tm = {};
	pid_t pids[MAX_PIDS];
	int npids = 0, c, ret = 1;
	double duration = 0;
	unsigned long freq = 99;
	int mode = PH_MODE_CPU;
	uint64_t start, next;
	bool raw = false;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:i:d:F:p:m:hv", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (parse_seconds(optarg, "interval", 0.2, 3600, &st.interval))
				return usage_error("top", "bad --interval");
			break;
		case 'd':
			if (parse_seconds(optarg, "duration", 0.1, 86400 * 365, &duration))
				return usage_error("top", "bad --duration");
			break;
		case 'F':
			if (parse_uint(optarg, "--frequency", 1, 10000, &freq))
				return usage_error("top", "bad --frequency");
			break;
		case 'm':
			if (!strcmp(optarg, "memory"))
				mode = PH_MODE_MEMORY;
			else if (parse_mode(optarg, &mode))
				return usage_error("top", "bad --mode");
			break;
		case 'p':
			if (parse_pids(optarg, pids, &npids, MAX_PIDS))
				return usage_error("top", "bad --pid");
			break;
		case 'v': log_set_verbosity(log_verbosity + 1); break;
		case 'h': top_usage(stdout); return 0;
		case ':': return usage_error("top", "option '%s' needs a value", argv[optind - 1]);
		default: return usage_error("top", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("top", "unexpected argument '%s'", argv[optind]);
	if (bpf_prepare())
		return 1;
	st.tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	if (st.tty) {
		struct winsize ws;

		if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row > 4) {
			st.rows = ws.ws_row;
			st.cols = ws.ws_col;
		}
	}
	topts.follow = npids == 0;
	topts.pids = pids;
	topts.npids = npids;
	if (tracker_open(&topts, &t) || profiler_open(t, freq, mode, &pr))
		goto out;
	if (mode == PH_MODE_MEMORY) {
		tm.cur = mem_interval(st.interval);
		if (!tm.cur)
			goto out;
		profiler_set_mem_sink(pr, on_growth, &tm);
	}
	install_signal_handlers();
	if (tracker_start(t) || profiler_attach(pr))
		goto out;
	if (st.tty && !tcgetattr(STDIN_FILENO, &old_tio)) {
		tio = old_tio;
		tio.c_lflag &= ~(ICANON | ECHO);
		tio.c_cc[VMIN] = 0;
		tio.c_cc[VTIME] = 0;
		raw = !tcsetattr(STDIN_FILENO, TCSANOW, &tio);
	}
	start = now_ns();
	next = start + (uint64_t)(st.interval * 1e9);
	while (!exiting) {
		uint64_t now = now_ns();

		if (duration > 0 && now - start >= (uint64_t)(duration * 1e9))
			break;
		if (tracker_poll(t, 0) < 0 || profiler_poll(pr, 50) < 0)
			break;
		if (raw) {
			struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
			char ch;

			if (poll(&pfd, 1, 0) > 0 && read(STDIN_FILENO, &ch, 1) == 1) {
				handle_key(&st, ch, t, last ? last : tm.cur ? tm.cur : profiler_profile(pr));
				if (last)
					draw(&st, t, last, freq);
			}
		}
		if (now_ns() >= next) {
			profile_free(last);
			if (mode == PH_MODE_MEMORY) {
				last = tm.cur;
				tm.cur = mem_interval(st.interval);
			} else {
				last = profiler_restart(pr);
			}
			if (!last)
				break;
			draw(&st, t, last, freq);
			next += (uint64_t)(st.interval * 1e9);
		}
	}
	ret = 0;
	if (tm.dropped)
		pr_warn("top: %llu growth samples not shown (the interval's stack table is full)",
			(unsigned long long)tm.dropped);
out:
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &old_tio);
	profile_free(last);
	profiler_free(pr);
	tracker_free(t);
	profile_free(tm.cur); /* the sink's: after the profiler */
	return ret;
}
