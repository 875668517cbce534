/* SPDX-License-Identifier: ISC */
/*
 * Kubernetes watches (kube/kube_watch.c) and the HTTP client's stream
 * mode under them (core/http_client.h `stream`), against an in-process
 * API (evhttp on the test's loop) that sends a chunked body piece by
 * piece, 10 ms apart, so pieces reach the client in separate reads:
 * events split across chunks (and a CRLF split from its line) arrive
 * whole and in order; a line of exactly D01_KUBE_WATCH_LINE_MAX bytes is
 * accepted and one byte more ends the watch with D01_E_LIMIT; a receiver
 * that stops gets no further event; a non-2xx answer is not streamed.
 */
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "core/http_client.h"
#include "harness.h"
#include "kube/kube.h"

#define MAXP 64

static const struct timeval piece_gap = {0, 10000}; /* 10 ms */
static const struct timeval give_up = {30, 0};

struct api {
	struct event_base *base;
	struct evhttp *http;
	int port, status;
	const char *piece[MAXP]; /* sent in order, then the end */
	size_t plen[MAXP], n, next;
	struct evhttp_request *req;
	struct event *tick;
};

static void
send_next(evutil_socket_t fd, short what, void *arg)
{
	struct api *a = arg;
	struct evbuffer *b;

	(void)fd;
	(void)what;
	if (a->req == NULL)
		return;
	if (a->next == a->n) {
		evhttp_send_reply_end(a->req);
		a->req = NULL;
		return;
	}
	if ((b = evbuffer_new()) != NULL) {
		evbuffer_add(b, a->piece[a->next], a->plen[a->next]);
		evhttp_send_reply_chunk(a->req, b);
		evbuffer_free(b);
	}
	a->next++;
	evtimer_add(a->tick, &piece_gap);
}

static void
serve(struct evhttp_request *req, void *arg)
{
	static const char gone[] =
	    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
	    "\"message\":\"too old resource version\",\"reason\":\"Expired\","
	    "\"code\":410}";
	struct api *a = arg;

	if (a->status != 200) {
		evbuffer_add(evhttp_request_get_output_buffer(req), gone,
		    sizeof(gone) - 1);
		evhttp_send_reply(req, a->status, "Gone", NULL);
		return;
	}
	a->req = req;
	evhttp_send_reply_start(req, 200, "OK");
	evtimer_add(a->tick, &piece_gap);
}

struct fx {
	struct api a;
	struct d01_http *http;
	struct d01_kube *kube;
	/* what the watch saw */
	int opens, ends, stop_after;
	enum d01_err end_code;
	char end_msg[600];
	char types[16][16];
	long ns[16];
	int nev;
};

static int
fx_open(struct fx *f)
{
	struct evhttp_bound_socket *b;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char kc[512];

	memset(f, 0, sizeof(*f));
	f->a.status = 200;
	if ((f->a.base = event_base_new()) == NULL ||
	    (f->a.http = evhttp_new(f->a.base)) == NULL ||
	    (f->a.tick = evtimer_new(f->a.base, send_next, &f->a)) == NULL ||
	    (b = evhttp_bind_socket_with_handle(f->a.http, "127.0.0.1", 0)) ==
		NULL)
		return -1;
	evhttp_set_gencb(f->a.http, serve, &f->a);
	getsockname(evhttp_bound_socket_get_fd(b), (struct sockaddr *)&sa, &sl);
	f->a.port = ntohs(sa.sin_port);
	snprintf(kc, sizeof(kc),
	    "current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, "
	    "user: u}\nclusters:\n- name: k\n  cluster: {server: "
	    "'http://127.0.0.1:%d'}\nusers:\n- name: u\n  user: {token: t}\n",
	    f->a.port);
	if ((f->http = d01_http_new(f->a.base, NULL)) == NULL ||
	    (f->kube = d01_kube_from_kubeconfig(
		 f->http, kc, strlen(kc), NULL, NULL)) == NULL)
		return -1;
	return 0;
}

static void
fx_close(struct fx *f)
{
	d01_kube_free(f->kube);
	d01_http_free(f->http);
	if (f->a.tick != NULL)
		event_free(f->a.tick);
	if (f->a.http != NULL)
		evhttp_free(f->a.http);
	if (f->a.base != NULL)
		event_base_free(f->a.base);
}

static void
piece(struct fx *f, const char *p, size_t len)
{
	if (f->a.n < MAXP) {
		f->a.piece[f->a.n] = p;
		f->a.plen[f->a.n++] = len;
	}
}

#define PIECE(f, s) piece((f), (s), strlen(s))

static void
on_open(void *arg)
{
	((struct fx *)arg)->opens++;
}

static int
on_event(void *arg, json_t *ev)
{
	struct fx *f = arg;
	const char *t = json_string_value(json_object_get(ev, "type"));

	if (f->nev < 16) {
		snprintf(
		    f->types[f->nev], sizeof(f->types[0]), "%s", t ? t : "?");
		f->ns[f->nev] = (long)json_integer_value(
		    json_object_get(json_object_get(ev, "object"), "n"));
	}
	f->nev++;
	return f->stop_after && f->nev >= f->stop_after ? -1 : 0;
}

static void
on_end(void *arg, const struct d01_error *err)
{
	struct fx *f = arg;

	f->ends++;
	f->end_code = err->code;
	snprintf(f->end_msg, sizeof(f->end_msg), "%s", err->msg);
	event_base_loopexit(f->a.base, NULL);
}

/* Runs one watch to its end (or a generous 30 s). */
static int
run_watch(struct fx *f)
{
	struct d01_kube_watch_cbs cbs = {on_open, on_event, on_end, f};
	struct d01_error err;

	if (d01_kube_watch_start(f->kube,
		"/apis/store.dns01.io/v1/namespaces/n/txtrecords?watch=1",
		30000, &cbs, &err) == NULL)
		return -1;
	event_base_loopexit(f->a.base, &give_up);
	event_base_dispatch(f->a.base);
	return 0;
}

static void
t_split_events(void)
{
	struct fx f;

	CHECK(fx_open(&f) == 0);
	PIECE(&f, "{\"type\":\"ADDED\",\"object\":{\"n\":1}}\n{\"type\":\"MOD");
	PIECE(&f, "IFIED\",\"object\":{\"n\":2}}");
	PIECE(&f, "\r");
	PIECE(&f, "\n");
	PIECE(&f, "{\"type\":\"BOOKMARK\",\"object\":{\"n\":3}}\n\n{\"ty");
	PIECE(&f, "p");
	PIECE(&f, "e\":\"DELETED\",\"object\":{\"n\":4}}\nnot json\n");
	PIECE(&f, "{\"type\":\"ADDED\",\"object\":{\"n\":5}}\n");
	CHECK(run_watch(&f) == 0);
	CHECK_INT(f.opens, ==, 1);
	CHECK_INT(f.ends, ==, 1);
	CHECK_INT(f.end_code, ==, D01_OK);
	CHECK_INT(f.nev, ==, 5);
	CHECK_STR(f.types[0], "ADDED");
	CHECK_STR(f.types[1], "MODIFIED");
	CHECK_STR(f.types[2], "BOOKMARK");
	CHECK_STR(f.types[3], "DELETED");
	CHECK_INT(f.ns[1], ==, 2);
	CHECK_INT(f.ns[3], ==, 4);
	CHECK_INT(f.ns[4], ==, 5);
end:
	fx_close(&f);
}

/* A line of `len` bytes (an event padded with a long string), sent in
 * 64 KiB pieces; `nl` adds its newline and a small event after it. */
static char *
long_line(struct fx *f, size_t len, int nl)
{
	static const char head[] = "{\"type\":\"ADDED\",\"object\":{\"n\":7,"
				   "\"pad\":\"";
	static const char tail[] = "\"}}";
	static const char after[] = "{\"type\":\"DELETED\",\"object\":{}}\n";
	char *buf = malloc(len + 1 + sizeof(after));
	size_t off;

	if (buf == NULL)
		return NULL;
	memcpy(buf, head, sizeof(head) - 1);
	memset(buf + sizeof(head) - 1, 'x',
	    len - (sizeof(head) - 1) - (sizeof(tail) - 1));
	memcpy(buf + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	off = len;
	if (nl) {
		buf[off++] = '\n';
		memcpy(buf + off, after, sizeof(after) - 1);
		off += sizeof(after) - 1;
	}
	for (size_t i = 0; i < off; i += 65536)
		piece(f, buf + i, off - i < 65536 ? off - i : 65536);
	return buf;
}

static void
t_line_at_limit(void)
{
	struct fx f;
	char *buf = NULL;

	CHECK(fx_open(&f) == 0);
	CHECK((buf = long_line(&f, D01_KUBE_WATCH_LINE_MAX, 1)) != NULL);
	CHECK(run_watch(&f) == 0);
	CHECK_INT(f.end_code, ==, D01_OK);
	CHECK_INT(f.nev, ==, 2);
	CHECK_INT(f.ns[0], ==, 7);
	CHECK_STR(f.types[1], "DELETED");
end:
	free(buf);
	fx_close(&f);
}

static void
t_line_over_limit(void)
{
	struct fx f;
	char *buf = NULL;

	CHECK(fx_open(&f) == 0);
	CHECK((buf = long_line(&f, D01_KUBE_WATCH_LINE_MAX + 1, 1)) != NULL);
	CHECK(run_watch(&f) == 0);
	CHECK_INT(f.ends, ==, 1);
	CHECK_INT(f.end_code, ==, D01_E_LIMIT);
	CHECK(strstr(f.end_msg, "longer than 1048576 bytes") != NULL);
	CHECK_INT(f.nev, ==, 0); /* nor the event after it */
end:
	free(buf);
	fx_close(&f);
}

static void
t_receiver_stops(void)
{
	struct fx f;

	CHECK(fx_open(&f) == 0);
	f.stop_after = 2;
	PIECE(&f, "{\"type\":\"ADDED\",\"object\":{\"n\":1}}\n");
	PIECE(&f,
	    "{\"type\":\"ADDED\",\"object\":{\"n\":2}}\n{\"type\":"
	    "\"ADDED\",\"object\":{\"n\":3}}\n");
	PIECE(&f, "{\"type\":\"ADDED\",\"object\":{\"n\":4}}\n");
	CHECK(run_watch(&f) == 0);
	CHECK_INT(f.ends, ==, 1);
	CHECK_INT(f.nev, ==, 2);
	CHECK(f.end_code != D01_OK);
end:
	fx_close(&f);
}

/* A 410 is an answer, not a stream: no on_open, its Status reported. */
static void
t_not_2xx(void)
{
	struct fx f;

	CHECK(fx_open(&f) == 0);
	f.a.status = 410;
	CHECK(run_watch(&f) == 0);
	CHECK_INT(f.opens, ==, 0);
	CHECK_INT(f.nev, ==, 0);
	CHECK_INT(f.ends, ==, 1);
	CHECK(f.end_code != D01_OK);
	CHECK(strstr(f.end_msg, "too old resource version") != NULL);
end:
	fx_close(&f);
}

/* The HTTP client's stream mode itself: the open mark first, then every
 * byte in order, nothing kept in the response. */
struct sink {
	struct event_base *base;
	int opens, calls, done;
	char got[256];
	size_t len;
	long status;
	size_t body_len;
};

static int
sink_data(void *arg, const char *data, size_t len)
{
	struct sink *s = arg;

	if (data == NULL) {
		s->opens += s->len == 0;
		return 0;
	}
	s->calls++;
	if (s->len + len < sizeof(s->got)) {
		memcpy(s->got + s->len, data, len);
		s->len += len;
	}
	return 0;
}

static void
sink_done(
    void *arg, const struct d01_error *err, const struct d01_http_response *r)
{
	struct sink *s = arg;

	s->done = err->code == D01_OK ? 1 : -1;
	s->status = r != NULL ? r->status : 0;
	s->body_len = r != NULL ? r->len : 0;
	event_base_loopexit(s->base, NULL);
}

static void
t_http_stream(void)
{
	struct fx f;
	struct sink s = {0};
	char url[64];
	struct d01_http_request req = {.method = "GET", .url = url};

	CHECK(fx_open(&f) == 0);
	PIECE(&f, "abc");
	PIECE(&f, "de\n");
	PIECE(&f, "f");
	s.base = f.a.base;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", f.a.port);
	req.stream = sink_data;
	req.stream_arg = &s;
	req.max_attempts = 1;
	CHECK(d01_http_start(f.http, &req, sink_done, &s, NULL) != NULL);
	event_base_loopexit(f.a.base, &give_up);
	event_base_dispatch(f.a.base);
	CHECK_INT(s.done, ==, 1);
	CHECK_INT(s.opens, ==, 1);
	CHECK_INT(s.status, ==, 200);
	CHECK_INT(s.body_len, ==, 0);
	CHECK_INT(s.len, ==, 7);
	CHECK(memcmp(s.got, "abcde\nf", 7) == 0);
	CHECK_INT(s.calls, >=, 2); /* pieces, not one buffered body */
end:
	fx_close(&f);
}

int
main(void)
{
	RUN(t_split_events);
	RUN(t_line_at_limit);
	RUN(t_line_over_limit);
	RUN(t_receiver_stops);
	RUN(t_not_2xx);
	RUN(t_http_stream);
	return harness_done();
}
