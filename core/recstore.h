/* SPDX-License-Identifier: ISC */
/*
 * The embedded provider's store back end, as an interface in core/ so that
 * a back end above providers/ in the layer graph (the Kubernetes one,
 * kube/kube_store.c) can implement it without including providers/: the
 * same pattern as the Secrets back end (core/secret.h). The daemon
 * (server/daemon.c) plugs one into the embedded provider after
 * d01_env_open. Without one the provider writes its in-memory store
 * directly (`--embedded-store memory`). docs/DESIGN.md, "The stores".
 *
 * Two directions:
 *  - the provider asks the back end to write (`struct d01_recstore_backend`:
 *    the async call shape, docs/DESIGN.md "The async call shape");
 *  - the back end changes the local copy the DNS server answers from
 *    (`struct d01_recstore_sink`, implemented by the provider). The sink
 *    is synchronous and runs on the loop, so a clear followed by adds in
 *    the same callback is atomic for the DNS server.
 *
 * Names are lower-case and absolute; strings are borrowed for the call.
 */
#ifndef D01_CORE_RECSTORE_H
#define D01_CORE_RECSTORE_H

#include "core/err.h"

/* An acme-dns account (server/acmedns_api.c), as the store keeps it. */
struct d01_recstore_acct {
	const char *username;  /* one lower-case label (acme-dns: a UUID) */
	const char *hash;      /* crypt(3) hash of the password (bcrypt) */
	const char *subdomain; /* one lower-case label under --acmedns-domain */
	const char *allowfrom; /* JSON array of CIDR strings; "[]": any */
};

/* A value as the local copy holds it (see add below). */
struct d01_recstore_held {
	const char *fqdn, *value;
};

struct d01_recstore_sink {
	/* Add or remove one value at fqdn (idempotent both ways). On a
	 * successful add, when held is not NULL, the local copy's own
	 * strings for fqdn and value: borrowed, valid and unmoved until
	 * the value is removed or the copy cleared, so a back end that
	 * mirrors every value need not keep a second copy of the text. */
	enum d01_err (*add)(void *ctx, const char *fqdn, const char *value,
	    struct d01_recstore_held *held, struct d01_error *err);
	enum d01_err (*remove)(void *ctx, const char *fqdn, const char *value,
	    struct d01_error *err);
	/* Drop every value and every account (zones stay). */
	void (*clear)(void *ctx);
	/* Insert or replace one account (by username; strings copied) /
	 * remove one (nothing when absent). See providers/embedded/
	 * accounts.h for what put refuses. */
	enum d01_err (*acct_put)(void *ctx, const struct d01_recstore_acct *a,
	    struct d01_error *err);
	void (*acct_remove)(void *ctx, const char *username);
	/* The served zone of fqdn (apex, trailing dot; borrowed), or NULL. */
	const char *(*zone_of)(void *ctx, const char *fqdn);
	/* 1 when the local copy holds value at fqdn. */
	int (*has)(void *ctx, const char *fqdn, const char *value);
	void *ctx;
};

/* A write's end: err->code D01_OK when written and held locally. */
typedef void (*d01_recstore_fn)(void *arg, const struct d01_error *err);

struct d01_recstore_backend {
	/* Present (present = 1: create) or CleanUp (0: delete) `value` at
	 * `fqdn` in served zone `zone`, within budget_ms. Async shape:
	 * NULL with err (cb never runs), or a handle whose cb runs exactly
	 * once, later; on success the value is already (no longer) in the
	 * local copy. */
	void *(*start)(void *ctx, int present, const char *zone,
	    const char *fqdn, const char *value, long budget_ms,
	    d01_recstore_fn cb, void *arg, struct d01_error *err);
	/* Create an account (registration), same shape as start: on
	 * success the account is already in the local copy. A username
	 * or subdomain that exists is D01_E_CONFLICT. NULL: this back end
	 * keeps no accounts (the acme-dns API refuses to start on it). */
	void *(*acct_start)(void *ctx, const struct d01_recstore_acct *a,
	    long budget_ms, d01_recstore_fn cb, void *arg,
	    struct d01_error *err);
	/* cb will not run; frees the handle (of start or acct_start). */
	void (*cancel)(void *handle);
	void *ctx;
};

#endif
