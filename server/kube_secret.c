/* SPDX-License-Identifier: ISC */
/* Secrets from the Kubernetes API, briefly cached; see kube_secret.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "core/b64.h"
#include "server/kube.h"
#include "server/kube_secret.h"

#define MAX_KEYS 64

/* One Secret's data, decoded. */
struct cached {
	char ns[64], name[254];
	size_t nkeys;
	char *keys[MAX_KEYS];
	unsigned char *vals[MAX_KEYS]; /* NUL-terminated; wiped on drop;
					  NULL when the value was unusable */
	size_t lens[MAX_KEYS];
	const char *why[MAX_KEYS]; /* with a NULL value: why (static) */
	struct timespec expires;   /* CLOCK_MONOTONIC; 0: empty slot */
};

struct d01_kube_secrets {
	struct event_base *base;
	struct d01_kube *k;
	struct cached cache[D01_KUBE_SECRET_ENTRIES];
};

struct lookup {
	struct d01_kube_secrets *ks;
	struct d01_kube_call *call;
	struct event *ev; /* delivers a cache hit from the loop */
	char ns[64], name[254], key[254];
	d01_secret_fn cb;
	void *arg;
};

static void
now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

static int
live(const struct cached *c, const struct timespec *t)
{
	return c->expires.tv_sec != 0 &&
	    (c->expires.tv_sec > t->tv_sec ||
		(c->expires.tv_sec == t->tv_sec &&
		    c->expires.tv_nsec > t->tv_nsec));
}

static void
drop(struct cached *c)
{
	size_t i;

	for (i = 0; i < c->nkeys; i++) {
		free(c->keys[i]);
		if (c->vals[i] != NULL)
			OPENSSL_cleanse(c->vals[i], c->lens[i]);
		free(c->vals[i]);
	}
	memset(c, 0, sizeof(*c));
}

/* Keyed on namespace and name, exactly the API path a miss would GET, so
 * a hit never answers for another namespace's Secret (issue 12 audit);
 * names too long to compare whole are refused in ks_start. */
static struct cached *
find(struct d01_kube_secrets *ks, const char *ns, const char *name)
{
	struct timespec t;
	size_t i;

	now(&t);
	for (i = 0; i < D01_KUBE_SECRET_ENTRIES; i++) {
		struct cached *c = &ks->cache[i];

		if (c->expires.tv_sec != 0 && !live(c, &t))
			drop(c); /* wipe expired values as we pass */
		else if (c->expires.tv_sec != 0 && strcmp(c->ns, ns) == 0 &&
		    strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

/* A free slot, or the one expiring first. */
static struct cached *
slot(struct d01_kube_secrets *ks)
{
	struct cached *best = &ks->cache[0];
	size_t i;

	for (i = 0; i < D01_KUBE_SECRET_ENTRIES; i++) {
		struct cached *c = &ks->cache[i];

		if (c->expires.tv_sec == 0)
			return c;
		if (c->expires.tv_sec < best->expires.tv_sec ||
		    (c->expires.tv_sec == best->expires.tv_sec &&
			c->expires.tv_nsec < best->expires.tv_nsec))
			best = c;
	}
	drop(best);
	return best;
}

/*
 * Decode a Secret's data into the cache. The JSON strings are wiped
 * afterwards: the body held the values, base64 being no protection.
 */
static struct cached *
store(struct d01_kube_secrets *ks, const char *ns, const char *name,
    json_t *secret, struct d01_error *err)
{
	json_t *data = json_object_get(secret, "data"), *v;
	struct cached *c;
	const char *key;
	size_t len;

	if (data != NULL && !json_is_object(data) && !json_is_null(data)) {
		d01_error_set(err, D01_E_PROTOCOL, "data is not an object");
		return NULL;
	}
	if ((c = find(ks, ns, name)) != NULL)
		drop(c);
	c = slot(ks);
	snprintf(c->ns, sizeof(c->ns), "%s", ns);
	snprintf(c->name, sizeof(c->name), "%s", name);
	json_object_foreach(data, key, v)
	{
		const char *why = NULL;

		if (c->nkeys == MAX_KEYS)
			continue; /* asked for, such a key reports missing */
		/* A key whose value cannot be used is kept with the reason:
		 * "has no key" would send the user looking for a typo. */
		len = 0;
		if (!json_is_string(v))
			why = "is not a string";
		else if (json_string_length(v) > 4 * (D01_SECRET_MAX / 3 + 1))
			why = "is too large";
		else if ((c->vals[c->nkeys] =
				 d01_b64_decode_new(json_string_value(v),
				     json_string_length(v), &len)) == NULL)
			why = "is not valid base64";
		if (json_is_string(v))
			OPENSSL_cleanse((char *)(uintptr_t)json_string_value(v),
			    json_string_length(v));
		if ((c->keys[c->nkeys] = strdup(key)) == NULL) {
			if (c->vals[c->nkeys] != NULL)
				OPENSSL_cleanse(c->vals[c->nkeys], len);
			free(c->vals[c->nkeys]);
			c->vals[c->nkeys] = NULL;
			continue;
		}
		c->why[c->nkeys] = why;
		c->lens[c->nkeys++] = len;
	}
	now(&c->expires);
	c->expires.tv_sec += D01_KUBE_SECRET_TTL_MS / 1000;
	return c;
}

static void
lookup_free(struct lookup *l)
{
	if (l->ev != NULL)
		event_free(l->ev);
	free(l);
}

/* Hand the key's value (or why not) to the caller, then free `l`. */
static void
answer(struct lookup *l, const struct cached *c)
{
	struct d01_error err;
	const unsigned char *v = NULL;
	size_t i, len = 0;

	d01_error_clear(&err);
	for (i = 0; i < c->nkeys; i++)
		if (strcmp(c->keys[i], l->key) == 0)
			break;
	if (i == c->nkeys) {
		d01_error_set(&err, D01_E_NOTFOUND,
		    "secret \"%s\" in namespace \"%s\" has no key \"%s\"",
		    l->name, l->ns, l->key);
	} else if (c->vals[i] == NULL) {
		d01_error_set(&err, D01_E_CONFIG,
		    "secret \"%s\" in namespace \"%s\" key \"%s\": the "
		    "value %s",
		    l->name, l->ns, l->key, c->why[i]);
	} else {
		v = c->vals[i];
		len = c->lens[i];
		/* As the directory back end: a file's newline is not part
		 * of a token or key. */
		if (len > 0 && v[len - 1] == '\n')
			len--;
		if (len > 0 && v[len - 1] == '\r')
			len--;
		if (memchr(v, '\0', len) != NULL || len > D01_SECRET_MAX) {
			d01_error_set(&err, D01_E_CONFIG,
			    "secret \"%s\" in namespace \"%s\" key \"%s\": "
			    "%s",
			    l->name, l->ns, l->key,
			    len > D01_SECRET_MAX ? "too large"
						 : "contains a NUL byte");
			v = NULL;
		}
	}
	if (v != NULL) {
		/* The borrowed value must be NUL-terminated at len. */
		char *copy = malloc(len + 1);

		if (copy == NULL) {
			d01_error_set(&err, D01_E_NOMEM, "out of memory");
		} else {
			memcpy(copy, v, len);
			copy[len] = '\0';
			l->cb(l->arg, &err, copy, len);
			OPENSSL_cleanse(copy, len);
			free(copy);
			lookup_free(l);
			return;
		}
	}
	l->cb(l->arg, &err, NULL, 0);
	lookup_free(l);
}

static void
fetched(void *arg, const struct d01_error *kerr, json_t *obj)
{
	struct lookup *l = arg;
	struct d01_error err;
	const struct cached *c;

	l->call = NULL;
	d01_error_clear(&err);
	if (obj == NULL) {
		err = *kerr;
		switch (kerr->code) {
		case D01_E_NOTFOUND:
			d01_error_set(&err, D01_E_NOTFOUND,
			    "secret \"%s\" not found in namespace \"%s\"",
			    l->name, l->ns);
			break;
		case D01_E_FORBIDDEN:
			d01_error_set(&err, D01_E_FORBIDDEN,
			    "secret \"%s\" in namespace \"%s\": forbidden: "
			    "the webhook's service account may not get it "
			    "(chart value secretAccess)",
			    l->name, l->ns);
			break;
		default:
			d01_error_prefix(&err,
			    "secret \"%s\" in namespace \"%s\": ", l->name,
			    l->ns);
		}
		err.status = kerr->status;
		l->cb(l->arg, &err, NULL, 0);
		lookup_free(l);
		return;
	}
	if ((c = store(l->ks, l->ns, l->name, obj, &err)) == NULL) {
		d01_error_prefix(&err,
		    "secret \"%s\" in namespace \"%s\": ", l->name, l->ns);
		l->cb(l->arg, &err, NULL, 0);
		lookup_free(l);
		return;
	}
	answer(l, c);
}

/* Ask the API for l's Secret; fetched() answers. 0, or -1 with err. */
static int
fetch(struct lookup *l, struct d01_error *err)
{
	char path[512];

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/secrets/%s", l->ns,
	    l->name);
	l->call = d01_kube_request(l->ks->k, path, NULL, fetched, l, err);
	return l->call != NULL ? 0 : -1;
}

static void
hit(evutil_socket_t fd, short what, void *arg)
{
	struct lookup *l = arg;
	const struct cached *c = find(l->ks, l->ns, l->name);
	struct d01_error err;

	(void)fd;
	(void)what;
	if (c != NULL) {
		answer(l, c);
		return;
	}
	/* Expired between start and now: ask the API after all. */
	d01_error_clear(&err);
	if (fetch(l, &err) != 0) {
		l->cb(l->arg, &err, NULL, 0);
		lookup_free(l);
	}
}

static void *
ks_start(void *ctx, const char *ns, const struct d01_secret_ref *ref,
    d01_secret_fn cb, void *arg, struct d01_error *err)
{
	struct d01_kube_secrets *ks = ctx;
	struct lookup *l;

	/* Names go into the URL path: only what Kubernetes itself allows. */
	if (!d01_kube_name_ok(ns) || strlen(ns) >= sizeof(l->ns) ||
	    !d01_kube_name_ok(ref->name) ||
	    strlen(ref->name) >= sizeof(l->name) ||
	    strlen(ref->key) >= sizeof(l->key)) {
		d01_error_set(err, D01_E_CONFIG,
		    "secret reference: \"%.63s\"/\"%.253s\" is not a valid "
		    "namespace/Secret name",
		    ns, ref->name);
		return NULL;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	l->ks = ks;
	l->cb = cb;
	l->arg = arg;
	snprintf(l->ns, sizeof(l->ns), "%s", ns);
	snprintf(l->name, sizeof(l->name), "%s", ref->name);
	snprintf(l->key, sizeof(l->key), "%s", ref->key);
	if (find(ks, ns, ref->name) != NULL) {
		if ((l->ev = event_new(ks->base, -1, 0, hit, l)) == NULL) {
			free(l);
			d01_error_set(err, D01_E_NOMEM, "out of memory");
			return NULL;
		}
		event_active(l->ev, 0, 0);
		return l;
	}
	if (fetch(l, err) != 0) {
		free(l);
		return NULL;
	}
	return l;
}

static void
ks_cancel(void *handle)
{
	struct lookup *l = handle;

	d01_kube_cancel(l->call);
	lookup_free(l);
}

struct d01_kube_secrets *
d01_kube_secrets_new(struct event_base *base, struct d01_kube *k)
{
	struct d01_kube_secrets *ks = calloc(1, sizeof(*ks));

	if (ks != NULL) {
		ks->base = base;
		ks->k = k;
	}
	return ks;
}

void
d01_kube_secrets_free(struct d01_kube_secrets *ks)
{
	size_t i;

	if (ks == NULL)
		return;
	for (i = 0; i < D01_KUBE_SECRET_ENTRIES; i++)
		drop(&ks->cache[i]);
	free(ks);
}

void
d01_kube_secrets_backend(
    struct d01_kube_secrets *ks, struct d01_secret_backend *be)
{
	be->start = ks_start;
	be->cancel = ks_cancel;
	be->ctx = ks;
}
