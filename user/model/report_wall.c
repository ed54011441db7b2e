// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "model/report_wall.h"
#include "wall.h"

struct fn_count {
	const char *name;
	uint64_t n;
};

static struct wall_thread *thread_of(struct wall_summary *w, pid_t tid, const char *name)
{
	for (int i = 0; i < w->nthreads; i++)
		if (w->threads[i].tid == tid)
			return &w->threads[i];
	if (w->nthreads == WALL_MAX_THREADS) {
		struct wall_thread *o = &w->threads[WALL_MAX_THREADS];

		o->tid = 0;
		o->name = "(other threads)";
		return o;
	}
	w->threads[w->nthreads] = (struct wall_thread){ .tid = tid, .name = name };
	return &w->threads[w->nthreads++];
}

int wall_summarise(const struct profile *prof, pid_t pid, struct wall_summary *w)
{
	/* per thread, pseudo-frame names and their counts (a few distinct ones per thread) */
	struct { pid_t tid; const char *leaf; uint64_t n; } *leaves = NULL;
	struct fn_count *fns = NULL;
	size_t nleaves = 0, nfns = 0;
	double hz;

	memset(w, 0, sizeof(*w));
	if (!prof || prof->mode != PH_MODE_WALL)
		return -ENOENT;
	leaves = calloc(prof->nstacks + 1, sizeof(*leaves));
	fns = calloc(prof->nstacks + 1, sizeof(*fns));
	if (!leaves || !fns) {
		free(leaves);
		free(fns);
		return -ENOMEM;
	}
	for (size_t i = 0; i < prof->nstacks; i++) {
		const struct prof_stack *s = &prof->stacks[i];
		const struct prof_frame *leaf;
		struct wall_thread *t;
		size_t k;

		if (s->pid != pid || !s->nframes)
			continue;
		t = thread_of(w, s->tid, s->thread);
		leaf = &s->frames[s->nframes - 1];
		t->total += s->count;
		w->total += s->count;
		if (leaf->file[0] || leaf->name[0] != '[') {
			/* running Python: in a GIL build it holds the GIL */
			t->running += s->count;
			w->running += s->count;
			for (k = 0; k < nfns && fns[k].name != leaf->name; k++)
				;
			if (k == nfns)
				fns[nfns++].name = leaf->name;
			fns[k].n += s->count;
			continue;
		}
		if (!strcmp(leaf->name, "[gil]")) {
			t->gil += s->count;
			w->gil += s->count;
		} else if (!strcmp(leaf->name, "[runnable]")) {
			t->runnable += s->count;
			w->runnable += s->count;
		} else if (!strcmp(leaf->name, "[blocked]")) {
			t->blocked += s->count;
		} else {
			t->syscall += s->count;
			for (k = 0; k < nleaves && (leaves[k].tid != s->tid || leaves[k].leaf != leaf->name);
			     k++)
				;
			if (k == nleaves) {
				leaves[nleaves].tid = s->tid;
				leaves[nleaves++].leaf = leaf->name;
			}
			leaves[k].n += s->count;
			if (leaves[k].n > t->top_syscall_n) {
				t->top_syscall_n = leaves[k].n;
				t->top_syscall = leaf->name;
			}
		}
	}
	for (int i = 0; i <= WALL_MAX_THREADS; i++)
		w->gil_threads += w->threads[i].gil > 0;
	for (size_t k = 0; k < nfns; k++)
		if (fns[k].n > w->holder_fn_n) {
			w->holder_fn_n = fns[k].n;
			w->holder_fn = fns[k].name;
		}
	hz = prof->frequency_hz ? prof->frequency_hz : 99;
	/* waiting for the GIL against running Python (which, in a GIL build, holds it);
	 * [runnable] is the host's CPU shortage, not the GIL's */
	if (w->gil_threads >= 2 && w->gil > w->running &&
	    (double)w->gil / (w->running + w->gil) > WALL_GIL_FINDING_SHARE &&
	    w->gil / hz >= WALL_GIL_FINDING_MIN_S)
		snprintf(w->finding, sizeof(w->finding),
			 "GIL contention: %d threads waited for the GIL %.0f%% of the time they spent "
			 "in Python (%.1f thread-seconds waiting, %.1f running); while they waited, "
			 "the GIL was held running %s (%.0f%% of the running samples). Remedies: move "
			 "the CPU-bound work into processes (multiprocessing, "
			 "concurrent.futures.ProcessPoolExecutor), or into C/NumPy code that releases "
			 "the GIL; --mode gil shows the stacks that hold it.",
			 w->gil_threads, 100.0 * w->gil / (w->running + w->gil), w->gil / hz,
			 w->running / hz, w->holder_fn ? w->holder_fn : "?",
			 w->running ? 100.0 * w->holder_fn_n / w->running : 0.0);
	free(leaves);
	free(fns);
	return w->total ? 0 : -ENOENT;
}

static double pc(uint64_t a, uint64_t b)
{
	return b ? 100.0 * a / b : 0;
}

void wall_print_text(const struct profile *prof, pid_t pid, FILE *f)
{
	struct wall_summary *w = malloc(sizeof(*w));

	if (!w)
		return;
	if (wall_summarise(prof, pid, w)) {
		free(w);
		return;
	}
	fprintf(f, "\n   Wall clock by thread (share of each thread's samples at %u Hz)\n",
		prof->frequency_hz);
	fprintf(f, "   %-32s %8s %8s %7s %9s %8s  %s\n", "THREAD", "SAMPLES", "RUNNING", "[gil]",
		"RUNNABLE", "SYSCALL", "MOSTLY IN");
	for (int i = 0; i <= WALL_MAX_THREADS; i++) {
		const struct wall_thread *t = &w->threads[i];

		if (!t->total)
			continue;
		fprintf(f, "   %-32.32s %8llu %7.1f%% %6.1f%% %8.1f%% %7.1f%%  %s\n", t->name,
			(unsigned long long)t->total, pc(t->running, t->total), pc(t->gil, t->total),
			pc(t->runnable, t->total), pc(t->syscall + t->blocked, t->total),
			t->top_syscall ? t->top_syscall : "");
	}
	if (w->finding[0])
		fprintf(f, "   ! %s\n", w->finding);
	free(w);
}

void wall_print_json(const struct profile *prof, pid_t pid, struct json *j)
{
	struct wall_summary *w = malloc(sizeof(*w));

	if (!w)
		return;
	if (wall_summarise(prof, pid, w)) {
		free(w);
		return;
	}
	json_arr_begin(j, "wall_threads");
	for (int i = 0; i <= WALL_MAX_THREADS; i++) {
		const struct wall_thread *t = &w->threads[i];

		if (!t->total)
			continue;
		json_obj_begin(j, NULL);
		json_u64(j, "tid", t->tid);
		json_str(j, "thread", t->name);
		json_u64(j, "samples", t->total);
		json_u64(j, "running", t->running);
		json_u64(j, "gil", t->gil);
		json_u64(j, "runnable", t->runnable);
		json_u64(j, "syscall", t->syscall);
		json_u64(j, "blocked", t->blocked);
		json_str(j, "top_syscall", t->top_syscall);
		json_obj_end(j);
	}
	json_arr_end(j);
	free(w);
}

void wall_print_findings_json(const struct profile *prof, pid_t pid, struct json *j)
{
	struct wall_summary *w = malloc(sizeof(*w));

	if (!w)
		return;
	if (!wall_summarise(prof, pid, w) && w->finding[0]) {
		json_obj_begin(j, NULL);
		json_str(j, "kind", "gil-contention");
		json_u64(j, "threads", w->gil_threads);
		json_double(j, "gil_share", (double)w->gil / (w->running + w->gil));
		json_str(j, "holder_function", w->holder_fn);
		json_str(j, "message", w->finding);
		json_obj_end(j);
	}
	free(w);
}
