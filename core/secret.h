/* SPDX-License-Identifier: ISC */
/*
 * Secret references ({"name": ..., "key": ...} as in cert-manager), resolved
 * in a namespace by one of the back ends:
 *  - a directory laid out like mounted Kubernetes Secrets,
 *    <dir>/<namespace>/<name>/<key>, one trailing newline trimmed;
 *  - values held in memory (the CLI's environment variables);
 *  - an asynchronous back end plugged in by the caller: the Kubernetes
 *    API (kube/kube_secret.c), which core/ knows nothing about.
 * Lookups have the async call shape
 * (docs/DESIGN.md, "The async call shape") so the API back end can be
 * slotted in behind the same interface. Values are never logged, and
 * never appear in error messages: errors name the namespace, secret and
 * key only.
 */
#ifndef D01_SECRET_H
#define D01_SECRET_H

#include <stddef.h>

#include <jansson.h>

#include "core/err.h"

struct event_base;
struct d01_secrets;
struct d01_secret_req;

/* Longest secret value accepted, in bytes. */
#define D01_SECRET_MAX 65536

/* A reference as cert-manager spells it; strings borrowed. */
struct d01_secret_ref {
	const char *name;
	const char *key;
};

/*
 * Parse `{"name": "...", "key": "..."}` found at config[field]; both members
 * are required strings. Returns D01_OK, or D01_E_CONFIG naming `field`.
 * The strings are borrowed from `config`.
 */
enum d01_err d01_secret_ref_parse(const json_t *config, const char *field,
    struct d01_secret_ref *ref, struct d01_error *err);

/* An empty store; add back ends below. NULL on allocation failure. */
struct d01_secrets *d01_secrets_new(struct event_base *base);
void d01_secrets_free(struct d01_secrets *s);

/* Serve lookups from `dir` (copied). Fails if it is not a directory. */
enum d01_err d01_secrets_set_dir(
    struct d01_secrets *s, const char *dir, struct d01_error *err);

/* Hold one value in memory (all strings copied); searched first. */
enum d01_err d01_secrets_put(struct d01_secrets *s, const char *ns,
    const char *name, const char *key, const char *value,
    struct d01_error *err);

/*
 * Called once with the value (borrowed: copy it, and wipe your copy when
 * done) or an error. `value` is NUL-terminated; len excludes the NUL.
 */
typedef void (*d01_secret_fn)(
    void *arg, const struct d01_error *err, const char *value, size_t len);

/*
 * Look up `ref` in namespace `ns` (all strings copied). Async shape: NULL
 * with err filled (cb never runs), or a handle whose cb runs exactly once,
 * later, from the event loop. `s` may be NULL: then it returns NULL with a
 * message saying no secret store is configured.
 */
struct d01_secret_req *d01_secret_get(struct d01_secrets *s, const char *ns,
    const struct d01_secret_ref *ref, d01_secret_fn cb, void *arg,
    struct d01_error *err);

/* cb will not run; frees the request. NULL is a no-op. */
void d01_secret_cancel(struct d01_secret_req *req);

/*
 * An asynchronous back end, asked when no in-memory value matches and no
 * directory is set. `start` has the async shape (NULL + err, or a handle
 * whose cb runs exactly once, later); `cancel` stops it. Values handed to
 * cb are borrowed, as above.
 */
struct d01_secret_backend {
	void *(*start)(void *ctx, const char *ns,
	    const struct d01_secret_ref *ref, d01_secret_fn cb, void *arg,
	    struct d01_error *err);
	void (*cancel)(void *handle);
	void *ctx;
};

/* Wipe (OPENSSL_cleanse) and free the string *p holds, then NULL it; a
 * NULL *p is a no-op. For copies of secrets, tokens and keys. */
void d01_secret_wipe(char **p);

/* Use `be` (copied; its ctx must outlive the store). */
void d01_secrets_set_backend(
    struct d01_secrets *s, const struct d01_secret_backend *be);

#endif
