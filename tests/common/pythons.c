// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "common/pythons.h"

static bool is_exec(const char *p)
{
	struct stat st;

	return !stat(p, &st) && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

static void pyenv_root(char *buf, size_t len)
{
	const char *e = getenv("PYENV_ROOT");
	FILE *f;

	if (e && *e) {
		snprintf(buf, len, "%s", e);
		return;
	}
	f = popen("pyenv root 2>/dev/null", "r");
	buf[0] = '\0';
	if (f) {
		if (fgets(buf, len, f))
			buf[strcspn(buf, "\n")] = '\0';
		pclose(f);
	}
	if (!buf[0])
		snprintf(buf, len, "%s/.pyenv", getenv("HOME") ? getenv("HOME") : "/root");
}

int test_pythons(struct test_python *out, int cap, char *missing, size_t missing_len)
{
	char root[PATH_MAX], pat[PATH_MAX + 64], line[PATH_MAX];
	int n = 0, minor;
	FILE *f;

	missing[0] = '\0';
	/* Debian's build, found the way dpkg knows it */
	f = popen("dpkg -L python3.11-minimal 2>/dev/null | grep -E '^/usr/bin/python3\\.11$'", "r");
	line[0] = '\0';
	if (f) {
		if (fgets(line, sizeof(line), f))
			line[strcspn(line, "\n")] = '\0';
		pclose(f);
	}
	if (line[0] && is_exec(line) && n < cap) {
		memset(&out[n], 0, sizeof(out[n]));
		snprintf(out[n].label, sizeof(out[n].label), "debian-3.11");
		snprintf(out[n].path, sizeof(out[n].path), "%s", line);
		out[n].minor = 11;
		out[n].debian = true;
		n++;
	} else {
		snprintf(missing + strlen(missing), missing_len - strlen(missing), " debian-3.11");
	}
	pyenv_root(root, sizeof(root));
	for (minor = 8; minor <= 13 && n < cap; minor++) {
		glob_t g;
		size_t i;
		bool found = false;

		snprintf(pat, sizeof(pat), "%s/versions/3.%d.*/bin/python3.%d", root, minor, minor);
		if (glob(pat, 0, NULL, &g) == 0) {
			for (i = g.gl_pathc; i-- > 0 && !found;) { /* newest patch release */
				if (!is_exec(g.gl_pathv[i]))
					continue;
				memset(&out[n], 0, sizeof(out[n]));
				snprintf(out[n].label, sizeof(out[n].label), "pyenv-3.%d", minor);
				snprintf(out[n].path, sizeof(out[n].path), "%s", g.gl_pathv[i]);
				out[n].minor = minor;
				out[n].debian = false;
				n++;
				found = true;
			}
			globfree(&g);
		}
		if (!found)
			snprintf(missing + strlen(missing), missing_len - strlen(missing),
				 " pyenv-3.%d", minor);
	}
	if (getenv("PYHOUND_ALLOW_MISSING_PYTHON") &&
	    !strcmp(getenv("PYHOUND_ALLOW_MISSING_PYTHON"), "1"))
		missing[0] = '\0';
	return n;
}

const char *python_for(int minor, bool debian)
{
	static struct test_python py[16];
	static char paths[16][PATH_MAX];
	static int n = -1;
	char missing[256];
	int i;

	if (n < 0)
		n = test_pythons(py, 16, missing, sizeof(missing));
	for (i = 0; i < n; i++)
		if (py[i].minor == minor && py[i].debian == debian) {
			snprintf(paths[i], sizeof(paths[i]), "%s", py[i].path);
			return paths[i];
		}
	fprintf(stderr, "no %s CPython 3.%d found\n", debian ? "Debian" : "pyenv", minor);
	abort();
}

/* The source tree, absolute (the same path names the workloads inside the sid root). */
static const char *src_dir(void)
{
	static char abs[PATH_MAX];
	const char *src = getenv("PYHOUND_SRC");

	if (!abs[0] && !realpath(src && *src ? src : ".", abs))
		snprintf(abs, sizeof(abs), "%s", src && *src ? src : ".");
	return abs;
}

const char *workload(const char *name)
{
	static char buf[8][PATH_MAX];
	static int i;
	char *b = buf[i++ % 8];

	snprintf(b, PATH_MAX, "%s/tests/workloads/%s", src_dir(), name);
	return b;
}

const char *sid_root(void)
{
	const char *r = getenv("PYHOUND_SID_ROOT");

	return r && *r ? r : "/var/cache/pyhound-test/sid";
}

/* Copy tests/workloads into the root at the same absolute path (once per test process).
 * Criterion runs tests in parallel processes: the copy is done under a lock on a file in the
 * root, or one test's rm -rf races another's cp. */
static int sid_copy_workloads(void)
{
	static int done = 0;
	char cmd[3 * PATH_MAX + 128], lock[PATH_MAX + 64];
	int fd;

	if (done)
		return done > 0 ? 0 : -1;
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p '%s%s/tests' && rm -rf '%s%s/tests/workloads' && "
		 "cp -a '%s/tests/workloads' '%s%s/tests/workloads'",
		 sid_root(), src_dir(), sid_root(), src_dir(), src_dir(), sid_root(), src_dir());
	snprintf(lock, sizeof(lock), "%s/tmp/.pyhound-workloads.lock", sid_root());
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		flock(fd, LOCK_EX);
	done = system(cmd) == 0 ? 1 : -1;
	if (fd >= 0)
		close(fd); /* releases the lock */
	return done > 0 ? 0 : -1;
}

int test_sid_pythons(struct test_python *out, int cap, char *missing, size_t missing_len)
{
	char host[2 * PATH_MAX];
	int n = 0;

	missing[0] = '\0';
	for (int minor = 14; minor <= 15; minor++) {
		for (int debug = 0; debug <= 1; debug++) {
			struct test_python *p = &out[n];

			if (n >= cap)
				break;
			memset(p, 0, sizeof(*p));
			snprintf(p->path, sizeof(p->path), "/usr/bin/python3.%d%s", minor,
				 debug ? "d" : "");
			snprintf(host, sizeof(host), "%s%s", sid_root(), p->path);
			if (!is_exec(host)) {
				snprintf(missing + strlen(missing), missing_len - strlen(missing),
					 " %s (make sid-root)", host);
				continue;
			}
			snprintf(p->label, sizeof(p->label), "sid-3.%d%s", minor, debug ? "d" : "");
			snprintf(p->root, sizeof(p->root), "%s", sid_root());
			p->minor = minor;
			p->debian = true;
			p->debug = debug;
			n++;
		}
	}
	if (n && sid_copy_workloads())
		snprintf(missing + strlen(missing), missing_len - strlen(missing),
			 " (copying the workloads into %s failed)", sid_root());
	return n;
}

const char *python_host_path(const struct test_python *py, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", py->root, py->path);
	return buf;
}

void python_argv(const struct test_python *py, char **argv, char *const args[])
{
	int n = 0;

	if (py->root[0]) {
		argv[n++] = "/usr/sbin/chroot";
		argv[n++] = (char *)py->root;
	}
	argv[n++] = (char *)py->path;
	for (int i = 0; args && args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
}

const char *python_cmd(const struct test_python *py, char *buf, size_t len)
{
	if (py->root[0])
		snprintf(buf, len, "chroot '%s' %s", py->root, py->path);
	else
		snprintf(buf, len, "%s", py->path);
	return buf;
}

int child_start(struct child *c, char *const argv[])
{
	int in[2], out[2];

	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return -errno;
	c->pid = fork();
	if (c->pid < 0)
		return -errno;
	if (c->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->in_fd = in[1];
	c->out_fd = out[0];
	return 0;
}

int child_go(struct child *c)
{
	ssize_t n = write(c->in_fd, "go\n", 3);

	close(c->in_fd);
	c->in_fd = -1;
	return n == 3 ? 0 : -EIO;
}

int child_wait(struct child *c, char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;
	int st;

	if (c->in_fd >= 0) {
		close(c->in_fd);
		c->in_fd = -1;
	}
	while (buf && off + 1 < len && (n = read(c->out_fd, buf + off, len - 1 - off)) > 0)
		off += n;
	if (buf)
		buf[off] = '\0';
	close(c->out_fd);
	if (waitpid(c->pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int run_cmd(const char *cmd, char *buf, size_t len)
{
	char full[4096];
	size_t off = 0;
	FILE *f;
	int st;

	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	f = popen(full, "r");
	if (!f)
		return -1;
	while (off + 1 < len) {
		size_t n = fread(buf + off, 1, len - 1 - off, f);

		if (!n)
			break;
		off += n;
	}
	buf[off] = '\0';
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

double mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

long rss_kb(pid_t pid)
{
	char f[64], line[256];
	long kb = -1;
	FILE *fp;

	snprintf(f, sizeof(f), "/proc/%d/status", (int)pid);
	fp = fopen(f, "r");
	while (fp && fgets(line, sizeof(line), fp))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	if (fp)
		fclose(fp);
	return kb;
}

pid_t start_until_ready(const char *cmd, const char *errfile, const char *ready, double limit,
			char *buf, size_t len)
{
	double t0 = mono_seconds();
	pid_t pid;

	unlink(errfile);
	buf[0] = '\0';
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (mono_seconds() - t0 < limit) {
		FILE *f = fopen(errfile, "r");
		size_t n = 0;

		if (f) {
			n = fread(buf, 1, len - 1, f);
			fclose(f);
		}
		buf[n] = '\0';
		if (strstr(buf, ready))
			return pid;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

int wait_exit(pid_t pid, double limit)
{
	double t0 = mono_seconds();
	int st;

	while (mono_seconds() - t0 < limit) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

pid_t only_child_of(pid_t pid)
{
	char f[96];
	int kid = 0;

	snprintf(f, sizeof(f), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	for (int i = 0; i < 500 && kid <= 0; i++) {
		FILE *fp = fopen(f, "r");

		if (fp) {
			if (fscanf(fp, "%d", &kid) != 1)
				kid = 0;
			fclose(fp);
		}
		if (kid <= 0)
			usleep(20000);
	}
	return kid > 0 ? kid : 0;
}
