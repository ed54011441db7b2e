/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What every command shares: argument parsing helpers, privilege and kernel checks, signals. */
#ifndef PYHOUND_CLI_H
#define PYHOUND_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define EXIT_USAGE 2

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

extern volatile sig_atomic_t exiting; /* set by SIGINT/SIGTERM; a second signal kills */

/* Parse an unsigned integer / a duration in seconds (may be fractional, optional "s") / a
 * percentage (optional "%") within [min, max]. On failure print one line, "pyhound: error:
 * invalid --<what> '<s>' (expected <unit> from <min> to <max>)", and return -EINVAL; a
 * usage_error() that follows then adds only the "Try ..." hint. */
int parse_uint(const char *s, const char *what, unsigned long min, unsigned long max,
	       unsigned long *out);
int parse_seconds(const char *s, const char *what, double min, double max, double *out);
/* --mode cpu|wall|gil -> enum ph_wall_mode (include/wall.h); -EINVAL with a message. */
int parse_mode(const char *s, int *mode);
/* "cpu", "wall" or "gil" */
const char *mode_name(int mode);
int parse_percent(const char *s, const char *what, double min, double max, double *out);
/* --pid list of any length: "123" or "123,456"; appends to pids (up to cap). */
int parse_pids(const char *s, pid_t *pids, int *n, int cap);

/* Print the usage line for a command and return EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Capabilities and kernel features needed to load BPF: prints one clear line and returns
 * non-zero when something is missing. */
int check_privileges(void);
int check_btf(void);
/* Common set-up for commands that load BPF: privileges, BTF, rlimit, libbpf logging. */
int bpf_prepare(void);

void install_signal_handlers(void);

#endif
