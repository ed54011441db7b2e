/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The daemon's configuration file (/etc/pyhound/pyhound.conf): "key = value" lines, '#'
 * comments. Command-line flags override it. */
#ifndef PYHOUND_CONFIG_H
#define PYHOUND_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct serve_config {
	char listen[128];	  /* "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464" */
	bool allow_remote;	  /* binding to a non-loopback address must be asked for */
	unsigned int frequency;	  /* sampling Hz, for collectors that sample */
	int mode;		  /* enum ph_wall_mode: cpu (default), wall or gil sampling */
	unsigned int max_procs;	  /* tracked processes (BPF map bound) */
	unsigned int max_stats;	  /* (process, syscall) entries (BPF map bound) */
	unsigned int top_syscalls; /* per process, series for the top N syscalls; rest "other" */
	unsigned int top_functions; /* per process, series for the top N functions; rest "other" */
	unsigned int top_calls;	  /* per process, call series for the top N functions; rest "other" */
	double calls_budget;	  /* exact-call probes' cost, percent of time; 0: off (no probes) */
	bool queries;		  /* follow database queries (uprobes on libsqlite3/libpq) */
	unsigned int top_queries; /* per process, query series for the top N (statement, function) */
	double queries_budget;	  /* query probes' cost, percent of time (windows); 100: throughout */
	bool bpf_run_stats;	  /* kernel BPF run-time statistics on while serving (host-wide cost) */
	unsigned int process_max_age; /* seconds an exited process's series are kept */
	unsigned int max_exited;  /* exited processes kept with their series (oldest go first) */
	double cache_seconds;	  /* /metrics renders at most this often */
	unsigned int max_profiles; /* /profile requests at once (429 beyond) */
	unsigned int max_connections, max_connections_per_ip; /* HTTP connections at once */
	unsigned int header_timeout; /* seconds a client has to send a request's headers */
	char basic_auth_user[64];
	char basic_auth_hash[256]; /* crypt(3) hash, e.g. bcrypt "$2b$..." from htpasswd -B */
	char tls_cert[PATH_MAX];
	char tls_key[PATH_MAX];
};

#define CONFIG_MAX_LINE 4096 /* longest setting line (comments may be longer) */

void config_defaults(struct serve_config *c);
/* Whether crypt(3) here can check passwords against hash (libxcrypt's methods). */
bool config_hash_ok(const char *hash);
/* Parse a config file into c (keys not present keep their values). Returns 0, or -errno with
 * a message naming the file and line in err. */
int config_load(const char *path, struct serve_config *c, char *err, size_t errlen);
/* Parse "host:port" / "[v6]:port"; fills a sockaddr. Returns 0 or -EINVAL. */
struct sockaddr_storage;
int config_parse_listen(const char *s, struct sockaddr_storage *ss, unsigned int *len,
			bool *loopback);

#endif
