/* SPDX-License-Identifier: ISC */
/* SubjectAccessReviews with a decision cache; see authz.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "core/log.h"
#include "server/authz.h"
#include "server/kube.h"

#define CACHE_SLOTS 1024 /* power of two */
#define CACHE_PROBE 8
#define REASON_MAX  256

/* One decision, keyed by the SHA-256 of the review's spec. */
struct decision {
	unsigned char key[32];
	int allowed;
	char reason[REASON_MAX];
	struct timespec expires; /* CLOCK_MONOTONIC; 0: empty */
};

struct d01_authz {
	struct d01_kube *k;
	long ttl_allow_ms, ttl_deny_ms;
	char **always;
	size_t nalways;
	struct decision cache[CACHE_SLOTS];
	struct flight *flights;
	struct d01_authz_stats st;
};

/*
 * One review in flight, and everyone waiting for its answer: a burst of
 * challenges from one identity costs one review, not one each.
 */
struct flight {
	struct flight *next;
	struct d01_authz *a;
	struct d01_kube_call *kc;
	unsigned char key[32];
	struct d01_authz_call *waiters;
	int delivering; /* reviewed() owns it and frees it */
};

struct d01_authz_call {
	struct d01_authz_call *next;
	struct flight *f;
	d01_authz_fn cb;
	void *arg;
};

struct d01_authz *
d01_authz_new(
    struct d01_kube *k, const struct d01_authz_cfg *cfg, struct d01_error *err)
{
	static const char *const def[] = {"system:masters"};
	const char *const *groups =
	    cfg->always_groups ? cfg->always_groups : def;
	size_t n = cfg->always_groups ? cfg->nalways : 1, i;
	struct d01_authz *a;

	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (n > 0 && (a->always = calloc(n, sizeof(char *))) == NULL))
		goto nomem;
	a->k = k;
	a->ttl_allow_ms = cfg->ttl_allow_ms > 0 ? cfg->ttl_allow_ms : 10000;
	a->ttl_deny_ms = cfg->ttl_deny_ms > 0 ? cfg->ttl_deny_ms : 10000;
	for (i = 0; i < n; i++, a->nalways++)
		if ((a->always[i] = strdup(groups[i])) == NULL)
			goto nomem;
	return a;
nomem:
	d01_authz_free(a);
	d01_error_set(err, D01_E_NOMEM, "out of memory");
	return NULL;
}

void
d01_authz_free(struct d01_authz *a)
{
	size_t i;

	if (a == NULL)
		return;
	while (a->flights != NULL) {
		struct flight *f = a->flights;

		while (f->waiters != NULL) {
			struct d01_authz_call *c = f->waiters;

			f->waiters = c->next;
			free(c);
		}
		a->flights = f->next;
		d01_kube_cancel(f->kc);
		free(f);
	}
	for (i = 0; i < a->nalways; i++)
		free(a->always[i]);
	free(a->always);
	free(a);
}

static void
monotonic(struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
}

static int
expired(const struct decision *d, const struct timespec *now)
{
	return d->expires.tv_sec < now->tv_sec ||
	    (d->expires.tv_sec == now->tv_sec &&
		d->expires.tv_nsec <= now->tv_nsec);
}

static struct decision *
cache_find(struct d01_authz *a, const unsigned char key[32])
{
	size_t base = ((size_t)key[0] << 8 | key[1]) & (CACHE_SLOTS - 1), i;
	struct timespec now;

	monotonic(&now);
	for (i = 0; i < CACHE_PROBE; i++) {
		struct decision *d = &a->cache[(base + i) & (CACHE_SLOTS - 1)];

		if (d->expires.tv_sec != 0 && !expired(d, &now) &&
		    memcmp(d->key, key, 32) == 0)
			return d;
	}
	return NULL;
}

static void
cache_put(struct d01_authz *a, const unsigned char key[32], int allowed,
    const char *reason)
{
	size_t base = ((size_t)key[0] << 8 | key[1]) & (CACHE_SLOTS - 1), i;
	struct decision *d, *victim = NULL;
	struct timespec now;
	long ms = allowed ? a->ttl_allow_ms : a->ttl_deny_ms;

	monotonic(&now);
	/* The same key, else an empty or expired slot, else the one that
	 * expires first: the window is bounded, so is the work. */
	for (i = 0; i < CACHE_PROBE; i++) {
		d = &a->cache[(base + i) & (CACHE_SLOTS - 1)];
		if (d->expires.tv_sec != 0 && memcmp(d->key, key, 32) == 0) {
			victim = d;
			break;
		}
		if (victim == NULL || d->expires.tv_sec == 0 ||
		    expired(d, &now) ||
		    (victim->expires.tv_sec != 0 && !expired(victim, &now) &&
			d->expires.tv_sec < victim->expires.tv_sec))
			victim = d;
	}
	memcpy(victim->key, key, 32);
	victim->allowed = allowed;
	snprintf(
	    victim->reason, sizeof(victim->reason), "%s", reason ? reason : "");
	victim->expires = now;
	victim->expires.tv_sec += ms / 1000;
	victim->expires.tv_nsec += (ms % 1000) * 1000000L;
	if (victim->expires.tv_nsec >= 1000000000L) {
		victim->expires.tv_sec++;
		victim->expires.tv_nsec -= 1000000000L;
	}
}

/* The review body; its spec, serialised with sorted keys, is the key. */
static json_t *
review(const struct d01_identity *id, const struct d01_authz_attrs *at)
{
	json_t *spec = NULL, *attrs = NULL, *body;

	if (at->resource_req) {
		attrs = json_pack("{s:s, s:s, s:s, s:s}", "verb", at->verb,
		    "group", at->group, "version", at->version, "resource",
		    at->resource);
		if (attrs != NULL && at->name != NULL && *at->name != '\0' &&
		    json_object_set_new(attrs, "name", json_string(at->name)))
			goto fail;
	} else {
		attrs =
		    json_pack("{s:s, s:s}", "path", at->path, "verb", at->verb);
	}
	if (attrs == NULL)
		goto fail;
	spec = json_pack("{s:o, s:s, s:O}",
	    at->resource_req ? "resourceAttributes" : "nonResourceAttributes",
	    attrs, "user", id->user, "groups", id->groups);
	attrs = NULL;
	if (spec == NULL)
		goto fail;
	if (id->uid[0] != '\0' &&
	    json_object_set_new(spec, "uid", json_string(id->uid)) != 0)
		goto fail;
	if (json_object_size(id->extra) > 0 &&
	    json_object_set(spec, "extra", id->extra) != 0)
		goto fail;
	body = json_pack("{s:s, s:s, s:o}", "apiVersion",
	    "authorization.k8s.io/v1", "kind", "SubjectAccessReview", "spec",
	    spec);
	return body;
fail:
	json_decref(attrs);
	json_decref(spec);
	return NULL;
}

/* The whole spec (user, uid, groups, extra, resource or path attributes)
 * is hashed, so a cached decision answers only the very review it came
 * from: another user, group set or extra never shares it (issue 12
 * audit). */
static int
spec_key(const json_t *body, unsigned char key[32])
{
	char *s = json_dumps(
	    json_object_get(body, "spec"), JSON_COMPACT | JSON_SORT_KEYS);
	unsigned int n = 32;
	int ok;

	if (s == NULL)
		return -1;
	ok = EVP_Digest(s, strlen(s), key, &n, EVP_sha256(), NULL) == 1;
	free(s);
	return ok ? 0 : -1;
}

static void
flight_unlink(struct flight *f)
{
	struct flight **pp;

	for (pp = &f->a->flights; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
}

static void
reviewed(void *arg, const struct d01_error *kerr, json_t *obj)
{
	char qerr[300];
	struct flight *f = arg;
	struct d01_authz *a = f->a;
	struct d01_authz_call *c;
	json_t *status = json_object_get(obj, "status");
	const char *reason, *everr;
	char why[REASON_MAX] = "";
	int allowed = 0;

	f->kc = NULL;
	f->delivering = 1;
	flight_unlink(f);
	if (obj == NULL) {
		a->st.errors++;
	} else {
		allowed = json_is_true(json_object_get(status, "allowed"));
		reason = json_string_value(json_object_get(status, "reason"));
		everr = json_string_value(
		    json_object_get(status, "evaluationError"));
		snprintf(why, sizeof(why), "%s", reason ? reason : "");
		if (everr != NULL && *everr != '\0')
			d01_log(D01_LOG_WARN, "authz_evaluation_error",
			    "msg=%s", d01_log_quote(qerr, sizeof(qerr), everr));
		cache_put(a, f->key, allowed, why);
		allowed ? a->st.allowed++ : a->st.denied++;
	}
	/* Pop before calling: a callback may cancel another waiter. */
	while ((c = f->waiters) != NULL) {
		f->waiters = c->next;
		if (obj == NULL)
			c->cb(c->arg, 0, NULL, kerr);
		else
			c->cb(c->arg, allowed, why, NULL);
		free(c);
	}
	free(f);
}

enum d01_authz_res
d01_authz_check(struct d01_authz *a, const struct d01_identity *id,
    const struct d01_authz_attrs *at, char *reason, size_t rlen,
    d01_authz_fn cb, void *arg, struct d01_authz_call **call,
    struct d01_error *err)
{
	struct d01_authz_call *c;
	struct flight *f;
	const struct decision *d;
	unsigned char key[32];
	json_t *body;
	size_t i;

	*call = NULL;
	reason[0] = '\0';
	for (i = 0; i < a->nalways; i++)
		if (d01_identity_in_group(id, a->always[i]))
			return D01_AUTHZ_ALLOW;
	if ((body = review(id, at)) == NULL || spec_key(body, key) != 0) {
		json_decref(body);
		d01_error_set(err, D01_E_INVAL,
		    "cannot build a SubjectAccessReview (identity not UTF-8?)");
		return D01_AUTHZ_ERROR;
	}
	if ((d = cache_find(a, key)) != NULL) {
		json_decref(body);
		a->st.cache_hits++;
		snprintf(reason, rlen, "%s", d->reason);
		return d->allowed ? D01_AUTHZ_ALLOW : D01_AUTHZ_DENY;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		json_decref(body);
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return D01_AUTHZ_ERROR;
	}
	c->cb = cb;
	c->arg = arg;
	for (f = a->flights; f != NULL; f = f->next)
		if (memcmp(f->key, key, 32) == 0)
			break;
	if (f == NULL) {
		if ((f = calloc(1, sizeof(*f))) == NULL) {
			free(c);
			json_decref(body);
			d01_error_set(err, D01_E_NOMEM, "out of memory");
			return D01_AUTHZ_ERROR;
		}
		f->a = a;
		memcpy(f->key, key, 32);
		f->kc = d01_kube_request(a->k,
		    "/apis/authorization.k8s.io/v1/subjectaccessreviews", body,
		    reviewed, f, err);
		if (f->kc == NULL) {
			free(f);
			free(c);
			json_decref(body);
			a->st.errors++;
			return D01_AUTHZ_ERROR;
		}
		f->next = a->flights;
		a->flights = f;
		a->st.reviews++;
	} else {
		a->st.joined++;
	}
	json_decref(body);
	c->f = f;
	c->next = f->waiters;
	f->waiters = c;
	*call = c;
	return D01_AUTHZ_PENDING;
}

void
d01_authz_cancel(struct d01_authz_call *c)
{
	struct d01_authz_call **pp;
	struct flight *f;

	if (c == NULL)
		return;
	f = c->f;
	for (pp = &f->waiters; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	free(c);
	/* Nobody left to tell: stop asking (unless the answer is being
	 * handed out right now: reviewed() frees the flight then). */
	if (f->waiters == NULL && !f->delivering) {
		flight_unlink(f);
		d01_kube_cancel(f->kc);
		free(f);
	}
}

void
d01_authz_stats(const struct d01_authz *a, struct d01_authz_stats *st)
{
	*st = a->st;
}
