/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One logging module: levels chosen by -v, libbpf's messages routed through it. */
#ifndef PYHOUND_LOG_H
#define PYHOUND_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_ERROR = 0, /* always shown: "pyhound: error: ..." */
	LOG_WARN = 1,  /* always shown */
	LOG_NOTICE = 2, /* always shown, as information (no "warning:"; journal priority info):
			 * normal events a service reports, e.g. "serving on ..." */
	LOG_INFO = 3,  /* -v */
	LOG_DEBUG = 4, /* -vv, also libbpf's info and debug messages */
};

extern int log_verbosity; /* 0 default, 1 for -v, 2 for -vv */

void log_set_verbosity(int v);
/* Prefix lines with syslog priorities ("<3>") for journald instead of "pyhound: error: ";
 * chosen automatically when stderr is connected to the journal (JOURNAL_STREAM). */
void log_use_journal(bool on);
bool log_journal_detected(void);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Route libbpf's print callback through log_msg (call once, before opening skeletons). */
void log_setup_libbpf(void);

#define pr_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
