/* SPDX-License-Identifier: ISC */
/*
 * Async HTTP client: libcurl's multi interface driven by the event loop
 * (socket and timer callbacks), so any number of provider calls are in
 * flight at once and none blocks the loop. Retries retryable failures
 * (connect errors, timeouts, 5xx, 429) with exponential backoff and full
 * jitter, honouring Retry-After, inside a total time budget so that a
 * webhook call always answers well within the kube-apiserver's deadline.
 */
#ifndef D01_HTTP_CLIENT_H
#define D01_HTTP_CLIENT_H

#include <stddef.h>

#include "core/err.h"
#include "core/sfcache.h"

struct event_base;
struct d01_http;
struct d01_http_call;

/*
 * One request; everything is copied by d01_http_start. Credentials go in
 * `headers` only: headers are never logged and are wiped when the call is
 * freed, while URLs may appear in debug logs and error messages.
 */
struct d01_http_request {
	const char *method;	    /* "GET", "HEAD", "POST", "PUT", "DELETE" */
	const char *url;	    /* http:// or https:// only */
	const char *const *headers; /* "Name: value", NULL-terminated */
	const char *body;	    /* copied; NULL for none */
	size_t body_len;
	const char *ca_bundle;	     /* PEM file to trust instead of the
					system store; NULL for the default */
	const char *ca_pem;	     /* PEM text to trust instead (wins) */
	const char *client_cert_pem; /* TLS client certificate chain, */
	const char *client_key_pem;  /* and its key (wiped from our copy) */
	int insecure;		     /* skip server verification (kubeconfig's
					insecure-skip-tls-verify only) */
	int http1;		     /* HTTP/1.1 only: no HTTP/2 multiplexing */
	long timeout_ms;	     /* per attempt; 0 = 10 s */
	long budget_ms;		     /* all attempts and waits; 0 = 20 s */
	int max_attempts;	     /* 0 = 4 */
	size_t max_response;	     /* 0 = 1 MiB; more is an error */
	/*
	 * Streaming (a Kubernetes watch): when set, the body of a 2xx
	 * response is handed to `stream` piece by piece as it arrives and
	 * not kept (cb then sees an empty body); other statuses keep their
	 * body as usual, up to max_response. `stream(arg, NULL, 0)` first
	 * says the head of a 2xx response is complete (the stream is
	 * open). Returning non-zero stops the transfer: cb then gets
	 * D01_E_CANCELLED. The receiver bounds what it buffers. Such a
	 * call makes one attempt only (a watch resumes on its own terms)
	 * and timeout_ms bounds the whole stream. Called from the loop;
	 * it must not cancel its own call (return non-zero instead).
	 */
	int (*stream)(void *arg, const char *data, size_t len);
	void *stream_arg;
};

/* Response header lines kept per call (the rest are dropped). */
#define D01_HTTP_MAX_HEADERS_LEN (32 * 1024)

struct d01_http_response {
	long status;	     /* HTTP status of the last attempt */
	const char *headers; /* "Name: value\r\n" lines of the final response,
				NUL-terminated; borrowed like body */
	size_t headers_len;
	const char *body; /* NUL-terminated; borrowed for the callback, and
			     wiped after it (bodies may hold Secrets) */
	size_t len;
	int attempts; /* how many were made */
};

/*
 * Completion, called from the event loop. On transport failure (no HTTP
 * response at all, or the response was too large) err says why and resp is
 * NULL. Any HTTP status is a response: after retries a 5xx or 429 is delivered
 * as such. The call is already freed when cb runs; cb may start or cancel other
 * calls but must not free the client.
 */
typedef void (*d01_http_fn)(void *arg, const struct d01_error *err,
    const struct d01_http_response *resp);

/*
 * A client on `base`. Fails (NULL, err) when libcurl cannot resolve
 * names asynchronously: then every lookup would block the loop.
 */
struct d01_http *d01_http_new(struct event_base *base, struct d01_error *err);

/* Cancel every call (no callbacks) and free. NULL is a no-op. */
void d01_http_free(struct d01_http *h);

/* Async call shape (docs/DESIGN.md, "The async call shape"): NULL + err
 * (cb never runs), or a handle whose cb runs exactly once, later. `req`
 * and its strings are copied. */
struct d01_http_call *d01_http_start(struct d01_http *h,
    const struct d01_http_request *req, d01_http_fn cb, void *arg,
    struct d01_error *err);

/* cb will not run; frees the call. NULL is a no-op. */
void d01_http_cancel(struct d01_http_call *c);

/*
 * Copy the value of the first response header called `name` (any case),
 * trimmed, into out. Returns 1, or 0 when absent or longer than outlen - 1
 * (a value that long is not genuine for the headers callers ask about).
 */
int d01_http_response_header(const struct d01_http_response *r,
    const char *name, char *out, size_t outlen);

/*
 * At most n attempts per origin (scheme, host, port) are in flight at
 * once, so a burst does not open hundreds of connections to an API that
 * limits per user; the rest wait in FIFO order, and their per-attempt
 * timeout starts only when they leave the queue (the wait counts against
 * the budget only). Over HTTP/2 an attempt is a stream: a host that has
 * answered over HTTP/2 gets 100 streams per connection allowed. Also
 * caps libcurl's connections per host (CURLMOPT_MAX_HOST_CONNECTIONS).
 * n <= 0 restores the default.
 */
#define D01_HTTP_MAX_HOST_CONNS 16
void d01_http_set_max_host_connections(struct d01_http *h, long n);

/* The loop the client runs on (for modules built on one, kube/authz.c). */
struct event_base *d01_http_base(const struct d01_http *h);

/* Number of calls started and not yet completed or cancelled. */
size_t d01_http_inflight(const struct d01_http *h);

/*
 * The memo: a bounded (D01_HTTP_MEMO_SIZE idle entries), expiring map from
 * string keys to short values (< D01_HTTP_MEMO_VALUE_MAX bytes), for IDs
 * API clients would otherwise look up on every call. A single-flight
 * cache (core/sfcache.h) under string keys: keys are stored as SHA-256
 * digests, so a key may include a credential digest to keep tenants
 * apart. When full, the least recently used entry goes.
 *
 * Single flight: d01_http_memo_lookup lets one caller (the leader) look a
 * key up while every other caller asking for it meanwhile waits, so a
 * burst of calls costs one upstream request instead of hundreds.
 */
#define D01_HTTP_MEMO_SIZE	256
#define D01_HTTP_MEMO_VALUE_MAX 64

/* Copy the live value of `key` into out; 0, or -1 if absent/too long. */
int d01_http_memo_get(
    struct d01_http *h, const char *key, char *out, size_t outlen);
/* Remember value (copied; ignored if too long) for ttl_ms. Ends a lookup
 * in flight for the key: its waiters are told `found`. */
void d01_http_memo_put(
    struct d01_http *h, const char *key, const char *value, long ttl_ms);
/* Drop `key` (e.g. an ID the API no longer knows). A lookup in flight for
 * the key is left alone. */
void d01_http_memo_forget(struct d01_http *h, const char *key);

/* Called once when the lookup waited for has ended: found = 1 when the
 * leader put a value (read it with d01_http_memo_get), 0 when it gave up. */
typedef void (*d01_http_memo_fn)(void *arg, int found);

/* A waiter, embedded in the caller's own state (no allocation). */
struct d01_http_memo_wait {
	struct d01_sfc_wait sw;
	d01_http_memo_fn cb;
	void *arg;
};

enum d01_http_memo_res {
	D01_HTTP_MEMO_HIT,  /* value copied to out */
	D01_HTTP_MEMO_LEAD, /* look it up, then _put or _abandon */
	D01_HTTP_MEMO_WAIT, /* w queued: cb runs later, from the loop */
};

/*
 * Look `key` up. HIT: the value is in out. LEAD: nobody is looking it up;
 * the caller must now do so and end with d01_http_memo_put (found) or
 * d01_http_memo_abandon (failed, cancelled): other callers wait for it
 * meanwhile. WAIT: someone else is looking it up; w->cb(arg, found) runs
 * exactly once, never inside this call, unless d01_http_memo_unwait(w)
 * comes first. When no slot is free the caller leads without waiters.
 */
enum d01_http_memo_res d01_http_memo_lookup(struct d01_http *h, const char *key,
    char *out, size_t outlen, struct d01_http_memo_wait *w, d01_http_memo_fn cb,
    void *arg);

/* The leader of `key` gives up: every waiter gets found = 0. */
void d01_http_memo_abandon(struct d01_http *h, const char *key);

/* Stop waiting: w's callback will not run. Idle waiters are a no-op. */
void d01_http_memo_unwait(struct d01_http_memo_wait *w);

/* Read the memo's TTLs from `clock` (borrowed; core/clock.h) instead of
 * the real clock: d01_env_open passes the env's. Only before the memo is
 * used; 0, or -1 out of memory (the memo then keeps nothing). */
int d01_http_set_clock(struct d01_http *h, const struct d01_clock *clock);

#endif
