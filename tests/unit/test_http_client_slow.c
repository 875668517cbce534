/* SPDX-License-Identifier: ISC */
/*
 * The async HTTP client against a slow HTTP/1.0 upstream (issue 12 item
 * 8): every request is answered after 200 ms and its connection closed,
 * as Python's http.server does by default. The peer runs on the test's
 * own event loop (a listener and bufferevents, no thread), counts the
 * connections open at once, and speaks just enough HTTP: it reads a head
 * (GET only, no body), waits, answers "HTTP/1.0 200", closes.
 */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "core/http_client.h"
#include "harness.h"

#define DELAY_US 200000

struct up {
	struct event_base *base;
	struct evconnlistener *lst;
	int port;
	int open, peak, accepted, answered;
	TAILQ_HEAD(, upconn) conns;
};

struct upconn {
	TAILQ_ENTRY(upconn) link;
	struct up *u;
	struct bufferevent *bev;
	struct event *later;
};

static void
upconn_free(struct upconn *c)
{
	c->u->open--;
	TAILQ_REMOVE(&c->u->conns, c, link);
	if (c->later != NULL)
		event_free(c->later);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	free(c);
}

/* The answer is out: close, as an HTTP/1.0 server does. */
static void
up_written(struct bufferevent *bev, void *arg)
{
	(void)bev;
	upconn_free(arg);
}

static void
up_answer(evutil_socket_t fd, short what, void *arg)
{
	struct upconn *c = arg;

	(void)fd;
	(void)what;
	c->u->answered++;
	bufferevent_setcb(c->bev, NULL, up_written, NULL, c);
	bufferevent_write(c->bev,
	    "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 2\r\n\r\n{}",
	    strlen("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
		   "Content-Length: 2\r\n\r\n{}"));
}

static void
up_read(struct bufferevent *bev, void *arg)
{
	struct upconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	struct timeval tv = {0, DELAY_US};

	if (p.pos < 0) {
		if (evbuffer_get_length(in) > 8192)
			upconn_free(c);
		return;
	}
	bufferevent_disable(bev, EV_READ);
	evbuffer_drain(in, evbuffer_get_length(in));
	evtimer_add(c->later, &tv);
}

static void
up_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		upconn_free(arg);
}

static void
up_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct up *u = arg;
	struct upconn *c;

	(void)l;
	(void)sa;
	(void)salen;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->u = u;
	c->bev = bufferevent_socket_new(u->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->later = evtimer_new(u->base, up_answer, c);
	u->accepted++;
	if (++u->open > u->peak)
		u->peak = u->open;
	TAILQ_INSERT_TAIL(&u->conns, c, link);
	if (c->bev == NULL)
		evutil_closesocket(fd);
	if (c->bev == NULL || c->later == NULL) {
		upconn_free(c);
		return;
	}
	bufferevent_setcb(c->bev, up_read, NULL, up_event, c);
	bufferevent_enable(c->bev, EV_READ);
}

static int
up_start(struct up *u)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);

	memset(u, 0, sizeof(*u));
	TAILQ_INIT(&u->conns);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((u->base = event_base_new()) == NULL)
		return -1;
	u->lst = evconnlistener_new_bind(u->base, up_accept, u,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
	    (struct sockaddr *)&sa, sizeof(sa));
	if (u->lst == NULL)
		return -1;
	getsockname(evconnlistener_get_fd(u->lst), (struct sockaddr *)&sa, &sl);
	u->port = ntohs(sa.sin_port);
	return 0;
}

/* Connections still open (a check failed) are closed first. */
static void
up_stop(struct up *u)
{
	while (!TAILQ_EMPTY(&u->conns))
		upconn_free(TAILQ_FIRST(&u->conns));
	if (u->lst != NULL)
		evconnlistener_free(u->lst);
	if (u->base != NULL)
		event_base_free(u->base);
}

struct tally {
	int calls, ok, retried, want;
	enum d01_err first_err;
	char msg[600];
	struct event_base *base;
};

static void
tally_cb(
    void *arg, const struct d01_error *err, const struct d01_http_response *r)
{
	struct tally *t = arg;

	t->calls++;
	if (err->code == D01_OK && r != NULL && r->status == 200) {
		t->ok++;
		t->retried += r->attempts > 1;
	} else if (t->first_err == D01_OK) {
		t->first_err = err->code != D01_OK ? err->code : D01_E_NETWORK;
		snprintf(t->msg, sizeof(t->msg), "%s",
		    err->code != D01_OK ? err->msg : "not a 200");
	}
	if (t->calls == t->want)
		event_base_loopexit(t->base, NULL);
}

/* Start n GETs at once and run the loop until all have answered (or a
 * generous 60 s, far beyond any budget, have passed). */
static int
burst(struct d01_http *h, struct up *u, struct tally *t, int n, long timeout)
{
	char url[64];
	struct d01_http_request req = {
	    .method = "GET", .url = url, .timeout_ms = timeout};
	int i;

	memset(t, 0, sizeof(*t));
	t->base = u->base;
	t->want = n;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/zones", u->port);
	for (i = 0; i < n; i++)
		if (d01_http_start(h, &req, tally_cb, t, NULL) == NULL)
			return -1;
	event_base_loopexit(u->base, &(struct timeval){60, 0});
	event_base_dispatch(u->base);
	if (t->ok != n)
		fprintf(stderr, "  %d of %d ok; first error: %s\n", t->ok, n,
		    t->msg);
	return 0;
}

/*
 * 200 calls at once with the default per-attempt timeout (10 s) and
 * budget (20 s): every one succeeds at its first attempt, and no more
 * than the per-host cap (16 by default) of connections are open at once.
 * Before the fix libcurl parked most transfers (PIPEWAIT on a host whose
 * connections all close), let them out one at a time with their timeout
 * running, and they failed with "Failed to resolve host ... with timeout
 * after 0 ms".
 */
static void
t_burst(void)
{
	struct up u;
	struct d01_http *h = NULL;
	struct tally t;

	CHECK(up_start(&u) == 0);
	CHECK((h = d01_http_new(u.base, NULL)) != NULL);
	CHECK(burst(h, &u, &t, 200, 0) == 0);
	fprintf(stderr, "  peak connections %d, accepted %d, retried %d\n",
	    u.peak, u.accepted, t.retried);
	CHECK_INT(t.calls, ==, 200);
	CHECK_INT(t.ok, ==, 200);
	CHECK_INT(t.retried, ==, 0);
	CHECK_INT(u.peak, <=, 16);
	CHECK_INT(u.peak, >=, 2); /* not serialised */
	CHECK_INT(d01_http_inflight(h), ==, 0);
end:
	d01_http_free(h);
	up_stop(&u);
}

/*
 * A cap of 2 and a per-attempt timeout of 1 s: 20 calls wait up to ~2 s
 * for a connection. Time spent waiting for one is not the attempt's: all
 * succeed at the first attempt, and the cap holds.
 */
static void
t_queue_not_timed(void)
{
	struct up u;
	struct d01_http *h = NULL;
	struct tally t;

	CHECK(up_start(&u) == 0);
	CHECK((h = d01_http_new(u.base, NULL)) != NULL);
	d01_http_set_max_host_connections(h, 2);
	CHECK(burst(h, &u, &t, 20, 1000) == 0);
	fprintf(
	    stderr, "  peak connections %d, retried %d\n", u.peak, t.retried);
	CHECK_INT(t.ok, ==, 20);
	CHECK_INT(t.retried, ==, 0);
	CHECK_INT(u.peak, <=, 2);
	CHECK_INT(u.answered, ==, 20);
end:
	d01_http_free(h);
	up_stop(&u);
}

/*
 * The wait for a slot is bounded by the call's budget: with a cap of 1,
 * a call with a 100 ms budget behind one that holds the only slot for
 * 200 ms times out, without an attempt; a queued call cancelled leaves the
 * queue (the one behind it still runs).
 */
static void
t_queue_budget(void)
{
	struct up u;
	struct d01_http *h = NULL;
	struct tally first = {0}, starved = {0}, gone = {0}, last = {0};
	char url[64];
	struct d01_http_request req = {.method = "GET", .url = url};
	struct d01_http_call *c;

	CHECK(up_start(&u) == 0);
	CHECK((h = d01_http_new(u.base, NULL)) != NULL);
	d01_http_set_max_host_connections(h, 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", u.port);
	first.want = last.want = -1;
	CHECK(d01_http_start(h, &req, tally_cb, &first, NULL) != NULL);
	req.budget_ms = 100;
	starved.want = -1;
	CHECK(d01_http_start(h, &req, tally_cb, &starved, NULL) != NULL);
	req.budget_ms = 0;
	CHECK((c = d01_http_start(h, &req, tally_cb, &gone, NULL)) != NULL);
	last.base = u.base;
	last.want = 1;
	CHECK(d01_http_start(h, &req, tally_cb, &last, NULL) != NULL);
	d01_http_cancel(c);
	event_base_loopexit(u.base, &(struct timeval){30, 0});
	event_base_dispatch(u.base);
	CHECK_INT(first.ok, ==, 1);
	CHECK_INT(starved.calls, ==, 1);
	CHECK_INT(starved.first_err, ==, D01_E_TIMEOUT);
	fprintf(stderr, "  %s\n", starved.msg);
	CHECK(strstr(starved.msg, "waiting for a connection") != NULL);
	CHECK_INT(gone.calls, ==, 0);
	CHECK_INT(last.ok, ==, 1);
	CHECK_INT(u.answered, ==, 2);
	CHECK_INT(u.peak, ==, 1);
	CHECK_INT(d01_http_inflight(h), ==, 0);
end:
	d01_http_free(h);
	up_stop(&u);
}

int
main(void)
{
	RUN(t_burst);
	RUN(t_queue_not_timed);
	RUN(t_queue_budget);
	return harness_done();
}
