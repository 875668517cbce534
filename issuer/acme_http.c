/* SPDX-License-Identifier: ISC */
/*
 * The ACME transport over core/http_client (see acme_http.h): one attempt
 * per request, since every retry is an ACME decision, and the headers
 * ACME needs taken from the response.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "core/http_client.h"
#include "issuer/acme_http.h"

#define XFER_TIMEOUT_MS 30000
#define MAX_RESPONSE	(1u << 20)

struct d01_acme_http {
	struct d01_http *http;
	char *ca_bundle;
	unsigned long count;
};

struct d01_acme_xfer {
	struct d01_http_call *call;
	d01_acme_http_fn cb;
	void *arg;
};

struct d01_acme_http *
d01_acme_http_new(
    struct event_base *base, const char *ca_bundle, struct d01_error *err)
{
	struct d01_acme_http *h;

	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (ca_bundle != NULL && (h->ca_bundle = strdup(ca_bundle)) == NULL)) {
		free(h);
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	if ((h->http = d01_http_new(base, err)) == NULL) {
		free(h->ca_bundle);
		free(h);
		return NULL;
	}
	return h;
}

void
d01_acme_http_free(struct d01_acme_http *h)
{
	if (h == NULL)
		return;
	d01_http_free(h->http);
	free(h->ca_bundle);
	free(h);
}

/* Retry-After: delta-seconds or an HTTP-date (RFC 9110 §10.2.3). */
static long
retry_after(const struct d01_http_response *resp)
{
	char v[64];
	time_t when, now = time(NULL);

	if (!d01_http_response_header(resp, "Retry-After", v, sizeof(v)))
		return -1;
	if (v[0] >= '0' && v[0] <= '9')
		return strtol(v, NULL, 10);
	if ((when = curl_getdate(v, NULL)) > 0)
		return when > now ? (long)(when - now) : 0;
	return -1;
}

static void
done(void *arg, const struct d01_error *err,
    const struct d01_http_response *resp)
{
	struct d01_acme_xfer *x = arg;
	struct d01_acme_reply r = {0};
	d01_acme_http_fn cb = x->cb;
	void *cbarg = x->arg;
	char nonce[256], location[1024], ctype[128];

	free(x);
	if (resp == NULL) {
		cb(cbarg, err, NULL);
		return;
	}
	/* A value too long to be genuine counts as absent. */
	if (!d01_http_response_header(
		resp, "Replay-Nonce", nonce, sizeof(nonce)))
		nonce[0] = '\0';
	if (!d01_http_response_header(
		resp, "Location", location, sizeof(location)))
		location[0] = '\0';
	if (!d01_http_response_header(
		resp, "Content-Type", ctype, sizeof(ctype)))
		ctype[0] = '\0';
	r.status = resp->status;
	r.body = resp->body;
	r.len = resp->len;
	r.nonce = nonce;
	r.location = location;
	r.content_type = ctype;
	r.retry_after = retry_after(resp);
	cb(cbarg, err, &r);
}

struct d01_acme_xfer *
d01_acme_http_start(struct d01_acme_http *h, const char *method,
    const char *url, const char *body, size_t len, d01_acme_http_fn cb,
    void *arg, struct d01_error *err)
{
	static const char *const jose[] = {
	    "Content-Type: application/jose+json", NULL};
	struct d01_http_request req = {0};
	struct d01_acme_xfer *x;
	int post = strcmp(method, "POST") == 0;

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	x->cb = cb;
	x->arg = arg;
	req.method = method;
	req.url = url;
	req.headers = post ? jose : NULL;
	req.body = post ? (body ? body : "") : NULL;
	req.body_len = post && body ? len : 0;
	req.ca_bundle = h->ca_bundle;
	req.timeout_ms = XFER_TIMEOUT_MS;
	req.budget_ms = XFER_TIMEOUT_MS;
	req.max_attempts = 1;
	req.max_response = MAX_RESPONSE;
	req.http1 = 1;
	if ((x->call = d01_http_start(h->http, &req, done, x, err)) == NULL) {
		free(x);
		return NULL;
	}
	h->count++;
	return x;
}

void
d01_acme_http_cancel(struct d01_acme_xfer *x)
{
	if (x == NULL)
		return;
	d01_http_cancel(x->call);
	free(x);
}

unsigned long
d01_acme_http_count(const struct d01_acme_http *h)
{
	return h->count;
}
