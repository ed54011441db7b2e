// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <linux/capability.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "cmd/cli.h"
#include "lib/log.h"
#include "wall.h"

volatile sig_atomic_t exiting;

/* A parse_* function printed why a value is bad: usage_error() then adds only the hint, so that
 * a bad value is one error line. */
static bool value_reported;

/* "--duration" whether the caller wrote "duration" or "--duration" */
static const char *flag_name(const char *what, char *buf, size_t len)
{
	if (!what)
		return "";
	if (what[0] == '-' || !strncmp(what, "PID", 3))
		return what;
	snprintf(buf, len, "--%s", what);
	return buf;
}

static int bad_value(const char *what, const char *s, const char *expected, double min,
		     double max)
{
	char fb[64];

	pr_err("invalid %s '%s' (expected %s from %.15g to %.15g)", flag_name(what, fb, sizeof(fb)),
	       s ? s : "", expected, min, max);
	value_reported = true;
	return -EINVAL;
}

int parse_uint(const char *s, const char *what, unsigned long min, unsigned long max,
	       unsigned long *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	if (!s || !*s || *s == '-')
		goto bad;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	return bad_value(what, s, "an integer", (double)min, (double)max);
}

/* a finite decimal number within [min, max], optionally followed by suffix */
static int parse_real(const char *s, const char *suffix, double min, double max, double *out)
{
	double v;
	char *end;

	errno = 0;
	if (!s || !*s)
		return -EINVAL;
	v = strtod(s, &end);
	if (errno || end == s || (*end && strcmp(end, suffix)) || !isfinite(v) || v < min ||
	    v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_seconds(const char *s, const char *what, double min, double max, double *out)
{
	if (parse_real(s, "s", min, max, out))
		return bad_value(what, s, "seconds", min, max);
	return 0;
}

int parse_percent(const char *s, const char *what, double min, double max, double *out)
{
	if (parse_real(s, "%", min, max, out))
		return bad_value(what, s, "a percentage", min, max);
	return 0;
}

static const char *const mode_names[] = {
	[PH_MODE_CPU] = "cpu",
	[PH_MODE_WALL] = "wall",
	[PH_MODE_GIL] = "gil",
};

int parse_mode(const char *s, int *mode)
{
	for (int i = 0; i < (int)(sizeof(mode_names) / sizeof(mode_names[0])); i++) {
		if (s && !strcmp(s, mode_names[i])) {
			*mode = i;
			return 0;
		}
	}
	pr_err("invalid --mode '%s' (expected cpu, wall or gil)", s ? s : "");
	return -EINVAL;
}

const char *mode_name(int mode)
{
	return mode >= 0 && mode <= PH_MODE_GIL ? mode_names[mode] : "?";
}

int parse_pids(const char *s, pid_t *pids, int *n, int cap)
{
	char *buf, *tok, *save = NULL;
	unsigned long v;
	int err = 0;

	/* the whole list, however long: a fixed buffer would cut a PID in two */
	buf = strdup(s ? s : "");
	if (!buf)
		return -ENOMEM;
	if (!*buf) {
		err = bad_value("PID", s, "an integer", 1, 4194304);
		goto out;
	}
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (parse_uint(tok, "PID", 1, 4194304, &v)) {
			err = -EINVAL;
			goto out;
		}
		if (*n >= cap) {
			pr_err("too many PIDs (at most %d)", cap);
			value_reported = true;
			err = -E2BIG;
			goto out;
		}
		pids[(*n)++] = (pid_t)v;
	}
out:
	free(buf);
	return err;
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	if (!value_reported) {
		fputs("pyhound: error: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	value_reported = false;
	fprintf(stderr, "Try 'pyhound%s%s --help'.\n", cmd ? " " : "", cmd ? cmd : "");
	return EXIT_USAGE;
}

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

int check_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	char missing[160] = "";

	if (syscall(SYS_capget, &hdr, data)) {
		pr_err("cannot read capabilities: %s", strerror(errno));
		return -errno;
	}
	if (!has_cap(data, CAP_SYS_ADMIN)) {
		if (!has_cap(data, CAP_BPF))
			strcat(missing, " CAP_BPF");
		if (!has_cap(data, CAP_PERFMON))
			strcat(missing, " CAP_PERFMON");
	}
	if (!has_cap(data, CAP_SYS_PTRACE))
		strcat(missing, " CAP_SYS_PTRACE");
	if (!has_cap(data, CAP_DAC_READ_SEARCH) && !has_cap(data, CAP_DAC_OVERRIDE))
		strcat(missing, " CAP_DAC_READ_SEARCH");
	if (!*missing)
		return 0;
	if (geteuid() != 0)
		pr_err("must run as root (missing%s): try 'sudo pyhound ...'", missing);
	else
		pr_err("missing capabilities:%s", missing);
	return -EPERM;
}

int check_btf(void)
{
	struct stat st;

	const char *btf = getenv("PYHOUND_SYS_BTF"); /* tests simulate a kernel without BTF */

	if (stat(btf && *btf ? btf : "/sys/kernel/btf/vmlinux", &st) == 0)
		return 0;
	pr_err("this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): pyhound needs a kernel "
	       "built with CONFIG_DEBUG_INFO_BTF=y (Debian 11+, Ubuntu 20.10+, RHEL 8.2+ have it)");
	return -ENOTSUP;
}

int bpf_prepare(void)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

	if (check_privileges() || check_btf())
		return -1;
	/* kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK */
	setrlimit(RLIMIT_MEMLOCK, &rl);
	log_setup_libbpf();
	return 0;
}

static void sig_handler(int sig)
{
	exiting = 1;
	signal(sig, SIG_DFL); /* a second Ctrl-C kills at once */
}

void install_signal_handlers(void)
{
	signal(SIGINT, sig_handler);
	signal(SIGTERM, sig_handler);
}
