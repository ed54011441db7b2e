// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pyhound list: the CPython processes on this host. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collect/calls_user.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "host/discover.h"
#include "lib/json.h"
#include "lib/log.h"
#include "collect/queries_user.h"

static void list_usage(FILE *f)
{
	fprintf(f, "Usage: pyhound list [--json] [-v]\n\n"
		   "List the CPython processes on this host, one line each: PID, CPython version,\n"
		   "build (libpython static in the executable or a shared libpython; stripped or with\n"
		   "symbols; USDT probes or not; tailcall: 3.14+'s tail-calling interpreter, one\n"
		   "function per opcode), how `pyhound calls` would count its calls (its probe sites\n"
		   "proved as for attaching: uprobe:RESUME+RETURN, uprobe:eval-entry+RETURN_VALUE,\n"
		   "usdt:function__return, or none; -v says why not), and command line. Processes in\n"
		   "containers are included.\n\n"
		   "Options:\n"
		   "  --json      one JSON document with every field pyhound found\n"
		   "  -v          also show the object holding _PyRuntime, its load bias and address\n"
		   "  -h, --help  this text\n\n"
		   "Example:\n  sudo pyhound list\n");
}

struct list_ctx {
	struct json *j;
	int n;
};

static void version_str(const struct py_proc *p, char *buf, size_t len)
{
	if (p->micro >= 0)
		snprintf(buf, len, "%d.%d.%d", p->major, p->minor, p->micro);
	else
		snprintf(buf, len, "%d.%d", p->major, p->minor);
}

/* a database client library the process has mapped (pyhound queries probes it) */
static void db_lib_text(const char *path, int lib, bool usable, const char *status, void *ctx)
{
	printf("         database client %s (%s): %s\n", path, lib == Q_LIB_PQ ? "libpq" : "sqlite",
	       status);
}

static void db_lib_json(const char *path, int lib, bool usable, const char *status, void *ctx)
{
	struct json *j = ctx;

	json_obj_begin(j, NULL);
	json_str(j, "path", path);
	json_str(j, "library", lib == Q_LIB_PQ ? "libpq" : "sqlite");
	json_bool(j, "usable", usable);
	json_str(j, "status", status);
	json_obj_end(j);
}

static int print_proc(const struct py_proc *p, void *ctx)
{
	struct list_ctx *lc = ctx;
	char ver[32], usdt[256], build[64], why[256];
	int src = p->supported ? calls_probe_source(p, why, sizeof(why)) : 0;

	if (!p->supported)
		snprintf(why, sizeof(why), "stacks not walked: %s", p->unsupported);
	version_str(p, ver, sizeof(ver));
	py_usdt_names(p->usdt_mask, usdt, sizeof(usdt));
	if (lc->j) {
		struct json *j = lc->j;

		json_obj_begin(j, NULL);
		json_u64(j, "pid", p->pid);
		json_str(j, "comm", p->comm);
		json_str(j, "cmdline", p->cmdline);
		json_str(j, "version", ver);
		json_u64(j, "version_hex", p->version_hex);
		json_bool(j, "supported", p->supported);
		if (!p->supported)
			json_str(j, "unsupported", p->unsupported);
		json_str(j, "build", py_proc_build(p));
		json_bool(j, "stripped", p->stripped);
		json_bool(j, "tail_call", p->tail_call != 0);
		json_str(j, "object", p->obj_path);
		json_bool(j, "object_deleted", p->obj_deleted);
		json_u64(j, "load_bias", p->load_bias);
		json_u64(j, "runtime_addr", p->runtime_addr);
		json_bool(j, "usdt", p->usdt_count > 0);
		json_str(j, "calls_source", calls_source_name(src));
		if (!src)
			json_str(j, "calls_refused", why);
		json_arr_begin(j, "usdt_probes");
		for (char *s = strtok(usdt, ","); s; s = strtok(NULL, ","))
			json_str(j, NULL, s);
		json_arr_end(j);
		json_arr_begin(j, "database_clients");
		queries_list_libs(p->pid, db_lib_json, j);
		json_arr_end(j);
		json_obj_end(j);
	} else {
		if (!lc->n)
			printf("%-8s %-8s %-22s %-30s %s\n", "PID", "VERSION", "BUILD", "CALLS",
			       "COMMAND");
		py_proc_build_flags(p, build, sizeof(build));
		if (!p->supported)
			snprintf(build + strlen(build), sizeof(build) - strlen(build), ",unsupported");
		printf("%-8d %-8s %-22s %-30s %s\n", (int)p->pid, ver, build, calls_source_name(src),
		       p->cmdline);
		if (!p->supported)
			printf("         unsupported: %s\n", p->unsupported);
		if (log_verbosity >= 1)
			printf("         _PyRuntime at 0x%llx in %s (load bias 0x%llx)%s%s\n",
			       (unsigned long long)p->runtime_addr, p->obj_path,
			       (unsigned long long)p->load_bias, *usdt ? "; USDT: " : "", usdt);
		if (log_verbosity >= 1 && !src)
			printf("         calls: none: %s\n", why);
		else if (log_verbosity >= 1 && why[0])
			printf("         calls: %s\n", why);
		if (log_verbosity >= 1)
			queries_list_libs(p->pid, db_lib_text, NULL);
	}
	lc->n++;
	return 0;
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{},
	};
	struct list_ctx lc = {};
	struct json j;
	bool as_json = false;
	int c, n;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:jhv", opts, NULL)) != -1) {
		switch (c) {
		case 'j': as_json = true; break;
		case 'v': log_set_verbosity(log_verbosity + 1); break;
		case 'h': list_usage(stdout); return 0;
		default: return usage_error("list", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("list", "unexpected argument '%s'", argv[optind]);
	if (check_privileges())
		return 1;
	if (as_json) {
		json_init(&j, stdout);
		lc.j = &j;
		json_obj_begin(&j, NULL);
		json_arr_begin(&j, "processes");
	}
	n = py_proc_scan(print_proc, &lc);
	if (as_json) {
		json_arr_end(&j);
		json_obj_end(&j);
	}
	if (n < 0) {
		pr_err("cannot scan /proc: %s", strerror(-n));
		return 1;
	}
	if (!n && !as_json)
		printf("No CPython processes found on this host.\n");
	return 0;
}
