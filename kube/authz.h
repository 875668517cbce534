/* SPDX-License-Identifier: ISC */
/*
 * Delegated authorization, as Kubernetes aggregated API servers do it
 * (k8s.io/apiserver's delegating authorizer): for an authenticated
 * front-proxy identity, ask the kube-apiserver with a SubjectAccessReview
 * whether it may do what the request does, and remember the answer for a
 * while (10 s by default, allow and deny alike, as the Go library does).
 * Members of an always-allowed group (system:masters) skip the review.
 *
 * Decisions live in a single-flight cache (core/sfcache.h) keyed on the
 * SHA-256 of the whole review: a burst of checks for one review costs one
 * SubjectAccessReview; when the check that sent it is cancelled, the next
 * waiting check sends it again.
 *
 * Ownership: the authorizer borrows the Kubernetes client (and its event
 * base) and the clock. A pending check owns a copy of everything it needs
 * (the review body); the identity and attributes passed in are borrowed
 * for the call only. Every pending check must have ended (answered or
 * cancelled) before d01_authz_free.
 */
#ifndef D01_KUBE_AUTHZ_H
#define D01_KUBE_AUTHZ_H

#include <stddef.h>

#include "core/err.h"
#include "kube/frontproxy.h"

struct d01_kube;
struct d01_clock;
struct d01_authz;
struct d01_authz_call;

struct d01_authz_cfg {
	long ttl_allow_ms;		  /* 0: 10 s */
	long ttl_deny_ms;		  /* 0: 10 s */
	const char *const *always_groups; /* NULL: {"system:masters"} */
	size_t nalways;
	const struct d01_clock *clock; /* TTLs; NULL: the real clock */
};

/* What a request does, as the apiserver's RequestInfo describes it. */
struct d01_authz_attrs {
	int resource_req;     /* 1: resourceAttributes, 0: nonResource */
	const char *verb;     /* create, get, list, ... */
	const char *group;    /* resource requests */
	const char *version;  /* resource requests */
	const char *resource; /* resource requests */
	const char *name;     /* resource requests; may be NULL */
	const char *path;     /* non-resource requests */
};

enum d01_authz_res {
	D01_AUTHZ_ERROR = -1, /* err filled; nothing pending */
	D01_AUTHZ_DENY = 0,   /* reason filled (may be "") */
	D01_AUTHZ_ALLOW = 1,
	D01_AUTHZ_PENDING = 2, /* cb runs later unless cancelled */
};

/* Completion of a pending check: allowed 1/0 with the reviewer's reason,
 * or err set (the review could not be made; nothing cached). */
typedef void (*d01_authz_fn)(
    void *arg, int allowed, const char *reason, const struct d01_error *err);

struct d01_authz *d01_authz_new(
    struct d01_kube *k, const struct d01_authz_cfg *cfg, struct d01_error *err);
void d01_authz_free(struct d01_authz *a);

/*
 * Decide from the always-allowed groups or the cache when possible
 * (ALLOW/DENY, `reason` filled up to `rlen`), else start a review and
 * return PENDING with *call set. Never calls cb before returning.
 */
enum d01_authz_res d01_authz_check(struct d01_authz *a,
    const struct d01_identity *id, const struct d01_authz_attrs *at,
    char *reason, size_t rlen, d01_authz_fn cb, void *arg,
    struct d01_authz_call **call, struct d01_error *err);

void d01_authz_cancel(struct d01_authz_call *c);

struct d01_authz_stats {
	unsigned long reviews;	  /* SubjectAccessReviews sent */
	unsigned long joined;	  /* checks that waited for one in flight */
	unsigned long cache_hits; /* decisions from the cache */
	unsigned long allowed, denied, errors;
};
void d01_authz_stats(const struct d01_authz *a, struct d01_authz_stats *st);

#endif
