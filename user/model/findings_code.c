// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cpython/opcodes.h"
#include "model/findings_code.h"

static const char *short_file(const char *f)
{
	const char *s = strrchr(f, '/');

	return s ? s + 1 : f;
}

int line_ops(const struct profile *p, pid_t pid, const char *name, const char *file,
	     int first_line, int line, struct line_op *out, int max, uint64_t *total)
{
	struct prof_line_op *lo = NULL;
	ssize_t n = profile_line_ops(p, pid, &lo);
	int k = 0;

	*total = 0;
	if (n < 0)
		return (int)n;
	for (ssize_t i = 0; i < n; i++) {
		const struct prof_line_op *e = &lo[i];
		int j;

		if (e->line != line || e->first_line != first_line || strcmp(e->name, name) ||
		    strcmp(e->file, file))
			continue;
		*total += e->count;
		for (j = 0; j < k && strcmp(out[j].op, e->op); j++)
			;
		if (j == k) {
			if (k == max) {
				/* keep the most frequent: replace the smallest if this is larger */
				int m = 0;

				for (int q = 1; q < k; q++)
					if (out[q].count < out[m].count)
						m = q;
				if (!k || out[m].count >= e->count)
					continue;
				j = m;
			} else {
				k++;
			}
			out[j] = (struct line_op){ e->op, 0, 0 };
		}
		out[j].count += e->count;
		if (e->loop_depth > out[j].loop_depth)
			out[j].loop_depth = e->loop_depth;
	}
	free(lo);
	for (int a = 1; a < k; a++) /* most first */
		for (int b = a; b > 0 && out[b].count > out[b - 1].count; b--) {
			struct line_op t = out[b];

			out[b] = out[b - 1];
			out[b - 1] = t;
		}
	return k;
}

/* one (function, line) of the process, summed over instructions */
struct line_sum {
	const char *name, *file;
	int first_line, line;
	uint64_t total, membership, strcat, cmp, arith, arith_mul, arith_typed;
	uint64_t by_depth[3]; /* samples at loop depth 0, 1, >= 2 */
	const char *top_member, *top_strcat;
	uint64_t top_member_n, top_strcat_n;
};

static bool set_dict_specialised(const char *op)
{
	return !strcmp(op, "CONTAINS_OP_SET") || !strcmp(op, "CONTAINS_OP_DICT");
}

static bool arith_not_add(const char *op)
{
	/* on 3.8-3.10 an add may be str/list concatenation: count the other operators */
	return py_op_is_arith(op) && !strstr(op, "ADD") && !strstr(op, "+");
}

static ssize_t sum_lines(const struct profile *p, pid_t pid, struct line_sum **out,
			 uint64_t *samples)
{
	struct prof_line_op *lo = NULL;
	ssize_t n = profile_line_ops(p, pid, &lo);
	struct line_sum *v;
	size_t k = 0;

	*samples = 0;
	if (n < 0)
		return n;
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		free(lo);
		return -ENOMEM;
	}
	/* lo is sorted by function then line: one run per line */
	for (ssize_t i = 0; i < n; i++) {
		const struct prof_line_op *e = &lo[i];
		struct line_sum *s = k ? &v[k - 1] : NULL;
		uint64_t c = e->count;

		*samples += c;
		if (!s || s->line != e->line || s->first_line != e->first_line ||
		    s->name != e->name || s->file != e->file) {
			s = &v[k++];
			s->name = e->name;
			s->file = e->file;
			s->first_line = e->first_line;
			s->line = e->line;
		}
		s->total += c;
		s->by_depth[e->loop_depth >= 2 ? 2 : e->loop_depth > 0 ? 1 : 0] += c;
		if (py_op_is_membership(e->op) && !set_dict_specialised(e->op)) {
			s->membership += c;
			if (c > s->top_member_n) {
				s->top_member = e->op;
				s->top_member_n = c;
			}
		}
		if (py_op_is_str_concat(e->op)) {
			s->strcat += c;
			if (c > s->top_strcat_n) {
				s->top_strcat = e->op;
				s->top_strcat_n = c;
			}
		}
		if (py_op_is_comparison(e->op))
			s->cmp += c;
		if (py_op_is_arith(e->op))
			s->arith += c;
		if (arith_not_add(e->op))
			s->arith_mul += c;
		if (py_op_is_arith(e->op) && (strstr(e->op, "_INT") || strstr(e->op, "_FLOAT")))
			s->arith_typed += c;
	}
	free(lo);
	*out = v;
	return k;
}

static struct code_finding *add(struct code_finding *out, int *n, int max, const char *kind,
				const struct line_sum *s, uint64_t samples, uint64_t evidence)
{
	struct code_finding *f;

	if (*n >= max)
		return NULL;
	f = &out[(*n)++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->name = s->name;
	f->file = s->file;
	f->first_line = s->first_line;
	f->line = s->line;
	f->samples = samples;
	f->evidence = evidence;
	f->share = samples ? (double)evidence / samples : 0;
	return f;
}

static int depth_of(const struct line_sum *s)
{
	return s->by_depth[2] ? 2 : s->by_depth[1] ? 1 : 0;
}

static const char *loop_words(int depth)
{
	return depth >= 2 ? ", inside nested loops" : depth == 1 ? ", inside a loop" : "";
}

/* per-function sums over its lines */
struct func_sum {
	const struct line_sum *first; /* its first line in the sorted array */
	size_t nlines;
	uint64_t total, in_loop, deep, deep_cmp, loop_arith, loop_arith_mul, loop_arith_typed;
	uint64_t strcat, depth0;
	const struct line_sum *best_deep; /* depth >= 2 line with most comparisons */
	const struct line_sum *best_arith;
};

static void sum_func(const struct line_sum *l, size_t n, struct func_sum *f)
{
	memset(f, 0, sizeof(*f));
	f->first = l;
	f->nlines = n;
	for (size_t i = 0; i < n; i++) {
		const struct line_sum *s = &l[i];
		uint64_t in_loop = s->by_depth[1] + s->by_depth[2];

		f->total += s->total;
		f->in_loop += in_loop;
		f->deep += s->by_depth[2];
		f->depth0 += s->by_depth[0];
		f->strcat += s->strcat;
		if (s->by_depth[2]) {
			/* a line's comparisons count towards the nest when the line is in it */
			uint64_t c = s->cmp * s->by_depth[2] / s->total;

			f->deep_cmp += c;
			if (!f->best_deep || c > f->best_deep->cmp * f->best_deep->by_depth[2] /
							 f->best_deep->total)
				f->best_deep = s;
		}
		if (in_loop) {
			f->loop_arith += s->arith * in_loop / s->total;
			f->loop_arith_mul += s->arith_mul * in_loop / s->total;
			f->loop_arith_typed += s->arith_typed * in_loop / s->total;
			if (s->arith && (!f->best_arith || s->arith > f->best_arith->arith))
				f->best_arith = s;
		}
	}
}

static uint64_t func_total(const struct line_sum *v, size_t n, const struct line_sum *s)
{
	uint64_t t = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i].name == s->name && v[i].file == s->file && v[i].first_line == s->first_line)
			t += v[i].total;
	return t;
}

static void line_findings(const struct line_sum *v, size_t n, uint64_t samples,
			  struct code_finding *out, int *nf, int max)
{
	for (size_t i = 0; i < n; i++) {
		const struct line_sum *s = &v[i];
		struct code_finding *f;
		double share = (double)s->total / samples;

		if (share < CODE_MIN_SHARE)
			continue;
		if (s->membership >= CODE_MEMBERSHIP_OP_SHARE * s->total &&
		    s->membership >= CODE_MEMBERSHIP_FUNC_SHARE * func_total(v, n, s) &&
		    (f = add(out, nf, max, "linear-membership", s, samples, s->total))) {
			f->op = s->top_member;
			f->op_share = (double)s->membership / s->total;
			f->loop_depth = depth_of(s);
			snprintf(f->text, sizeof(f->text),
				 "linear membership test in %s (%s:%d): %.0f%% of that line's %llu "
				 "samples sat on %s (a membership test not specialised for a set or "
				 "dict)%s, %.0f%% of the function's own samples: the test costs many "
				 "times the rest of the code around it, as a scan does. The line holds "
				 "%.0f%% of the process's on-CPU Python samples. "
				 "`x in seq` on a list or tuple compares element by element. Use a set "
				 "or dict for lookups: build it once (lookup = set(items)) and test "
				 "`x in lookup`.",
				 s->name, short_file(s->file), s->line, 100.0 * f->op_share,
				 (unsigned long long)s->total, s->top_member,
				 loop_words(f->loop_depth), 100.0 * s->membership / func_total(v, n, s),
				 100.0 * share);
		}
		if (s->strcat >= CODE_STRCAT_OP_SHARE * s->total &&
		    (f = add(out, nf, max, "string-concat", s, samples, s->total))) {
			f->op = s->top_strcat;
			f->op_share = (double)s->strcat / s->total;
			f->loop_depth = depth_of(s);
			snprintf(f->text, sizeof(f->text),
				 "string building by += in %s (%s:%d): %.0f%% of that line's %llu "
				 "samples sat on %s (str concatenation)%s; the line holds %.0f%% of the "
				 "process's on-CPU Python samples. Each += copies the string built so "
				 "far. Collect the pieces in a list and ''.join() them once, or write "
				 "them to an io.StringIO.",
				 s->name, short_file(s->file), s->line, 100.0 * f->op_share,
				 (unsigned long long)s->total, s->top_strcat,
				 loop_words(f->loop_depth), 100.0 * share);
		}
	}
}

static void func_findings(const struct line_sum *v, size_t n, uint64_t samples,
			  struct code_finding *out, int *nf, int max)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;
		struct func_sum fs;
		struct code_finding *f;

		while (j < n && v[j].name == v[i].name && v[j].file == v[i].file &&
		       v[j].first_line == v[i].first_line)
			j++;
		sum_func(&v[i], j - i, &fs);
		i = j;
		if (fs.deep >= CODE_MIN_SHARE * samples && fs.best_deep &&
		    fs.deep_cmp >= CODE_NESTED_CMP_SHARE * fs.deep &&
		    (f = add(out, nf, max, "nested-loop", fs.best_deep, samples, fs.deep))) {
			f->loop_depth = 2;
			f->op_share = (double)fs.deep_cmp / fs.deep;
			f->op = "comparisons";
			snprintf(f->text, sizeof(f->text),
				 "nested loops in %s (%s:%d): %.0f%% of the process's on-CPU Python "
				 "samples (%llu) ran inside a loop nested in another loop of this "
				 "function, %.0f%% of them on comparisons (COMPARE_OP/CONTAINS_OP/IS_OP): "
				 "matching each item against every item is quadratic. Make one pass "
				 "that builds a dict, set or collections.Counter (an index by key), then "
				 "look each item up in it.",
				 fs.best_deep->name, short_file(fs.best_deep->file),
				 fs.best_deep->line, 100.0 * fs.deep / samples,
				 (unsigned long long)fs.deep, 100.0 * f->op_share);
		}
		/* numbers: arithmetic dominant in the loop, no str concatenation, and on
		 * versions without typed opcodes something besides + (which may join strings) */
		if (fs.in_loop >= CODE_MIN_SHARE * samples && fs.best_arith && !fs.strcat &&
		    fs.loop_arith >= CODE_ARITH_SHARE * fs.in_loop &&
		    (fs.loop_arith_typed * 2 >= fs.loop_arith || fs.loop_arith_mul * 10 >= fs.in_loop) &&
		    (f = add(out, nf, max, "numeric-loop", fs.best_arith, samples, fs.in_loop))) {
			f->loop_depth = depth_of(fs.best_arith);
			f->op = "arithmetic";
			f->op_share = (double)fs.loop_arith / fs.in_loop;
			snprintf(f->text, sizeof(f->text),
				 "pure-Python numeric loop in %s (%s:%d): %.0f%% of the process's "
				 "on-CPU Python samples (%llu) ran in this function's loops, %.0f%% of "
				 "them on arithmetic opcodes; the interpreter pays per operation and "
				 "per boxed number. Vectorise with NumPy (e.g. (a * b).sum()), use "
				 "builtins such as sum()/math.fsum() over generators, or compile the "
				 "loop (Cython, Numba).",
				 fs.best_arith->name, short_file(fs.best_arith->file),
				 fs.best_arith->line, 100.0 * fs.in_loop / samples,
				 (unsigned long long)fs.in_loop, 100.0 * f->op_share);
		}
	}
}

/* ---- deep self-recursion, from the stacks ---- */

struct rec {
	const char *name, *file;
	int first_line;
	uint64_t samples;     /* samples with the function >= 2 deep through direct self-calls */
	uint64_t hist[129];   /* samples by its depth (capped) */
	int call_line;	      /* the line it calls itself from, most samples */
	uint64_t call_line_n;
};

static int median_depth(const struct rec *r)
{
	uint64_t half = (r->samples + 1) / 2, acc = 0;

	for (int d = 0; d < 129; d++) {
		acc += r->hist[d];
		if (acc >= half)
			return d;
	}
	return 128;
}

static void recursion_findings(const struct profile *p, pid_t pid, uint64_t samples,
			       const struct line_sum *v, size_t nv, struct code_finding *out,
			       int *nf, int max)
{
	struct rec *recs = NULL;
	size_t nr = 0, cap = 0;
	uint64_t total = profile_samples(p, pid);

	for (size_t i = 0; i < p->nstacks; i++) {
		const struct prof_stack *s = &p->stacks[i];

		if (s->pid != pid || s->nframes < 2)
			continue;
		/* the deepest run of direct self-calls in this stack */
		for (uint32_t j = 0; j + 1 < s->nframes; j++) {
			const struct prof_frame *a = &s->frames[j];
			uint32_t k = j + 1, depth;
			size_t r;

			if (s->frames[k].name != a->name || s->frames[k].file != a->file ||
			    s->frames[k].first_line != a->first_line)
				continue;
			for (r = 0; r < nr && !(recs[r].name == a->name && recs[r].file == a->file &&
						recs[r].first_line == a->first_line); r++)
				;
			/* count every frame of this function in the stack */
			depth = 0;
			for (k = 0; k < s->nframes; k++)
				if (s->frames[k].name == a->name && s->frames[k].file == a->file &&
				    s->frames[k].first_line == a->first_line)
					depth++;
			if (r == nr) {
				if (nr == cap) {
					size_t nc = cap ? cap * 2 : 8;
					struct rec *n2 = realloc(recs, nc * sizeof(*n2));

					if (!n2)
						goto out;
					recs = n2;
					cap = nc;
				}
				memset(&recs[nr], 0, sizeof(recs[nr]));
				recs[nr].name = a->name;
				recs[nr].file = a->file;
				recs[nr].first_line = a->first_line;
				nr++;
			}
			recs[r].samples += s->count;
			recs[r].hist[depth > 128 ? 128 : depth] += s->count;
			if (a->line && s->count > recs[r].call_line_n) {
				recs[r].call_line = a->line;
				recs[r].call_line_n = s->count;
			}
			break; /* one function per stack: the outermost recursion */
		}
	}
	for (size_t r = 0; r < nr; r++) {
		struct rec *rc = &recs[r];
		int med = median_depth(rc);
		uint64_t self = 0, self0 = 0;
		struct line_sum ls = { 0 };
		struct code_finding *f;

		if (!total || rc->samples < CODE_RECURSION_SHARE * total ||
		    med < CODE_RECURSION_DEPTH)
			continue;
		/* its own time: call overhead, not loops (a loop per call does real work each
		 * level, as a merge sort does) */
		for (size_t i = 0; i < nv; i++)
			if (v[i].name == rc->name && v[i].file == rc->file &&
			    v[i].first_line == rc->first_line) {
				self += v[i].total;
				self0 += v[i].by_depth[0];
			}
		if (!self || self0 * 2 < self)
			continue;
		ls.name = rc->name;
		ls.file = rc->file;
		ls.first_line = rc->first_line;
		ls.line = rc->call_line;
		f = add(out, nf, max, "deep-recursion", &ls, total, rc->samples);
		if (!f)
			break;
		f->recursion_depth = med;
		snprintf(f->text, sizeof(f->text),
			 "deep recursion in %s (%s:%d): it calls itself (from line %d) and was "
			 "%d levels deep (median) in %.0f%% of the process's samples (%llu), its "
			 "own time spent on calls rather than loops. If it is called again with "
			 "arguments it has already seen, as naive Fibonacci-style recursion is, "
			 "memoise it with @functools.cache (or lru_cache(maxsize=N)) or compute "
			 "bottom-up in a loop.",
			 rc->name, short_file(rc->file), rc->first_line, rc->call_line, med,
			 100.0 * rc->samples / total, (unsigned long long)rc->samples);
		(void)samples;
	}
out:
	free(recs);
}

/* ---- repeated arguments, from the sampled arguments ---- */

static void args_findings(const struct profile *p, pid_t pid, const struct line_sum *v, size_t n,
			  uint64_t samples, struct code_finding *out, int *nf, int max)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;
		uint64_t self = 0;
		const struct prof_arg_func *a;
		struct code_finding *f = NULL;
		struct line_sum ls = { 0 };
		char ev[256];

		while (j < n && v[j].name == v[i].name && v[j].file == v[i].file &&
		       v[j].first_line == v[i].first_line)
			self += v[j++].total;
		a = profile_args_find(p, pid, v[i].name, v[i].file, v[i].first_line);
		ls = v[i];
		i = j;
		if (!a || self < CODE_MIN_SHARE * samples || a->own_call < CODE_ARGS_OWN_SHARE * self ||
		    a->decoded < CODE_ARGS_MIN_CALLS ||
		    a->decoded < CODE_ARGS_DECODED_SHARE * a->own_call || a->distinct_capped ||
		    a->distinct > CODE_ARGS_DISTINCT_SHARE * a->decoded)
			continue;
		snprintf(ev, sizeof(ev),
			 "%llu sampled calls of it (%u argument%s read from the frame) saw "
			 "only %u distinct argument values: each seen %.0f times on average",
			 (unsigned long long)a->decoded, a->nargs, a->nargs == 1 ? "" : "s",
			 a->distinct, (double)a->decoded / (a->distinct ? a->distinct : 1));
		/* naive recursion repeats its arguments too: one finding, with both evidences */
		for (int k = 0; k < *nf; k++)
			if (!strcmp(out[k].kind, "deep-recursion") && out[k].name == ls.name &&
			    out[k].file == ls.file && out[k].first_line == ls.first_line)
				f = &out[k];
		if (f) {
			size_t len = strlen(f->text);

			snprintf(f->text + len, sizeof(f->text) - len, " Its arguments repeat: %s.",
				 ev);
		} else {
			ls.line = ls.first_line;
			f = add(out, nf, max, "repeated-arguments", &ls, samples, self);
			if (!f)
				return;
			snprintf(f->text, sizeof(f->text),
				 "repeated arguments to %s (%s:%d): it holds %.0f%% of the process's "
				 "on-CPU Python samples (%llu), and %s. If it is pure (its result "
				 "depends only on its arguments, no side effects), memoise it with "
				 "@functools.cache (or lru_cache(maxsize=N)). Samples are not calls: "
				 "'pyhound calls' counts them.",
				 ls.name, short_file(ls.file), ls.first_line, 100.0 * self / samples,
				 (unsigned long long)self, ev);
		}
		f->arg_calls = a->decoded;
		f->arg_distinct = a->distinct;
		f->arg_count = a->nargs;
	}
}

int code_findings(const struct profile *p, pid_t pid, struct code_finding *out, int max)
{
	struct line_sum *v = NULL;
	uint64_t samples;
	ssize_t n = sum_lines(p, pid, &v, &samples);
	int nf = 0;

	if (n < 0)
		return (int)n;
	if (samples >= CODE_MIN_SAMPLES) {
		line_findings(v, n, samples, out, &nf, max);
		func_findings(v, n, samples, out, &nf, max);
		recursion_findings(p, pid, samples, v, n, out, &nf, max);
		args_findings(p, pid, v, n, samples, out, &nf, max);
	}
	free(v);
	return nf;
}
