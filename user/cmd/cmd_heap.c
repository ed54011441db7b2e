// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pyhound heap: what a CPython process's heap holds, by type, read from outside. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cpython/heap.h"
#include "host/discover.h"
#include "lib/histo.h"
#include "lib/json.h"
#include "lib/log.h"
#include "model/heap_findings.h"

#define MAX_SLOTS_FINDINGS 8

static void heap_usage(FILE *f)
{
	fprintf(f,
		"Usage: pyhound heap --pid PID [--top N] [--json] [--diff SECONDS] [--max-objects N] [-v]\n\n"
		"Count what a CPython process's heap holds, by type, without stopping or changing it:\n"
		"every object its cyclic garbage collector tracks (all generations, gc.freeze()'s too) is\n"
		"read with process_vm_readv and counted with its bytes. Bytes are as sys.getsizeof counts\n"
		"them (collector header included) plus the storage lists, dicts, sets and instance\n"
		"attributes (__dict__, or 3.11+ managed or inline values) own. Objects the collector does\n"
		"not track (ints, strs, floats, tuples of atoms, dicts holding no containers) appear only\n"
		"as the storage of what owns them. Classes are named module.QualName. Objects that could\n"
		"not be counted are reported by reason; a list that changed under the walk is walked\n"
		"again (up to 3 times). CPython 3.8-3.15 (3.13+ laid out by the interpreter's own\n"
		"_Py_DebugOffsets; a 3.14 that still runs the incremental collector is refused).\n\n"
		"Findings: a class with more than %d instances keeping their own attribute storage\n"
		"(__slots__ would save the measured difference); with --diff, types that grew.\n\n"
		"Options:\n"
		"  -p, --pid PID          the process (required)\n"
		"  -n, --top N            rows of the table (default 20; 0: all)\n"
		"  -d, --diff SECONDS     take two censuses SECONDS apart and show what grew\n"
		"      --max-objects N    stop after N objects (default 50000000)\n"
		"  -j, --json             one JSON document with every type, skip reasons and lists\n"
		"  -v                     also show each generation list's walk and read counts\n"
		"  -h, --help             this text\n\n"
		"Needs root (CAP_SYS_PTRACE to read the process's memory). Exit status: 0, 1 when the\n"
		"process is gone, not CPython, not supported or fails a layout check (one line says\n"
		"why), 2 for a bad option.\n\n"
		"Examples:\n"
		"  sudo pyhound heap --pid 1234\n"
		"  sudo pyhound heap --pid 1234 --diff 30 --top 10\n",
		HEAP_SLOTS_MIN);
}

static void version_str(const struct heap_census *c, char *buf, size_t len)
{
	if (c->micro >= 0)
		snprintf(buf, len, "%d.%d.%d", c->major, c->minor, c->micro);
	else
		snprintf(buf, len, "%d.%d", c->major, c->minor);
}

static uint64_t skipped_total(const struct heap_census *c)
{
	uint64_t n = 0;

	for (int i = 0; i < HEAP_SKIP_MAX; i++)
		n += c->skipped[i];
	return n;
}

/* Every list walked to its head (and not truncated). */
static bool census_complete(const struct heap_census *c)
{
	for (int i = 0; i < c->nlists; i++)
		if (c->lists[i].stop != HEAP_STOP_DONE)
			return false;
	return !c->truncated;
}

static void gen_name(const struct heap_list_stat *l, char *buf, size_t len)
{
	if (l->gen == 3)
		snprintf(buf, len, "permanent generation");
	else
		snprintf(buf, len, "generation %d", l->gen);
	if (l->interp)
		snprintf(buf + strlen(buf), len - strlen(buf), " (interpreter %d)", l->interp);
}

/* ---- text ---- */

static void print_census_text(const struct py_proc *p, const struct heap_census *c, int top)
{
	char ver[32], b[32], g[64];
	uint64_t sk = skipped_total(c);

	version_str(c, ver, sizeof(ver));
	printf("PID %d  %s  CPython %s: %llu objects tracked by the collector, %s (walked in %.2f s)\n",
	       (int)c->pid, p->comm, ver, (unsigned long long)c->objects,
	       fmt_bytes(b, sizeof(b), c->bytes), c->seconds);
	printf("%12s %12s %8s  %s\n", "COUNT", "BYTES", "AVG", "TYPE");
	for (size_t i = 0; i < c->ntypes && (top <= 0 || (int)i < top); i++) {
		const struct heap_type_stat *t = &c->types[i];

		printf("%12llu %12s %8llu  %s\n", (unsigned long long)t->count,
		       fmt_bytes(b, sizeof(b), t->bytes),
		       (unsigned long long)(t->count ? t->bytes / t->count : 0), t->name);
	}
	if (top > 0 && c->ntypes > (size_t)top)
		printf("%12s %12s %8s  (%zu more types; --top 0 shows all)\n", "", "", "",
		       c->ntypes - (size_t)top);
	printf("skipped: %llu objects", (unsigned long long)sk);
	for (int i = 0, k = 0; i < HEAP_SKIP_MAX; i++)
		if (c->skipped[i])
			printf("%s%s %llu", k++ ? ", " : " (", heap_skip_name(i),
			       (unsigned long long)c->skipped[i]);
	printf("%s", sk ? ")" : "");
	if (c->storage_unread)
		printf("; %llu counted without storage that could not be read",
		       (unsigned long long)c->storage_unread);
	printf("\n");
	for (int i = 0; i < c->nlists; i++) {
		const struct heap_list_stat *l = &c->lists[i];

		if (l->stop == HEAP_STOP_DONE && l->attempts == 1 && log_verbosity < 1)
			continue;
		gen_name(l, g, sizeof(g));
		printf("%s: %llu objects, %s (%d walk%s)\n", g, (unsigned long long)l->objects,
		       heap_stop_name(l->stop), l->attempts, l->attempts == 1 ? "" : "s");
	}
	if (c->truncated)
		printf("the census stopped at the object limit (--max-objects): counts are partial\n");
	if (c->collecting_seen)
		printf("the collector was running during the walk: counts may be off by what it moved\n");
	if (log_verbosity >= 1)
		printf("reads: %llu, pages fetched: %llu\n", (unsigned long long)c->reads,
		       (unsigned long long)c->page_fetches);
}

static void print_slots_text(const struct heap_census *c)
{
	struct heap_slots_finding f[MAX_SLOTS_FINDINGS];
	char s[32], v[32];
	int n = heap_slots_findings(c, HEAP_SLOTS_MIN, f, MAX_SLOTS_FINDINGS);

	if (!n)
		return;
	printf("\nFindings\n");
	for (int i = 0; i < n; i++)
		printf("! __slots__: %llu instances of %s keep their attributes in per-instance "
		       "storage (%s, %.1f attributes each); with __slots__ each would take %llu B "
		       "instead of %llu B: %s saved. Declare __slots__ = (...) naming its "
		       "attributes (add '__weakref__' if instances are weakly referenced).\n",
		       (unsigned long long)f[i].count, f[i].t->name, fmt_bytes(s, sizeof(s), f[i].storage),
		       f[i].attrs, (unsigned long long)f[i].slots_each,
		       (unsigned long long)f[i].now_each, fmt_bytes(v, sizeof(v), f[i].saving));
}

static void print_diff_text(const struct heap_census *a, const struct heap_census *b, double secs,
			    const struct heap_growth *g, size_t n, int top)
{
	char b0[32], b1[32], d[32];
	int shown = 0, findings = 0;

	printf("\nChanges over %.1f s: %lld objects, %s%s bytes\n", secs,
	       (long long)(b->objects - a->objects), b->bytes >= a->bytes ? "+" : "-",
	       fmt_bytes(d, sizeof(d), b->bytes >= a->bytes ? b->bytes - a->bytes : a->bytes - b->bytes));
	printf("%12s %12s %12s %12s %13s  %s\n", "COUNT", "CHANGE", "BYTES BEFORE", "AFTER", "CHANGE",
	       "TYPE");
	for (size_t i = 0; i < n && (top <= 0 || shown < top); i++, shown++) {
		bool up = g[i].bytes1 >= g[i].bytes0;
		char sd[40];

		fmt_bytes(d, sizeof(d), up ? g[i].bytes1 - g[i].bytes0 : g[i].bytes0 - g[i].bytes1);
		snprintf(sd, sizeof(sd), "%s%s", up ? "+" : "-", d);
		printf("%12llu %+12lld %12s %12s %13s  %s\n", (unsigned long long)g[i].count1,
		       (long long)(g[i].count1 - g[i].count0), fmt_bytes(b0, sizeof(b0), g[i].bytes0),
		       fmt_bytes(b1, sizeof(b1), g[i].bytes1), sd, g[i].name);
	}
	if (!census_complete(a) || !census_complete(b)) {
		printf("\nthe %s census did not walk every list to its end: no growth findings\n",
		       census_complete(a) ? "second" : "first");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!heap_growth_is_finding(&g[i]))
			continue;
		if (!findings++)
			printf("\nGrowth findings\n");
		printf("! growth: %s grew from %llu to %llu objects and from %s to %s in %.1f s (%s/s). "
		       "If it keeps growing, something holds on to them: bound caches "
		       "(functools.lru_cache(maxsize=...)), release references when done, stream "
		       "with generators instead of building lists.\n",
		       g[i].name, (unsigned long long)g[i].count0, (unsigned long long)g[i].count1,
		       fmt_bytes(b0, sizeof(b0), g[i].bytes0), fmt_bytes(b1, sizeof(b1), g[i].bytes1),
		       secs, fmt_bytes(d, sizeof(d), (uint64_t)((double)(g[i].bytes1 - g[i].bytes0) / secs)));
	}
	for (int i = 0; i < b->ntop; i++) {
		for (int k = 0; k < a->ntop; k++) {
			if (a->top[k].addr != b->top[i].addr || strcmp(a->top[k].type, b->top[i].type) ||
			    b->top[i].bytes < a->top[k].bytes + (1u << 20))
				continue;
			if (!findings++)
				printf("\nGrowth findings\n");
			printf("! growth: one %s (at 0x%llx) grew from %llu to %llu items, %s to %s in "
			       "%.1f s\n", b->top[i].type, (unsigned long long)b->top[i].addr,
			       (unsigned long long)a->top[k].len, (unsigned long long)b->top[i].len,
			       fmt_bytes(b0, sizeof(b0), a->top[k].bytes),
			       fmt_bytes(b1, sizeof(b1), b->top[i].bytes), secs);
		}
	}
}

/* ---- JSON ---- */

static void json_census(struct json *j, const char *key, const struct heap_census *c)
{
	struct heap_slots_finding f[MAX_SLOTS_FINDINGS];
	int n = heap_slots_findings(c, HEAP_SLOTS_MIN, f, MAX_SLOTS_FINDINGS);
	char ver[32];

	version_str(c, ver, sizeof(ver));
	json_obj_begin(j, key);
	json_u64(j, "pid", (uint64_t)c->pid);
	json_str(j, "version", ver);
	json_double(j, "started", c->started);
	json_double(j, "walk_seconds", c->seconds);
	json_u64(j, "objects", c->objects);
	json_u64(j, "bytes", c->bytes);
	json_bool(j, "complete", census_complete(c));
	json_bool(j, "truncated", c->truncated);
	json_bool(j, "collector_ran", c->collecting_seen);
	json_u64(j, "skipped_total", skipped_total(c));
	json_obj_begin(j, "skipped");
	for (int i = 0; i < HEAP_SKIP_MAX; i++)
		json_u64(j, heap_skip_name(i), c->skipped[i]);
	json_obj_end(j);
	json_u64(j, "storage_unread", c->storage_unread);
	json_u64(j, "reads", c->reads);
	json_u64(j, "page_fetches", c->page_fetches);
	json_arr_begin(j, "lists");
	for (int i = 0; i < c->nlists; i++) {
		json_obj_begin(j, NULL);
		json_i64(j, "interpreter", c->lists[i].interp);
		json_i64(j, "generation", c->lists[i].gen);
		json_bool(j, "permanent", c->lists[i].gen == 3);
		json_u64(j, "objects", c->lists[i].objects);
		json_i64(j, "walks", c->lists[i].attempts);
		json_bool(j, "complete", c->lists[i].stop == HEAP_STOP_DONE);
		json_str(j, "stop", heap_stop_name(c->lists[i].stop));
		json_obj_end(j);
	}
	json_arr_end(j);
	json_arr_begin(j, "types");
	for (size_t i = 0; i < c->ntypes; i++) {
		const struct heap_type_stat *t = &c->types[i];

		json_obj_begin(j, NULL);
		json_str(j, "type", t->name);
		json_bool(j, "class", t->is_class);
		json_u64(j, "count", t->count);
		json_u64(j, "bytes", t->bytes);
		json_u64(j, "own_bytes", t->own_bytes);
		json_u64(j, "attr_storage_count", t->attr_count);
		json_u64(j, "attr_storage_bytes", t->attr_bytes);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_arr_begin(j, "largest_containers");
	for (int i = 0; i < c->ntop; i++) {
		json_obj_begin(j, NULL);
		json_u64(j, "address", c->top[i].addr);
		json_str(j, "type", c->top[i].type);
		json_u64(j, "len", c->top[i].len);
		json_u64(j, "bytes", c->top[i].bytes);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_arr_begin(j, "findings");
	for (int i = 0; i < n; i++) {
		json_obj_begin(j, NULL);
		json_str(j, "kind", "slots");
		json_str(j, "type", f[i].t->name);
		json_u64(j, "instances", f[i].count);
		json_u64(j, "storage_bytes", f[i].storage);
		json_double(j, "attributes_each", f[i].attrs);
		json_u64(j, "bytes_each", f[i].now_each);
		json_u64(j, "bytes_each_with_slots", f[i].slots_each);
		json_u64(j, "saving_bytes", f[i].saving);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

static void json_diff(struct json *j, double secs, const struct heap_growth *g, size_t n,
		      bool judged)
{
	json_double(j, "diff_seconds", secs);
	json_bool(j, "growth_judged", judged); /* both censuses complete */
	json_arr_begin(j, "changes");
	for (size_t i = 0; i < n; i++) {
		json_obj_begin(j, NULL);
		json_str(j, "type", g[i].name);
		json_u64(j, "count_before", g[i].count0);
		json_u64(j, "count_after", g[i].count1);
		json_u64(j, "bytes_before", g[i].bytes0);
		json_u64(j, "bytes_after", g[i].bytes1);
		json_bool(j, "growth_finding", judged && heap_growth_is_finding(&g[i]));
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* ---- command ---- */

/* The process is gone or a zombie (its memory already released). */
static bool proc_gone(pid_t pid)
{
	char path[64], buf[512], *rp;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	rp = strrchr(buf, ')'); /* the state follows the command name, which may hold ')' */
	return !rp || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X';
}

static int take(const struct py_proc *p, const struct heap_opts *o, struct heap_census *c)
{
	char why[256] = "";
	int err = heap_census_take(p, o, c, why, sizeof(why));

	if (!err)
		return 0;
	if (err == -EPERM || err == -EACCES)
		pr_err("PID %d: cannot read its memory: %s (needs root or CAP_SYS_PTRACE)",
		       (int)p->pid, why);
	else
		pr_err("PID %d: %s", (int)p->pid, why);
	return err;
}

static int sleep_interruptible(double secs)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	double left = secs;

	while (left > 0 && !exiting) {
		if (left < 0.05)
			ts.tv_nsec = (long)(left * 1e9);
		nanosleep(&ts, NULL);
		left -= 0.05;
	}
	return exiting ? -EINTR : 0;
}

int cmd_heap(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "top", required_argument, NULL, 'n' },
		{ "diff", required_argument, NULL, 'd' },
		{ "max-objects", required_argument, NULL, 'M' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{},
	};
	struct heap_opts ho = { .max_objects = 50000000 };
	struct heap_census a = { 0 }, b = { 0 };
	struct heap_growth *g = NULL;
	struct py_proc p;
	unsigned long v, pid = 0, top = 20;
	double diff = 0;
	bool as_json = false;
	size_t ng = 0;
	int c, err, ret = 1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+p:n:d:jhv", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_uint(optarg, "PID", 1, 4194304, &pid))
				return EXIT_USAGE;
			break;
		case 'n':
			if (parse_uint(optarg, "--top", 0, 1000000, &top))
				return EXIT_USAGE;
			break;
		case 'd':
			if (parse_seconds(optarg, "--diff", 0.1, 86400, &diff))
				return EXIT_USAGE;
			break;
		case 'M':
			if (parse_uint(optarg, "--max-objects", 1, 1000000000, &v))
				return EXIT_USAGE;
			ho.max_objects = v;
			break;
		case 'j': as_json = true; break;
		case 'v': log_set_verbosity(log_verbosity + 1); break;
		case 'h': heap_usage(stdout); return 0;
		default:
			return usage_error("heap", "unknown option or missing value '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("heap", "unexpected argument '%s'", argv[optind]);
	if (!pid)
		return usage_error("heap", "--pid is required");
	err = py_proc_inspect((pid_t)pid, &p);
	if (err && err != -ESRCH && proc_gone((pid_t)pid)) {
		pr_err("PID %lu exited while it was being inspected", pid);
		return 1;
	}
	if (err == -ESRCH) {
		pr_err("PID %lu: no such process", pid);
		return 1;
	} else if (err == -ENOEXEC) {
		pr_err("PID %lu (%s) is not running CPython", pid, p.comm);
		return 1;
	} else if (err) {
		pr_err("PID %lu: cannot inspect it: %s", pid, strerror(-err));
		return 1;
	}
	install_signal_handlers();
	if (take(&p, &ho, &a))
		return 1;
	if (diff > 0) {
		if (!as_json)
			fprintf(stderr, "pyhound heap: first census taken; the second in %.1f s\n", diff);
		if (sleep_interruptible(diff)) {
			pr_err("interrupted before the second census");
			goto out;
		}
		if (take(&p, &ho, &b))
			goto out;
		if (heap_diff(&a, &b, &g, &ng)) {
			pr_err("out of memory");
			goto out;
		}
	}
	if (as_json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_census(&j, diff > 0 ? "before" : "census", &a);
		if (diff > 0) {
			json_census(&j, "after", &b);
			json_diff(&j, diff, g, ng, census_complete(&a) && census_complete(&b));
		}
		json_obj_end(&j);
		printf("\n");
	} else {
		const struct heap_census *last = diff > 0 ? &b : &a;

		print_census_text(&p, last, (int)top);
		print_slots_text(last);
		if (diff > 0)
			print_diff_text(&a, &b, diff, g, ng, (int)top);
	}
	ret = 0;
out:
	free(g);
	heap_census_free(&a);
	heap_census_free(&b);
	return ret;
}
