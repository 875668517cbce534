/* SPDX-License-Identifier: ISC */
/*
 * HTTPS/1.1 connections: read a bounded request, hand it to the handler,
 * write the reply, repeat. One request per connection is in the handler at
 * a time; reading stops meanwhile, so a client cannot make us buffer more
 * than one request ahead. See http.h for why this is not evhttp; the
 * listener and the connection cap are in http_listen.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "core/log.h"
#include "httpd/http_int.h"

/* After the shutdown deadline, how long aborted requests' 503s may take to
 * reach their clients. */
#define STOP_FLUSH_MS 1000

static void stop_deadline_cb(evutil_socket_t fd, short what, void *arg);

void
d01_http_limits_default(struct d01_http_limits *lim)
{
	lim->max_body = 1u << 20;
	lim->max_body_total = 64u << 20;
	lim->max_head = 16u << 10;
	lim->max_line = 8u << 10;
	lim->max_conns = 1024;
	lim->max_inflight = 512;
	lim->idle_timeout_ms = 60000;
	lim->head_timeout_ms = 10000;
	lim->request_timeout_ms = 30000;
	lim->write_timeout_ms = 10000;
}

const char *
d01_http_reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 411:
		return "Length Required";
	case 413:
		return "Payload Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 417:
		return "Expectation Failed";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

void
d01_http_check_stopped(struct d01_httpd *srv)
{
	void (*done)(void *) = srv->stop_done;

	if (!srv->stopping || done == NULL || srv->nconns > 0 ||
	    srv->inflight > 0)
		return;
	srv->stop_done = NULL;
	evtimer_del(srv->stop_timer);
	done(srv->stop_arg);
}

void
d01_req_reply(struct d01_req *r, int status, const char *content_type,
    const char *body, size_t len)
{
	struct d01_httpd *srv = r->srv;
	struct conn *c = r->conn;
	struct evbuffer *out;
	struct timeval tv;
	int keep;

	if (r->in_handler) {
		TAILQ_REMOVE(&srv->active, r, active);
		srv->inflight--;
	}
	if (srv->observe != NULL)
		srv->observe(r->tag, status, srv->arg);
	if (c == NULL) { /* the client went away meanwhile */
		d01_http_req_free(r);
		d01_http_check_stopped(srv);
		return;
	}
	c->served++;
	keep = r->head.keep_alive && !r->close_linger && !srv->stopping;
	out = bufferevent_get_output(c->bev);
	if (evbuffer_add_printf(out,
		"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		"%.*s%s\r\n",
		status, d01_http_reason(status), content_type, len,
		(int)r->extralen, r->extra,
		!keep			 ? "Connection: close\r\n"
		    : r->head.minor == 0 ? "Connection: keep-alive\r\n"
					 : "") < 0 ||
	    (strcmp(r->head.method, "HEAD") != 0 &&
		evbuffer_add(out, body, len) != 0)) {
		/* Out of memory: a reply that cannot be queued would leave
		 * the connection waiting for a write that never comes. */
		c->req = NULL;
		d01_http_req_free(r);
		d01_http_conn_free(c);
		return;
	}
	c->req = NULL;
	c->st = keep ? C_HEAD : C_CLOSING;
	c->linger = r->close_linger;
	d01_http_req_free(r);
	d01_http_tv_ms(&tv, srv->lim.write_timeout_ms);
	bufferevent_set_timeouts(c->bev, NULL, &tv);
}

/*
 * Has the client sent bytes we have not acted on: in our input buffer,
 * inside TLS, or still in the socket? During a shutdown such a connection
 * is not idle: a request that reached us before the signal must be read
 * and answered, not dropped by closing its connection.
 */
static int
conn_has_input(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	char b;

	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0 ||
	    (ssl != NULL && SSL_has_pending(ssl)))
		return 1;
	return recv(bufferevent_getfd(c->bev), &b, 1, MSG_PEEK | MSG_DONTWAIT) >
	    0;
}

/* While stopping: nothing in progress, no reply still on its way out (a
 * keep-alive reply queued this loop turn), nothing received. */
static int
conn_idle(struct conn *c)
{
	return c->st == C_HEAD && c->req == NULL &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
	    !conn_has_input(c);
}

void
d01_http_conn_free(struct conn *c)
{
	struct d01_httpd *srv = c->srv;

	TAILQ_REMOVE(&srv->conns, c, link);
	srv->nconns--;
	if (c->req != NULL) {
		if (c->req->in_handler)
			c->req->conn = NULL; /* handler still owns it */
		else
			d01_http_req_free(c->req);
	}
	bufferevent_free(c->bev);
	event_free(c->timer);
	free(c);
	d01_http_check_stopped(srv);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	d01_http_conn_process(arg);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct timeval tv;

	(void)bev;
	if (c->st == C_CLOSING) {
		if (!c->linger) {
			d01_http_conn_free(c);
			return;
		}
		/* Error reply sent; read and drop what the client still
		 * sends so that closing does not reset the connection before
		 * it has read our answer. */
		c->st = C_LINGER;
		c->lingered = 0;
		d01_http_tv_ms(&tv, LINGER_MS);
		evtimer_add(c->timer, &tv);
		bufferevent_enable(c->bev, EV_READ);
		d01_http_conn_process(c);
		return;
	}
	if (c->st != C_HEAD || c->req != NULL)
		return; /* e.g. a 100 Continue went out */
	d01_http_tv_ms(&tv, c->srv->lim.idle_timeout_ms);
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	if (c->srv->stopping && !conn_has_input(c)) {
		d01_http_conn_free(c);
		return;
	}
	bufferevent_enable(c->bev, EV_READ);
	d01_http_conn_process(c); /* a pipelined request may be waiting */
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		/* A handshake kept through a shutdown for the bytes that
		 * followed it: close once they turn out to hold no request. */
		if (c->srv->stopping && conn_idle(c))
			d01_http_conn_free(c);
		return;
	}
	d01_http_conn_free(c);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	/* Nothing of a request yet (the TLS handshake or the first byte
	 * still due): nobody to answer, close. */
	if (c->st == C_LINGER || (c->st == C_HEAD && c->req == NULL))
		d01_http_conn_free(c);
	else
		d01_http_conn_error_reply(
		    c, 408, "request not received in time");
}

int
d01_http_conn_start(struct d01_httpd *srv, evutil_socket_t fd, const char *peer)
{
	struct conn *c = NULL;
	SSL *ssl = NULL;
	struct timeval idle, wr, head;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->timer = evtimer_new(srv->base, conn_timer_cb, c)) == NULL ||
	    (srv->ctx != NULL && (ssl = SSL_new(srv->ctx)) == NULL) ||
	    (c->bev = srv->ctx != NULL
		    ? bufferevent_openssl_socket_new(srv->base, fd, ssl,
			  BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)
		    : bufferevent_socket_new(
			  srv->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		SSL_free(ssl);
		if (c != NULL && c->timer != NULL)
			event_free(c->timer);
		free(c);
		return -1;
	}
	/* Bounds the room http_nomem.c makes for a read. */
	if (ssl != NULL)
		bufferevent_set_max_single_read(c->bev, TLS_READ_MAX);
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	c->srv = srv;
	c->st = C_HEAD;
	TAILQ_INSERT_TAIL(&srv->conns, c, link);
	srv->nconns++;
	d01_http_tv_ms(&idle, srv->lim.idle_timeout_ms);
	d01_http_tv_ms(&wr, srv->lim.write_timeout_ms);
	/* Handshake and first head within head_timeout_ms, however slowly
	 * the bytes trickle in (the idle timeout is per read). */
	d01_http_tv_ms(&head, srv->lim.head_timeout_ms);
	evtimer_add(c->timer, &head);
	bufferevent_setcb(
	    c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_set_timeouts(c->bev, &idle, &wr);
	bufferevent_enable(c->bev, EV_READ);
	return 0;
}

struct d01_httpd *
d01_httpd_new(struct event_base *base, SSL_CTX *ctx,
    const struct d01_http_limits *lim, d01_req_handler handler,
    d01_req_error_fn error_fn, void *arg, struct d01_error *err)
{
	struct d01_httpd *srv;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		goto nomem;
	srv->base = base;
	TAILQ_INIT(&srv->conns);
	TAILQ_INIT(&srv->active);
	if ((srv->stop_timer = evtimer_new(base, stop_deadline_cb, srv)) ==
		NULL ||
	    d01_http_nomem_watch(srv) != 0) {
		if (srv->stop_timer != NULL)
			event_free(srv->stop_timer);
		free(srv);
		goto nomem;
	}
	if (ctx != NULL)
		SSL_CTX_up_ref(ctx);
	srv->ctx = ctx;
	srv->lim = *lim;
	srv->handler = handler;
	srv->error_fn = error_fn;
	srv->arg = arg;
	return srv;
nomem:
	d01_error_set(err, D01_E_NOMEM, "out of memory");
	return NULL;
}

void
d01_httpd_set_ssl_ctx(struct d01_httpd *srv, SSL_CTX *ctx)
{
	if (srv->ctx == NULL)
		return; /* plain HTTP stays plain */
	SSL_CTX_up_ref(ctx);
	SSL_CTX_free(srv->ctx);
	srv->ctx = ctx;
}

/* Abort every request still in a handler: its hook stops the work, the
 * client (if still there) gets a 503. */
static void
abort_active(struct d01_httpd *srv)
{
	struct d01_req *r;

	while ((r = TAILQ_FIRST(&srv->active)) != NULL) {
		if (r->abort_fn != NULL)
			r->abort_fn(r->abort_arg);
		r->close_linger = 0;
		r->head.keep_alive = 0;
		srv->error_fn(r, 503, "server is shutting down", srv->arg);
	}
}

static void
stop_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct d01_httpd *srv = arg;
	struct conn *c, *next;
	struct timeval tv;

	(void)fd;
	(void)what;
	if (srv->stop_flushing) {
		/* The 503s had their chance to leave; close what is left. */
		while ((c = TAILQ_FIRST(&srv->conns)) != NULL)
			d01_http_conn_free(c);
		d01_http_check_stopped(srv);
		return;
	}
	d01_log(
	    D01_LOG_WARN, "shutdown_deadline", "aborted=%zu", srv->inflight);
	abort_active(srv);
	/* Connections with a reply queued close once it is written (write
	 * callback); the rest close now. A last timer bounds the flush. */
	for (c = TAILQ_FIRST(&srv->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (c->st != C_CLOSING)
			d01_http_conn_free(c);
	}
	srv->stop_flushing = 1;
	d01_http_tv_ms(&tv, STOP_FLUSH_MS);
	evtimer_add(srv->stop_timer, &tv);
	d01_http_check_stopped(srv);
}

void
d01_httpd_shutdown(
    struct d01_httpd *srv, int deadline_ms, void (*done)(void *), void *arg)
{
	struct conn *c, *next;
	struct timeval tv;

	srv->stopping = 1;
	srv->stop_done = done;
	srv->stop_arg = arg;
	d01_http_listen_close(srv);
	for (c = TAILQ_FIRST(&srv->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (conn_idle(c))
			d01_http_conn_free(c);
	}
	d01_http_tv_ms(&tv, deadline_ms);
	evtimer_add(srv->stop_timer, &tv);
	d01_http_check_stopped(srv);
}

void
d01_httpd_free(struct d01_httpd *srv)
{
	struct conn *c;

	if (srv == NULL)
		return;
	srv->stop_done = NULL;
	abort_active(srv);
	while ((c = TAILQ_FIRST(&srv->conns)) != NULL)
		d01_http_conn_free(c);
	d01_http_listen_close(srv);
	d01_http_nomem_unwatch(srv);
	event_free(srv->stop_timer);
	SSL_CTX_free(srv->ctx);
	free(srv);
}

void
d01_httpd_set_observer(struct d01_httpd *srv, d01_req_observe_fn fn)
{
	srv->observe = fn;
}

void
d01_httpd_set_head_check(struct d01_httpd *srv, d01_req_head_fn fn)
{
	srv->head_fn = fn;
}

void
d01_httpd_stats(const struct d01_httpd *srv, struct d01_httpd_stats *st)
{
	st->conns = srv->nconns;
	st->body_bytes = srv->body_bytes;
	st->evicted = srv->evicted;
	st->accept_errors = srv->accept_errors;
}

void
d01_req_trust_conn(struct d01_req *r)
{
	if (r->conn != NULL)
		r->conn->trusted = 1;
}

void
d01_req_set_tag(struct d01_req *r, int tag)
{
	r->tag = tag;
}

size_t
d01_httpd_inflight(const struct d01_httpd *srv)
{
	return srv->inflight;
}

const char *
d01_req_method(const struct d01_req *r)
{
	return r->head.method;
}

const char *
d01_req_path(const struct d01_req *r)
{
	return r->head.path;
}

const struct d01_http_head *
d01_req_head(const struct d01_req *r)
{
	return &r->head;
}

const char *
d01_req_header(const struct d01_req *r, const char *name)
{
	return d01_http_head_get(&r->head, name);
}

const char *
d01_req_body(struct d01_req *r, size_t *len)
{
	size_t n;

	const char *p;

	if (!r->body_done) { /* rejected before the body was complete */
		if (evbuffer_add(r->body, "", 1) != 0) {
			*len = 0;
			return "";
		}
		r->body_done = 1;
	}
	n = evbuffer_get_length(r->body);
	/* Made contiguous by dispatch(); only a partial body of a rejected
	 * request may need memory here. */
	if ((p = (const char *)evbuffer_pullup(r->body, -1)) == NULL) {
		*len = 0;
		return "";
	}
	*len = n - 1;
	return p;
}

SSL *
d01_req_ssl(const struct d01_req *r)
{
	return r->conn != NULL ? bufferevent_openssl_get_ssl(r->conn->bev)
			       : NULL;
}

const char *
d01_req_peer(const struct d01_req *r)
{
	return r->conn != NULL ? r->conn->peer : "-";
}

void
d01_req_add_header(struct d01_req *r, const char *name, const char *value)
{
	int n = snprintf(r->extra + r->extralen, sizeof(r->extra) - r->extralen,
	    "%s: %s\r\n", name, value);

	if (n > 0 && (size_t)n < sizeof(r->extra) - r->extralen)
		r->extralen += (size_t)n;
	else
		r->extra[r->extralen] = '\0'; /* drop a header that won't fit */
}

void
d01_req_on_abort(struct d01_req *r, void (*fn)(void *), void *arg)
{
	r->abort_fn = fn;
	r->abort_arg = arg;
}
