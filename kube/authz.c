/* SPDX-License-Identifier: ISC */
/* SubjectAccessReviews with a decision cache; see authz.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "core/log.h"
#include "core/sfcache.h"
#include "kube/authz.h"
#include "kube/kube.h"

#define CACHE_ENTRIES 1024 /* idle decisions kept, LRU beyond */
#define MAX_ASKERS    1024 /* checks waiting on one review */
#define REASON_MAX    256

struct d01_authz {
	struct d01_kube *k;
	struct event_base *base;
	long ttl_allow_ms, ttl_deny_ms;
	char **always;
	size_t nalways;
	/* Decisions by SHA-256 of the review's spec; the value is the
	 * allowed byte then the reason, NUL-terminated. */
	struct d01_sfc *cache;
	struct d01_authz_stats st;
};

/* One pending check: waiting on a review, or leading (sending) it. */
struct d01_authz_call {
	struct d01_sfc_wait sw;
	struct d01_authz *a;
	json_t *body; /* to send the review if the lead comes to us */
	struct d01_kube_call *kc;
	struct event *ev; /* the leader's own answer, from the loop */
	int allowed;
	char reason[REASON_MAX];
	struct d01_error err; /* the review failed */
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
	const struct d01_sfc_cfg cc = {CACHE_ENTRIES, MAX_ASKERS, 0};
	struct d01_authz *a;

	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (n > 0 && (a->always = calloc(n, sizeof(char *))) == NULL))
		goto nomem;
	a->k = k;
	a->base = d01_kube_base(k);
	a->ttl_allow_ms = cfg->ttl_allow_ms > 0 ? cfg->ttl_allow_ms : 10000;
	a->ttl_deny_ms = cfg->ttl_deny_ms > 0 ? cfg->ttl_deny_ms : 10000;
	for (i = 0; i < n; i++, a->nalways++)
		if ((a->always[i] = strdup(groups[i])) == NULL)
			goto nomem;
	if ((a->cache = d01_sfc_new(a->base, cfg->clock, &cc)) == NULL)
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
	d01_sfc_free(a->cache);
	for (i = 0; i < a->nalways; i++)
		free(a->always[i]);
	free(a->always);
	free(a);
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
call_free(struct d01_authz_call *c)
{
	if (c->ev != NULL)
		event_free(c->ev);
	json_decref(c->body);
	free(c);
}

/* allowed and reason from a cached value. */
static void
decode(const struct d01_sfc_out *o, int *allowed, const char **reason)
{
	const char *v = o->val;

	*allowed = o->len >= 2 && v[0] == 1;
	*reason = o->len >= 2 && v[o->len - 1] == '\0' ? v + 1 : "";
}

/* The leader's own answer, from the loop, after its waiters'. */
static void
answer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct d01_authz_call *c = arg;

	(void)fd;
	(void)what;
	if (c->err.code != D01_OK)
		c->cb(c->arg, 0, NULL, &c->err);
	else
		c->cb(c->arg, c->allowed, c->reason, NULL);
	call_free(c);
}

static void
reviewed(void *arg, const struct d01_error *kerr, json_t *obj)
{
	char qerr[300], val[1 + REASON_MAX];
	struct d01_authz_call *c = arg;
	struct d01_authz *a = c->a;
	json_t *status = json_object_get(obj, "status");
	const char *reason, *everr;

	c->kc = NULL;
	if (obj == NULL) {
		a->st.errors++;
		c->err = *kerr;
		d01_sfc_fail(&c->sw, kerr); /* not cached */
	} else {
		c->allowed = json_is_true(json_object_get(status, "allowed"));
		reason = json_string_value(json_object_get(status, "reason"));
		everr = json_string_value(
		    json_object_get(status, "evaluationError"));
		snprintf(
		    c->reason, sizeof(c->reason), "%s", reason ? reason : "");
		if (everr != NULL && *everr != '\0')
			d01_log(D01_LOG_WARN, "authz_evaluation_error",
			    "msg=%s", d01_log_quote(qerr, sizeof(qerr), everr));
		val[0] = (char)c->allowed;
		memcpy(val + 1, c->reason, strlen(c->reason) + 1);
		d01_sfc_put(&c->sw, val, strlen(c->reason) + 2,
		    c->allowed ? a->ttl_allow_ms : a->ttl_deny_ms);
		c->allowed ? a->st.allowed++ : a->st.denied++;
	}
	if (c->ev == NULL)
		c->ev = event_new(a->base, -1, 0, answer_cb, c);
	if (c->ev != NULL)
		event_active(c->ev, 0, 0);
	else
		answer_cb(-1, 0, c); /* no memory: from here, still the loop */
}

/* Send the review for the flight c leads. 0, or -1 with err. */
static int
send_review(struct d01_authz_call *c, struct d01_error *err)
{
	c->kc = d01_kube_request(c->a->k,
	    "/apis/authorization.k8s.io/v1/subjectaccessreviews", c->body,
	    reviewed, c, err);
	if (c->kc == NULL) {
		c->a->st.errors++;
		d01_sfc_fail(&c->sw, err);
		return -1;
	}
	c->a->st.reviews++;
	return 0;
}

/* What the cache says to a waiting check, from the loop. */
static void
heard(void *arg, const struct d01_sfc_out *o)
{
	struct d01_authz_call *c = arg;
	struct d01_error err;
	const char *reason;
	int allowed;

	d01_error_clear(&err);
	if (o->res == D01_SFC_LEAD) { /* the check that led was cancelled */
		if (send_review(c, &err) == 0)
			return;
		c->cb(c->arg, 0, NULL, &err);
	} else if (o->res == D01_SFC_HIT) {
		decode(o, &allowed, &reason);
		c->cb(c->arg, allowed, reason, NULL);
	} else {
		c->cb(c->arg, 0, NULL, o->err);
	}
	call_free(c);
}

enum d01_authz_res
d01_authz_check(struct d01_authz *a, const struct d01_identity *id,
    const struct d01_authz_attrs *at, char *reason, size_t rlen,
    d01_authz_fn cb, void *arg, struct d01_authz_call **call,
    struct d01_error *err)
{
	struct d01_authz_call *c;
	struct d01_sfc_out o;
	unsigned char key[D01_SFC_KEY];
	json_t *body;
	const char *why;
	int allowed;
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
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		json_decref(body);
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return D01_AUTHZ_ERROR;
	}
	c->a = a;
	c->body = body;
	c->cb = cb;
	c->arg = arg;
	switch (d01_sfc_get(a->cache, key, &c->sw, heard, c, &o, err)) {
	case D01_SFC_HIT:
		call_free(c);
		a->st.cache_hits++;
		decode(&o, &allowed, &why);
		snprintf(reason, rlen, "%s", why);
		return allowed ? D01_AUTHZ_ALLOW : D01_AUTHZ_DENY;
	case D01_SFC_WAIT:
		a->st.joined++;
		*call = c;
		return D01_AUTHZ_PENDING;
	case D01_SFC_LEAD:
		if (send_review(c, err) != 0)
			break;
		*call = c;
		return D01_AUTHZ_PENDING;
	default:
		a->st.errors++;
	}
	call_free(c);
	return D01_AUTHZ_ERROR;
}

void
d01_authz_cancel(struct d01_authz_call *c)
{
	if (c == NULL)
		return;
	/* Nobody to tell: stop asking; a waiting check takes over. */
	d01_kube_cancel(c->kc);
	d01_sfc_cancel(&c->sw);
	call_free(c);
}

void
d01_authz_stats(const struct d01_authz *a, struct d01_authz_stats *st)
{
	*st = a->st;
}
