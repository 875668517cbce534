/* SPDX-License-Identifier: ISC */
/* Secrets from the Kubernetes API, briefly cached; see kube_secret.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include <openssl/crypto.h>

#include "core/b64.h"
#include "core/sfcache.h"
#include "kube/kube.h"
#include "kube/kube_secret.h"

#define MAX_KEYS   64
#define MAX_ASKERS 1024 /* lookups waiting on one Secret's GET */

/*
 * Whole Secrets in a single-flight cache (core/sfcache.h), keyed on the
 * SHA-256 of namespace and name, exactly the API path a miss would GET,
 * so a hit never answers for another namespace's Secret (issue 12 audit).
 * A value is the Secret's data decoded and flattened, key by key:
 *
 *	u32 key length, key, u8 why (0: usable, else an index into
 *	why_text), u32 value length, value
 *
 * The cache copies it and wipes it when it expires or is evicted.
 */
static const char *const why_text[] = {
    NULL, "is not a string", "is too large", "is not valid base64"};

struct d01_kube_secrets {
	struct d01_kube *k;
	struct d01_sfc *cache;
};

struct lookup {
	struct d01_sfc_wait sw;
	struct d01_kube_secrets *ks;
	struct d01_kube_call *call;
	char ns[64], name[254], key[254];
	d01_secret_fn cb;
	void *arg;
};

static void
lookup_free(struct lookup *l)
{
	d01_sfc_cancel(&l->sw);
	free(l);
}

/* Append n bytes to the growing buffer (*buf, *len, *cap); 0 or -1. */
static int
put_bytes(
    unsigned char **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
	unsigned char *nb;
	size_t want = *len + n;

	if (want > *cap) {
		while (*cap < want)
			*cap = *cap ? *cap * 2 : 1024;
		if ((nb = malloc(*cap)) == NULL)
			return -1;
		if (*len > 0)
			memcpy(nb, *buf, *len);
		if (*buf != NULL) {
			OPENSSL_cleanse(*buf, *len); /* held values */
			free(*buf);
		}
		*buf = nb;
	}
	if (n > 0)
		memcpy(*buf + *len, p, n);
	*len = want;
	return 0;
}

static int
put_u32(unsigned char **buf, size_t *len, size_t *cap, size_t v)
{
	uint32_t u = (uint32_t)v;

	return put_bytes(buf, len, cap, &u, sizeof(u));
}

/*
 * Decode a Secret's data into one flat value (malloc'ed, the caller
 * wipes it). The JSON strings are wiped as they are read: the body held
 * the values, base64 being no protection.
 */
static unsigned char *
flatten(json_t *secret, size_t *outlen, struct d01_error *err)
{
	json_t *data = json_object_get(secret, "data"), *v;
	unsigned char *buf = NULL, *val = NULL, why;
	size_t len = 0, cap = 0, vlen, nkeys = 0;
	const char *key;
	int bad = 0;

	if (data != NULL && !json_is_object(data) && !json_is_null(data)) {
		d01_error_set(err, D01_E_PROTOCOL, "data is not an object");
		return NULL;
	}
	json_object_foreach(data, key, v)
	{
		if (nkeys == MAX_KEYS)
			continue; /* asked for, such a key reports missing */
		/* A key whose value cannot be used is kept with the reason:
		 * "has no key" would send the user looking for a typo. */
		vlen = 0;
		why = 0;
		if (!json_is_string(v))
			why = 1;
		else if (json_string_length(v) > 4 * (D01_SECRET_MAX / 3 + 1))
			why = 2;
		else if ((val = d01_b64_decode_new(json_string_value(v),
			      json_string_length(v), &vlen)) == NULL)
			why = 3;
		if (json_is_string(v))
			OPENSSL_cleanse((char *)(uintptr_t)json_string_value(v),
			    json_string_length(v));
		if (bad || put_u32(&buf, &len, &cap, strlen(key)) != 0 ||
		    put_bytes(&buf, &len, &cap, key, strlen(key)) != 0 ||
		    put_bytes(&buf, &len, &cap, &why, 1) != 0 ||
		    put_u32(&buf, &len, &cap, vlen) != 0 ||
		    put_bytes(&buf, &len, &cap, val, vlen) != 0)
			bad = 1;
		if (val != NULL) {
			OPENSSL_cleanse(val, vlen);
			free(val);
			val = NULL;
		}
		nkeys++;
	}
	if (!bad && buf == NULL && (buf = malloc(1)) == NULL) /* no data */
		bad = 1;
	if (bad) {
		if (buf != NULL) {
			OPENSSL_cleanse(buf, len);
			free(buf);
		}
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	*outlen = len;
	return buf;
}

static uint32_t
get_u32(const unsigned char *p)
{
	uint32_t u;

	memcpy(&u, p, sizeof(u));
	return u;
}

/* Find `key` in a flat value: 0 with v, vlen and why set, or -1. */
static int
lookup_key(const unsigned char *p, size_t len, const char *key,
    const unsigned char **v, size_t *vlen, unsigned *why)
{
	const unsigned char *end = p + len;
	uint32_t kl, vl;

	while ((size_t)(end - p) >= 4) {
		kl = get_u32(p);
		p += 4;
		if ((size_t)(end - p) < (size_t)kl + 5)
			return -1;
		if (kl == strlen(key) && memcmp(p, key, kl) == 0) {
			*why = p[kl];
			vl = get_u32(p + kl + 1);
			*v = p + kl + 5;
			*vlen = vl;
			return (size_t)(end - *v) >= vl && *why < 4 ? 0 : -1;
		}
		p += kl + 1;
		vl = get_u32(p);
		p += 4;
		if ((size_t)(end - p) < vl)
			return -1;
		p += vl;
	}
	return -1;
}

/* Hand the key's value (or why not) to the caller, then free `l`. */
static void
answer(struct lookup *l, const unsigned char *flat, size_t flen)
{
	struct d01_error err;
	const unsigned char *v = NULL;
	size_t len = 0;
	unsigned why = 0;

	d01_error_clear(&err);
	if (lookup_key(flat, flen, l->key, &v, &len, &why) != 0) {
		v = NULL;
		d01_error_set(&err, D01_E_NOTFOUND,
		    "secret \"%s\" in namespace \"%s\" has no key \"%s\"",
		    l->name, l->ns, l->key);
	} else if (why != 0) {
		v = NULL;
		d01_error_set(&err, D01_E_CONFIG,
		    "secret \"%s\" in namespace \"%s\" key \"%s\": the "
		    "value %s",
		    l->name, l->ns, l->key, why_text[why]);
	} else {
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
	unsigned char *flat;
	size_t flen = 0;

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
		goto fail;
	}
	if ((flat = flatten(obj, &flen, &err)) == NULL) {
		d01_error_prefix(&err,
		    "secret \"%s\" in namespace \"%s\": ", l->name, l->ns);
		goto fail;
	}
	d01_sfc_put(&l->sw, flat, flen, D01_KUBE_SECRET_TTL_MS);
	answer(l, flat, flen);
	OPENSSL_cleanse(flat, flen);
	free(flat);
	return;
fail:
	/* Failures are not cached: fixing RBAC takes effect at once. The
	 * lookups waiting on this GET hear the same error. */
	d01_sfc_fail(&l->sw, &err);
	l->cb(l->arg, &err, NULL, 0);
	lookup_free(l);
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

/* What the cache says to a lookup, from the loop. */
static void
heard(void *arg, const struct d01_sfc_out *o)
{
	struct lookup *l = arg;
	struct d01_error err;

	d01_error_clear(&err);
	switch (o->res) {
	case D01_SFC_HIT:
		answer(l, o->val, o->len);
		return;
	case D01_SFC_LEAD: /* the lookup that led was cancelled */
		if (fetch(l, &err) == 0)
			return;
		d01_sfc_fail(&l->sw, &err);
		break;
	default:
		err = *o->err;
	}
	l->cb(l->arg, &err, NULL, 0);
	lookup_free(l);
}

static void *
ks_start(void *ctx, const char *ns, const struct d01_secret_ref *ref,
    d01_secret_fn cb, void *arg, struct d01_error *err)
{
	struct d01_kube_secrets *ks = ctx;
	unsigned char key[D01_SFC_KEY];
	char path[400];
	struct d01_sfc_out o;
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
	snprintf(path, sizeof(path), "%s/%s", ns, ref->name);
	if (d01_sfc_key_str(path, key) != 0) {
		free(l);
		d01_error_set(err, D01_E_INTERNAL, "cannot hash a key");
		return NULL;
	}
	/* Hits too come from the loop (the secret store's async shape). */
	switch (d01_sfc_get(ks->cache, key, &l->sw, heard, l, &o, err)) {
	case D01_SFC_WAIT:
		return l;
	case D01_SFC_LEAD:
		if (fetch(l, err) == 0)
			return l;
		d01_sfc_fail(&l->sw, err);
		break;
	default:
		break;
	}
	free(l);
	return NULL;
}

static void
ks_cancel(void *handle)
{
	struct lookup *l = handle;

	d01_kube_cancel(l->call); /* a waiting lookup takes over */
	lookup_free(l);
}

struct d01_kube_secrets *
d01_kube_secrets_new(
    struct event_base *base, struct d01_kube *k, const struct d01_clock *clock)
{
	const struct d01_sfc_cfg cfg = {D01_KUBE_SECRET_ENTRIES, MAX_ASKERS, 1};
	struct d01_kube_secrets *ks = calloc(1, sizeof(*ks));

	if (ks == NULL)
		return NULL;
	ks->k = k;
	if ((ks->cache = d01_sfc_new(base, clock, &cfg)) == NULL) {
		free(ks);
		return NULL;
	}
	return ks;
}

void
d01_kube_secrets_free(struct d01_kube_secrets *ks)
{
	if (ks == NULL)
		return;
	d01_sfc_free(ks->cache); /* values wiped */
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
