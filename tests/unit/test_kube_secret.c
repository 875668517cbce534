/* SPDX-License-Identifier: ISC */
/*
 * The Kubernetes Secrets back end (kube/kube_secret.c) against an
 * in-process API on a test clock: lookups of one Secret share one GET,
 * hits come from the loop, the TTL runs on the clock, a cancelled lookup
 * hands its GET over to a waiting one, a failure reaches every waiting
 * lookup and is not cached, and namespaces never share an entry.
 */
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "core/clock.h"
#include "core/http_client.h"
#include "harness.h"
#include "kube/kube.h"
#include "kube/kube_secret.h"

struct api {
	struct event_base *base;
	struct evhttp *http;
	int port, gets, fail, hold_first;
	struct evhttp_request *held;
};

static void
serve(struct evhttp_request *req, void *arg)
{
	static const char body[] = "{\"kind\":\"Secret\",\"data\":{\"token\":"
				   "\"dG9rCg==\",\"bad\":5}}"; /* "tok\n" */
	struct api *a = arg;

	a->gets++;
	if (a->hold_first && a->held == NULL) {
		a->held = req; /* never answered; dropped by evhttp_free */
		return;
	}
	if (a->fail) {
		evhttp_send_reply(req, 403, "Forbidden", NULL);
		return;
	}
	evbuffer_add(
	    evhttp_request_get_output_buffer(req), body, sizeof(body) - 1);
	evhttp_send_reply(req, 200, "OK", NULL);
}

struct fx {
	struct api a;
	struct d01_test_clock clock;
	struct d01_http *http;
	struct d01_kube *kube;
	struct d01_kube_secrets *ks;
	struct d01_secret_backend be;
};

static int
fx_open(struct fx *f)
{
	struct evhttp_bound_socket *b;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char kc[512];

	memset(f, 0, sizeof(*f));
	d01_test_clock_init(&f->clock, 1800000000);
	if ((f->a.base = event_base_new()) == NULL ||
	    (f->a.http = evhttp_new(f->a.base)) == NULL ||
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
		 f->http, kc, strlen(kc), NULL, NULL)) == NULL ||
	    (f->ks = d01_kube_secrets_new(
		 f->a.base, f->kube, &f->clock.clock)) == NULL)
		return -1;
	d01_kube_secrets_backend(f->ks, &f->be);
	return 0;
}

static void
fx_close(struct fx *f)
{
	d01_kube_secrets_free(f->ks);
	d01_kube_free(f->kube);
	d01_http_free(f->http);
	if (f->a.http != NULL)
		evhttp_free(f->a.http);
	if (f->a.base != NULL)
		event_base_free(f->a.base);
}

struct look {
	struct fx *f;
	void *h;
	int calls;
	enum d01_err code;
	char val[32];
	int *pending;
};

static void
got(void *arg, const struct d01_error *err, const char *value, size_t len)
{
	struct look *l = arg;

	l->calls++;
	l->code = err->code;
	l->h = NULL;
	snprintf(l->val, sizeof(l->val), "%.*s", (int)len, value ? value : "");
	if (--*l->pending == 0)
		event_base_loopexit(l->f->a.base, NULL);
}

static int
look(
    struct fx *f, struct look *l, const char *ns, const char *key, int *pending)
{
	struct d01_secret_ref ref = {"s", key};
	struct d01_error err;

	memset(l, 0, sizeof(*l));
	l->f = f;
	l->pending = pending;
	d01_error_clear(&err);
	l->h = f->be.start(f->be.ctx, ns, &ref, got, l, &err);
	return l->h != NULL ? 0 : -1;
}

static void
run(struct fx *f)
{
	event_base_loopexit(f->a.base, &(struct timeval){10, 0});
	event_base_dispatch(f->a.base);
}

static void
t_single_flight_and_ttl(void)
{
	struct fx f;
	struct look l[4];
	int pending = 3;

	CHECK(fx_open(&f) == 0);
	CHECK(look(&f, &l[0], "ns", "token", &pending) == 0);
	CHECK(look(&f, &l[1], "ns", "token", &pending) == 0);
	CHECK(look(&f, &l[2], "ns", "bad", &pending) == 0);
	run(&f);
	CHECK_INT(f.a.gets, ==, 1);
	CHECK_INT(l[0].code, ==, D01_OK);
	CHECK_STR(l[0].val, "tok");
	CHECK_STR(l[1].val, "tok");
	CHECK_INT(l[2].code, ==, D01_E_CONFIG);
	/* Cached: answered from the loop, not inside start. */
	pending = 1;
	CHECK(look(&f, &l[3], "ns", "token", &pending) == 0);
	CHECK_INT(l[3].calls, ==, 0);
	run(&f);
	CHECK_STR(l[3].val, "tok");
	CHECK_INT(f.a.gets, ==, 1);
	/* Another namespace's Secret of the same name is its own GET. */
	pending = 1;
	CHECK(look(&f, &l[3], "other", "token", &pending) == 0);
	run(&f);
	CHECK_INT(f.a.gets, ==, 2);
	/* Past the TTL on the clock: asked again. */
	d01_test_clock_advance(&f.clock, D01_KUBE_SECRET_TTL_MS);
	pending = 1;
	CHECK(look(&f, &l[3], "ns", "token", &pending) == 0);
	run(&f);
	CHECK_INT(f.a.gets, ==, 3);
	CHECK_STR(l[3].val, "tok");
end:
	fx_close(&f);
}

/* The lookup whose GET is in flight is cancelled: a waiting lookup
 * sends its own and is answered; the cancelled one never is. */
static void
t_leader_cancelled(void)
{
	struct fx f;
	struct look l[2];
	int pending = 2;

	CHECK(fx_open(&f) == 0);
	f.a.hold_first = 1;
	CHECK(look(&f, &l[0], "ns", "token", &pending) == 0);
	CHECK(look(&f, &l[1], "ns", "token", &pending) == 0);
	event_base_loop(f.a.base, EVLOOP_NONBLOCK);
	while (f.a.held == NULL && event_base_loop(f.a.base, EVLOOP_ONCE) == 0)
		;
	f.be.cancel(l[0].h);
	pending = 1;
	run(&f);
	CHECK_INT(l[0].calls, ==, 0);
	CHECK_INT(l[1].calls, ==, 1);
	CHECK_STR(l[1].val, "tok");
	CHECK_INT(f.a.gets, ==, 2);
end:
	fx_close(&f);
}

/* A failed GET reaches every lookup waiting on it, and is not cached. */
static void
t_failure_shared_not_cached(void)
{
	struct fx f;
	struct look l[2];
	int pending = 2;

	CHECK(fx_open(&f) == 0);
	f.a.fail = 1;
	CHECK(look(&f, &l[0], "ns", "token", &pending) == 0);
	CHECK(look(&f, &l[1], "ns", "token", &pending) == 0);
	run(&f);
	CHECK_INT(f.a.gets, ==, 1);
	CHECK_INT(l[0].code, ==, D01_E_FORBIDDEN);
	CHECK_INT(l[1].code, ==, D01_E_FORBIDDEN);
	f.a.fail = 0;
	pending = 1;
	CHECK(look(&f, &l[0], "ns", "token", &pending) == 0);
	run(&f);
	CHECK_INT(f.a.gets, ==, 2);
	CHECK_STR(l[0].val, "tok");
end:
	fx_close(&f);
}

int
main(void)
{
	RUN(t_single_flight_and_ttl);
	RUN(t_leader_cancelled);
	RUN(t_failure_shared_not_cached);
	return harness_done();
}
