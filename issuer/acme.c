/* SPDX-License-Identifier: ISC */
/*
 * ACME session and request retry policy (see acme.h). A request is a small
 * state machine: NONCE (HEAD newNonce when the pool is empty) -> SEND ->
 * reply -> deliver, or WAIT (timer) -> SEND again. Each request owns its
 * current transfer and its timer, so cancel frees exactly those.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "core/log.h"
#include "issuer/acme.h"
#include "issuer/acme_http.h"
#include "core/jws.h"
#include "issuer/nonce.h"
#include "issuer/problem.h"

#define NONCE_RETRIES 5	  /* badNonce retries */
#define RETRIES	      3	  /* rateLimited / 5xx retries */
#define MAX_WAIT_S    60L /* longest Retry-After honoured */

struct d01_acme {
	struct event_base *base;
	struct d01_acme_http *http;
	EVP_PKEY *key;
	char thumb[D01_JWK_THUMB_LEN + 1];
	char *kid;
	struct d01_acme_dir dir;
	struct d01_nonce_pool nonces;
	TAILQ_HEAD(, d01_acme_req) reqs;
};

struct d01_acme_req {
	TAILQ_ENTRY(d01_acme_req) link;
	struct d01_acme *a;
	char *url;
	char *payload; /* NULL: POST-as-GET */
	int post;
	int nonce_tries, tries;
	struct d01_acme_xfer *x; /* in flight, or NULL */
	struct event *wait;	 /* before a retry */
	d01_acme_fn cb;
	void *arg;
};

static void req_send(struct d01_acme_req *r);

struct d01_acme *
d01_acme_new(struct event_base *base, struct d01_acme_http *http, EVP_PKEY *key,
    struct d01_error *err)
{
	struct d01_acme *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	TAILQ_INIT(&a->reqs);
	a->base = base;
	a->http = http;
	a->key = key;
	if (d01_jwk_thumbprint(key, a->thumb, err) != D01_OK) {
		free(a);
		return NULL;
	}
	return a;
}

void
d01_acme_free(struct d01_acme *a)
{
	if (a == NULL)
		return;
	while (!TAILQ_EMPTY(&a->reqs))
		d01_acme_req_cancel(TAILQ_FIRST(&a->reqs));
	d01_acme_dir_clear(&a->dir);
	free(a->kid);
	free(a);
}

enum d01_err
d01_acme_set_directory(
    struct d01_acme *a, const char *body, size_t len, struct d01_error *err)
{
	struct d01_acme_dir d;
	enum d01_err rc;

	if ((rc = d01_acme_dir_parse(body, len, &d, err)) != D01_OK)
		return rc;
	d01_acme_dir_clear(&a->dir);
	a->dir = d;
	return D01_OK;
}

const struct d01_acme_dir *
d01_acme_directory(const struct d01_acme *a)
{
	return &a->dir;
}

enum d01_err
d01_acme_set_kid(struct d01_acme *a, const char *kid)
{
	char *k = strdup(kid);

	if (k == NULL)
		return D01_E_NOMEM;
	free(a->kid);
	a->kid = k;
	return D01_OK;
}

const char *
d01_acme_kid(const struct d01_acme *a)
{
	return a->kid;
}

EVP_PKEY *
d01_acme_key(const struct d01_acme *a)
{
	return a->key;
}

const char *
d01_acme_thumbprint(const struct d01_acme *a)
{
	return a->thumb;
}

static void
req_free(struct d01_acme_req *r)
{
	TAILQ_REMOVE(&r->a->reqs, r, link);
	d01_acme_http_cancel(r->x);
	if (r->wait != NULL)
		event_free(r->wait);
	free(r->url);
	free(r->payload);
	free(r);
}

void
d01_acme_req_cancel(struct d01_acme_req *r)
{
	if (r != NULL)
		req_free(r);
}

/* Hand the outcome to the caller and free the request. */
static void
deliver(struct d01_acme_req *r, const struct d01_error *err,
    const struct d01_acme_reply *x)
{
	struct d01_acme_resp resp = {0};
	d01_acme_fn cb = r->cb;
	void *arg = r->arg;

	r->x = NULL; /* the transport frees it after we return */
	req_free(r);
	if (x != NULL) {
		resp.status = x->status;
		resp.body = x->body;
		resp.len = x->len;
		resp.location = x->location;
		resp.content_type = x->content_type;
		resp.retry_after = x->retry_after;
	}
	cb(arg, err, x ? &resp : NULL);
}

static void
wait_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	req_send(arg);
}

/* Retry after `ms`; returns 0, or -1 when the timer cannot be set. */
static int
retry_later(struct d01_acme_req *r, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	if (r->wait == NULL &&
	    (r->wait = evtimer_new(r->a->base, wait_cb, r)) == NULL)
		return -1;
	return evtimer_add(r->wait, &tv);
}

/* Fill err from an error reply: the problem document, else the status. */
static void
reply_error(const struct d01_acme_reply *x, struct d01_acme_problem *p,
    struct d01_error *err)
{
	if (d01_acme_problem_parse(x->body, x->len, p) == 0) {
		d01_acme_problem_to_error(p, x->status, err);
		return;
	}
	d01_error_set(err, x->status == 429 ? D01_E_RATELIMIT : D01_E_UPSTREAM,
	    "HTTP %ld", x->status);
	err->status = x->status;
	err->retryable = x->status == 429 || x->status >= 500;
}

/* Decide on a >= 400 reply: 1 when a retry was scheduled. */
static int
maybe_retry(struct d01_acme_req *r, const struct d01_acme_reply *x,
    const struct d01_acme_problem *p, struct d01_error *err)
{
	long wait;

	if (r->post && d01_acme_problem_is(p, "badNonce") &&
	    r->nonce_tries++ < NONCE_RETRIES) {
		d01_log(D01_LOG_DEBUG, "acme", "retry=badNonce try=%d",
		    r->nonce_tries);
		return retry_later(r, 0) == 0;
	}
	if (!err->retryable || d01_acme_problem_is(p, "badNonce"))
		return 0;
	wait = x->retry_after >= 0 ? x->retry_after : 1L << r->tries;
	if (wait > MAX_WAIT_S) {
		d01_error_prefix(err,
		    "retry after %ld s is past the %ld s bound: ", wait,
		    MAX_WAIT_S);
		return 0;
	}
	if (r->tries++ >= RETRIES)
		return 0;
	d01_log(D01_LOG_INFO, "acme", "retry=%d wait_s=%ld status=%ld",
	    r->tries, wait, x->status);
	return retry_later(r, wait * 1000) == 0;
}

static void
reply_cb(
    void *arg, const struct d01_error *terr, const struct d01_acme_reply *x)
{
	struct d01_acme_req *r = arg;
	struct d01_acme_problem p;
	struct d01_error err;

	r->x = NULL;
	if (x == NULL) {
		err = *terr;
		/* Connection trouble: 0.5 s, 1 s, 2 s, then give up. */
		if (err.retryable && r->tries++ < RETRIES &&
		    retry_later(r, 250L << r->tries) == 0)
			return;
		r->x = NULL;
		deliver(r, &err, NULL);
		return;
	}
	if (x->nonce[0] != '\0')
		d01_nonce_push(&r->a->nonces, x->nonce, strlen(x->nonce));
	d01_log(D01_LOG_DEBUG, "acme", "method=%s status=%ld",
	    r->post ? "POST" : "GET", x->status);
	d01_error_clear(&err);
	memset(&p, 0, sizeof(p));
	if (x->status >= 400) {
		reply_error(x, &p, &err);
		if (maybe_retry(r, x, &p, &err))
			return;
	}
	deliver(r, &err, x);
}

static void
nonce_cb(
    void *arg, const struct d01_error *terr, const struct d01_acme_reply *x)
{
	struct d01_acme_req *r = arg;
	struct d01_error err;

	r->x = NULL;
	if (x != NULL && x->nonce[0] != '\0' &&
	    d01_nonce_push(&r->a->nonces, x->nonce, strlen(x->nonce)) == 0) {
		req_send(r);
		return;
	}
	if (x == NULL)
		err = *terr;
	else
		d01_error_set(&err, D01_E_PROTOCOL,
		    "newNonce: HTTP %ld without a usable Replay-Nonce",
		    x->status);
	deliver(r, &err, NULL);
}

/*
 * Start the transfer the request needs next: GET, or for a POST either
 * HEAD newNonce (empty pool) or the signed POST. Returns 0, or -1 with
 * err filled.
 */
static int
req_transfer(struct d01_acme_req *r, struct d01_error *err)
{
	char nonce[D01_NONCE_LEN + 1];
	const char *method = "GET", *url = r->url;
	d01_acme_http_fn fn = reply_cb;
	char *jws = NULL;

	if (r->post && d01_nonce_pop(&r->a->nonces, nonce) != 0) {
		if ((url = r->a->dir.new_nonce) == NULL) {
			d01_error_set(err, D01_E_INTERNAL, "no directory yet");
			return -1;
		}
		method = "HEAD";
		fn = nonce_cb;
	} else if (r->post) {
		jws = d01_jws_acme(r->a->key, r->a->kid, nonce, r->url,
		    r->payload, r->payload ? strlen(r->payload) : 0, err);
		if (jws == NULL)
			return -1;
		method = "POST";
	}
	r->x = d01_acme_http_start(
	    r->a->http, method, url, jws, jws ? strlen(jws) : 0, fn, r, err);
	free(jws);
	if (r->x == NULL)
		return -1;
	return 0;
}

/* Next step from the loop (timers, callbacks): a failure is delivered. */
static void
req_send(struct d01_acme_req *r)
{
	struct d01_error err;

	d01_error_clear(&err);
	if (req_transfer(r, &err) != 0)
		deliver(r, &err, NULL);
}

static struct d01_acme_req *
req_new(struct d01_acme *a, const char *url, const char *payload, int post,
    d01_acme_fn cb, void *arg, struct d01_error *err)
{
	struct d01_acme_req *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->url = strdup(url)) == NULL ||
	    (payload != NULL && (r->payload = strdup(payload)) == NULL)) {
		if (r != NULL)
			free(r->url);
		free(r);
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	r->a = a;
	r->post = post;
	r->cb = cb;
	r->arg = arg;
	TAILQ_INSERT_TAIL(&a->reqs, r, link);
	return r;
}

/* The first send, from start: a failure is returned rather than
 * delivered, so the callback never runs before start returns. */
static struct d01_acme_req *
req_start(struct d01_acme_req *r, struct d01_error *err)
{
	if (req_transfer(r, err) != 0) {
		req_free(r);
		return NULL;
	}
	return r;
}

struct d01_acme_req *
d01_acme_post(struct d01_acme *a, const char *url, const char *payload,
    d01_acme_fn cb, void *arg, struct d01_error *err)
{
	struct d01_acme_req *r = req_new(a, url, payload, 1, cb, arg, err);

	return r ? req_start(r, err) : NULL;
}

struct d01_acme_req *
d01_acme_get(struct d01_acme *a, const char *url, d01_acme_fn cb, void *arg,
    struct d01_error *err)
{
	struct d01_acme_req *r = req_new(a, url, NULL, 0, cb, arg, err);

	return r ? req_start(r, err) : NULL;
}
