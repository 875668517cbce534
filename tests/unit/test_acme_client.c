/* SPDX-License-Identifier: ISC */
/*
 * The ACME session's request policy against an in-process HTTP server
 * (libevent evhttp on loopback) that checks every JWS it receives: nonces
 * come from the pool or HEAD newNonce and are never reused, badNonce is
 * retried with the fresh nonce, rateLimited waits for a short Retry-After
 * and gives up at once on a long one, and the async shape holds (never
 * called back inside start, cancel means no callback).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "harness.h"
#include "issuer/acme.h"
#include "issuer/acme_http.h"
#include "core/b64url.h"
#include "core/jwk.h"
#include "core/jws.h"
#include "issuer/key.h"

struct fake {
	struct event_base *base;
	struct evhttp *http;
	int port;
	unsigned nonce_seq;
	char used[64][32]; /* nonces already consumed */
	int nused;
	int bad_nonce_left, rate_left, heads, posts, bad_jws;
};

struct result {
	int calls;
	struct d01_error err;
	long status;
	char body[256];
};

static void
reply(struct evhttp_request *req, struct fake *f, int code, const char *body,
    const char *extra_name, const char *extra_value)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *b = evbuffer_new();
	char nonce[32];

	/* Like a CA that sends nonces only where RFC 8555 requires them. */
	if (strcmp(evhttp_request_get_uri(req), "/dir") != 0) {
		snprintf(nonce, sizeof(nonce), "nonce-%u", ++f->nonce_seq);
		evhttp_add_header(h, "Replay-Nonce", nonce);
	}
	if (extra_name != NULL)
		evhttp_add_header(h, extra_name, extra_value);
	if (body != NULL)
		evbuffer_add(b, body, strlen(body));
	evhttp_send_reply(req, code, "x", b);
	evbuffer_free(b);
}

/* Check the JWS of a POST: signature, url, fresh nonce. 0 when good. */
static int
check_jws(struct fake *f, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	char *body = calloc(1, n + 1), hdr[2048], url[256], compact[4096];
	json_t *o = NULL, *h = NULL;
	EVP_PKEY *k = NULL;
	const char *nonce;
	long hl;
	int i, rc = -1;

	evbuffer_copyout(in, body, n);
	if ((o = json_loads(body, 0, NULL)) == NULL)
		goto out;
	hl = d01_b64url_decode(hdr, sizeof(hdr) - 1,
	    json_string_value(json_object_get(o, "protected")),
	    strlen(json_string_value(json_object_get(o, "protected"))));
	if (hl < 0 || (h = json_loadb(hdr, (size_t)hl, 0, NULL)) == NULL)
		goto out;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", f->port,
	    evhttp_request_get_uri(req));
	nonce = json_string_value(json_object_get(h, "nonce"));
	if (nonce == NULL ||
	    strcmp(json_string_value(json_object_get(h, "url")), url) != 0)
		goto out;
	for (i = 0; i < f->nused; i++)
		if (strcmp(f->used[i], nonce) == 0)
			goto out; /* replayed */
	snprintf(f->used[f->nused++ % 64], 32, "%s", nonce);
	k = d01_jwk_to_pkey(json_object_get(h, "jwk"), NULL);
	snprintf(compact, sizeof(compact), "%s.%s.%s",
	    json_string_value(json_object_get(o, "protected")),
	    json_string_value(json_object_get(o, "payload")),
	    json_string_value(json_object_get(o, "signature")));
	rc = k != NULL && d01_jws_verify_compact(k, compact) ? 0 : -1;
out:
	EVP_PKEY_free(k);
	json_decref(h);
	json_decref(o);
	free(body);
	return rc;
}

static void
handle(struct evhttp_request *req, void *arg)
{
	static const char bad_nonce[] =
	    "{\"type\":\"urn:ietf:params:acme:error:badNonce\"}";
	static const char rate[] =
	    "{\"type\":\"urn:ietf:params:acme:error:rateLimited\","
	    "\"detail\":\"too many\"}";
	struct fake *f = arg;
	const char *uri = evhttp_request_get_uri(req);
	char dir[512];

	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		f->heads++;
		reply(req, f, 200, NULL, NULL, NULL);
		return;
	}
	if (strcmp(uri, "/dir") == 0) {
		snprintf(dir, sizeof(dir),
		    "{\"newNonce\":\"http://127.0.0.1:%d/nonce\","
		    "\"newAccount\":\"http://127.0.0.1:%d/acct\","
		    "\"newOrder\":\"http://127.0.0.1:%d/order\"}",
		    f->port, f->port, f->port);
		reply(req, f, 200, dir, NULL, NULL);
		return;
	}
	f->posts++;
	if (check_jws(f, req) != 0) {
		f->bad_jws++;
		reply(req, f, 400, "{\"type\":\"x:bad-jws\"}", NULL, NULL);
	} else if (strcmp(uri, "/badnonce") == 0 && f->bad_nonce_left-- > 0) {
		reply(req, f, 400, bad_nonce, NULL, NULL);
	} else if (strcmp(uri, "/rate") == 0 && f->rate_left-- > 0) {
		reply(req, f, 429, rate, "Retry-After", "1");
	} else if (strcmp(uri, "/ratelong") == 0) {
		reply(req, f, 429, rate, "Retry-After", "3600");
	} else {
		reply(req, f, 201, "{\"ok\":true}", "Location",
		    "http://127.0.0.1/acct/1");
	}
}

static struct fake fk;
static struct d01_acme_http *http;
static struct d01_acme *acme;
static EVP_PKEY *key;

static void
done_cb(void *arg, const struct d01_error *err, const struct d01_acme_resp *r)
{
	struct result *res = arg;

	res->calls++;
	res->err = *err;
	res->status = r ? r->status : 0;
	snprintf(res->body, sizeof(res->body), "%s", r ? r->body : "");
}

static void
expire(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Run the loop until `res` was called back or `secs` passed. */
static void
wait_for(struct result *res, int secs)
{
	struct timeval tv = {secs, 0};
	int expired = 0;
	struct event *guard = evtimer_new(fk.base, expire, &expired);

	evtimer_add(guard, &tv);
	while (res->calls == 0 && !expired)
		event_base_loop(fk.base, EVLOOP_ONCE);
	event_free(guard);
}

static char *
url(const char *path)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "http://127.0.0.1:%d%s", fk.port, path);
	return buf;
}

static int
setup(void)
{
	struct evhttp_bound_socket *s;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct result res = {0};

	if ((fk.base = event_base_new()) == NULL ||
	    (fk.http = evhttp_new(fk.base)) == NULL ||
	    (s = evhttp_bind_socket_with_handle(fk.http, "127.0.0.1", 0)) ==
		NULL ||
	    getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&ss,
		&len) != 0)
		return -1;
	fk.port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	evhttp_set_allowed_methods(
	    fk.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(fk.http, handle, &fk);
	if ((http = d01_acme_http_new(fk.base, NULL, NULL)) == NULL ||
	    (key = d01_key_generate(D01_KEY_EC256, NULL)) == NULL ||
	    (acme = d01_acme_new(fk.base, http, key, NULL)) == NULL ||
	    d01_acme_get(acme, url("/dir"), done_cb, &res, NULL) == NULL)
		return -1;
	wait_for(&res, 5);
	if (res.err.code != D01_OK)
		return -1;
	return d01_acme_set_directory(acme, res.body, strlen(res.body), NULL);
}

static void
t_nonce_from_head_then_pool(void)
{
	struct result r1 = {0}, r2 = {0};
	int heads = fk.heads;

	CHECK(d01_acme_post(acme, url("/x"), "{}", done_cb, &r1, NULL));
	CHECK_INT(r1.calls, ==, 0); /* never inside start */
	wait_for(&r1, 5);
	CHECK_INT(r1.calls, ==, 1);
	CHECK_INT(r1.err.code, ==, D01_OK);
	CHECK_INT(r1.status, ==, 201);
	CHECK_INT(fk.heads, ==, heads + 1); /* the pool was empty */
	CHECK(d01_acme_post(acme, url("/x"), NULL, done_cb, &r2, NULL));
	wait_for(&r2, 5);
	CHECK_INT(r2.err.code, ==, D01_OK);
	CHECK_INT(fk.heads, ==, heads + 1); /* the reply's nonce was used */
	CHECK_INT(fk.bad_jws, ==, 0);
end:;
}

static void
t_bad_nonce_retried(void)
{
	struct result r = {0};
	int posts = fk.posts;

	fk.bad_nonce_left = 2;
	CHECK(d01_acme_post(acme, url("/badnonce"), "{}", done_cb, &r, NULL));
	wait_for(&r, 5);
	CHECK_INT(r.err.code, ==, D01_OK);
	CHECK_INT(fk.posts, ==, posts + 3);
	/* More than the bound: the problem reaches the caller. */
	fk.bad_nonce_left = 100;
	memset(&r, 0, sizeof(r));
	posts = fk.posts;
	CHECK(d01_acme_post(acme, url("/badnonce"), "{}", done_cb, &r, NULL));
	wait_for(&r, 10);
	CHECK_INT(r.err.code, ==, D01_E_PROTOCOL);
	CHECK(strstr(r.err.msg, "badNonce") != NULL);
	CHECK_INT(fk.posts, ==, posts + 6); /* 1 + 5 retries */
	CHECK_INT(fk.bad_jws, ==, 0);
	fk.bad_nonce_left = 0;
end:;
}

static void
t_rate_limited(void)
{
	struct result r = {0};

	fk.rate_left = 1;
	CHECK(d01_acme_post(acme, url("/rate"), "{}", done_cb, &r, NULL));
	wait_for(&r, 10);
	CHECK_INT(r.err.code, ==, D01_OK); /* waited 1 s, then success */
	memset(&r, 0, sizeof(r));
	CHECK(d01_acme_post(acme, url("/ratelong"), "{}", done_cb, &r, NULL));
	wait_for(&r, 10);
	CHECK_INT(r.err.code, ==, D01_E_RATELIMIT);
	CHECK_INT(r.status, ==, 429);
	CHECK(strstr(r.err.msg, "3600 s") != NULL);
	CHECK(strstr(r.err.msg, "rateLimited: too many") != NULL);
end:;
}

static void
t_cancel(void)
{
	struct result r = {0}, r2 = {0};
	struct d01_acme_req *q;

	/* Cancel right after start, and during a Retry-After wait. */
	q = d01_acme_post(acme, url("/x"), "{}", done_cb, &r, NULL);
	CHECK(q != NULL);
	d01_acme_req_cancel(q);
	fk.rate_left = 1;
	q = d01_acme_post(acme, url("/rate"), "{}", done_cb, &r, NULL);
	CHECK(q != NULL);
	CHECK(d01_acme_post(acme, url("/x"), "{}", done_cb, &r2, NULL));
	wait_for(&r2, 5); /* /rate has had its 429 by now, or soon */
	d01_acme_req_cancel(q);
	memset(&r2, 0, sizeof(r2));
	wait_for(&r2, 2); /* let any stray callback happen */
	CHECK_INT(r.calls, ==, 0);
end:
	fk.rate_left = 0;
}

static void
t_transport_error(void)
{
	struct result r = {0};
	struct d01_error err;

	/* Nothing listens on port 1: a transport error, not a reply. */
	CHECK(d01_acme_get(acme, "http://127.0.0.1:1/dir", done_cb, &r, &err));
	wait_for(&r, 20);
	CHECK_INT(r.calls, ==, 1);
	CHECK_INT(r.err.code, ==, D01_E_NETWORK);
	CHECK(strstr(r.err.msg, "127.0.0.1:1") != NULL);
end:;
}

int
main(void)
{
	if (setup() != 0) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	RUN(t_nonce_from_head_then_pool);
	RUN(t_bad_nonce_retried);
	RUN(t_rate_limited);
	RUN(t_cancel);
	RUN(t_transport_error);
	d01_acme_free(acme);
	d01_acme_http_free(http);
	EVP_PKEY_free(key);
	evhttp_free(fk.http);
	event_base_free(fk.base);
	return harness_done();
}
