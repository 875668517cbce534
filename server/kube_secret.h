/* SPDX-License-Identifier: ISC */
/*
 * The Kubernetes back end of secret references: GET
 * /api/v1/namespaces/<ns>/secrets/<name>, data[<key>] base64-decoded.
 * Whole Secrets are cached for a short time (D01_KUBE_SECRET_TTL_MS) so
 * a Present and its CleanUp, or a burst of challenges for one issuer, do
 * not each cost an API call; failures are never cached, so fixing RBAC
 * takes effect at once. Cached values are wiped when they expire.
 */
#ifndef D01_KUBE_SECRET_H
#define D01_KUBE_SECRET_H

#include "core/secret.h"

struct event_base;
struct d01_kube;
struct d01_kube_secrets;

#define D01_KUBE_SECRET_TTL_MS	10000
#define D01_KUBE_SECRET_ENTRIES 64

/* Borrow `k` and `base`; both must outlive the back end. */
struct d01_kube_secrets *d01_kube_secrets_new(
    struct event_base *base, struct d01_kube *k);
void d01_kube_secrets_free(struct d01_kube_secrets *ks);

/* Fill `be` for d01_secrets_set_backend(). */
void d01_kube_secrets_backend(
    struct d01_kube_secrets *ks, struct d01_secret_backend *be);

#endif
