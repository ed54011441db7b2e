// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "lib/log.h"

int log_verbosity;
static bool journal;

void log_use_journal(bool on)
{
	journal = on;
}

bool log_journal_detected(void)
{
	return getenv("JOURNAL_STREAM") != NULL;
}

void log_set_verbosity(int v)
{
	log_verbosity = v;
}

static void vlog(enum log_level lvl, const char *fmt, va_list ap)
{
	static const char *const tag[] = { "error: ", "warning: ", "", "", "debug: " };
	/* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_INFO, LOG_DEBUG */
	static const int prio[] = { 3, 4, 6, 6, 7 };
	/* the -v count each level needs */
	static const int need[] = { 0, 0, 0, 1, 2 };

	if (need[lvl] > log_verbosity)
		return;
	if (journal)
		fprintf(stderr, "<%d>%s", prio[lvl], lvl == LOG_WARN ? "warning: " : "");
	else
		fprintf(stderr, "pyhound: %s", tag[lvl]);
	vfprintf(stderr, fmt, ap);
	if (!*fmt || fmt[strlen(fmt) - 1] != '\n')
		fputc('\n', stderr);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf warnings are only interesting with -v; info/debug with -vv. */
	int need = level == LIBBPF_WARN ? 1 : 2;

	if (log_verbosity < need)
		return 0;
	fputs("libbpf: ", stderr);
	return vfprintf(stderr, fmt, ap);
}

void log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
