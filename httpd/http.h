/* SPDX-License-Identifier: ISC */
/*
 * A small HTTPS/1.1 server on libevent bufferevents with OpenSSL.
 *
 * Why not evhttp: libevent 2.1's evhttp answers its own errors (413, 400,
 * header limits) with an HTML page and offers no hook before it reads the
 * body, while every non-2xx reply of a Kubernetes aggregated API server
 * must be a Status object; it also has no graceful drain. This layer keeps
 * the parts that matter here: bounded heads and bodies (Content-Length and
 * chunked), 100-continue, keep-alive with one request in flight per
 * connection (pipelined requests wait their turn), absolute deadlines
 * against slow clients, a connection cap and a graceful shutdown.
 *
 * Ownership: the server owns connections and requests. A request handed to
 * the handler stays valid until the handler calls d01_req_reply() exactly
 * once (now or later from the event loop), even when the client has gone
 * away meanwhile; the reply frees it.
 */
#ifndef D01_HTTP_H
#define D01_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "core/err.h"
#include "httpd/http_parse.h"

struct event_base;
struct d01_httpd;
struct d01_req;

struct d01_http_limits {
	size_t max_body;	/* 413 past it */
	size_t max_body_total;	/* all buffered bodies together; 503 past it
				   (0: no cap) */
	size_t max_head;	/* 431 past it (request line + headers) */
	size_t max_line;	/* 414 past it */
	size_t max_conns;	/* at the cap, the oldest connection not trusted
				   (d01_req_trust_conn) is closed for a new one */
	size_t max_inflight;	/* requests in handlers; 503 past it */
	int idle_timeout_ms;	/* keep-alive idle, per read */
	int head_timeout_ms;	/* accept (or first byte) to end of head:
				   TLS handshake included */
	int request_timeout_ms; /* first byte of a head to end of body */
	int write_timeout_ms;	/* a reply that cannot be delivered */
};

/*
 * Route libevent's allocations through dns01 (event_set_mem_functions) so
 * that a failed one closes the TLS connections it left unable to read,
 * which libevent would otherwise retry in a busy loop (http_nomem.c).
 * Call first, before any other libevent call, in a process that serves.
 */
void d01_http_watch_allocations(void);

/* Conservative defaults for a webhook behind the kube-apiserver. */
void d01_http_limits_default(struct d01_http_limits *lim);

/* Called for every reply with the request's tag (d01_req_set_tag) and
 * status; for metrics. */
typedef void (*d01_req_observe_fn)(int tag, int status, void *arg);

/* Called once per complete request; must lead to one d01_req_reply(). */
typedef void (*d01_req_handler)(struct d01_req *req, void *arg);

/*
 * Called when the HTTP layer itself rejects a request (malformed head,
 * limits, overload): must reply with `status` via d01_req_reply(). The
 * request's method/path may be "" when the head was unreadable.
 */
typedef void (*d01_req_error_fn)(
    struct d01_req *req, int status, const char *why, void *arg);

/*
 * Called once a request head is parsed, before any byte of its body is
 * read and before a 100 Continue is sent: returns 0 to go on (read the
 * body, then call the handler), or an HTTP status (401, 403) to reject the
 * request through the error function; its connection is then closed
 * without the body being read. May call d01_req_trust_conn().
 */
typedef int (*d01_req_head_fn)(struct d01_req *req, void *arg);

/*
 * Create a server; `ctx` is up-referenced (the caller keeps its own
 * reference), or NULL for plain HTTP (the metrics port). Nothing listens
 * until d01_httpd_listen().
 */
struct d01_httpd *d01_httpd_new(struct event_base *base, SSL_CTX *ctx,
    const struct d01_http_limits *lim, d01_req_handler handler,
    d01_req_error_fn error_fn, void *arg, struct d01_error *err);

/* Listen on `addr` (IPv4 or IPv6 literal) and `port`. */
enum d01_err d01_httpd_listen(
    struct d01_httpd *srv, const char *addr, int port, struct d01_error *err);

/* New connections use `ctx` (up-referenced); live ones keep theirs. */
void d01_httpd_set_ssl_ctx(struct d01_httpd *srv, SSL_CTX *ctx);

/*
 * Graceful stop: close the listener and idle connections, let requests in
 * progress finish (each reply then closes its connection), and call
 * done(arg) once no connection is left, or after deadline_ms, when pending
 * requests are aborted (their abort hooks run, they get a 503). A
 * connection is idle when the client has sent nothing we have not acted
 * on: a request that has reached the socket (even right behind the TLS
 * handshake) is read and answered like one in progress.
 */
void d01_httpd_shutdown(
    struct d01_httpd *srv, int deadline_ms, void (*done)(void *), void *arg);

/* Free everything, aborting what is left. NULL is a no-op. */
void d01_httpd_free(struct d01_httpd *srv);

/* Check every head before its body is read (NULL: none). */
void d01_httpd_set_head_check(struct d01_httpd *srv, d01_req_head_fn fn);

/* Observe every reply (NULL to stop). */
void d01_httpd_set_observer(struct d01_httpd *srv, d01_req_observe_fn fn);

/* Number of requests currently in handlers. */
size_t d01_httpd_inflight(const struct d01_httpd *srv);

/* Live counters for /metrics. */
struct d01_httpd_stats {
	size_t conns;		/* open connections */
	size_t body_bytes;	/* reserved by bodies being read or handled */
	uint64_t evicted;	/* closed at the cap for a newer connection */
	uint64_t accept_errors; /* accept() failures (EMFILE, ENOMEM...) */
};
void d01_httpd_stats(const struct d01_httpd *srv, struct d01_httpd_stats *st);

/* Request accessors; strings are valid until the reply. */
const char *d01_req_method(const struct d01_req *req);
const char *d01_req_path(const struct d01_req *req);
const struct d01_http_head *d01_req_head(const struct d01_req *req);
const char *d01_req_header(const struct d01_req *req, const char *name);
/* The body, NUL-terminated for convenience (the NUL is not counted). */
const char *d01_req_body(struct d01_req *req, size_t *len);
/* The connection's TLS object, or NULL once the client has gone. */
SSL *d01_req_ssl(const struct d01_req *req);
/* "ip:port" of the client. */
const char *d01_req_peer(const struct d01_req *req);

/*
 * The connection of `req` belongs to an authenticated client: it is never
 * closed to make room at the connection cap. Call from the head check.
 */
void d01_req_trust_conn(struct d01_req *req);

/* Tag the request for the observer (default -1). */
void d01_req_set_tag(struct d01_req *req, int tag);

/* Add a response header (copied; at most ~1 KiB in total). */
void d01_req_add_header(
    struct d01_req *req, const char *name, const char *value);

/*
 * Called if the server aborts the request before the handler replied
 * (shutdown deadline); the hook must stop whatever it started and must not
 * reply: the server replies 503 itself.
 */
void d01_req_on_abort(struct d01_req *req, void (*fn)(void *), void *arg);

/* Send the reply (body copied) and free the request. Exactly once. */
void d01_req_reply(struct d01_req *req, int status, const char *content_type,
    const char *body, size_t len);

/* Reason phrase for a status code ("Not Found"). */
const char *d01_http_reason(int status);

#endif
