/* SPDX-License-Identifier: ISC */
/*
 * The ACME client's HTTP transport: single attempts (retries are ACME
 * decisions: badNonce, rateLimited, 5xx, made in issuer/acme.c) with the
 * response headers ACME needs: Replay-Nonce, Location, Retry-After,
 * Content-Type, taken from core/http_client's responses (libcurl multi on
 * the event loop, never blocking).
 */
#ifndef D01_ACME_HTTP_H
#define D01_ACME_HTTP_H

#include <stddef.h>

#include "core/err.h"

struct event_base;
struct d01_acme_http;
struct d01_acme_xfer;

/* A reply; every pointer is borrowed for the duration of the callback. */
struct d01_acme_reply {
	long status;
	const char *body; /* NUL-terminated */
	size_t len;
	const char *nonce;	  /* Replay-Nonce, or "" */
	const char *location;	  /* Location, or "" */
	const char *content_type; /* Content-Type, or "" */
	long retry_after;	  /* seconds, -1 when absent */
};

/* Transport failure: err set, r NULL. Any HTTP status: err OK, r set. */
typedef void (*d01_acme_http_fn)(
    void *arg, const struct d01_error *err, const struct d01_acme_reply *r);

/*
 * A transport on `base`. `ca_bundle` (copied; NULL for the system store)
 * is the PEM file of CAs trusted for the ACME server. Fails when libcurl
 * cannot resolve names asynchronously.
 */
struct d01_acme_http *d01_acme_http_new(
    struct event_base *base, const char *ca_bundle, struct d01_error *err);

/* Cancel every transfer (no callbacks) and free. NULL is a no-op. */
void d01_acme_http_free(struct d01_acme_http *h);

/*
 * Start one request: method "GET", "HEAD" or "POST" (body copied, sent as
 * application/jose+json). Async call shape
 * (docs/DESIGN.md, "The async call shape"): NULL + err and cb never
 * runs, or a handle whose cb runs exactly once, later, from the loop.
 * Redirects are not followed; responses over 1 MiB are errors.
 */
struct d01_acme_xfer *d01_acme_http_start(struct d01_acme_http *h,
    const char *method, const char *url, const char *body, size_t len,
    d01_acme_http_fn cb, void *arg, struct d01_error *err);

/* cb will not run; frees the transfer. NULL is a no-op. */
void d01_acme_http_cancel(struct d01_acme_xfer *x);

/* Requests started so far (tests check that "not due" sends none). */
unsigned long d01_acme_http_count(const struct d01_acme_http *h);

#endif
