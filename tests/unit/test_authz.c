/* SPDX-License-Identifier: ISC */
/*
 * The authorizer against an in-process SubjectAccessReview endpoint:
 * always-allowed groups never ask; identical checks in flight share one
 * review; a waiter cancelled from another waiter's callback is never
 * called and frees nothing twice; allow and deny are cached; a failed
 * review is reported and not cached; the review body carries the
 * identity and attributes.
 */
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "core/http_client.h"
#include "harness.h"
#include "kube/authz.h"
#include "kube/kube.h"

struct api {
	struct event_base *base;
	struct evhttp *http;
	int port;
	int reviews;
	int allow;    /* the decision the endpoint gives */
	int fail;     /* answer 500 instead */
	json_t *last; /* the last review body */
};

static void
sar(struct evhttp_request *req, void *arg)
{
	struct api *a = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	char *body = malloc(n + 1);
	json_t *o;

	evbuffer_remove(in, body, n);
	body[n] = '\0';
	a->reviews++;
	json_decref(a->last);
	a->last = json_loads(body, 0, NULL);
	free(body);
	if (a->fail) {
		evhttp_send_reply(req, 500, "Internal", NULL);
		return;
	}
	o = json_deep_copy(a->last);
	json_object_set_new(o, "status",
	    json_pack("{s:b, s:s}", "allowed", a->allow, "reason",
		a->allow ? "" : "denied by test"));
	body = json_dumps(o, JSON_COMPACT);
	evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	evhttp_send_reply(req, 201, "Created", NULL);
	free(body);
	json_decref(o);
}

static int
api_start(struct api *a)
{
	struct evhttp_bound_socket *b;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	memset(a, 0, sizeof(*a));
	if ((a->base = event_base_new()) == NULL ||
	    (a->http = evhttp_new(a->base)) == NULL ||
	    (b = evhttp_bind_socket_with_handle(a->http, "127.0.0.1", 0)) ==
		NULL)
		return -1;
	evhttp_set_gencb(a->http, sar, a);
	getsockname(evhttp_bound_socket_get_fd(b), (struct sockaddr *)&sa, &sl);
	a->port = ntohs(sa.sin_port);
	return 0;
}

static void
api_stop(struct api *a)
{
	if (a->http != NULL)
		evhttp_free(a->http);
	if (a->base != NULL)
		event_base_free(a->base);
	json_decref(a->last);
}

struct waiter {
	struct api *a;
	struct d01_authz_call *call;
	struct waiter *cancel_me; /* cancelled from this one's callback */
	int calls, allowed, failed;
	int *pending;
};

static void
decided(void *arg, int allowed, const char *reason, const struct d01_error *e)
{
	struct waiter *w = arg;

	(void)reason;
	w->calls++;
	w->allowed = allowed;
	w->failed = e != NULL;
	if (w->cancel_me != NULL && w->cancel_me->call != NULL) {
		d01_authz_cancel(w->cancel_me->call);
		w->cancel_me->call = NULL;
		--*w->pending;
	}
	w->call = NULL;
	if (--*w->pending == 0)
		event_base_loopexit(w->a->base, NULL);
}

struct fixture {
	struct api a;
	struct d01_http *http;
	struct d01_kube *kube;
	struct d01_authz *authz;
	struct d01_identity id;
};

static int
setup(struct fixture *f)
{
	char kc[512];
	struct d01_authz_cfg cfg = {0};

	memset(f, 0, sizeof(*f));
	if (api_start(&f->a) != 0 ||
	    (f->http = d01_http_new(f->a.base, NULL)) == NULL)
		return -1;
	snprintf(kc, sizeof(kc),
	    "current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, "
	    "user: u}\nclusters:\n- name: k\n  cluster: {server: "
	    "'http://127.0.0.1:%d'}\nusers:\n- name: u\n  user: {token: t}\n",
	    f->a.port);
	if ((f->kube = d01_kube_from_kubeconfig(
		 f->http, kc, strlen(kc), NULL, NULL)) == NULL ||
	    (f->authz = d01_authz_new(f->kube, &cfg, NULL)) == NULL)
		return -1;
	snprintf(f->id.user, sizeof(f->id.user), "system:serviceaccount:cm:cm");
	f->id.groups = json_pack("[s]", "system:authenticated");
	f->id.extra = json_object();
	return 0;
}

static void
teardown(struct fixture *f)
{
	d01_authz_free(f->authz);
	d01_kube_free(f->kube);
	d01_http_free(f->http);
	d01_identity_clear(&f->id);
	api_stop(&f->a);
}

static const struct d01_authz_attrs create_embedded = {
    .resource_req = 1,
    .verb = "create",
    .group = "acme.example.com",
    .version = "v1alpha1",
    .resource = "embedded",
};

static enum d01_authz_res
check(struct fixture *f, struct waiter *w, int *pending)
{
	char reason[64];

	w->a = &f->a;
	w->pending = pending;
	return d01_authz_check(f->authz, &f->id, &create_embedded, reason,
	    sizeof(reason), decided, w, &w->call, NULL);
}

static void
t_shared_review_and_cancel_from_callback(void)
{
	struct fixture f;
	struct waiter w[3] = {{0}};
	struct d01_authz_stats st;
	json_t *spec;
	int pending = 3, i;

	CHECK(setup(&f) == 0);
	f.a.allow = 1;
	for (i = 0; i < 3; i++)
		CHECK_INT(check(&f, &w[i], &pending), ==, D01_AUTHZ_PENDING);
	/* The last one in is answered first; the next cancels the first
	 * one in, the last still waiting on the same review: the flight
	 * must outlive its last waiter while the answer is handed out. */
	w[1].cancel_me = &w[0];
	event_base_loopexit(f.a.base, &(struct timeval){5, 0});
	event_base_dispatch(f.a.base);
	CHECK_INT(f.a.reviews, ==, 1);
	CHECK_INT(w[0].calls, ==, 0);
	CHECK_INT(w[1].calls, ==, 1);
	CHECK_INT(w[2].calls, ==, 1);
	CHECK_INT(w[1].allowed, ==, 1);
	spec = json_object_get(f.a.last, "spec");
	CHECK_STR(json_string_value(json_object_get(spec, "user")),
	    "system:serviceaccount:cm:cm");
	CHECK_STR(json_string_value(json_object_get(
		      json_object_get(spec, "resourceAttributes"), "verb")),
	    "create");
	/* Decided now from the cache. */
	CHECK_INT(check(&f, &w[0], &pending), ==, D01_AUTHZ_ALLOW);
	d01_authz_stats(f.authz, &st);
	CHECK_INT(st.reviews, ==, 1);
	CHECK_INT(st.joined, ==, 2);
	CHECK_INT(st.cache_hits, ==, 1);
end:
	teardown(&f);
}

static void
t_masters_deny_and_failure(void)
{
	struct fixture f;
	struct waiter w = {0};
	int pending = 1;
	char reason[64];

	CHECK(setup(&f) == 0);
	/* A failed review: reported, not cached. */
	f.a.fail = 1;
	CHECK_INT(check(&f, &w, &pending), ==, D01_AUTHZ_PENDING);
	event_base_loopexit(f.a.base, &(struct timeval){15, 0});
	event_base_dispatch(f.a.base);
	CHECK_INT(w.calls, ==, 1);
	CHECK_INT(w.failed, ==, 1);
	/* A deny: cached like an allow. */
	f.a.fail = 0;
	f.a.allow = 0;
	memset(&w, 0, sizeof(w));
	pending = 1;
	CHECK_INT(check(&f, &w, &pending), ==, D01_AUTHZ_PENDING);
	event_base_loopexit(f.a.base, &(struct timeval){5, 0});
	event_base_dispatch(f.a.base);
	CHECK_INT(w.allowed, ==, 0);
	CHECK_INT(w.failed, ==, 0);
	CHECK_INT(check(&f, &w, &pending), ==, D01_AUTHZ_DENY);
	/* system:masters never asks. */
	json_array_append_new(f.id.groups, json_string("system:masters"));
	CHECK_INT(d01_authz_check(f.authz, &f.id, &create_embedded, reason,
		      sizeof(reason), decided, &w, &w.call, NULL),
	    ==, D01_AUTHZ_ALLOW);
	CHECK(f.a.reviews >= 2);
end:
	teardown(&f);
}

int
main(void)
{
	RUN(t_shared_review_and_cancel_from_callback);
	RUN(t_masters_deny_and_failure);
	return harness_done();
}
