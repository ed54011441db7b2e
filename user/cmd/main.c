// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pyhound: where every CPython process on this host spends its time. */
#include <stdio.h>
#include <string.h>
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "lib/log.h"

static const struct cmd commands[] = {
	{ "list", cmd_list, "list the CPython processes on this host" },
	{ "record", cmd_record, "sample Python stacks and write a flamegraph/pprof/speedscope profile" },
	{ "top", cmd_top, "a live view of the hottest Python functions of every process" },
	{ "report", cmd_report, "watch for a while, then report syscalls, I/O batching and findings" },
	{ "serve", cmd_serve, "run as a service with a Prometheus /metrics endpoint" },
	{ "calls", cmd_calls, "exact Python call counts and per-call latency, within an overhead budget" },
	{ "queries", cmd_queries, "database queries per Python call site, and N+1 findings" },
	{ "heap", cmd_heap, "count a process's heap by type, read from outside (no BPF, no stop)" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: pyhound [-v|-vv] COMMAND [OPTIONS]\n"
		   "       pyhound --version | --help\n\n"
		   "See where every CPython process on this host spends its time: no restart, no code\n"
		   "change. Needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE) and a kernel with BTF.\n\n"
		   "Commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nGlobal options:\n"
		   "  -v, --verbose   more detail: -v shows counters of dropped data, -vv libbpf's log\n"
		   "  -h, --help      this text; 'pyhound COMMAND --help' for a command's options\n"
		   "  -V, --version   print the version\n\n"
		   "Examples:\n"
		   "  sudo pyhound list\n"
		   "  sudo pyhound report --duration 10\n"
		   "  sudo pyhound record --duration 30 -o profile.svg\n"
		   "  sudo pyhound report --pid 1234 --json\n"
		   "  sudo pyhound heap --pid 1234\n");
}

int main(int argc, char **argv)
{
	int i = 1, v = 0;
	size_t c;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("pyhound %s\n", PYHOUND_VERSION);
			return 0;
		} else if (!strcmp(a, "--verbose")) {
			v++;
		} else if (a[1] == 'v' && strspn(a + 1, "v") == strlen(a + 1)) {
			v += (int)strlen(a + 1);
		} else {
			return usage_error(NULL, "unknown option '%s'", a);
		}
	}
	log_set_verbosity(v);
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[i], commands[c].name))
			return commands[c].fn(argc - i, argv + i);
	return usage_error(NULL, "unknown command '%s'", argv[i]);
}
