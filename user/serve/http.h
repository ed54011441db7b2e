/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The daemon's HTTP endpoint, on libmicrohttpd: a listening socket opened by us (so "port in
 * use" is a clear error), a small thread pool, optional basic auth (crypt(3) hashes such as
 * bcrypt) and TLS (GnuTLS inside libmicrohttpd). */
#ifndef PYHOUND_HTTP_H
#define PYHOUND_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct http_req;

struct http_resp {
	int status;
	const char *content_type;
	char *body; /* malloc'd; the server frees it */
	size_t len;
};

typedef void (*http_handler)(struct http_req *req, struct http_resp *resp, void *ctx);

struct http_route {
	const char *path;
	http_handler fn;
};

struct http_opts {
	const char *name; /* the address as configured, for messages */
	const struct sockaddr *addr;
	socklen_t addrlen;
	const char *auth_user, *auth_hash; /* both or neither */
	const char *tls_cert, *tls_key;	   /* file paths; both or neither */
	unsigned int threads;
	unsigned int max_connections;	     /* at once (default 2048) */
	unsigned int max_connections_per_ip; /* from one address (default 512) */
	unsigned int header_timeout;	     /* seconds to deliver a request's headers (10) */
};

struct http_stats {
	uint64_t connections;  /* open now */
	uint64_t timed_out;    /* shut for not sending headers within header_timeout */
	uint64_t auth_failed;  /* requests refused for their credentials */
	uint64_t auth_busy;    /* refused (503) with AUTH_QUEUE checks already waiting */
	uint64_t auth_waiting; /* password checks queued now */
};

struct http_server;

/* Returns 0, or -errno with a message already logged (e.g. -EADDRINUSE). */
int http_start(const struct http_opts *o, const struct http_route *routes, int nroutes, void *ctx,
	       struct http_server **out);
void http_stop(struct http_server *s);
/* The listening socket (e.g. for getsockname() after binding port 0), or -1. */
int http_listen_fd(const struct http_server *s);
/* Change the credentials of a running server (SIGHUP); strings are copied. */
int http_set_auth(struct http_server *s, const char *user, const char *hash);
void http_get_stats(struct http_server *s, struct http_stats *st);

/* Answer later without holding one of the server's threads: a handler calls http_defer(req)
 * and returns (its resp is ignored); whoever owns the returned handle calls http_complete()
 * exactly once, from any thread, before http_stop(). */
struct http_deferred;
struct http_deferred *http_defer(struct http_req *req);
void http_complete(struct http_deferred *d, struct http_resp *resp);

/* Query-string argument, or NULL. */
const char *http_query(struct http_req *req, const char *key);

/* Fill resp with a plain-text body (status, printf-style message). */
void http_text(struct http_resp *resp, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Check a password against a crypt(3) hash in constant time w.r.t. the hash. */
bool http_password_ok(const char *password, const char *hash);

#endif
