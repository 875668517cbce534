/* SPDX-License-Identifier: ISC */
/*
 * One ACME account session at one CA (RFC 8555 §6): the directory, the
 * account key and "kid", the nonce pool, and requests with the retry
 * policy every step shares:
 *  - signed POSTs take a nonce from the pool (HEAD newNonce when empty);
 *    every reply's Replay-Nonce refills it;
 *  - badNonce is retried at once with the fresh nonce, a bounded number
 *    of times;
 *  - rateLimited, 503 and other 5xx are retried after Retry-After (or a
 *    short backoff) while the wait stays under a bound; a longer
 *    Retry-After ends the request with an error saying how long;
 * then the caller gets the reply, or the problem document as an error.
 * Requests have the async call shape
 * (docs/DESIGN.md, "The async call shape").
 */
#ifndef D01_ACME_H
#define D01_ACME_H

#include <stddef.h>

#include <openssl/evp.h>

#include "core/err.h"
#include "issuer/directory.h"
#include "core/jwk.h"

struct event_base;
struct d01_acme;
struct d01_acme_req;
struct d01_acme_http;

/*
 * A session using `http` (borrowed) and `key` (borrowed; the account
 * key). Both must outlive it. NULL with err when the key cannot sign.
 */
struct d01_acme *d01_acme_new(struct event_base *base,
    struct d01_acme_http *http, EVP_PKEY *key, struct d01_error *err);

/* Free; every request must have completed or been cancelled. */
void d01_acme_free(struct d01_acme *a);

/* Parse and keep a directory body (replacing any earlier one). */
enum d01_err d01_acme_set_directory(
    struct d01_acme *a, const char *body, size_t len, struct d01_error *err);
/* The directory; all URLs NULL before d01_acme_set_directory. */
const struct d01_acme_dir *d01_acme_directory(const struct d01_acme *a);

/* The account URL once known (signed requests then use "kid"). */
enum d01_err d01_acme_set_kid(struct d01_acme *a, const char *kid);
/* The account URL, or NULL before it is known. */
const char *d01_acme_kid(const struct d01_acme *a);

EVP_PKEY *d01_acme_key(const struct d01_acme *a);
/* RFC 7638 thumbprint of the account key (for key authorizations). */
const char *d01_acme_thumbprint(const struct d01_acme *a);

/* A reply as the caller sees it; borrowed for the callback only. */
struct d01_acme_resp {
	long status;
	const char *body;
	size_t len;
	const char *location;
	const char *content_type;
	long retry_after; /* seconds, -1 when absent */
};

/*
 * Completion. Transport failure: err set, r NULL. HTTP >= 400: err holds
 * the problem document (or "HTTP <status>") and r the reply. Else err is
 * D01_OK and r the reply.
 */
typedef void (*d01_acme_fn)(
    void *arg, const struct d01_error *err, const struct d01_acme_resp *r);

/*
 * Signed POST of `payload` (JSON text, copied; NULL for POST-as-GET) to
 * `url`, with "kid" once set, else "jwk". Async call shape
 * (docs/DESIGN.md, "The async call shape").
 */
struct d01_acme_req *d01_acme_post(struct d01_acme *a, const char *url,
    const char *payload, d01_acme_fn cb, void *arg, struct d01_error *err);

/* Unauthenticated GET (directory, renewalInfo), same retry policy. */
struct d01_acme_req *d01_acme_get(struct d01_acme *a, const char *url,
    d01_acme_fn cb, void *arg, struct d01_error *err);

/* cb will not run; frees the request. NULL is a no-op. */
void d01_acme_req_cancel(struct d01_acme_req *r);

#endif
