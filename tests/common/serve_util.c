// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/select.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/pythons.h"
#include "common/serve_util.h"

const char *bin(void)
{
	const char *b = getenv("PYHOUND");

	return b && *b ? b : "build/pyhound";
}

int read_line(int fd, char *buf, size_t len, double limit)
{
	double end = mono_seconds() + limit;
	size_t n = 0;

	while (n < len - 1 && mono_seconds() < end) {
		fd_set fds;
		struct timeval tv = { 0, 200000 };

		FD_ZERO(&fds);
		FD_SET(fd, &fds);
		if (select(fd + 1, &fds, NULL, NULL, &tv) <= 0)
			continue;
		if (read(fd, buf + n, 1) <= 0)
			return -1;
		if (buf[n] == '\n') {
			buf[n] = 0;
			return (int)n;
		}
		n++;
	}
	return -1;
}

int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(fd >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

double sample(const char *text, const char *prefix)
{
	const char *p = text;
	size_t n = strlen(prefix);

	while ((p = strstr(p, prefix))) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return atof(p + n + 1);
		p += n;
	}
	return -1;
}

void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

void serve_start_as(struct server *s, const char *tag, const char *extra, double limit)
{
	char cmd[1024], line[512];
	double t0 = mono_seconds();

	static unsigned int seq;

	/* port 0: the kernel picks a free port when serve binds, after loading its BPF programs
	 * (a port picked before could be taken meanwhile), and serve names it in "serving on" */
	s->port = 0;
	snprintf(s->err, sizeof(s->err), "/tmp/%s-%d-%u.err", tag, (int)getpid(), seq++);
	unlink(s->err);
	snprintf(cmd, sizeof(cmd), "exec %s serve --listen 127.0.0.1:0 %s 2>%s", bin(),
		 extra ? extra : "", s->err);
	s->pid = fork();
	if (!s->pid) {
		execl("/bin/sh", "sh", "-c", cmd, NULL);
		_exit(127);
	}
	while (mono_seconds() - t0 < limit) {
		FILE *f = fopen(s->err, "r");
		bool ready = false;

		while (f && fgets(line, sizeof(line), f)) {
			const char *on = strstr(line, "serving on "), *ip;

			if (on && (ip = strstr(on, "://127.0.0.1:"))) {
				s->port = atoi(ip + strlen("://127.0.0.1:"));
				ready = true;
			}
		}
		if (f)
			fclose(f);
		if (ready) {
			if (s->port > 0 && s->port < 65536)
				return;
			kill(s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
			cr_assert_fail("pyhound serve named no port (see %s)", s->err);
		}
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid)
			cr_assert_fail("pyhound serve exited at start (see %s)", s->err);
		usleep(20000);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	cr_assert_fail("pyhound serve did not become ready (see %s)", s->err);
}

double serve_stop_within(struct server *s, double limit)
{
	double t0 = mono_seconds();
	int st = 0;

	kill(s->pid, SIGTERM);
	while (waitpid(s->pid, &st, WNOHANG) == 0) {
		if (mono_seconds() - t0 > limit) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &st, 0);
			cr_assert_fail("serve did not stop within %.0f s of SIGTERM", limit);
		}
		usleep(5000);
	}
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "serve exit status %d", st);
	return mono_seconds() - t0;
}
