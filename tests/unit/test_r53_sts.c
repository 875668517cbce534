/* SPDX-License-Identifier: ISC */
/*
 * route53's STS session cache (providers/route53/r53_sts.c) against an
 * in-process STS peer on the same event loop: a session is reused only for
 * byte-identical credentials and the same ambient flag; there is no fixed
 * table one key's stuck calls can fill; idle sessions are bounded; askers
 * per key are bounded; failed and near-expiry sessions are not kept.
 * Through the real binary: tests/integration/test_route53_sts.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/http_client.h"
#include "harness.h"
#include "providers/env.h"
#include "providers/route53/r53_sts.h"

/* A peer answering every POST with fresh credentials, or holding them. */
struct peer {
	struct evhttp *http;
	int port, calls, hold, fail, ttl;
	struct evhttp_request *held[300];
	int nheld;
};

static void
peer_cb(struct evhttp_request *req, void *arg)
{
	struct peer *p = arg;
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	char iso[32];
	time_t exp = time(NULL) + p->ttl;

	p->calls++;
	if (p->hold && p->nheld < 300) {
		p->held[p->nheld++] = req; /* dropped by evhttp_free */
		return;
	}
	if (p->fail) {
		evbuffer_add_printf(out,
		    "<ErrorResponse><Error><Code>AccessDenied</Code>"
		    "<Message>no</Message></Error></ErrorResponse>");
		evhttp_send_reply(req, 403, "Forbidden", NULL);
		return;
	}
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", gmtime(&exp));
	evbuffer_add_printf(out,
	    "<AssumeRoleResponse><AssumeRoleResult><Credentials>"
	    "<AccessKeyId>ASIA%d</AccessKeyId><SecretAccessKey>s%d"
	    "</SecretAccessKey><SessionToken>t%d</SessionToken>"
	    "<Expiration>%s</Expiration></Credentials></AssumeRoleResult>"
	    "</AssumeRoleResponse>",
	    p->calls, p->calls, p->calls, iso);
	evhttp_send_reply(req, 200, "OK", NULL);
}

struct fixture {
	struct event_base *base;
	struct d01_env env;
	struct peer peer, hole;
	char url[64], hole_url[64];
};

static int
peer_start(struct peer *p, struct event_base *base, char *url, size_t n)
{
	struct evhttp_bound_socket *b;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	memset(p, 0, sizeof(*p));
	p->ttl = 3600;
	if ((p->http = evhttp_new(base)) == NULL ||
	    (b = evhttp_bind_socket_with_handle(p->http, "127.0.0.1", 0)) ==
		NULL)
		return -1;
	evhttp_set_gencb(p->http, peer_cb, p);
	getsockname(evhttp_bound_socket_get_fd(b), (struct sockaddr *)&sa, &sl);
	p->port = ntohs(sa.sin_port);
	snprintf(url, n, "http://127.0.0.1:%d", p->port);
	return 0;
}

static int
fixture_new(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	if (d01_env_open(&f->env, NULL, &(struct d01_error){0}) != D01_OK ||
	    (f->base = f->env.base) == NULL ||
	    peer_start(&f->peer, f->base, f->url, sizeof(f->url)) != 0 ||
	    peer_start(&f->hole, f->base, f->hole_url, sizeof(f->hole_url)))
		return -1;
	f->hole.hold = 1;
	return 0;
}

static void
fixture_free(struct fixture *f)
{
	if (f->peer.http != NULL)
		evhttp_free(f->peer.http);
	if (f->hole.http != NULL)
		evhttp_free(f->hole.http);
	d01_env_close(&f->env);
}

struct got {
	int calls, ok, pending;
	char akid[64];
	enum d01_err code;
	struct event_base *base;
};

static void
got_cb(void *arg, const struct d01_error *err, const struct r53_keys *k)
{
	struct got *g = arg;

	g->calls++;
	g->code = err->code;
	if (err->code == D01_OK && k != NULL) {
		g->ok++;
		snprintf(g->akid, sizeof(g->akid), "%s", k->akid);
	}
	if (--g->pending == 0)
		event_base_loopexit(g->base, NULL);
}

/* One asker for (endpoint, role, keys, ambient), run to its answer. */
static enum d01_err
ask(struct fixture *f, const char *endpoint, const char *role,
    const struct r53_keys *k, int ambient, char *akid, size_t n)
{
	struct r53_sts_req r = {endpoint, NULL, role, NULL, k, ambient};
	struct got g = {.base = f->base, .pending = 1};
	struct timeval tmo = {20, 0};
	struct d01_error err;
	struct r53_sts_wait *w;

	d01_error_clear(&err);
	if ((w = r53_sts_get(&f->env, &r, got_cb, &g, &err)) == NULL)
		return err.code != D01_OK ? err.code : D01_E_INTERNAL;
	event_base_loopexit(f->base, &tmo);
	event_base_dispatch(f->base);
	if (g.calls != 1) {
		r53_sts_cancel(w);
		return D01_E_TIMEOUT;
	}
	snprintf(akid, n, "%s", g.akid);
	return g.code;
}

#define ROLE "arn:aws:iam::1:role/r"

static void
t_digest(void)
{
	const char *a[] = {"ab", "c"}, *b[] = {"a", "bc"};
	const char *n1[] = {"x", NULL}, *n2[] = {"x", ""};
	unsigned char d1[R53_DIGEST_LEN], d2[R53_DIGEST_LEN];
	struct d01_env env = {0}, other = {0};
	struct d01_error err;

	CHECK_INT(d01_env_open(&env, NULL, &err), ==, D01_OK);
	CHECK_INT(d01_env_open(&other, NULL, &err), ==, D01_OK);
	CHECK(
	    r53_digest(&env, a, 2, d1) == 0 && r53_digest(&env, a, 2, d2) == 0);
	CHECK_MEM(d1, d2, sizeof(d1));
	CHECK(r53_digest(&env, b, 2, d2) == 0);
	CHECK(memcmp(d1, d2, sizeof(d1)) != 0);
	CHECK(r53_digest(&env, n1, 2, d1) == 0 &&
	    r53_digest(&env, n2, 2, d2) == 0);
	CHECK(memcmp(d1, d2, sizeof(d1)) != 0);
	/* The key is the env's own: another env digests differently. */
	CHECK(r53_digest(&env, a, 2, d1) == 0 &&
	    r53_digest(&other, a, 2, d2) == 0);
	CHECK(memcmp(d1, d2, sizeof(d1)) != 0);
end:
	d01_env_close(&env);
	d01_env_close(&other);
}

/* Reused for the very same credentials only. */
static void
t_key_is_the_whole_credential(void)
{
	struct fixture f;
	const struct r53_keys a = {"AKIDA", "secret-a", NULL};
	const struct r53_keys wrong = {"AKIDA", "secret-b", NULL};
	const struct r53_keys tok = {"AKIDA", "secret-a", "tok"};
	char k1[64], k2[64];
	size_t n, idle;

	CHECK(fixture_new(&f) == 0);
	CHECK_INT(ask(&f, f.url, ROLE, &a, 0, k1, sizeof(k1)), ==, D01_OK);
	CHECK_INT(f.peer.calls, ==, 1);
	CHECK_INT(ask(&f, f.url, ROLE, &a, 0, k2, sizeof(k2)), ==, D01_OK);
	CHECK_INT(f.peer.calls, ==, 1); /* the same keys: cached */
	CHECK_STR(k1, k2);
	/* Same key ID, another secret; a session token; the ambient side. */
	CHECK_INT(ask(&f, f.url, ROLE, &wrong, 0, k2, sizeof(k2)), ==, D01_OK);
	CHECK_INT(f.peer.calls, ==, 2);
	CHECK(strcmp(k1, k2) != 0);
	CHECK_INT(ask(&f, f.url, ROLE, &tok, 0, k2, sizeof(k2)), ==, D01_OK);
	CHECK_INT(f.peer.calls, ==, 3);
	CHECK_INT(ask(&f, f.url, ROLE, &a, 1, k2, sizeof(k2)), ==, D01_OK);
	CHECK_INT(f.peer.calls, ==, 4);
	CHECK(strcmp(k1, k2) != 0);
	r53_sts_count(&f.env, &n, &idle);
	CHECK_INT(idle, >=, 4);
end:
	fixture_free(&f);
}

/* Many keys stuck in flight never keep another key out; the askers of
 * one key are bounded; cancelled entries go away. */
static void
t_no_fixed_table(void)
{
	static struct got g[300];
	static struct r53_sts_wait *w[300];
	struct fixture f;
	const struct r53_keys a = {"AKIDA", "secret-a", NULL};
	struct r53_sts_req r = {NULL, NULL, NULL, NULL, &a, 0};
	struct d01_error err;
	char role[64], k[64];
	size_t n, idle, before;
	int i;

	memset(w, 0, sizeof(w));
	CHECK(fixture_new(&f) == 0);
	r53_sts_count(&f.env, &before, &idle);
	r.endpoint = f.hole_url;
	for (i = 0; i < 40; i++) {
		snprintf(role, sizeof(role), "arn:aws:iam::1:role/hole%d", i);
		r.role_arn = role;
		g[i] = (struct got){.base = f.base, .pending = 1};
		d01_error_clear(&err);
		CHECK((w[i] = r53_sts_get(&f.env, &r, got_cb, &g[i], &err)));
	}
	r53_sts_count(&f.env, &n, &idle);
	CHECK_INT(n, ==, before + 40);
	CHECK_INT(
	    ask(&f, f.url, ROLE "other", &a, 0, k, sizeof(k)), ==, D01_OK);
	/* 256 askers wait on one key; the next is refused. */
	r.role_arn = "arn:aws:iam::1:role/hole0";
	for (i = 40; i < 40 + 255; i++) {
		g[i] = (struct got){.base = f.base, .pending = 1};
		CHECK((w[i] = r53_sts_get(&f.env, &r, got_cb, &g[i], &err)));
	}
	d01_error_clear(&err);
	CHECK(r53_sts_get(&f.env, &r, got_cb, &g[299], &err) == NULL);
	CHECK_INT(err.code, ==, D01_E_LIMIT);
	for (i = 0; i < 300; i++) {
		r53_sts_cancel(w[i]);
		w[i] = NULL;
	}
	r53_sts_count(&f.env, &n, &idle);
	CHECK_INT(n, ==, idle); /* nothing in flight left behind */
	for (i = 0; i < 300; i++)
		CHECK_INT(g[i].calls, ==, 0);
end:
	for (i = 0; i < 300; i++)
		r53_sts_cancel(w[i]);
	fixture_free(&f);
}

/* At most 64 idle sessions; failed calls and sessions too close to
 * expiry are not kept. */
static void
t_bounded_and_wiped(void)
{
	struct fixture f;
	const struct r53_keys a = {"AKIDA", "secret-a", NULL};
	char role[64], k[64];
	size_t n, idle;
	int i;

	CHECK(fixture_new(&f) == 0);
	for (i = 0; i < 100; i++) {
		snprintf(role, sizeof(role), "arn:aws:iam::1:role/many%d", i);
		CHECK_INT(
		    ask(&f, f.url, role, &a, 0, k, sizeof(k)), ==, D01_OK);
	}
	r53_sts_count(&f.env, &n, &idle);
	CHECK_INT(idle, <=, 64);
	CHECK_INT(n, <=, 64);
	/* The most recent ones are the ones kept. */
	CHECK_INT(f.peer.calls, ==, 100);
	CHECK_INT(ask(&f, f.url, role, &a, 0, k, sizeof(k)), ==, D01_OK);
	CHECK_INT(f.peer.calls, ==, 100);
	f.peer.fail = 1;
	CHECK_INT(
	    ask(&f, f.url, ROLE "fail", &a, 0, k, sizeof(k)), ==, D01_E_AUTH);
	f.peer.fail = 0;
	f.peer.ttl = 200; /* inside the refresh window: used once, not kept */
	CHECK_INT(
	    ask(&f, f.url, ROLE "short", &a, 0, k, sizeof(k)), ==, D01_OK);
	CHECK_INT(f.peer.calls, ==, 102);
	CHECK_INT(
	    ask(&f, f.url, ROLE "short", &a, 0, k, sizeof(k)), ==, D01_OK);
	CHECK_INT(f.peer.calls, ==, 103);
	r53_sts_count(&f.env, &n, &idle);
	CHECK_INT(n, ==, idle);
	CHECK_INT(idle, <=, 64);
end:
	fixture_free(&f);
}

int
main(void)
{
	RUN(t_digest);
	RUN(t_key_is_the_whole_credential);
	RUN(t_no_fixed_table);
	RUN(t_bounded_and_wiped);
	return harness_done();
}
