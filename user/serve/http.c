// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "serve/http.h"
#include "lib/log.h"

#define AUTH_WORKERS 2	/* password checks at once (bcrypt: ~0.25 s of CPU each at cost 12) */
#define AUTH_QUEUE 64	/* checks waiting; beyond, 503 at once */
#define AUTH_CACHE 32	/* credentials that passed a check, by HMAC */
#define MAC_LEN 32	/* HMAC-SHA256 */

/* One TCP connection (MHD's socket context): how long it has waited for a request's headers */
struct http_conn {
	int fd;
	uint64_t since_ns; /* accepted, or the previous response sent */
	bool in_request;   /* the headers of a request arrived */
	bool reaped;
	struct http_conn *prev, *next;
};

/* One request (MHD's con_cls) */
enum req_phase { RQ_NEW, RQ_AUTH_WAIT, RQ_AUTH_DONE, RQ_DEFER_WAIT, RQ_DEFER_DONE };

struct http_req {
	struct http_server *s;
	struct MHD_Connection *conn;
	const char *url;
	enum req_phase phase;
	bool auth_ok;
	bool deferred; /* counted in http_server.deferred until completed */
	char *user, *pass; /* for a queued password check */
	size_t pass_len;
	uint64_t auth_gen;
	struct http_resp resp; /* a deferred answer */
	struct http_req *qnext;
};

struct auth_entry {
	unsigned char mac[MAC_LEN];
	uint64_t used;
};

struct http_server {
	struct MHD_Daemon *d;
	int fd;
	const struct http_route *routes;
	int nroutes;
	void *ctx;
	unsigned int header_timeout;
	/* credentials and the cache of checks that passed: under auth_lock, held briefly */
	pthread_mutex_t auth_lock;
	pthread_cond_t auth_cond;
	char *auth_user, *auth_hash;
	uint64_t auth_gen; /* bumped when the credentials change: the cache empties */
	unsigned char mac_key[MAC_LEN];
	struct auth_entry cache[AUTH_CACHE];
	uint64_t cache_tick;
	struct http_req *q_head, *q_tail;
	int q_len;
	bool stopping;
	pthread_t workers[AUTH_WORKERS];
	int nworkers;
	/* connections, for the header timeout */
	pthread_mutex_t conn_lock;
	struct http_conn *conns;
	pthread_t reaper;
	bool reaper_started;
	struct http_stats st;
	int deferred; /* deferred requests not yet sent (auth_lock) */
	char *cert, *key;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

const char *http_query(struct http_req *req, const char *key)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

void http_text(struct http_resp *resp, int status, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	resp->status = status;
	resp->content_type = "text/plain; charset=utf-8";
	resp->body = n >= 0 ? s : NULL;
	resp->len = n >= 0 ? (size_t)n : 0;
}

bool http_password_ok(const char *password, const char *hash)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *out;
	size_t i, n;
	unsigned char diff = 0;

	if (!cd || !hash || !*hash || !password)
		goto fail;
	out = crypt_r(password, hash, cd);
	if (!out || out[0] == '*')
		goto fail;
	n = strlen(hash);
	if (strlen(out) != n)
		goto fail;
	for (i = 0; i < n; i++)
		diff |= (unsigned char)out[i] ^ (unsigned char)hash[i];
	free(cd);
	return diff == 0;
fail:
	free(cd);
	return false;
}

static enum MHD_Result queue(struct MHD_Connection *conn, struct http_resp *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(r->len, r->body ? r->body : (char *)"",
					       r->body ? MHD_RESPMEM_MUST_FREE
						       : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(r->body);
		return MHD_NO;
	}
	if (r->content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
	ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* The Basic credentials of a request, decoded here rather than by libmicrohttpd, which cuts a
 * password at a NUL ("secret\0x" would pass as "secret"). 0, -ENOENT (none) or -EINVAL. */
static int basic_credentials(struct MHD_Connection *conn, char **user, char **pass,
			     size_t *pass_len)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	unsigned char *out;
	size_t n, i, o = 0;
	uint32_t acc = 0;
	int bits = 0, pad = 0;
	char *colon;

	if (!h)
		return -ENOENT;
	if (strncasecmp(h, "Basic ", 6))
		return -EINVAL;
	h += 6;
	while (*h == ' ')
		h++;
	n = strlen(h);
	if (n > 4096)
		return -EINVAL;
	out = malloc(n + 1);
	if (!out)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const char *c;

		if (h[i] == '=') {
			pad++;
			continue;
		}
		c = pad ? NULL : memchr(b64, h[i], 64);
		if (!c || !h[i])
			goto bad;
		acc = acc << 6 | (uint32_t)(c - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	if (pad > 2 || (n % 4) != 0)
		goto bad;
	out[o] = '\0';
	/* a NUL anywhere: refused, never truncated */
	if (memchr(out, '\0', o))
		goto bad;
	colon = strchr((char *)out, ':');
	if (!colon)
		goto bad;
	*colon = '\0';
	*user = strdup((char *)out);
	*pass = strdup(colon + 1);
	*pass_len = o - (colon + 1 - (char *)out);
	explicit_bzero(out, o);
	free(out);
	if (!*user || !*pass) {
		free(*user);
		free(*pass);
		return -ENOMEM;
	}
	return 0;
bad:
	explicit_bzero(out, o);
	free(out);
	return -EINVAL;
}

static int cred_mac(const struct http_server *s, const char *user, const char *pass,
		    size_t pass_len, unsigned char mac[MAC_LEN])
{
	size_t ul = strlen(user);
	char *buf = malloc(ul + 1 + pass_len);
	int err;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, user, ul + 1);
	memcpy(buf + ul + 1, pass, pass_len);
	err = gnutls_hmac_fast(GNUTLS_MAC_SHA256, s->mac_key, MAC_LEN, buf, ul + 1 + pass_len,
			       mac);
	explicit_bzero(buf, ul + 1 + pass_len);
	free(buf);
	return err ? -EIO : 0;
}

static bool mac_eq(const unsigned char *a, const unsigned char *b)
{
	unsigned char d = 0;

	for (int i = 0; i < MAC_LEN; i++)
		d |= a[i] ^ b[i];
	return !d;
}

/* a cached pass (caller holds auth_lock) */
static bool cache_hit(struct http_server *s, const unsigned char *mac)
{
	for (int i = 0; i < AUTH_CACHE; i++)
		if (s->cache[i].used && mac_eq(s->cache[i].mac, mac)) {
			s->cache[i].used = ++s->cache_tick;
			return true;
		}
	return false;
}

static void cache_put(struct http_server *s, const unsigned char *mac)
{
	int i, lru = 0;

	if (cache_hit(s, mac))
		return;
	for (i = 0; i < AUTH_CACHE; i++)
		if (s->cache[i].used < s->cache[lru].used)
			lru = i;
	memcpy(s->cache[lru].mac, mac, MAC_LEN);
	s->cache[lru].used = ++s->cache_tick;
}

static void req_drop_creds(struct http_req *r)
{
	if (r->pass)
		explicit_bzero(r->pass, r->pass_len);
	free(r->user);
	free(r->pass);
	r->user = r->pass = NULL;
}

/* A worker: the slow crypt(3) checks, off libmicrohttpd's threads, several at once */
static void *auth_worker(void *arg)
{
	struct http_server *s = arg;

	pthread_mutex_lock(&s->auth_lock);
	for (;;) {
		struct http_req *r;
		char *hash;
		uint64_t gen;
		bool ok = false;
		unsigned char mac[MAC_LEN];

		while (!s->q_head && !s->stopping)
			pthread_cond_wait(&s->auth_cond, &s->auth_lock);
		r = s->q_head;
		if (!r)
			break; /* stopping, nothing queued */
		s->q_head = r->qnext;
		if (!s->q_head)
			s->q_tail = NULL;
		s->q_len--;
		hash = !s->stopping && s->auth_hash ? strdup(s->auth_hash) : NULL;
		gen = s->auth_gen;
		pthread_mutex_unlock(&s->auth_lock);
		if (hash && r->auth_gen == gen) {
			ok = http_password_ok(r->pass, hash);
			if (ok && !cred_mac(s, r->user, r->pass, r->pass_len, mac)) {
				pthread_mutex_lock(&s->auth_lock);
				if (s->auth_gen == gen)
					cache_put(s, mac);
				pthread_mutex_unlock(&s->auth_lock);
			}
		}
		free(hash);
		req_drop_creds(r);
		pthread_mutex_lock(&s->auth_lock);
		r->auth_ok = ok;
		r->phase = RQ_AUTH_DONE;
		if (!ok)
			s->st.auth_failed++;
		MHD_resume_connection(r->conn);
	}
	pthread_mutex_unlock(&s->auth_lock);
	return NULL;
}

enum auth_verdict { AUTH_OK, AUTH_NO, AUTH_QUEUED, AUTH_BUSY };

static enum auth_verdict authorise(struct http_server *s, struct http_req *r)
{
	unsigned char mac[MAC_LEN];
	char *user = NULL, *pass = NULL;
	size_t pass_len = 0;
	enum auth_verdict v = AUTH_NO;
	int err;

	pthread_mutex_lock(&s->auth_lock);
	if (!s->auth_user) {
		pthread_mutex_unlock(&s->auth_lock);
		return AUTH_OK;
	}
	pthread_mutex_unlock(&s->auth_lock);
	err = basic_credentials(r->conn, &user, &pass, &pass_len);
	if (err)
		goto out;
	if (cred_mac(s, user, pass, pass_len, mac))
		goto out;
	pthread_mutex_lock(&s->auth_lock);
	if (!s->auth_user || strcmp(user, s->auth_user)) {
		v = AUTH_NO;
	} else if (cache_hit(s, mac)) {
		v = AUTH_OK;
	} else if (s->q_len >= AUTH_QUEUE || s->stopping) {
		v = AUTH_BUSY;
	} else {
		r->user = user;
		r->pass = pass;
		r->pass_len = pass_len;
		user = pass = NULL;
		r->auth_gen = s->auth_gen;
		r->phase = RQ_AUTH_WAIT;
		r->qnext = NULL;
		/* suspended before a worker can resume it */
		MHD_suspend_connection(r->conn);
		if (s->q_tail)
			s->q_tail->qnext = r;
		else
			s->q_head = r;
		s->q_tail = r;
		s->q_len++;
		pthread_cond_broadcast(&s->auth_cond);
		v = AUTH_QUEUED;
	}
	if (v == AUTH_NO)
		s->st.auth_failed++;
	else if (v == AUTH_BUSY)
		s->st.auth_busy++;
	pthread_mutex_unlock(&s->auth_lock);
	return v;
out:
	if (pass)
		explicit_bzero(pass, pass_len);
	free(user);
	free(pass);
	pthread_mutex_lock(&s->auth_lock);
	s->st.auth_failed++;
	pthread_mutex_unlock(&s->auth_lock);
	return AUTH_NO;
}

struct http_deferred *http_defer(struct http_req *req)
{
	pthread_mutex_lock(&req->s->auth_lock);
	req->s->deferred++;
	req->deferred = true;
	pthread_mutex_unlock(&req->s->auth_lock);
	req->phase = RQ_DEFER_WAIT;
	/* before anyone can complete it: a resume must follow the suspend */
	MHD_suspend_connection(req->conn);
	return (struct http_deferred *)req;
}

void http_complete(struct http_deferred *d, struct http_resp *resp)
{
	struct http_req *r = (struct http_req *)d;
	struct http_server *s = r->s;

	pthread_mutex_lock(&s->auth_lock);
	r->resp = *resp;
	r->phase = RQ_DEFER_DONE;
	MHD_resume_connection(r->conn);
	pthread_mutex_unlock(&s->auth_lock);
}

static enum MHD_Result unauthorised(struct MHD_Connection *conn)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		13, (void *)"unauthorised\n", MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	ret = MHD_queue_basic_auth_fail_response(conn, "pyhound", resp);
	MHD_destroy_response(resp);
	return ret;
}

static void mark_request(struct MHD_Connection *conn, struct http_server *s, bool in)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct http_conn *c = ci ? ci->socket_context : NULL;

	if (!c)
		return;
	pthread_mutex_lock(&s->conn_lock);
	c->in_request = in;
	if (!in)
		c->since_ns = mono_ns();
	pthread_mutex_unlock(&s->conn_lock);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_req *req = *con_cls;
	struct http_resp r = {};
	int i;

	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		req->s = s;
		req->conn = conn;
		req->url = url;
		*con_cls = req;
		mark_request(conn, s, true);
	}
	switch (req->phase) {
	case RQ_AUTH_WAIT:
	case RQ_DEFER_WAIT:
		return MHD_YES; /* not resumed yet */
	case RQ_DEFER_DONE:
		r = req->resp;
		memset(&req->resp, 0, sizeof(req->resp));
		if (!r.status)
			http_text(&r, 500, "internal error\n");
		return queue(conn, &r);
	case RQ_AUTH_DONE:
		if (!req->auth_ok)
			return unauthorised(conn);
		break;
	case RQ_NEW:
		if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
			http_text(&r, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
			return queue(conn, &r);
		}
		switch (authorise(s, req)) {
		case AUTH_OK: break;
		case AUTH_QUEUED: return MHD_YES;
		case AUTH_BUSY:
			http_text(&r, MHD_HTTP_SERVICE_UNAVAILABLE,
				  "too many password checks waiting; retry\n");
			return queue(conn, &r);
		case AUTH_NO: return unauthorised(conn);
		}
		break;
	}
	for (i = 0; i < s->nroutes; i++) {
		if (strcmp(url, s->routes[i].path))
			continue;
		s->routes[i].fn(req, &r, s->ctx);
		if (req->phase == RQ_DEFER_WAIT || req->phase == RQ_DEFER_DONE)
			return MHD_YES; /* answered when http_complete() resumes it */
		if (!r.status)
			http_text(&r, 500, "internal error\n");
		return queue(conn, &r);
	}
	http_text(&r, MHD_HTTP_NOT_FOUND, "not found: %s (try /)\n", url);
	return queue(conn, &r);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct http_req *req = *con_cls;

	struct http_server *s = cls;

	mark_request(conn, s, false);
	if (!req)
		return;
	if (req->deferred) {
		pthread_mutex_lock(&s->auth_lock);
		s->deferred--;
		pthread_mutex_unlock(&s->auth_lock);
	}
	req_drop_creds(req);
	free(req->resp.body);
	free(req);
	*con_cls = NULL;
}

static void notify_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
			enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *s = cls;
	struct http_conn *c;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

		c = calloc(1, sizeof(*c));
		if (!c)
			return;
		c->fd = ci ? ci->connect_fd : -1;
		c->since_ns = mono_ns();
		pthread_mutex_lock(&s->conn_lock);
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->st.connections++;
		pthread_mutex_unlock(&s->conn_lock);
		*socket_context = c;
		return;
	}
	c = *socket_context;
	if (!c)
		return;
	pthread_mutex_lock(&s->conn_lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->st.connections--;
	pthread_mutex_unlock(&s->conn_lock);
	free(c);
	*socket_context = NULL;
}

/* Slow clients: a connection that has not delivered a request's headers header_timeout
 * seconds after it opened (or after its previous response) is shut down, however slowly it
 * trickles bytes (libmicrohttpd's own timeout restarts at every byte). shutdown(2) only: the
 * fd stays libmicrohttpd's to close. */
static void *reaper(void *arg)
{
	struct http_server *s = arg;

	pthread_mutex_lock(&s->auth_lock);
	while (!s->stopping) {
		struct timespec ts;
		uint64_t now, limit = (uint64_t)s->header_timeout * 1000000000ULL;
		struct http_conn *c;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&s->auth_cond, &s->auth_lock, &ts);
		if (s->stopping)
			break;
		pthread_mutex_unlock(&s->auth_lock);
		now = mono_ns();
		pthread_mutex_lock(&s->conn_lock);
		for (c = s->conns; c; c = c->next)
			if (!c->in_request && !c->reaped && c->fd >= 0 && now - c->since_ns > limit) {
				shutdown(c->fd, SHUT_RDWR);
				c->reaped = true;
				s->st.timed_out++;
			}
		pthread_mutex_unlock(&s->conn_lock);
		pthread_mutex_lock(&s->auth_lock);
	}
	pthread_mutex_unlock(&s->auth_lock);
	return NULL;
}

void http_get_stats(struct http_server *s, struct http_stats *st)
{
	pthread_mutex_lock(&s->conn_lock);
	*st = s->st;
	pthread_mutex_unlock(&s->conn_lock);
	pthread_mutex_lock(&s->auth_lock);
	st->auth_failed = s->st.auth_failed;
	st->auth_busy = s->st.auth_busy;
	st->auth_waiting = s->q_len;
	pthread_mutex_unlock(&s->auth_lock);
}

static char *slurp(const char *path)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || st.st_size <= 0 || st.st_size > (1 << 20))
		goto out;
	buf = calloc(1, st.st_size + 1);
	if (!buf)
		goto out;
	n = read(fd, buf, st.st_size);
	if (n != st.st_size) {
		free(buf);
		buf = NULL;
	}
out:
	close(fd);
	return buf;
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	pr_debug("http: %s", msg);
}

int http_set_auth(struct http_server *s, const char *user, const char *hash)
{
	char *u = user && *user ? strdup(user) : NULL, *h = hash && *hash ? strdup(hash) : NULL;

	if ((user && *user && !u) || (hash && *hash && !h)) {
		free(u);
		free(h);
		return -ENOMEM;
	}
	pthread_mutex_lock(&s->auth_lock);
	free(s->auth_user);
	free(s->auth_hash);
	s->auth_user = u;
	s->auth_hash = h;
	s->auth_gen++;
	memset(s->cache, 0, sizeof(s->cache)); /* a changed password: no old pass stays good */
	pthread_mutex_unlock(&s->auth_lock);
	return 0;
}

static void stop_threads(struct http_server *s)
{
	pthread_mutex_lock(&s->auth_lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->auth_cond);
	pthread_mutex_unlock(&s->auth_lock);
	/* the workers resume what is queued (refused) before they end */
	while (s->nworkers > 0)
		pthread_join(s->workers[--s->nworkers], NULL);
	if (s->reaper_started)
		pthread_join(s->reaper, NULL);
	s->reaper_started = false;
}

int http_start(const struct http_opts *o, const struct http_route *routes, int nroutes, void *ctx,
	       struct http_server **out)
{
	struct http_server *s = calloc(1, sizeof(*s));
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
			     MHD_ALLOW_SUSPEND_RESUME;
	unsigned int max_conn = o->max_connections ? o->max_connections : 2048;
	unsigned int per_ip = o->max_connections_per_ip ? o->max_connections_per_ip : 512;
	int one = 1, err, i;

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->auth_lock, NULL);
	pthread_mutex_init(&s->conn_lock, NULL);
	pthread_cond_init(&s->auth_cond, NULL);
	s->routes = routes;
	s->nroutes = nroutes;
	s->ctx = ctx;
	s->fd = -1;
	s->header_timeout = o->header_timeout ? o->header_timeout : 10;
	if (getrandom(s->mac_key, sizeof(s->mac_key), 0) != sizeof(s->mac_key)) {
		err = -errno;
		pr_err("cannot get random bytes for the credential cache: %s", strerror(errno));
		goto err_free;
	}
	err = http_set_auth(s, o->auth_user, o->auth_hash);
	if (err)
		goto err_free;
	if (o->tls_cert && *o->tls_cert) {
		s->cert = slurp(o->tls_cert);
		s->key = slurp(o->tls_key);
		if (!s->cert || !s->key) {
			err = -ENOENT;
			pr_err("cannot read the TLS certificate %s or key %s", o->tls_cert,
			       o->tls_key);
			goto err_free;
		}
		flags |= MHD_USE_TLS;
	}
	s->fd = socket(o->addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		err = -errno;
		pr_err("cannot create a socket: %s", strerror(errno));
		goto err_free;
	}
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s->fd, o->addr, o->addrlen) || listen(s->fd, 256)) {
		err = -errno;
		pr_err("cannot listen on %s: %s", o->name, strerror(errno));
		goto err_free;
	}
	for (i = 0; i < AUTH_WORKERS; i++) {
		err = -pthread_create(&s->workers[i], NULL, auth_worker, s);
		if (err)
			goto err_threads;
		s->nworkers++;
	}
	err = -pthread_create(&s->reaper, NULL, reaper, s);
	if (err)
		goto err_threads;
	s->reaper_started = true;
	s->d = MHD_start_daemon(
		flags, 0, NULL, NULL, handle, s, MHD_OPTION_LISTEN_SOCKET, s->fd,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)(o->threads ? o->threads : 4),
		MHD_OPTION_CONNECTION_LIMIT, max_conn,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
		/* idle: no byte either way (a suspended request is not idle) */
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
		MHD_OPTION_NOTIFY_COMPLETED, completed, s,
		MHD_OPTION_NOTIFY_CONNECTION, notify_conn, s,
		MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
		s->cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, s->cert,
		MHD_OPTION_HTTPS_MEM_KEY, s->key, MHD_OPTION_END);
	if (!s->d) {
		err = -EIO;
		pr_err("cannot start the HTTP server (libmicrohttpd)%s",
		       s->cert ? ": check the TLS certificate and key" : "");
		goto err_threads;
	}
	*out = s;
	return 0;

err_threads:
	if (err)
		pr_err("cannot start the HTTP threads: %s", strerror(-err));
	stop_threads(s);
err_free:
	if (s->fd >= 0)
		close(s->fd);
	free(s->cert);
	free(s->key);
	http_set_auth(s, NULL, NULL);
	free(s);
	return err;
}

void http_stop(struct http_server *s)
{
	if (!s)
		return;
	/* every queued check is resumed (refused) first: libmicrohttpd must not stop with a
	 * suspended connection; deferred answers were completed by their owners */
	stop_threads(s);
	/* deferred answers just completed (e.g. 503 to pending profiles): let them go out, for
	 * a second at most */
	for (int i = 0; i < 100; i++) {
		int n;

		pthread_mutex_lock(&s->auth_lock);
		n = s->deferred;
		pthread_mutex_unlock(&s->auth_lock);
		if (!n)
			break;
		usleep(10000);
	}
	MHD_stop_daemon(s->d);
	close(s->fd);
	free(s->cert);
	free(s->key);
	http_set_auth(s, NULL, NULL);
	pthread_mutex_destroy(&s->auth_lock);
	pthread_mutex_destroy(&s->conn_lock);
	pthread_cond_destroy(&s->auth_cond);
	free(s);
}

int http_listen_fd(const struct http_server *s)
{
	return s ? s->fd : -1;
}
