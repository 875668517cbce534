/* SPDX-License-Identifier: ISC */
/*
 * Temporary AWS credentials from STS (AssumeRoleWithWebIdentity, as EKS
 * IRSA sets it up, and AssumeRole for `role`), cached per env until
 * five minutes before they expire. Concurrent requests for the same
 * credentials share one STS call: later askers wait on the first one.
 *
 * A cached session is handed only to a request with byte-identical inputs:
 * action, STS endpoint and CA bundle, role, web identity token or base
 * key ID + secret + session token, and the same ambient flag. Knowing
 * another tenant's key ID (no secret) gets nothing; nor does naming the
 * server's ambient keys in an issuer that may not use them.
 */
#ifndef D01_R53_STS_H
#define D01_R53_STS_H

#include "core/env.h"
#include "core/err.h"

#include <stddef.h>

struct r53_sts_wait;
struct r53_sts; /* the session cache and its HMAC key */

/* Made by route53's init (on env's loop and clock), freed by its fini
 * once every op has gone. NULL: out of memory or no RNG. */
struct r53_sts *r53_sts_new(struct d01_env *env);
void r53_sts_free(struct r53_sts *c);

struct r53_keys {
	const char *akid, *secret, *token; /* token NULL for long-term keys */
};

/* Credentials (borrowed for the call), or NULL keys with err set. */
typedef void (*r53_keys_fn)(
    void *arg, const struct d01_error *err, const struct r53_keys *keys);

struct r53_sts_req {
	const char *endpoint; /* e.g. https://sts.amazonaws.com */
	const char *ca_pem;   /* PEM text to trust; NULL: system store */
	const char *role_arn;
	const char *web_token;	     /* AssumeRoleWithWebIdentity when set */
	const struct r53_keys *base; /* AssumeRole: signing credentials */
	int ambient; /* the credentials came from the server's environment */
};

/* Async call shape (docs/DESIGN.md, "The async call shape"); strings are
 * copied. The cache is route53's state in env (d01_env_open). */
struct r53_sts_wait *r53_sts_get(struct d01_env *env,
    const struct r53_sts_req *req, r53_keys_fn cb, void *arg,
    struct d01_error *err);
void r53_sts_cancel(struct r53_sts_wait *w);

/* For tests: entries held (in flight or cached), and of those the idle
 * sessions kept for reuse. */
void r53_sts_count(const struct d01_env *env, size_t *entries, size_t *idle);

/* HMAC-SHA256 under env's random key (route53's state) of the length-prefixed
 * strings fields[0..n) (NULL allowed, distinct from ""): a cache key that
 * covers secrets without keeping them, nor a plain hash of them. */
#define R53_DIGEST_LEN 32
int r53_digest(const struct d01_env *env, const char *const *fields, size_t n,
    unsigned char out[R53_DIGEST_LEN]);

/* Parse an STS reply's Credentials (for tests and the fuzz target):
 * fills the four strings (malloc'ed) and the expiry; 0 or -1. */
int r53_sts_parse(const char *body, size_t len, char **akid, char **secret,
    char **token, long long *expires, struct d01_error *err);

#endif
