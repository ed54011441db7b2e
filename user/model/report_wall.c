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

/* CPU-bound on one core: the process wanted about one CPU all along, the host had more idle */
static void onecore(const struct wall_env *env, double hz, struct wall_summary *w)
{
	uint64_t longest = 0, want = 0, top = 0;
	int busy = 0;

	for (int i = 0; i <= WALL_MAX_THREADS; i++) {
		const struct wall_thread *t = &w->threads[i];
		uint64_t c = t->running + t->runnable;

		if (t->total > longest)
			longest = t->total;
		want += c;
		if (c > top) {
			top = c;
			w->top_thread = t->name;
		}
		busy += t->total && (t->running + t->runnable + t->gil) * 2 > t->total;
	}
	w->observed_s = longest / hz;
	if (!longest)
		return;
	w->cores = (double)want / longest;
	w->top_thread_cores = (double)top / longest;
	if (!env || env->ncpus < 2 || env->idle_cpus < WALL_ONECORE_IDLE ||
	    w->observed_s < WALL_ONECORE_MIN_S || w->cores < WALL_ONECORE_MIN ||
	    w->cores > WALL_ONECORE_MAX)
		return;
	if (busy <= 1)
		snprintf(w->onecore, sizeof(w->onecore),
			 "CPU-bound on one core: %s wanted a CPU %.0f%% of %.1f s (on a CPU or "
			 "waiting for one) while the host had %.1f of its %d CPUs idle on average: "
			 "the process can use one core only. Remedies: split the work across "
			 "processes (multiprocessing, concurrent.futures.ProcessPoolExecutor), move "
			 "the hot loop into native code that releases the GIL (NumPy, a C extension) "
			 "and run it on threads, or a free-threaded CPython (3.13t+).",
			 w->top_thread ? w->top_thread : "one thread", 100 * w->top_thread_cores,
			 w->observed_s, env->idle_cpus, env->ncpus);
	else
		snprintf(w->onecore, sizeof(w->onecore),
			 "CPU-bound on one core: %d threads wanted the CPU and the GIL, and ran one at "
			 "a time: %.2f CPUs in all over %.1f s (%.1f thread-seconds waiting for the "
			 "GIL) while the host had %.1f of its %d CPUs idle on average. Remedies: "
			 "split the work across processes (multiprocessing, "
			 "concurrent.futures.ProcessPoolExecutor), native code that releases the GIL "
			 "(NumPy, a C extension), or a free-threaded CPython (3.13t+).",
			 busy, w->cores, w->observed_s, w->gil / hz, env->idle_cpus, env->ncpus);
}

static void loop_finding(const struct wall_env *env, pid_t pid, struct wall_summary *w)
{
	const struct loopblock_result *r = &w->loop;

	w->has_loop = env && loopblock_get(env->loop, pid, &w->loop);
	if (!w->has_loop || !r->blocks)
		return;
	snprintf(w->loopblock, sizeof(w->loopblock),
		 "Blocked event loop: thread %d's asyncio loop did not get back to its selector "
		 "for at least %.0f ms: %s blocked it (%llu sample%s in one step of %s; %llu such "
		 "block%s, %.2f s in all, each at least %.0f ms, measured from the first to the last "
		 "sample). The stack: %s. Remedies: await the I/O with an async library (e.g. "
		 "asyncio.sleep, asyncio streams, aiohttp, asyncpg), or run the blocking call in a "
		 "thread: await loop.run_in_executor(None, f) or asyncio.to_thread(f).",
		 (int)r->tid, r->longest_s * 1e3, r->blocker, (unsigned long long)r->longest_samples,
		 r->longest_samples == 1 ? "" : "s", r->handler, (unsigned long long)r->blocks,
		 r->blocks == 1 ? "" : "s", r->total_s, LOOP_BLOCK_MIN_S * 1e3, r->stack);
}

int wall_summarise(const struct profile *prof, pid_t pid, const struct wall_env *env,
		   struct wall_summary *w)
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
	onecore(env, hz, w);
	loop_finding(env, pid, w);
	free(leaves);
	free(fns);
	return w->total ? 0 : -ENOENT;
}

static double pc(uint64_t a, uint64_t b)
{
	return b ? 100.0 * a / b : 0;
}

void wall_print_text(const struct profile *prof, pid_t pid, const struct wall_env *env, FILE *f)
{
	struct wall_summary *w = malloc(sizeof(*w));

	if (!w)
		return;
	if (wall_summarise(prof, pid, env, w)) {
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
	if (w->onecore[0])
		fprintf(f, "   ! %s\n", w->onecore);
	if (w->loopblock[0])
		fprintf(f, "   ! %s\n", w->loopblock);
	free(w);
}

void wall_print_json(const struct profile *prof, pid_t pid, const struct wall_env *env,
		     struct json *j)
{
	struct wall_summary *w = malloc(sizeof(*w));

	if (!w)
		return;
	if (wall_summarise(prof, pid, env, w)) {
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
	json_obj_begin(j, "wall");
	json_double(j, "observed_s", w->observed_s);
	json_double(j, "cpus_wanted", w->cores);
	if (env && env->idle_cpus >= 0) {
		json_double(j, "host_idle_cpus", env->idle_cpus);
		json_u64(j, "host_cpus", env->ncpus);
	}
	if (w->has_loop) {
		json_u64(j, "loop_samples", w->loop.loop_samples);
		json_u64(j, "loop_blocks", w->loop.blocks);
		json_double(j, "loop_longest_block_s", w->loop.longest_s);
	}
	json_obj_end(j);
	free(w);
}

void wall_print_findings_json(const struct profile *prof, pid_t pid, const struct wall_env *env,
			      struct json *j)
{
	struct wall_summary *w = malloc(sizeof(*w));

	if (!w)
		return;
	if (wall_summarise(prof, pid, env, w)) {
		free(w);
		return;
	}
	if (w->onecore[0]) {
		json_obj_begin(j, NULL);
		json_str(j, "kind", "cpu-bound-one-core");
		json_double(j, "cpus_wanted", w->cores);
		json_double(j, "top_thread_cpus", w->top_thread_cores);
		json_str(j, "top_thread", w->top_thread);
		json_double(j, "host_idle_cpus", env->idle_cpus);
		json_u64(j, "host_cpus", env->ncpus);
		json_double(j, "observed_s", w->observed_s);
		json_str(j, "message", w->onecore);
		json_obj_end(j);
	}
	if (w->loopblock[0]) {
		json_obj_begin(j, NULL);
		json_str(j, "kind", "blocked-event-loop");
		json_u64(j, "tid", w->loop.tid);
		json_u64(j, "blocks", w->loop.blocks);
		json_double(j, "longest_s", w->loop.longest_s);
		json_double(j, "total_s", w->loop.total_s);
		json_str(j, "handler", w->loop.handler);
		json_str(j, "blocking_function", w->loop.blocker);
		json_str(j, "stack", w->loop.stack);
		json_str(j, "message", w->loopblock);
		json_obj_end(j);
	}
	if (w->finding[0]) {
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
