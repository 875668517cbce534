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

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "core/log.h"
#include "server/http_int.h"

void
d01_http_tv_ms(struct timeval *tv, int ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

void
d01_http_req_free(struct d01_req *r)
{
	if (r == NULL)
		return;
	free(r->headbuf);
	if (r->body != NULL)
		evbuffer_free(r->body);
	free(r);
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
	evbuffer_add(r->body, "", 1); /* NUL for d01_req_body() */
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
	struct timeval tv;
	const char *why = NULL;
	int rc;

	if (avail == 0)
		return 0;
	if (c->req == NULL) {
		if ((c->req = d01_http_req_new(c)) == NULL) {
			d01_http_conn_free(c);
			return -1;
		}
		d01_http_tv_ms(&tv, lim->request_timeout_ms);
		evtimer_add(c->timer, &tv);
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
	if (r->head.chunked) {
		c->st = C_CHUNK_SIZE;
	} else if (r->head.content_length > 0) {
		if ((uint64_t)r->head.content_length > lim->max_body) {
			d01_http_conn_error_reply(
			    c, 413, "request body too large");
			return -1;
		}
		r->remaining = r->head.content_length;
		c->st = C_BODY;
	} else {
		dispatch(c);
		return -1;
	}
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
	evbuffer_remove_buffer(in, r->body, n);
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
	/* After a framing error the rest of the stream is unparseable. */
	r->close_linger = status != 503;
	r->in_handler = 1;
	srv->inflight++;
	TAILQ_INSERT_TAIL(&srv->active, r, active);
	d01_log(D01_LOG_DEBUG, "http_reject", "peer=%s status=%d why=\"%s\"",
	    c->peer, status, why ? why : "");
	srv->error_fn(r, status, why ? why : d01_http_reason(status), srv->arg);
}
