/* SPDX-License-Identifier: ISC */
/*
 * Access tokens for clouddns, one flight per credential, cached until
 * five minutes before they expire (core/sfcache.h):
 *  - a service-account key: a JWT (RS256, core/jwt.h) with iss = sub =
 *    client_email, scope = Cloud DNS read-write, aud = the key's
 *    token_uri, one hour, POSTed there as an RFC 7523 jwt-bearer grant;
 *  - the metadata server (GKE Workload Identity, GCE): GET
 *    /computeMetadata/v1/instance/service-accounts/default/token with
 *    Metadata-Flavor: Google;
 *  - an external account (workload identity federation, only from the
 *    operator's GOOGLE_APPLICATION_CREDENTIALS): the subject token, read
 *    from its credential_source file at every exchange (the kubelet or
 *    the identity provider rotates it), exchanged at the file's
 *    token_url (Google STS, RFC 8693) for a federated token, then, when
 *    the file names service_account_impersonation_url, traded there
 *    (IAM Credentials generateAccessToken) for the service account's
 *    Cloud DNS token. The cache key is the file's settings, not the
 *    subject token: a rotated subject token does not make the access
 *    token it bought any less valid.
 * The cache key is an HMAC under a random per-process key of everything
 * that decides the token, the whole private key included, so another
 * tenant who knows a client_email or key ID gets nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/clock.h"
#include "core/file.h"
#include "core/jwt.h"
#include "core/redact.h"
#include "core/secret.h"
#include "core/sigv4.h"
#include "providers/clouddns/gcp_int.h"

#define REFRESH_AHEAD 300   /* seconds before expiry */
#define LIFETIME      3600  /* of the assertion */
#define BUDGET_MS     15000 /* one token exchange, retries included */

struct gcp_token_wait {
	struct d01_sfc_wait sw;
	struct d01_env *env;
	struct gcp_state *st;
	struct gcp_cred cred; /* a copy: a waiter may have to lead */
	char *ca_pem;
	struct d01_http_call *call;
	gcp_token_fn cb;
	void *arg;
	/* EXTERNAL: 0 reading the subject token, 1 at STS, 2 impersonating;
	 * the subject token and STS's token are kept for redaction and the
	 * second call, and wiped with the wait. */
	int stage;
	char *subject, *sts;
};

int
gcp_token_key(const struct gcp_state *st, const struct gcp_cred *c,
    const char *ca_pem, unsigned char key[D01_SFC_KEY])
{
	const char *f[] = {"gcp-token-v1",
	    c->kind == GCP_KEY		  ? "key"
		: c->kind == GCP_METADATA ? "md"
					  : "ext",
	    c->ambient ? "ambient" : "config", c->token_uri, c->email,
	    c->key_id, c->key_pem, c->metadata, ca_pem, GCP_SCOPE, c->audience,
	    c->subject_type, c->subject_file, c->subject_field, c->impersonate};

	return d01_sfc_key_fields(
	    st->mac_key, sizeof(st->mac_key), f, sizeof(f) / sizeof(f[0]), key);
}

static int
dup_or_null(char **dst, const char *src)
{
	return src == NULL || (*dst = strdup(src)) != NULL ? 0 : -1;
}

static int
cred_copy(struct gcp_cred *d, const struct gcp_cred *s)
{
	memset(d, 0, sizeof(*d));
	d->kind = s->kind;
	d->ambient = s->ambient;
	return dup_or_null(&d->email, s->email) ||
	    dup_or_null(&d->key_pem, s->key_pem) ||
	    dup_or_null(&d->key_id, s->key_id) ||
	    dup_or_null(&d->token_uri, s->token_uri) ||
	    dup_or_null(&d->project_id, s->project_id) ||
	    dup_or_null(&d->metadata, s->metadata) ||
	    dup_or_null(&d->where, s->where) ||
	    dup_or_null(&d->audience, s->audience) ||
	    dup_or_null(&d->subject_type, s->subject_type) ||
	    dup_or_null(&d->subject_file, s->subject_file) ||
	    dup_or_null(&d->subject_field, s->subject_field) ||
	    dup_or_null(&d->impersonate, s->impersonate);
}

static void
wait_free(struct gcp_token_wait *w)
{
	gcp_cred_free(&w->cred);
	d01_secret_wipe(&w->ca_pem);
	d01_secret_wipe(&w->subject);
	d01_secret_wipe(&w->sts);
	free(w);
}

static void token_done(
    void *arg, const struct d01_error *e, const struct d01_http_response *r);

/* The subject token, read now (so a rotated one is sent), and the RFC
 * 8693 token exchange for a federated token at the file's token_url. */
static int
sts_call(struct gcp_token_wait *w, struct d01_error *err)
{
	const struct gcp_cred *c = &w->cred;
	struct d01_http_request req = {0};
	const char *hdrs[3];
	char *text = NULL, *aud = NULL, *typ = NULL, *sub = NULL, *body = NULL;
	size_t len = 0, n;
	int rc = -1;

	w->stage = 0;
	d01_secret_wipe(&w->subject);
	if (d01_file_read(c->subject_file, GCP_SUBJECT_FILE_MAX, &text, &len,
		err) != D01_OK)
		goto out;
	if ((w->subject = gcp_subject_token(
		 text, len, c->subject_field, err)) == NULL) {
		d01_error_prefix(err, "%s: ", c->subject_file);
		goto out;
	}
	aud = d01_sigv4_uri_encode(c->audience, strlen(c->audience), 0);
	typ = d01_sigv4_uri_encode(c->subject_type, strlen(c->subject_type), 0);
	sub = d01_sigv4_uri_encode(w->subject, strlen(w->subject), 0);
	n = (aud ? strlen(aud) : 0) + (typ ? strlen(typ) : 0) +
	    (sub ? strlen(sub) : 0) + 400;
	if (aud == NULL || typ == NULL || sub == NULL ||
	    (body = malloc(n)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto out;
	}
	snprintf(body, n,
	    "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Atoken-"
	    "exchange&audience=%s&scope=https%%3A%%2F%%2Fwww.googleapis.com"
	    "%%2Fauth%%2Fcloud-platform&requested_token_type=urn%%3Aietf%%3A"
	    "params%%3Aoauth%%3Atoken-type%%3Aaccess_token&subject_token_type="
	    "%s&subject_token=%s",
	    aud, typ, sub);
	hdrs[0] = "Content-Type: application/x-www-form-urlencoded";
	hdrs[1] = "Accept: application/json";
	hdrs[2] = NULL;
	req.method = "POST";
	req.url = c->token_uri;
	req.headers = hdrs;
	req.body = body;
	req.body_len = strlen(body);
	req.ca_pem = w->ca_pem;
	req.budget_ms = BUDGET_MS;
	req.timeout_ms = 10000;
	w->stage = 1;
	w->call = d01_http_start(w->env->http, &req, token_done, w, err);
	rc = w->call != NULL ? 0 : -1;
out:
	if (text != NULL)
		OPENSSL_cleanse(text, len);
	free(text);
	free(aud);
	free(typ);
	d01_secret_wipe(&sub);
	d01_secret_wipe(&body);
	return rc;
}

/* generateAccessToken for the service account, with STS's token. */
static int
impersonate_call(struct gcp_token_wait *w, struct d01_error *err)
{
	struct d01_http_request req = {0};
	const char *hdrs[4];
	char auth[GCP_TOKEN_MAX + 32];
	static const char body[] = "{\"scope\":[\"" GCP_SCOPE "\"]}";

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", w->sts);
	hdrs[0] = auth;
	hdrs[1] = "Content-Type: application/json";
	hdrs[2] = "Accept: application/json";
	hdrs[3] = NULL;
	req.method = "POST";
	req.url = w->cred.impersonate;
	req.headers = hdrs;
	req.body = body;
	req.body_len = strlen(body);
	req.ca_pem = w->ca_pem;
	req.budget_ms = BUDGET_MS;
	req.timeout_ms = 10000;
	w->stage = 2;
	w->call = d01_http_start(w->env->http, &req, token_done, w, err);
	OPENSSL_cleanse(auth, sizeof(auth));
	return w->call != NULL ? 0 : -1;
}

/* The leader's request: the jwt-bearer grant, the metadata GET or the
 * external account's first step. */
static int
token_call(struct gcp_token_wait *w, struct d01_error *err)
{
	const struct gcp_cred *c = &w->cred;
	struct d01_http_request req = {0};
	const char *hdrs[3];
	char url[GCP_URL_MAX], *jwt = NULL, *body = NULL;
	EVP_PKEY *key = NULL;
	size_t n;
	int rc = -1;

	if (c->kind == GCP_EXTERNAL)
		return sts_call(w, err);
	req.budget_ms = BUDGET_MS;
	req.timeout_ms = 10000;
	if (c->kind == GCP_METADATA) {
		/* Plain HTTP to a link-local (or the operator's) host, as
		 * every Google client does; no CA bundle applies. */
		snprintf(url, sizeof(url),
		    "%s/computeMetadata/v1/instance/service-accounts/default/"
		    "token?scopes=%s",
		    c->metadata, GCP_SCOPE);
		hdrs[0] = "Metadata-Flavor: Google";
		hdrs[1] = NULL;
		req.method = "GET";
		req.url = url;
		req.headers = hdrs;
	} else {
		if ((key = d01_jwt_key_from_pem(
			 c->key_pem, strlen(c->key_pem), err)) == NULL) {
			d01_error_prefix(err, "%s: ", c->where);
			goto out;
		}
		jwt = d01_jwt_assertion(key, c->key_id, c->email, NULL,
		    c->token_uri, GCP_SCOPE,
		    (long long)d01_clock_wall_s(w->env->clock), LIFETIME, 0,
		    err);
		if (jwt == NULL)
			goto out;
		n = strlen(jwt) + 128;
		if ((body = malloc(n)) == NULL) {
			d01_error_set(err, D01_E_NOMEM, "out of memory");
			goto out;
		}
		/* The JWT's alphabet (base64url and dots) needs no escape. */
		snprintf(body, n,
		    "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type"
		    "%%3Ajwt-bearer&assertion=%s",
		    jwt);
		hdrs[0] = "Content-Type: application/x-www-form-urlencoded";
		hdrs[1] = "Accept: application/json";
		hdrs[2] = NULL;
		req.method = "POST";
		req.url = c->token_uri;
		req.headers = hdrs;
		req.body = body;
		req.body_len = strlen(body);
		req.ca_pem = w->ca_pem;
	}
	w->call = d01_http_start(w->env->http, &req, token_done, w, err);
	rc = w->call != NULL ? 0 : -1;
out:
	EVP_PKEY_free(key);
	d01_secret_wipe(&jwt);
	d01_secret_wipe(&body);
	return rc;
}

static void
answer(struct gcp_token_wait *w, const struct d01_error *err, const char *tok)
{
	w->cb(w->arg, err, err->code == D01_OK ? tok : NULL);
	wait_free(w);
}

/* "getting an access token for service account x@y at URI" etc. */
static void
name_path(const struct gcp_token_wait *w, struct d01_error *err)
{
	const struct gcp_cred *c = &w->cred;

	if (c->kind == GCP_EXTERNAL && w->stage == 0)
		d01_error_prefix(err,
		    "getting an access token for %s: reading the subject "
		    "token: ",
		    c->where);
	else if (c->kind == GCP_EXTERNAL && w->stage == 1)
		d01_error_prefix(err,
		    "getting an access token for %s: STS at %s: ", c->where,
		    c->token_uri);
	else if (c->kind == GCP_EXTERNAL)
		d01_error_prefix(err,
		    "getting an access token for %s: impersonating the service "
		    "account at %s: ",
		    c->where, c->impersonate);
	else if (c->kind == GCP_METADATA)
		d01_error_prefix(err,
		    "getting an access token from the metadata server %s "
		    "(ambient credentials: GKE Workload Identity or the "
		    "node's service account): ",
		    c->metadata);
	else
		d01_error_prefix(err,
		    "getting an access token for %s%s at %s: ", c->where,
		    c->ambient ? " (ambient: GOOGLE_APPLICATION_CREDENTIALS)"
			       : "",
		    c->token_uri);
}

static void
token_done(
    void *arg, const struct d01_error *e, const struct d01_http_response *r)
{
	struct gcp_token_wait *w = arg;
	struct d01_error err = *e;
	char *tok = NULL;
	long exp = 0;

	w->call = NULL;
	if (err.code == D01_OK && w->stage == 2)
		tok = gcp_iam_reply(r->status, r->body, r->len,
		    (long long)d01_clock_wall_s(w->env->clock), &exp, &err);
	else if (err.code == D01_OK)
		tok = gcp_token_reply(r->status, r->body, r->len, &exp, &err);
	if (tok != NULL && w->stage == 1 && w->cred.impersonate != NULL) {
		/* STS's federated token only buys the service account's. */
		w->sts = tok;
		if (impersonate_call(w, &err) == 0)
			return;
		tok = NULL;
	}
	if (tok != NULL)
		d01_sfc_put(&w->sw, tok, strlen(tok) + 1,
		    (exp - REFRESH_AHEAD) * 1000L);
	if (err.code != D01_OK) { /* not cached: a fixed IAM binding helps */
		name_path(w, &err);
		d01_redact(err.msg, sizeof(err.msg), w->cred.key_id);
		d01_redact(err.msg, sizeof(err.msg), w->subject);
		d01_redact(err.msg, sizeof(err.msg), w->sts);
		d01_sfc_fail(&w->sw, &err);
	}
	answer(w, &err, tok);
	d01_secret_wipe(&tok);
}

static void
cached(void *arg, const struct d01_sfc_out *out)
{
	struct gcp_token_wait *w = arg;
	struct d01_error err;
	const char *v = out->val;

	d01_error_clear(&err);
	switch (out->res) {
	case D01_SFC_LEAD: /* the leader went away: our turn */
		if (token_call(w, &err) == 0)
			return;
		name_path(w, &err);
		d01_redact(err.msg, sizeof(err.msg), w->subject);
		d01_sfc_fail(&w->sw, &err);
		break;
	case D01_SFC_HIT:
		if (out->len > 1 && v[out->len - 1] == '\0') {
			answer(w, &err, v);
			return;
		}
		d01_error_set(&err, D01_E_INTERNAL, "bad token cache entry");
		break;
	default:
		err = *out->err;
	}
	answer(w, &err, NULL);
}

struct gcp_token_wait *
gcp_token_get(struct d01_env *env, struct gcp_state *st,
    const struct gcp_cred *cred, const char *ca_pem, gcp_token_fn cb, void *arg,
    struct d01_error *err)
{
	unsigned char key[D01_SFC_KEY];
	struct gcp_token_wait *w = NULL;
	struct d01_sfc_out out;

	if (gcp_token_key(st, cred, ca_pem, key) != 0) {
		d01_error_set(err, D01_E_INTERNAL, "cannot derive a cache key");
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    cred_copy(&w->cred, cred) != 0 ||
	    dup_or_null(&w->ca_pem, ca_pem) != 0) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto fail;
	}
	w->env = env;
	w->st = st;
	w->cb = cb;
	w->arg = arg;
	/* defer_hits: even a hit arrives from the loop (async shape). */
	switch (d01_sfc_get(st->tokens, key, &w->sw, cached, w, &out, err)) {
	case D01_SFC_WAIT:
		OPENSSL_cleanse(key, sizeof(key));
		return w;
	case D01_SFC_LEAD:
		if (token_call(w, err) == 0) {
			OPENSSL_cleanse(key, sizeof(key));
			return w;
		}
		name_path(w, err);
		d01_redact(err->msg, sizeof(err->msg), w->subject);
		d01_sfc_fail(&w->sw, err);
		break;
	default:
		break;
	}
fail:
	OPENSSL_cleanse(key, sizeof(key));
	if (w != NULL)
		wait_free(w);
	return NULL;
}

void
gcp_token_cancel(struct gcp_token_wait *w)
{
	if (w == NULL)
		return;
	d01_http_cancel(w->call);
	d01_sfc_cancel(&w->sw);
	wait_free(w);
}

void
gcp_token_forget(struct gcp_state *st, const struct gcp_cred *cred,
    const char *ca_pem, const char *token)
{
	unsigned char key[D01_SFC_KEY];
	const char *v;
	size_t len = 0;

	if (gcp_token_key(st, cred, ca_pem, key) != 0)
		return;
	/* Only the very token refused: a later op's 401 must not drop the
	 * fresh one another op just fetched. */
	v = d01_sfc_peek(st->tokens, key, &len);
	if (v != NULL && len == strlen(token) + 1 &&
	    CRYPTO_memcmp(v, token, len) == 0)
		d01_sfc_forget(st->tokens, key);
	OPENSSL_cleanse(key, sizeof(key));
}

enum d01_err
gcp_cred_ambient(struct gcp_cred *c, struct d01_error *err)
{
	const char *file = getenv("GOOGLE_APPLICATION_CREDENTIALS");
	const char *md = getenv("GCE_METADATA_HOST");
	char *text = NULL, *where = NULL;
	size_t len = 0;
	enum d01_err rc;

	memset(c, 0, sizeof(*c));
	if (file != NULL && *file != '\0') {
		/* A small read at request time, so a rotated file is seen;
		 * the operator's file, as the ADC chain reads it. */
		if (d01_file_read(file, D01_SECRET_MAX, &text, &len, err) !=
		    D01_OK) {
			d01_error_prefix(
			    err, "GOOGLE_APPLICATION_CREDENTIALS: ");
			return err->code;
		}
		rc = gcp_adc_parse(text, len, c, err);
		OPENSSL_cleanse(text, len);
		free(text);
		if (rc != D01_OK) {
			d01_error_prefix(err,
			    "GOOGLE_APPLICATION_CREDENTIALS (%s; a "
			    "service_account key or an external_account): ",
			    file);
			return rc;
		}
		c->ambient = 1;
		return D01_OK;
	}
	c->kind = GCP_METADATA;
	c->ambient = 1;
	if (md == NULL || *md == '\0')
		md = GCP_DEFAULT_METADATA;
	if (strlen(md) > 255 || strpbrk(md, "/?#@ \r\n") != NULL)
		return d01_error_set(
		    err, D01_E_CONFIG, "GCE_METADATA_HOST must be host[:port]");
	if ((c->metadata = malloc(strlen(md) + 8)) == NULL ||
	    (where = strdup("the metadata server")) == NULL) {
		free(where);
		gcp_cred_free(c);
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	}
	sprintf(c->metadata, "http://%s", md);
	c->where = where;
	return D01_OK;
}
