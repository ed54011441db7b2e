// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <ctype.h>
#include <crypt.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "serve/config.h"
#include "wall.h"

void config_defaults(struct serve_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:9464");
	c->frequency = 19;
	c->max_procs = 4096;
	c->max_stats = 16384;
	c->top_syscalls = 15;
	c->top_functions = 20;
	c->top_calls = 20;
	c->calls_budget = 0;
	c->queries = false;
	c->top_queries = 20;
	c->queries_budget = 1;
	c->process_max_age = 300;
	c->cache_seconds = 1.0;
	c->max_exited = 1000;
	c->max_profiles = 4;
	c->max_connections = 2048;
	c->max_connections_per_ip = 512;
	c->header_timeout = 10;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

bool config_hash_ok(const char *hash)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *out;
	bool ok;

	if (!cd)
		return false;
	/* a hash crypt(3) cannot use gives "*..." or NULL; one it reads as something else
	 * (e.g. "notahash" as a DES salt) gives a hash of another length: no password can match */
	out = crypt_r("pyhound-hash-check", hash, cd);
	ok = out && out[0] != '*' && strlen(out) == strlen(hash);
	free(cd);
	return ok;
}

static int set_uint(const char *v, unsigned int min, unsigned int max, unsigned int *out)
{
	unsigned long x;
	char *end;

	/* decimal digits only: no sign, no hex, no blanks (strtoul takes all three) */
	if (!*v || strspn(v, "0123456789") != strlen(v))
		return -EINVAL;
	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || *end || x < min || x > max)
		return -EINVAL;
	*out = (unsigned int)x;
	return 0;
}

/* a decimal number in [min, max] (no inf, nan, hex) */
static int set_double(const char *v, double min, double max, double *out)
{
	const char *p;
	char *end;
	double d;

	for (p = v; *p; p++)
		if (!(*p >= '0' && *p <= '9') && *p != '.')
			return -EINVAL;
	errno = 0;
	d = strtod(v, &end);
	if (errno || *end || end == v || !isfinite(d) || d < min || d > max)
		return -EINVAL;
	*out = d;
	return 0;
}

static int set_str(const char *v, char *out, size_t len)
{
	if (strlen(v) >= len)
		return -ENAMETOOLONG;
	snprintf(out, len, "%s", v);
	return 0;
}

int config_load(const char *path, struct serve_config *c, char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0;
	struct stat st;
	FILE *f = fopen(path, "re");

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return rc;
	}
	/* fopen() opens a directory, whose first read fails: say so rather than read nothing */
	if (!fstat(fileno(f), &st) && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cannot read %s: is a directory (expected a configuration "
			 "file)", path);
		fclose(f);
		return -EISDIR;
	}
	/* whole lines, however long: a long comment stays one comment */
	while (getline(&line, &cap, f) >= 0) {
		char *k, *v, *eq;

		lineno++;
		if (strlen(line) > CONFIG_MAX_LINE && *trim(line) != '#') {
			snprintf(err, errlen, "%s:%d: line longer than %d bytes", path, lineno,
				 CONFIG_MAX_LINE);
			rc = -EINVAL;
			break;
		}
		k = trim(line);
		if (!*k || *k == '#')
			continue;
		eq = strchr(k, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
			rc = -EINVAL;
			break;
		}
		*eq = '\0';
		v = trim(eq + 1);
		k = trim(k);
		if (!strcmp(k, "listen"))
			rc = set_str(v, c->listen, sizeof(c->listen));
		else if (!strcmp(k, "allow_remote"))
			rc = !strcmp(v, "yes") || !strcmp(v, "true") ? (c->allow_remote = true, 0)
			     : !strcmp(v, "no") || !strcmp(v, "false") ? (c->allow_remote = false, 0)
									: -EINVAL;
		else if (!strcmp(k, "frequency"))
			rc = set_uint(v, 1, 1000, &c->frequency);
		else if (!strcmp(k, "mode"))
			rc = !strcmp(v, "cpu") ? (c->mode = PH_MODE_CPU, 0)
			     : !strcmp(v, "wall") ? (c->mode = PH_MODE_WALL, 0)
			     : !strcmp(v, "gil") ? (c->mode = PH_MODE_GIL, 0)
						  : -EINVAL;
		else if (!strcmp(k, "max_procs"))
			rc = set_uint(v, 1, 65536, &c->max_procs);
		else if (!strcmp(k, "max_stats"))
			rc = set_uint(v, 16, 262144, &c->max_stats);
		else if (!strcmp(k, "top_syscalls"))
			rc = set_uint(v, 1, 400, &c->top_syscalls);
		else if (!strcmp(k, "top_functions"))
			rc = set_uint(v, 1, 1000, &c->top_functions);
		else if (!strcmp(k, "top_calls"))
			rc = set_uint(v, 1, 1000, &c->top_calls);
		else if (!strcmp(k, "calls_budget"))
			rc = set_double(v, 0, 100, &c->calls_budget);
		else if (!strcmp(k, "queries"))
			rc = !strcmp(v, "yes") || !strcmp(v, "true") ? (c->queries = true, 0)
			     : !strcmp(v, "no") || !strcmp(v, "false") ? (c->queries = false, 0)
									: -EINVAL;
		else if (!strcmp(k, "bpf_run_stats"))
			rc = !strcmp(v, "yes") || !strcmp(v, "true") ? (c->bpf_run_stats = true, 0)
			     : !strcmp(v, "no") || !strcmp(v, "false") ? (c->bpf_run_stats = false, 0)
									: -EINVAL;
		else if (!strcmp(k, "queries_budget"))
			rc = set_double(v, 0.001, 100, &c->queries_budget);
		else if (!strcmp(k, "top_queries"))
			rc = set_uint(v, 1, 1000, &c->top_queries);
		else if (!strcmp(k, "process_max_age"))
			rc = set_uint(v, 1, 7 * 86400, &c->process_max_age);
		else if (!strcmp(k, "max_exited"))
			rc = set_uint(v, 0, 1000000, &c->max_exited);
		else if (!strcmp(k, "max_profiles"))
			rc = set_uint(v, 0, 64, &c->max_profiles);
		else if (!strcmp(k, "max_connections"))
			rc = set_uint(v, 16, 65536, &c->max_connections);
		else if (!strcmp(k, "max_connections_per_ip"))
			rc = set_uint(v, 1, 65536, &c->max_connections_per_ip);
		else if (!strcmp(k, "header_timeout"))
			rc = set_uint(v, 1, 3600, &c->header_timeout);
		else if (!strcmp(k, "cache_seconds"))
			rc = set_double(v, 0, 60, &c->cache_seconds);
		else if (!strcmp(k, "basic_auth_user"))
			rc = set_str(v, c->basic_auth_user, sizeof(c->basic_auth_user));
		else if (!strcmp(k, "basic_auth_hash"))
			rc = set_str(v, c->basic_auth_hash, sizeof(c->basic_auth_hash));
		else if (!strcmp(k, "tls_cert"))
			rc = set_str(v, c->tls_cert, sizeof(c->tls_cert));
		else if (!strcmp(k, "tls_key"))
			rc = set_str(v, c->tls_key, sizeof(c->tls_key));
		else {
			snprintf(err, errlen, "%s:%d: unknown key '%s'", path, lineno, k);
			rc = -EINVAL;
			break;
		}
		if (rc) {
			const char *hint = !strcmp(k, "calls_budget") ?
						   " (percent of time, from 0 to 100, e.g. 0.5; 0: off)" :
					   !strcmp(k, "queries_budget") ?
						   " (percent of time, from 0.001 to 100; 100: exact)" :
					   !strcmp(k, "top_calls") ? " (an integer from 1 to 1000)" :
					   !strcmp(k, "mode") ? " (cpu, wall or gil)" : "";

			snprintf(err, errlen, "%s:%d: bad value for '%s': '%s'%s", path, lineno, k, v,
				 hint);
			break;
		}
	}
	if (!rc && ferror(f)) {
		rc = errno ? -errno : -EIO;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
	}
	free(line);
	fclose(f);
	if (!rc && c->basic_auth_hash[0] && !config_hash_ok(c->basic_auth_hash)) {
		snprintf(err, errlen, "%s: basic_auth_hash is not a crypt(3) hash this system "
			 "can check (expected e.g. bcrypt \"$2b$12$...\" from 'htpasswd -nB USER')",
			 path);
		rc = -EINVAL;
	}
	if (!rc && !!c->basic_auth_user[0] != !!c->basic_auth_hash[0]) {
		snprintf(err, errlen, "%s: basic_auth_user and basic_auth_hash go together", path);
		rc = -EINVAL;
	}
	if (!rc && !!c->tls_cert[0] != !!c->tls_key[0]) {
		snprintf(err, errlen, "%s: tls_cert and tls_key go together", path);
		rc = -EINVAL;
	}
	return rc;
}

int config_parse_listen(const char *s, struct sockaddr_storage *ss, unsigned int *len,
			bool *loopback)
{
	char host[128];
	const char *colon;
	unsigned long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(rb - s - 1), s + 1);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	}
	if (!colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port > 65535)
		return -EINVAL;
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		*len = sizeof(*a);
		*loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		*len = sizeof(*a);
		*loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
		return 0;
	}
	return -EINVAL;
}
