/* SPDX-License-Identifier: ISC */
/*
 * The Kubernetes back end of secret references: GET
 * /api/v1/namespaces/<ns>/secrets/<name>, data[<key>] base64-decoded.
 * Whole Secrets are cached for a short time (D01_KUBE_SECRET_TTL_MS) so
 * a Present and its CleanUp, or a burst of challenges for one issuer, do
 * not each cost an API call, and lookups of a Secret already being
 * fetched wait for that GET (a single-flight cache, core/sfcache.h);
 * failures are never cached, so fixing RBAC takes effect at once. Cached
 * values are wiped when they expire or are evicted.
 */
#ifndef D01_KUBE_SECRET_H
#define D01_KUBE_SECRET_H

#include "core/secret.h"

struct event_base;
struct d01_clock;
struct d01_kube;
struct d01_kube_secrets;

#define D01_KUBE_SECRET_TTL_MS	10000
#define D01_KUBE_SECRET_ENTRIES 64

/* Borrow `k`, `base` and `clock` (NULL: the real one); all must outlive
 * the back end, and every lookup must have ended before it is freed. */
struct d01_kube_secrets *d01_kube_secrets_new(
    struct event_base *base, struct d01_kube *k, const struct d01_clock *clock);
void d01_kube_secrets_free(struct d01_kube_secrets *ks);

/* Fill `be` for d01_secrets_set_backend(). */
void d01_kube_secrets_backend(
    struct d01_kube_secrets *ks, struct d01_secret_backend *be);

#endif
