// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "serve/http.h"
#include "lib/log.h"

struct http_server {
	struct MHD_Daemon *d;
	int fd;
	const struct http_route *routes;
	int nroutes;
	void *ctx;
	pthread_mutex_t auth_lock;
	char *auth_user, *auth_hash;
	char *cert, *key;
};

struct http_req {
	struct MHD_Connection *conn;
	const char *url;
};

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

static bool authorised(struct http_server *s, struct MHD_Connection *conn)
{
	char *pass = NULL, *user;
	bool ok = false;

	pthread_mutex_lock(&s->auth_lock);
	if (!s->auth_user) {
		pthread_mutex_unlock(&s->auth_lock);
		return true;
	}
	user = MHD_basic_auth_get_username_password(conn, &pass);
	if (user && pass && !strcmp(user, s->auth_user))
		ok = http_password_ok(pass, s->auth_hash);
	pthread_mutex_unlock(&s->auth_lock);
	if (user)
		MHD_free(user);
	if (pass)
		MHD_free(pass);
	return ok;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_resp r = {};
	struct http_req req = { conn, url };
	int i;

	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		http_text(&r, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
		return queue(conn, &r);
	}
	if (!authorised(s, conn)) {
		struct MHD_Response *resp = MHD_create_response_from_buffer(
			13, (void *)"unauthorised\n", MHD_RESPMEM_PERSISTENT);
		enum MHD_Result ret;

		if (!resp)
			return MHD_NO;
		ret = MHD_queue_basic_auth_fail_response(conn, "pyhound", resp);
		MHD_destroy_response(resp);
		return ret;
	}
	for (i = 0; i < s->nroutes; i++) {
		if (strcmp(url, s->routes[i].path))
			continue;
		s->routes[i].fn(&req, &r, s->ctx);
		if (!r.status)
			http_text(&r, 500, "internal error\n");
		return queue(conn, &r);
	}
	http_text(&r, MHD_HTTP_NOT_FOUND, "not found: %s (try /)\n", url);
	return queue(conn, &r);
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
	pthread_mutex_unlock(&s->auth_lock);
	return 0;
}

int http_start(const struct http_opts *o, const struct http_route *routes, int nroutes, void *ctx,
	       struct http_server **out)
{
	struct http_server *s = calloc(1, sizeof(*s));
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	int one = 1, err;

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->auth_lock, NULL);
	s->routes = routes;
	s->nroutes = nroutes;
	s->ctx = ctx;
	s->fd = -1;
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
	s->d = MHD_start_daemon(
		flags, 0, NULL, NULL, handle, s, MHD_OPTION_LISTEN_SOCKET, s->fd,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)(o->threads ? o->threads : 4),
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)(o->max_connections ? o->max_connections : 512),
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
		MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
		s->cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, s->cert,
		MHD_OPTION_HTTPS_MEM_KEY, s->key, MHD_OPTION_END);
	if (!s->d) {
		err = -EIO;
		pr_err("cannot start the HTTP server (libmicrohttpd)%s",
		       s->cert ? ": check the TLS certificate and key" : "");
		goto err_free;
	}
	*out = s;
	return 0;

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
	MHD_stop_daemon(s->d);
	close(s->fd);
	free(s->cert);
	free(s->key);
	http_set_auth(s, NULL, NULL);
	pthread_mutex_destroy(&s->auth_lock);
	free(s);
}

int http_listen_fd(const struct http_server *s)
{
	return s ? s->fd : -1;
}
