/* SPDX-License-Identifier: ISC */
/*
 * Reading HTTP/1.1 requests off a connection: a bounded head, then a
 * Content-Length or chunked body, then the handler. See http.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "core/log.h"
#include "httpd/http_int.h"

void
d01_http_tv_ms(struct timeval *tv, int ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/* Peak of buffered bodies past which their memory is handed back to the
 * system once they are all gone. */
#define TRIM_PEAK (8u << 20)

void
d01_http_req_free(struct d01_req *r)
{
	struct d01_httpd *srv;

	if (r == NULL)
		return;
	srv = r->srv;
	free(r->headbuf);
	if (r->body != NULL)
		evbuffer_free(r->body);
	srv->body_bytes -= r->reserved;
	free(r);
#ifdef __GLIBC__
	/* Bodies arrive as many small evbuffer chains spread over the
	 * heap; glibc keeps freed pages below the top of the heap mapped,
	 * so a burst would hold its peak for good. Hand them back once the
	 * burst is over (rare: needs TRIM_PEAK of bodies first). */
	if (srv->body_bytes == 0 && srv->body_peak >= TRIM_PEAK) {
		srv->body_peak = 0;
		malloc_trim(0);
	}
#endif
}

/*
 * Count `n` more body bytes against max_body_total. Returns 0, or -1 (and
 * nothing counted) when that would pass the cap.
 */
static int
body_reserve(struct d01_req *r, size_t n)
{
	struct d01_httpd *srv = r->srv;
	size_t cap = srv->lim.max_body_total;

	if (cap != 0 && (n > cap || srv->body_bytes > cap - n))
		return -1;
	srv->body_bytes += n;
	r->reserved += n;
	if (srv->body_bytes > srv->body_peak)
		srv->body_peak = srv->body_bytes;
	return 0;
}

/* Arm the connection's timer `ms` after the head's first byte. */
static void
arm_from_start(struct conn *c, int ms)
{
	struct timeval now, tv;
	long elapsed;

	event_base_gettimeofday_cached(c->srv->base, &now);
	elapsed = (now.tv_sec - c->req->t0.tv_sec) * 1000L +
	    (now.tv_usec - c->req->t0.tv_usec) / 1000L;
	d01_http_tv_ms(&tv, elapsed >= ms ? 1 : (int)(ms - elapsed));
	evtimer_add(c->timer, &tv);
}

struct d01_req *
d01_http_req_new(struct conn *c)
{
	struct d01_req *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->body = evbuffer_new()) == NULL) {
		free(r);
		return NULL;
	}
	r->srv = c->srv;
	event_base_gettimeofday_cached(c->srv->base, &r->t0);
	r->tag = -1;
	r->conn = c;
	r->head.method = r->head.path = r->head.target = r->head.query = "";
	r->head.content_length = -1;
	return r;
}

/* Bytes up to and including the blank line ending the head, or 0. */
static size_t
head_length(struct evbuffer *in)
{
	struct evbuffer_ptr crlf = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	struct evbuffer_ptr lf = evbuffer_search(in, "\n\n", 2, NULL);
	size_t a = crlf.pos >= 0 ? (size_t)crlf.pos + 4 : 0;
	size_t b = lf.pos >= 0 ? (size_t)lf.pos + 2 : 0;

	if (a == 0 || (b != 0 && b < a))
		return b;
	return a;
}

static void
dispatch(struct conn *c)
{
	struct d01_httpd *srv = c->srv;
	struct d01_req *r = c->req;

	evtimer_del(c->timer);
	bufferevent_disable(c->bev, EV_READ);
	c->st = C_HANDLER;
	/* NUL-terminated and contiguous for d01_req_body(), which then
	 * cannot fail; out of memory drops the connection, never retries. */
	if (evbuffer_add(r->body, "", 1) != 0 ||
	    evbuffer_pullup(r->body, -1) == NULL) {
		d01_http_conn_free(c);
		return;
	}
	r->body_done = 1;
	if (srv->inflight >= srv->lim.max_inflight) {
		d01_http_conn_error_reply(
		    c, 503, "too many requests in flight");
		return;
	}
	srv->inflight++;
	r->in_handler = 1;
	TAILQ_INSERT_TAIL(&srv->active, r, active);
	srv->handler(r, srv->arg);
}

/* Returns 1 to go on, 0 to wait for input, -1 to stop processing. */
static int
read_head(struct conn *c)
{
	const struct d01_http_limits *lim = &c->srv->lim;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t avail = evbuffer_get_length(in), len;
	struct d01_req *r;
	const char *why = NULL;
	int rc;

	if (avail == 0)
		return 0;
	if (c->req == NULL) {
		if ((c->req = d01_http_req_new(c)) == NULL) {
			d01_http_conn_free(c);
			return -1;
		}
		/* The first head is due head_timeout_ms after accept (timer
		 * armed there, TLS handshake included); later ones after
		 * their first byte. */
		if (c->served > 0)
			arm_from_start(c,
			    lim->head_timeout_ms < lim->request_timeout_ms
				? lim->head_timeout_ms
				: lim->request_timeout_ms);
	}
	r = c->req;
	if ((len = head_length(in)) == 0) {
		if (avail > lim->max_head) {
			d01_http_conn_error_reply(
			    c, 431, "request head too large");
			return -1;
		}
		if (avail > lim->max_line &&
		    evbuffer_search(in, "\n", 1, NULL).pos < 0) {
			d01_http_conn_error_reply(
			    c, 414, "request line too long");
			return -1;
		}
		return 0;
	}
	if (len > lim->max_head) {
		d01_http_conn_error_reply(c, 431, "request head too large");
		return -1;
	}
	if ((r->headbuf = malloc(len + 1)) == NULL) {
		d01_http_conn_free(c);
		return -1;
	}
	evbuffer_remove(in, r->headbuf, len);
	r->headbuf[len] = '\0';
	if ((rc = d01_http_parse_head(
		 r->headbuf, len, lim->max_line, &r->head, &why)) != 0) {
		d01_http_conn_error_reply(c, rc, why);
		return -1;
	}
	/* The body, if any, is not read before the head is judged: a
	 * client that may not send it gets neither a 100 Continue nor a
	 * buffer for it. */
	if (c->srv->head_fn != NULL &&
	    (rc = c->srv->head_fn(r, c->srv->arg)) != 0) {
		r->head.keep_alive = 0;
		d01_http_conn_error_reply(c, rc, NULL);
		return -1;
	}
	if (r->head.chunked) {
		c->st = C_CHUNK_SIZE;
	} else if (r->head.content_length > 0) {
		if ((uint64_t)r->head.content_length > lim->max_body) {
			d01_http_conn_error_reply(
			    c, 413, "request body too large");
			return -1;
		}
		if (body_reserve(r, (size_t)r->head.content_length) != 0) {
			d01_http_conn_error_reply(c, 503,
			    "too much request body data buffered; retry");
			return -1;
		}
		r->remaining = r->head.content_length;
		c->st = C_BODY;
	} else {
		dispatch(c);
		return -1;
	}
	arm_from_start(c, lim->request_timeout_ms);
	if (r->head.expect_continue && evbuffer_get_length(in) == 0)
		bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	return 1;
}

/* Content-Length body or the data of one chunk. */
static int
read_data(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct d01_req *r = c->req;
	size_t n = evbuffer_get_length(in);

	if (n == 0)
		return 0;
	if ((int64_t)n > r->remaining)
		n = (size_t)r->remaining;
	if (evbuffer_remove_buffer(in, r->body, n) != (int)n) {
		d01_http_conn_free(c); /* out of memory: drop, never retry */
		return -1;
	}
	if ((r->remaining -= (int64_t)n) > 0)
		return 0;
	if (c->st == C_CHUNK_DATA) {
		c->st = C_CHUNK_END;
		return 1;
	}
	dispatch(c);
	return -1;
}

/*
 * One CRLF- (or LF-) terminated line of at most `max` bytes: returns it
 * (caller frees), or NULL with *bad set when the line is too long, or NULL
 * when it has not fully arrived.
 */
static char *
read_line(struct conn *c, size_t max, int *bad)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr eol;
	size_t eol_len, len;

	*bad = 0;
	eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
	if (eol.pos < 0) {
		*bad = evbuffer_get_length(in) > max;
		return NULL;
	}
	if ((size_t)eol.pos > max) {
		*bad = 1;
		return NULL;
	}
	return evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
}

static int
read_chunk_size(struct conn *c)
{
	struct d01_req *r = c->req;
	char *line, *p;
	uint64_t size = 0;
	int bad, digits = 0;

	if ((line = read_line(c, CHUNK_LINE, &bad)) == NULL) {
		if (bad)
			d01_http_conn_error_reply(
			    c, 400, "chunk size line too long");
		return bad ? -1 : 0;
	}
	for (p = line; *p != '\0' && *p != ';' && *p != ' ' && *p != '\t';
	     p++, digits++) {
		int v = (*p >= '0' && *p <= '9') ? *p - '0'
		    : (*p >= 'a' && *p <= 'f')	 ? *p - 'a' + 10
		    : (*p >= 'A' && *p <= 'F')	 ? *p - 'A' + 10
						 : -1;
		if (v < 0 || size > (UINT64_MAX >> 4)) {
			digits = 0;
			break;
		}
		size = (size << 4) | (uint64_t)v;
	}
	free(line);
	if (digits == 0) {
		d01_http_conn_error_reply(c, 400, "malformed chunk size");
		return -1;
	}
	if (size == 0) {
		c->st = C_TRAILER;
		return 1;
	}
	/* body holds what arrived so far; the terminating NUL is not there
	 * yet. */
	if (size > c->srv->lim.max_body ||
	    evbuffer_get_length(r->body) + size > c->srv->lim.max_body) {
		d01_http_conn_error_reply(c, 413, "request body too large");
		return -1;
	}
	if (body_reserve(r, (size_t)size) != 0) {
		d01_http_conn_error_reply(
		    c, 503, "too much request body data buffered; retry");
		return -1;
	}
	r->remaining = (int64_t)size;
	c->st = C_CHUNK_DATA;
	return 1;
}

/* The CRLF after chunk data, and trailer lines up to the blank line. */
static int
read_chunk_tail(struct conn *c)
{
	struct d01_req *r = c->req;
	char *line;
	size_t len;
	int bad;

	if ((line = read_line(c, CHUNK_LINE, &bad)) == NULL) {
		if (bad)
			d01_http_conn_error_reply(
			    c, 431, "chunk trailer too long");
		return bad ? -1 : 0;
	}
	len = strlen(line);
	free(line);
	if (c->st == C_CHUNK_END) {
		if (len != 0) {
			d01_http_conn_error_reply(
			    c, 400, "chunk data overruns its size");
			return -1;
		}
		c->st = C_CHUNK_SIZE;
		return 1;
	}
	if (len == 0) {
		dispatch(c);
		return -1;
	}
	if ((r->trailer_bytes += len) > c->srv->lim.max_head) {
		d01_http_conn_error_reply(c, 431, "chunk trailer too long");
		return -1;
	}
	return 1;
}

void
d01_http_conn_process(struct conn *c)
{
	struct evbuffer *in;
	int rc;

	for (;;) {
		switch (c->st) {
		case C_HEAD:
			rc = read_head(c);
			break;
		case C_BODY:
		case C_CHUNK_DATA:
			rc = read_data(c);
			break;
		case C_CHUNK_SIZE:
			rc = read_chunk_size(c);
			break;
		case C_CHUNK_END:
		case C_TRAILER:
			rc = read_chunk_tail(c);
			break;
		case C_LINGER:
			in = bufferevent_get_input(c->bev);
			c->lingered += evbuffer_get_length(in);
			evbuffer_drain(in, evbuffer_get_length(in));
			if (c->lingered > LINGER_BYTES)
				d01_http_conn_free(c);
			return;
		default:
			return;
		}
		if (rc <= 0)
			return;
	}
}

void
d01_http_conn_error_reply(struct conn *c, int status, const char *why)
{
	struct d01_httpd *srv = c->srv;
	struct d01_req *r = c->req;

	if (r == NULL && (r = c->req = d01_http_req_new(c)) == NULL) {
		d01_http_conn_free(c);
		return;
	}
	evtimer_del(c->timer);
	bufferevent_disable(c->bev, EV_READ);
	c->st = C_HANDLER;
	/* After a framing error the rest of the stream is unparseable; a
	 * 503 before the body was read leaves it unread: close too. */
	r->close_linger = status != 503 || !r->body_done;
	if (status == 503 && !srv->stopping)
		d01_req_add_header(r, "Retry-After", "1");
	r->in_handler = 1;
	srv->inflight++;
	TAILQ_INSERT_TAIL(&srv->active, r, active);
	d01_log(D01_LOG_DEBUG, "http_reject", "peer=%s status=%d why=\"%s\"",
	    c->peer, status, why ? why : "");
	srv->error_fn(r, status, why ? why : d01_http_reason(status), srv->arg);
}
