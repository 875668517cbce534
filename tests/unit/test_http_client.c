/* SPDX-License-Identifier: ISC */
/*
 * The async HTTP client against an in-process HTTP server on the same
 * event loop (libevent's evhttp: fine for a test peer): call shape,
 * overlap of many slow calls, retries on 503 and on 429 with Retry-After,
 * the response cap, connection errors within the budget.
 */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/time.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "core/http_client.h"
#include "harness.h"

struct srv {
	struct event_base *base;
	struct evhttp *http;
	int port;
	int inflight, max_inflight, flaky, hits;
	struct timeval first, second; /* /429: when the tries arrived */
	struct later *laters;	      /* /slow replies not sent yet */
};

struct later {
	struct later *next, **prevp;
	struct evhttp_request *req;
	struct srv *s;
	struct event *ev;
};

static void
later_free(struct later *l)
{
	if ((*l->prevp = l->next) != NULL)
		l->next->prevp = l->prevp;
	event_free(l->ev);
	free(l);
}

static void
reply_later(evutil_socket_t fd, short what, void *arg)
{
	struct later *l = arg;

	(void)fd;
	(void)what;
	l->s->inflight--;
	evhttp_send_reply(l->req, 200, "OK", NULL);
	later_free(l);
}

static void
handle(struct evhttp_request *req, void *arg)
{
	struct srv *s = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	struct timeval tv = {0, 200000};
	struct later *l;

	s->hits++;
	if (strcmp(uri, "/slow") == 0) {
		l = calloc(1, sizeof(*l));
		l->req = req;
		l->s = s;
		l->ev = evtimer_new(s->base, reply_later, l);
		if ((l->next = s->laters) != NULL)
			l->next->prevp = &l->next;
		l->prevp = &s->laters;
		s->laters = l;
		if (++s->inflight > s->max_inflight)
			s->max_inflight = s->inflight;
		evtimer_add(l->ev, &tv);
		return;
	}
	/* Headers of the last response only reach the caller. */
	evhttp_add_header(evhttp_request_get_output_headers(req), "X-Attempt",
	    strcmp(uri, "/flaky") == 0 && s->flaky > 0 ? "failed" : "  final ");
	if (strcmp(uri, "/flaky") == 0 && s->flaky-- > 0) {
		evhttp_send_reply(req, 503, "Unavailable", NULL);
		return;
	}
	if (strcmp(uri, "/always503") == 0) {
		evhttp_send_reply(req, 503, "Unavailable", NULL);
		return;
	}
	if (strcmp(uri, "/429") == 0) {
		if (s->first.tv_sec == 0) {
			gettimeofday(&s->first, NULL);
			evhttp_add_header(
			    evhttp_request_get_output_headers(req),
			    "Retry-After", "1");
			evhttp_send_reply(req, 429, "Too Many", NULL);
			return;
		}
		gettimeofday(&s->second, NULL);
	}
	if (strcmp(uri, "/hang") == 0)
		return; /* never answers; evhttp_free drops it */
	if (strcmp(uri, "/429date") == 0 && s->first.tv_sec == 0) {
		char date[64];
		time_t t = time(NULL) + 2;
		struct tm tm;

		gettimeofday(&s->first, NULL);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT",
		    gmtime_r(&t, &tm));
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", date);
		evhttp_send_reply(req, 429, "Too Many", NULL);
		return;
	}
	if (strcmp(uri, "/429date") == 0)
		gettimeofday(&s->second, NULL);
	if (strcmp(uri, "/big") == 0) {
		char *big = calloc(1, 2u << 20);
		evbuffer_add(out, big, 2u << 20);
		free(big);
	} else {
		evbuffer_add_printf(out, "hello %s",
		    evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "post"
								       : "get");
	}
	evhttp_send_reply(req, 200, "OK", NULL);
}

static int
srv_start(struct srv *s)
{
	struct evhttp_bound_socket *b;

	memset(s, 0, sizeof(*s));
	if ((s->base = event_base_new()) == NULL ||
	    (s->http = evhttp_new(s->base)) == NULL ||
	    (b = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0)) ==
		NULL)
		return -1;
	evhttp_set_gencb(s->http, handle, s);
	{
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		getsockname(
		    evhttp_bound_socket_get_fd(b), (struct sockaddr *)&sa, &sl);
		s->port = ntohs(sa.sin_port);
	}
	return 0;
}

/* A /slow reply still due (its caller cancelled, the loop stopped) is
 * dropped with its request by evhttp_free. */
static void
srv_stop(struct srv *s)
{
	while (s->laters != NULL)
		later_free(s->laters);
	if (s->http != NULL)
		evhttp_free(s->http);
	if (s->base != NULL)
		event_base_free(s->base);
}

struct probe {
	int calls, started, early, done_target;
	long status;
	int attempts;
	enum d01_err code;
	char body[64];
	char attempt[16]; /* X-Attempt of the response, "-" if absent */
	int long_hdr;	  /* 1 when a too-long value was refused */
	struct event_base *base;
};

static void
probe_cb(
    void *arg, const struct d01_error *err, const struct d01_http_response *r)
{
	struct probe *p = arg;

	p->calls++;
	p->early |= !p->started;
	p->code = err->code;
	if (r != NULL) {
		p->status = r->status;
		p->attempts = r->attempts;
		snprintf(p->body, sizeof(p->body), "%s", r->body);
		if (!d01_http_response_header(
			r, "x-ATTEMPT", p->attempt, sizeof(p->attempt)))
			snprintf(p->attempt, sizeof(p->attempt), "-");
		p->long_hdr =
		    !d01_http_response_header(r, "X-Attempt", (char[4]){0}, 4);
	}
	if (p->done_target && p->calls == p->done_target)
		event_base_loopexit(p->base, NULL);
}

static struct d01_http_call *
get(struct d01_http *h, struct srv *s, const char *path, struct probe *p,
    long budget)
{
	char url[128];
	struct d01_http_request req = {
	    .method = "GET", .url = url, .budget_ms = budget};

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
	return d01_http_start(h, &req, probe_cb, p, NULL);
}

static void
run(struct srv *s, struct probe *p, int n)
{
	p->base = s->base;
	p->done_target = n;
	event_base_loopexit(s->base, &(struct timeval){10, 0});
	event_base_dispatch(s->base);
}

static void
t_shape(void)
{
	struct srv s;
	struct d01_http *h = NULL;
	struct probe p = {0}, q = {0};
	const char *hdrs[] = {"X-Test: 1", NULL};
	struct d01_http_request post = {
	    .method = "POST", .headers = hdrs, .body = "{}", .body_len = 2};
	char url[64];

	CHECK(srv_start(&s) == 0);
	CHECK((h = d01_http_new(s.base, NULL)) != NULL);
	d01_http_cancel(get(h, &s, "/ok", &q, 0)); /* never calls back */
	CHECK(get(h, &s, "/ok", &p, 0) != NULL);
	p.started = 1;
	CHECK_INT(p.calls, ==, 0);
	run(&s, &p, 1);
	CHECK_INT(p.calls, ==, 1);
	CHECK_INT(p.early, ==, 0);
	CHECK_INT(p.status, ==, 200);
	CHECK_STR(p.body, "hello get");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/post", s.port);
	post.url = url;
	memset(&p, 0, sizeof(p));
	p.started = 1;
	CHECK(d01_http_start(h, &post, probe_cb, &p, NULL) != NULL);
	run(&s, &p, 1);
	CHECK_STR(p.body, "hello post");
	CHECK_INT(q.calls, ==, 0);
	CHECK_INT(d01_http_inflight(h), ==, 0);
end:
	d01_http_free(h);
	srv_stop(&s);
}

/* 200 calls to a handler that holds each for 200 ms: the server must see
 * them overlap (no timing assertion: it counts concurrency), up to the
 * per-host cap: 16 by default, 200 when raised. */
static void
t_concurrency(void)
{
	struct srv s;
	struct d01_http *h = NULL;
	struct probe p = {0};
	int i;

	CHECK(srv_start(&s) == 0);
	CHECK((h = d01_http_new(s.base, NULL)) != NULL);
	for (i = 0; i < 200; i++)
		CHECK(get(h, &s, "/slow", &p, 0) != NULL);
	run(&s, &p, 200);
	CHECK_INT(p.calls, ==, 200);
	CHECK_INT(p.status, ==, 200);
	fprintf(stderr, "  max concurrent at the server: %d\n", s.max_inflight);
	CHECK_INT(s.max_inflight, ==, D01_HTTP_MAX_HOST_CONNS);
	memset(&p, 0, sizeof(p));
	s.max_inflight = 0;
	d01_http_set_max_host_connections(h, 200);
	for (i = 0; i < 200; i++)
		CHECK(get(h, &s, "/slow", &p, 0) != NULL);
	run(&s, &p, 200);
	CHECK_INT(p.calls, ==, 200);
	fprintf(stderr, "  with a cap of 200: %d\n", s.max_inflight);
	CHECK(s.max_inflight >= 100); /* serialised would be 1 */
end:
	d01_http_free(h);
	srv_stop(&s);
}

static void
t_retries(void)
{
	struct srv s;
	struct d01_http *h = NULL;
	struct probe p = {0};
	long gap_ms;

	CHECK(srv_start(&s) == 0);
	CHECK((h = d01_http_new(s.base, NULL)) != NULL);
	s.flaky = 2;
	CHECK(get(h, &s, "/flaky", &p, 0) != NULL);
	run(&s, &p, 1);
	CHECK_INT(p.status, ==, 200);
	CHECK_INT(p.attempts, ==, 3);
	CHECK_STR(p.attempt, "final"); /* trimmed, the 503s' are gone */
	CHECK_INT(p.long_hdr, ==, 1);
	memset(&p, 0, sizeof(p));
	{
		char url[128];
		struct d01_http_request head = {.method = "HEAD", .url = url};

		snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s.port);
		CHECK(d01_http_start(h, &head, probe_cb, &p, NULL) != NULL);
		run(&s, &p, 1);
		CHECK_INT(p.status, ==, 200);
		CHECK_STR(p.body, ""); /* HEAD: headers only */
		CHECK_STR(p.attempt, "final");
	}
	memset(&p, 0, sizeof(p));
	CHECK(get(h, &s, "/429", &p, 0) != NULL);
	run(&s, &p, 1);
	CHECK_INT(p.status, ==, 200);
	CHECK_INT(p.attempts, ==, 2);
	gap_ms = (s.second.tv_sec - s.first.tv_sec) * 1000 +
	    (s.second.tv_usec - s.first.tv_usec) / 1000;
	CHECK(gap_ms >= 950); /* Retry-After: 1 was honoured */
	/* Always 503: delivered as the response after the last attempt. */
	memset(&p, 0, sizeof(p));
	CHECK(get(h, &s, "/always503", &p, 5000) != NULL);
	run(&s, &p, 1);
	CHECK_INT(p.code, ==, D01_OK);
	CHECK_INT(p.status, ==, 503);
	CHECK_INT(p.attempts, ==, 4);
end:
	d01_http_free(h);
	srv_stop(&s);
}

static void
t_errors(void)
{
	struct srv s;
	struct d01_http *h = NULL;
	struct probe p = {0};
	char url[64];
	struct d01_http_request req = {
	    .method = "GET", .url = url, .budget_ms = 1500};
	int port;

	CHECK(srv_start(&s) == 0);
	CHECK((h = d01_http_new(s.base, NULL)) != NULL);
	CHECK(get(h, &s, "/big", &p, 0) != NULL);
	run(&s, &p, 1);
	CHECK_INT(p.code, ==, D01_E_LIMIT);
	/* Nothing listening: a network error once the budget is spent. */
	port = s.port;
	evhttp_free(s.http);
	s.http = NULL;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	memset(&p, 0, sizeof(p));
	CHECK(d01_http_start(h, &req, probe_cb, &p, NULL) != NULL);
	run(&s, &p, 1);
	CHECK_INT(p.calls, ==, 1);
	CHECK_INT(p.code, ==, D01_E_NETWORK);
	/* Only http and https. */
	snprintf(url, sizeof(url), "file:///etc/passwd");
	memset(&p, 0, sizeof(p));
	CHECK(d01_http_start(h, &req, probe_cb, &p, NULL) != NULL);
	run(&s, &p, 1);
	CHECK(p.code != D01_OK);
end:
	d01_http_free(h);
	srv_stop(&s);
}

static long
gap_ms(const struct timeval *a, const struct timeval *b)
{
	return (b->tv_sec - a->tv_sec) * 1000 +
	    (b->tv_usec - a->tv_usec) / 1000;
}

/* Retry-After as an HTTP date; a silent server ends within the budget. */
static void
t_date_and_budget(void)
{
	struct srv s;
	struct d01_http *h = NULL;
	struct probe p = {0};
	struct timeval t0, t1;

	CHECK(srv_start(&s) == 0);
	CHECK((h = d01_http_new(s.base, NULL)) != NULL);
	CHECK(get(h, &s, "/429date", &p, 0) != NULL);
	run(&s, &p, 1);
	CHECK_INT(p.status, ==, 200);
	CHECK_INT(p.attempts, ==, 2);
	CHECK(gap_ms(&s.first, &s.second) >= 900);
	memset(&p, 0, sizeof(p));
	gettimeofday(&t0, NULL);
	CHECK(get(h, &s, "/hang", &p, 1500) != NULL);
	run(&s, &p, 1);
	gettimeofday(&t1, NULL);
	CHECK_INT(p.calls, ==, 1);
	CHECK_INT(p.code, ==, D01_E_TIMEOUT);
	CHECK(gap_ms(&t0, &t1) >= 1400 && gap_ms(&t0, &t1) < 3000);
end:
	d01_http_free(h);
	srv_stop(&s);
}

struct reent {
	struct d01_http *h;
	struct srv *s;
	struct d01_http_call *victim;
	struct probe victim_p, next_p;
	int calls;
};

/* From inside a callback: cancel another call, start a new one. */
static void
reent_cb(
    void *arg, const struct d01_error *err, const struct d01_http_response *r)
{
	struct reent *x = arg;

	(void)err;
	(void)r;
	x->calls++;
	d01_http_cancel(x->victim);
	x->victim = NULL;
	x->next_p.base = x->s->base;
	x->next_p.done_target = 1;
	if (get(x->h, x->s, "/ok", &x->next_p, 0) == NULL)
		event_base_loopexit(x->s->base, NULL);
}

static void
t_reentrant(void)
{
	struct srv s;
	struct reent x = {0};
	char url[64];
	struct d01_http_request req = {.method = "GET", .url = url};

	CHECK(srv_start(&s) == 0);
	CHECK((x.h = d01_http_new(s.base, NULL)) != NULL);
	x.s = &s;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", s.port);
	CHECK(d01_http_start(x.h, &req, reent_cb, &x, NULL) != NULL);
	CHECK((x.victim = get(x.h, &s, "/slow", &x.victim_p, 0)) != NULL);
	event_base_loopexit(s.base, &(struct timeval){5, 0});
	event_base_dispatch(s.base);
	CHECK_INT(x.calls, ==, 1);
	CHECK_INT(x.victim_p.calls, ==, 0);
	CHECK_INT(x.next_p.calls, ==, 1);
	CHECK_STR(x.next_p.body, "hello get");
	CHECK_INT(d01_http_inflight(x.h), ==, 0);
end:
	d01_http_free(x.h);
	srv_stop(&s);
}

static void
t_memo(void)
{
	struct d01_http *h = NULL;
	struct event_base *base = event_base_new();
	char key[32], v[64];
	int i;

	CHECK(base != NULL);
	CHECK((h = d01_http_new(base, NULL)) != NULL);
	CHECK(d01_http_memo_get(h, "a", v, sizeof(v)) == -1);
	d01_http_memo_put(h, "a", "zone-a", 60000);
	d01_http_memo_put(h, "b", "zone-b", 1);
	CHECK(d01_http_memo_get(h, "a", v, sizeof(v)) == 0);
	CHECK_STR(v, "zone-a");
	CHECK(d01_http_memo_get(h, "a", v, 3) == -1); /* does not fit */
	nanosleep(&(struct timespec){0, 5000000}, NULL);
	CHECK(d01_http_memo_get(h, "b", v, sizeof(v)) == -1); /* expired */
	d01_http_memo_put(h, "a", "zone-a2", 60000);	      /* replaced */
	CHECK(d01_http_memo_get(h, "a", v, sizeof(v)) == 0);
	CHECK_STR(v, "zone-a2");
	d01_http_memo_forget(h, "a");
	CHECK(d01_http_memo_get(h, "a", v, sizeof(v)) == -1);
	/* Bounded: many more keys than slots, the newest is kept. */
	for (i = 0; i < 3 * D01_HTTP_MEMO_SIZE; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		d01_http_memo_put(h, key, key, 60000 + i);
	}
	CHECK(d01_http_memo_get(h, key, v, sizeof(v)) == 0);
	CHECK_STR(v, key);
	CHECK(d01_http_memo_get(h, "k0", v, sizeof(v)) == -1);
end:
	d01_http_free(h);
	if (base != NULL)
		event_base_free(base);
}

struct flight {
	int calls, found;
	struct d01_http_memo_wait *other; /* unwaited from the callback */
};

static void
flight_cb(void *arg, int found)
{
	struct flight *f = arg;

	f->calls++;
	f->found = found;
	d01_http_memo_unwait(f->other);
}

/* Single flight: one leader, waiters called back once, later, with the
 * outcome; unwait (even from another waiter's callback) means never. */
static void
t_memo_flight(void)
{
	struct event_base *base = event_base_new();
	struct d01_http *h = NULL;
	struct d01_http_memo_wait w[6];
	struct flight f[6];
	char v[64];

	memset(f, 0, sizeof(f));
	CHECK(base != NULL);
	CHECK((h = d01_http_new(base, NULL)) != NULL);
	CHECK_INT(
	    d01_http_memo_lookup(h, "z", v, sizeof(v), &w[0], flight_cb, &f[0]),
	    ==, D01_HTTP_MEMO_LEAD);
	CHECK_INT(
	    d01_http_memo_lookup(h, "z", v, sizeof(v), &w[1], flight_cb, &f[1]),
	    ==, D01_HTTP_MEMO_WAIT);
	CHECK_INT(
	    d01_http_memo_lookup(h, "z", v, sizeof(v), &w[2], flight_cb, &f[2]),
	    ==, D01_HTTP_MEMO_WAIT);
	CHECK(d01_http_memo_get(h, "z", v, sizeof(v)) == -1); /* pending */
	d01_http_memo_put(h, "z", "id-z", 60000);
	CHECK_INT(f[1].calls + f[2].calls, ==, 0); /* not inside put */
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK_INT(f[1].calls, ==, 1);
	CHECK_INT(f[1].found, ==, 1);
	CHECK_INT(f[2].calls, ==, 1);
	CHECK_INT(
	    d01_http_memo_lookup(h, "z", v, sizeof(v), &w[0], flight_cb, &f[0]),
	    ==, D01_HTTP_MEMO_HIT);
	CHECK_STR(v, "id-z");
	/* Abandoned: waiters hear found = 0; an unwaited one hears nothing,
	 * also when a waiter's own callback unwaits it. */
	memset(f, 0, sizeof(f));
	CHECK_INT(
	    d01_http_memo_lookup(h, "y", v, sizeof(v), &w[0], flight_cb, &f[0]),
	    ==, D01_HTTP_MEMO_LEAD);
	CHECK_INT(
	    d01_http_memo_lookup(h, "y", v, sizeof(v), &w[3], flight_cb, &f[3]),
	    ==, D01_HTTP_MEMO_WAIT);
	CHECK_INT(
	    d01_http_memo_lookup(h, "y", v, sizeof(v), &w[4], flight_cb, &f[4]),
	    ==, D01_HTTP_MEMO_WAIT);
	CHECK_INT(
	    d01_http_memo_lookup(h, "y", v, sizeof(v), &w[5], flight_cb, &f[5]),
	    ==, D01_HTTP_MEMO_WAIT);
	d01_http_memo_unwait(&w[5]);
	f[3].other = &w[4];
	f[4].other = &w[3];
	d01_http_memo_abandon(h, "y");
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK_INT(f[3].calls + f[4].calls, ==, 1);
	CHECK_INT(f[3].found + f[4].found, ==, 0);
	CHECK_INT(f[5].calls, ==, 0);
	/* The next caller leads again. */
	CHECK_INT(
	    d01_http_memo_lookup(h, "y", v, sizeof(v), &w[0], flight_cb, &f[0]),
	    ==, D01_HTTP_MEMO_LEAD);
	d01_http_memo_abandon(h, "y");
end:
	d01_http_free(h);
	if (base != NULL)
		event_base_free(base);
}

int
main(void)
{
	RUN(t_shape);
	RUN(t_concurrency);
	RUN(t_retries);
	RUN(t_errors);
	RUN(t_date_and_budget);
	RUN(t_reentrant);
	RUN(t_memo);
	RUN(t_memo_flight);
	return harness_done();
}
