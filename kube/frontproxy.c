/* SPDX-License-Identifier: ISC */
/* Front-proxy trust and request-header identities; see frontproxy.h. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "kube/frontproxy.h"
#include "httpd/http.h"

/* What a connection's certificate was found to be, under trust `gen`. */
struct peer_result {
	unsigned gen;
	int ok;
	const char *why;
	char cn[256];
};

static int fp_idx = -1;
static unsigned fp_gen;

static void
peer_result_free(
    void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	free(ptr);
}

int
d01_fp_init(void)
{
	if (fp_idx < 0)
		fp_idx =
		    SSL_get_ex_new_index(0, NULL, NULL, NULL, peer_result_free);
	return fp_idx < 0 ? -1 : 0;
}

static void
names_free(char **list, size_t *n)
{
	while (*n > 0)
		free(list[--*n]);
}

void
d01_fp_trust_free(struct d01_fp_trust *t)
{
	if (t == NULL)
		return;
	X509_STORE_free(t->store);
	names_free(t->allowed, &t->nallowed);
	names_free(t->user_hdrs, &t->nuser);
	names_free(t->group_hdrs, &t->ngroup);
	names_free(t->extra_prefixes, &t->nextra);
	names_free(t->uid_hdrs, &t->nuid);
	free(t);
}

static enum d01_err
names_add(
    char **list, size_t *n, const char *v, size_t len, struct d01_error *err)
{
	if (*n == D01_FP_MAX_NAMES)
		return d01_error_set(
		    err, D01_E_LIMIT, "more than %d names", D01_FP_MAX_NAMES);
	if ((list[*n] = strndup(v, len)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	++*n;
	return D01_OK;
}

enum d01_err
d01_fp_trust_set_names(
    char **list, size_t *n, const char *value, int json, struct d01_error *err)
{
	json_t *arr, *v;
	const char *p, *end;
	enum d01_err rc;
	size_t i;

	names_free(list, n);
	if (json) {
		if ((arr = json_loads(value, 0, NULL)) == NULL ||
		    !json_is_array(arr)) {
			json_decref(arr);
			return d01_error_set(
			    err, D01_E_INVAL, "not a JSON array of strings");
		}
		json_array_foreach(arr, i, v)
		{
			if (!json_is_string(v)) {
				json_decref(arr);
				return d01_error_set(err, D01_E_INVAL,
				    "not a JSON array of strings");
			}
			if (json_string_length(v) > 0 &&
			    (rc = names_add(list, n, json_string_value(v),
				 json_string_length(v), err)) != D01_OK) {
				json_decref(arr);
				return rc;
			}
		}
		json_decref(arr);
		return D01_OK;
	}
	for (p = value; *p != '\0'; p = *end ? end + 1 : end) {
		end = p + strcspn(p, ",");
		while (p < end && *p == ' ')
			p++;
		if (p < end &&
		    (rc = names_add(list, n, p, (size_t)(end - p), err)) !=
			D01_OK)
			return rc;
	}
	return D01_OK;
}

struct d01_fp_trust *
d01_fp_trust_new(
    const char *pem, size_t len, const char *source, struct d01_error *err)
{
	struct d01_fp_trust *t;
	BIO *b = NULL;
	X509 *x;
	int n = 0;

	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->store = X509_STORE_new()) == NULL ||
	    (b = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto fail;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(t->store, x) == 1)
			n++;
		X509_free(x);
	}
	ERR_clear_error();
	if (n == 0) {
		d01_error_set(err, D01_E_CONFIG,
		    "%s: no PEM certificate in the requestheader CA", source);
		goto fail;
	}
	snprintf(t->source, sizeof(t->source), "%s", source);
	t->gen = ++fp_gen;
	if (names_add(t->user_hdrs, &t->nuser, "X-Remote-User", 13, err) ||
	    names_add(t->group_hdrs, &t->ngroup, "X-Remote-Group", 14, err) ||
	    names_add(
		t->extra_prefixes, &t->nextra, "X-Remote-Extra-", 15, err))
		goto fail;
	BIO_free(b);
	return t;
fail:
	BIO_free(b);
	d01_fp_trust_free(t);
	return NULL;
}

struct d01_fp_trust *
d01_fp_trust_from_configmap(const json_t *data, struct d01_error *err)
{
	static const struct {
		const char *key;
		size_t off, noff;
	} lists[] = {
#define L(k, f, n)                                                             \
	{k, offsetof(struct d01_fp_trust, f), offsetof(struct d01_fp_trust, n)}
	    L("requestheader-allowed-names", allowed, nallowed),
	    L("requestheader-username-headers", user_hdrs, nuser),
	    L("requestheader-group-headers", group_hdrs, ngroup),
	    L("requestheader-extra-headers-prefix", extra_prefixes, nextra),
	    L("requestheader-uid-headers", uid_hdrs, nuid),
#undef L
	};
	const json_t *ca =
	    json_object_get(data, "requestheader-client-ca-file");
	struct d01_fp_trust *t;
	const char *v;
	size_t i;

	if (!json_is_string(ca) || json_string_length(ca) == 0) {
		d01_error_set(err, D01_E_NOTFOUND,
		    "ConfigMap kube-system/extension-apiserver-authentication "
		    "has no requestheader-client-ca-file: the cluster has no "
		    "front proxy (aggregation layer) configured");
		return NULL;
	}
	t = d01_fp_trust_new(json_string_value(ca), json_string_length(ca),
	    "configmap kube-system/extension-apiserver-authentication", err);
	if (t == NULL)
		return NULL;
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		char **list = (char **)((char *)t + lists[i].off);
		size_t *n = (size_t *)((char *)t + lists[i].noff);

		v = json_string_value(json_object_get(data, lists[i].key));
		if (v == NULL) {
			/* Absent means none (allowed names: any CN; uid
			 * headers: no uid). The defaults are for flags. */
			names_free(list, n);
			continue;
		}
		if (d01_fp_trust_set_names(list, n, v, 1, err) != D01_OK) {
			d01_error_prefix(
			    err, "ConfigMap key %s: ", lists[i].key);
			d01_fp_trust_free(t);
			return NULL;
		}
	}
	return t;
}

/* Verify the connection's peer against `t`, once per connection and
 * trust; the answer stays on the SSL object. */
static const struct peer_result *
peer_check(const struct d01_fp_trust *t, SSL *ssl)
{
	struct peer_result *r = SSL_get_ex_data(ssl, fp_idx);
	X509_STORE_CTX *sctx = NULL;
	X509_NAME *subj;
	X509_NAME_ENTRY *e;
	const ASN1_STRING *s;
	X509 *peer;
	int idx = -1, i;
	size_t len;

	if (r != NULL && r->gen == t->gen)
		return r;
	if (r == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return NULL;
		if (SSL_set_ex_data(ssl, fp_idx, r) != 1) {
			free(r);
			return NULL;
		}
	}
	memset(r, 0, sizeof(*r));
	r->gen = t->gen;
	if ((peer = SSL_get0_peer_certificate(ssl)) == NULL) {
		r->why = "no client certificate";
		return r;
	}
	/* Intermediates come from the peer's chain, as in Go. */
	if ((sctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(
		sctx, t->store, peer, SSL_get_peer_cert_chain(ssl)) != 1 ||
	    X509_STORE_CTX_set_purpose(sctx, X509_PURPOSE_SSL_CLIENT) != 1 ||
	    X509_verify_cert(sctx) != 1) {
		X509_STORE_CTX_free(sctx);
		ERR_clear_error();
		r->why =
		    "client certificate not signed by the requestheader CA "
		    "for client use";
		return r;
	}
	X509_STORE_CTX_free(sctx);
	/* Go's pkix.Name keeps the last CN when several are present. */
	subj = X509_get_subject_name(peer);
	for (i = -1;
	     (i = X509_NAME_get_index_by_NID(subj, NID_commonName, i)) >= 0;)
		idx = i;
	if (idx >= 0 && (e = X509_NAME_get_entry(subj, idx)) != NULL &&
	    (s = X509_NAME_ENTRY_get_data(e)) != NULL) {
		len = (size_t)ASN1_STRING_length(s);
		if (len >= sizeof(r->cn) ||
		    memchr(ASN1_STRING_get0_data(s), 0, len)) {
			r->why = "client certificate CN unusable";
			return r;
		}
		memcpy(r->cn, ASN1_STRING_get0_data(s), len);
	}
	r->ok = t->nallowed == 0;
	for (len = 0; !r->ok && len < t->nallowed; len++)
		r->ok = strcmp(r->cn, t->allowed[len]) == 0;
	if (!r->ok)
		r->why =
		    "client certificate CN is not an allowed requestheader "
		    "name";
	return r;
}

static int
hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Lower-case, then percent-decode; a suffix that does not decode is
 * kept as it is (the apiserver's rule). */
static void
extra_key(const char *suffix, char *out, size_t outlen)
{
	size_t i, o = 0;
	char low[256];

	snprintf(low, sizeof(low), "%s", suffix);
	for (i = 0; low[i] != '\0'; i++)
		low[i] = (char)tolower((unsigned char)low[i]);
	for (i = 0; low[i] != '\0' && o + 1 < outlen; i++) {
		if (low[i] == '%') {
			int h = hex((unsigned char)low[i + 1]), l;

			l = h < 0 ? -1 : hex((unsigned char)low[i + 2]);
			if (h < 0 || l < 0) {
				snprintf(out, outlen, "%s", low);
				return;
			}
			out[o++] = (char)(h * 16 + l);
			i += 2;
			continue;
		}
		out[o++] = low[i];
	}
	out[o] = '\0';
}

static int
listed(const char *name, char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(name, list[i]) == 0)
			return 1;
	return 0;
}

/* The prefix of `name` among `list`, or NULL. */
static const char *
prefixed(const char *name, char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strncasecmp(name, list[i], strlen(list[i])) == 0 &&
		    name[strlen(list[i])] != '\0')
			return name + strlen(list[i]);
	return NULL;
}

/*
 * The kube-apiserver's rule (headerValue in its requestheader
 * authenticator): for each listed name in order, the *first* line with
 * that name decides; an empty value there moves on to the next name, never
 * to a later line of the same name. So "X-Remote-User:" followed by
 * "X-Remote-User: admin" is no user at all.
 */
static const char *
first_value(const struct d01_http_head *h, char *const *list, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < h->nheaders; j++)
			if (strcasecmp(h->headers[j].name, list[i]) == 0) {
				if (h->headers[j].value[0] != '\0')
					return h->headers[j].value;
				break;
			}
	return NULL;
}

/* Groups accumulate, as in the apiserver (allHeaderValues): every
 * non-empty line of each listed name, name by name in list order. */
static int
add_groups(
    const struct d01_http_head *h, const struct d01_fp_trust *t, json_t *groups)
{
	size_t i, j;

	for (i = 0; i < t->ngroup; i++)
		for (j = 0; j < h->nheaders; j++)
			if (h->headers[j].value[0] != '\0' &&
			    strcasecmp(h->headers[j].name, t->group_hdrs[i]) ==
				0 &&
			    json_array_append_new(
				groups, json_string(h->headers[j].value)) != 0)
				return -1;
	return 0;
}

int
d01_fp_authenticate(const struct d01_fp_trust *t, struct d01_req *req,
    struct d01_identity *id, const char **why)
{
	const struct d01_http_head *h = d01_req_head(req);
	const struct peer_result *r;
	const char *user, *uid, *suffix;
	char key[256];
	json_t *vals;
	size_t j;
	SSL *ssl = d01_req_ssl(req);

	memset(id, 0, sizeof(*id));
	if (t == NULL) {
		*why = "no front-proxy trust loaded";
		return -1;
	}
	if (ssl == NULL || (r = peer_check(t, ssl)) == NULL) {
		*why = "connection gone or out of memory";
		return -1;
	}
	if (!r->ok) {
		*why = r->why;
		return -1;
	}
	if ((user = first_value(h, t->user_hdrs, t->nuser)) == NULL) {
		*why = "no username header";
		return -1;
	}
	if (strlen(user) >= sizeof(id->user)) {
		*why = "username too long";
		return -1;
	}
	snprintf(id->user, sizeof(id->user), "%s", user);
	if ((uid = first_value(h, t->uid_hdrs, t->nuid)) != NULL)
		snprintf(id->uid, sizeof(id->uid), "%s", uid);
	if ((id->groups = json_array()) == NULL ||
	    (id->extra = json_object()) == NULL)
		goto nomem;
	if (add_groups(h, t, id->groups) != 0)
		goto nomem;
	for (j = 0; j < h->nheaders; j++) {
		const struct d01_http_header *hd = &h->headers[j];

		if (listed(hd->name, t->group_hdrs, t->ngroup))
			continue;
		if ((suffix = prefixed(
			 hd->name, t->extra_prefixes, t->nextra)) == NULL)
			continue;
		extra_key(suffix, key, sizeof(key));
		if ((vals = json_object_get(id->extra, key)) == NULL) {
			if ((vals = json_array()) == NULL ||
			    json_object_set_new(id->extra, key, vals) != 0)
				goto nomem;
		}
		if (json_array_append_new(vals, json_string(hd->value)) != 0)
			goto nomem;
	}
	/* Non-anonymous identities are always authenticated. */
	if (!d01_identity_in_group(id, "system:authenticated") &&
	    json_array_append_new(
		id->groups, json_string("system:authenticated")))
		goto nomem;
	return 0;
nomem:
	d01_identity_clear(id);
	*why = "identity headers unusable (not UTF-8, or out of memory)";
	return -1;
}

void
d01_identity_clear(struct d01_identity *id)
{
	json_decref(id->groups);
	json_decref(id->extra);
	id->groups = id->extra = NULL;
}

int
d01_identity_in_group(const struct d01_identity *id, const char *group)
{
	const json_t *g;
	size_t i;

	json_array_foreach(id->groups, i, g) if (json_is_string(g) &&
	    strcmp(json_string_value(g), group) == 0) return 1;
	return 0;
}
