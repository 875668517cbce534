/* SPDX-License-Identifier: ISC */
/*
 * Access tokens for ARM, from one of three identity paths, kept in the
 * provider's single-flight cache (core/sfcache.h) until AZ_REFRESH_AHEAD
 * seconds before they expire:
 *
 *  - a service principal: the OAuth 2.0 client-credentials grant at
 *    {authorityHost}/{tenantID}/oauth2/v2.0/token with the client secret;
 *  - Azure Workload Identity: the same grant with the federated token
 *    file's text as the client assertion (urn:...:jwt-bearer): the token
 *    file is already a signed JWT, so nothing is signed here;
 *  - a managed identity: IMDS's GET /metadata/identity/oauth2/token with
 *    the header "Metadata: true".
 *
 * A token is found by an HMAC (under the env's random key) of everything
 * that decides it: the path, the token endpoint (with the managed
 * identity selector in its query), the CA bundle, the client ID, the
 * secret or assertion in full, and the scope. So a token is only ever
 * reused for a byte-identical credential: knowing another tenant's client
 * ID buys nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/secret.h"
#include "core/clock.h"
#include "providers/azuredns/az_int.h"

#define MAX_CALL_MS 15000 /* one token exchange, all attempts */

/* One asker. It keeps its own copy of the request: when the leader is
 * cancelled, the next asker makes the exchange itself. */
struct az_token_wait {
	struct d01_sfc_wait sw;
	struct d01_env *env;
	struct d01_http_call *call; /* leading: the exchange in flight */
	enum az_path path;
	char *url, *ca_pem, *client_id, *secret, *scope;
	az_token_fn cb;
	void *arg;
};

const char *
az_path_name(enum az_path p)
{
	switch (p) {
	case AZ_PATH_SECRET:
		return "service principal (client secret)";
	case AZ_PATH_WORKLOAD:
		return "workload identity (federated token)";
	case AZ_PATH_IMDS:
		return "managed identity (IMDS)";
	}
	return "?";
}

/* The cache key: d01_sfc_key_fields over what decides the token. */
static int
token_key(const struct d01_env *env, const struct az_token_req *r,
    unsigned char out[D01_SFC_KEY])
{
	const struct az_state *st = az_state_of(env);
	const char *f[] = {"az-token-v1", az_path_name(r->path), r->url,
	    r->ca_pem, r->client_id, r->secret, r->scope};

	if (st == NULL)
		return -1;
	return d01_sfc_key_fields(
	    st->mac_key, sizeof(st->mac_key), f, sizeof(f) / sizeof(f[0]), out);
}

static void
wait_free(struct az_token_wait *w)
{
	d01_secret_wipe(&w->url);
	d01_secret_wipe(&w->ca_pem);
	d01_secret_wipe(&w->client_id);
	d01_secret_wipe(&w->secret);
	d01_secret_wipe(&w->scope);
	free(w);
}

static int
wait_copy(struct az_token_wait *w, const struct az_token_req *r)
{
	const char *src[5] = {
	    r->url, r->ca_pem, r->client_id, r->secret, r->scope};
	char **dst[5] = {
	    &w->url, &w->ca_pem, &w->client_id, &w->secret, &w->scope};
	size_t i;

	w->path = r->path;
	for (i = 0; i < 5; i++)
		if (src[i] != NULL && (*dst[i] = strdup(src[i])) == NULL)
			return -1;
	return 0;
}

/* application/x-www-form-urlencoded value into dst (n bytes); -1 when it
 * does not fit. */
static int
form(char *dst, size_t n, const char *s)
{
	return d01_url_escape(dst, n, s != NULL ? s : "");
}

static void token_done(
    void *arg, const struct d01_error *e, const struct d01_http_response *resp);

/* Start the exchange for the leader w, from its copy of the request. */
static int
token_call(struct az_token_wait *w, struct d01_error *err)
{
	struct d01_http_request req = {0};
	const char *hdrs[3];
	char *body = NULL, cid[400], scope[900], *sec = NULL;
	size_t blen, slen;
	int rc = -1;

	req.url = w->url;
	req.ca_pem = w->ca_pem;
	req.budget_ms = MAX_CALL_MS;
	req.timeout_ms = 10000;
	if (w->path == AZ_PATH_IMDS) {
		hdrs[0] = "Metadata: true";
		hdrs[1] = "Accept: application/json";
		hdrs[2] = NULL;
		req.method = "GET";
	} else {
		slen = w->secret != NULL ? 3 * strlen(w->secret) + 1 : 1;
		if ((sec = malloc(slen)) == NULL ||
		    form(sec, slen, w->secret) != 0 ||
		    form(cid, sizeof(cid), w->client_id) != 0 ||
		    form(scope, sizeof(scope), w->scope) != 0) {
			d01_error_set(
			    err, D01_E_LIMIT, "the token request is too long");
			goto out;
		}
		blen = strlen(sec) + strlen(cid) + strlen(scope) + 256;
		if ((body = malloc(blen)) == NULL) {
			d01_error_set(err, D01_E_NOMEM, "out of memory");
			goto out;
		}
		if (w->path == AZ_PATH_SECRET)
			snprintf(body, blen,
			    "grant_type=client_credentials&client_id=%s"
			    "&scope=%s&client_secret=%s",
			    cid, scope, sec);
		else
			snprintf(body, blen,
			    "grant_type=client_credentials&client_id=%s"
			    "&scope=%s&client_assertion_type=urn%%3Aietf%%"
			    "3Aparams%%3Aoauth%%3Aclient-assertion-type%%"
			    "3Ajwt-bearer&client_assertion=%s",
			    cid, scope, sec);
		hdrs[0] = "Content-Type: application/x-www-form-urlencoded";
		hdrs[1] = "Accept: application/json";
		hdrs[2] = NULL;
		req.method = "POST";
		req.body = body;
		req.body_len = strlen(body);
	}
	req.headers = hdrs;
	w->call = d01_http_start(w->env->http, &req, token_done, w, err);
	rc = w->call != NULL ? 0 : -1;
out:
	if (body != NULL) {
		OPENSSL_cleanse(body, strlen(body));
		free(body);
	}
	d01_secret_wipe(&sec);
	return rc;
}

/* The answer to w, then w is gone (the caller's handle with it). */
static void
answer(struct az_token_wait *w, const struct d01_error *err, const char *tok)
{
	w->cb(w->arg, err, err->code == D01_OK ? tok : NULL);
	wait_free(w);
}

static void
token_done(
    void *arg, const struct d01_error *e, const struct d01_http_response *resp)
{
	struct az_token_wait *w = arg;
	struct d01_error err = *e;
	char *tok = NULL;
	long long exp = -1;
	long ttl;

	w->call = NULL;
	if (err.code == D01_OK && (resp->status < 200 || resp->status > 299))
		az_token_error(resp->status, resp->body, resp->len, &err);
	else if (err.code == D01_OK)
		az_token_parse(resp->body, resp->len, &tok, &exp, &err);
	if (err.code == D01_OK) {
		/* Kept until AZ_REFRESH_AHEAD before it expires; a shorter
		 * lived one is handed to the askers but not kept. */
		ttl = exp > AZ_REFRESH_AHEAD && exp < 366LL * 86400
		    ? (long)(exp - AZ_REFRESH_AHEAD) * 1000
		    : 0;
		d01_sfc_put(&w->sw, tok, strlen(tok) + 1, ttl);
	} else {
		/* Not cached: a fixed role assignment helps at once. */
		d01_sfc_fail(&w->sw, &err);
	}
	answer(w, &err, tok);
	d01_secret_wipe(&tok);
}

/* What the cache says to an asker, from the loop. */
static void
cached(void *arg, const struct d01_sfc_out *out)
{
	struct az_token_wait *w = arg;
	struct d01_error err;
	const char *v = out->val;

	d01_error_clear(&err);
	switch (out->res) {
	case D01_SFC_LEAD: /* the leader was cancelled: our turn */
		if (token_call(w, &err) == 0)
			return;
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

struct az_token_wait *
az_token_get(struct d01_env *env, const struct az_token_req *r, az_token_fn cb,
    void *arg, struct d01_error *err)
{
	unsigned char key[D01_SFC_KEY];
	struct az_state *st = az_state_of(env);
	struct az_token_wait *w = NULL;
	struct d01_sfc_out out;

	if (st == NULL || token_key(env, r, key) != 0) {
		d01_error_set(err, D01_E_INTERNAL, "no token cache (env)");
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL || wait_copy(w, r) != 0) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto fail;
	}
	w->env = env;
	w->cb = cb;
	w->arg = arg;
	switch (d01_sfc_get(st->tokens, key, &w->sw, cached, w, &out, err)) {
	case D01_SFC_WAIT: /* hits too (defer_hits): from the loop */
		OPENSSL_cleanse(key, sizeof(key));
		return w;
	case D01_SFC_LEAD:
		if (token_call(w, err) == 0) {
			OPENSSL_cleanse(key, sizeof(key));
			return w;
		}
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
az_token_cancel(struct az_token_wait *w)
{
	if (w == NULL)
		return;
	d01_http_cancel(w->call);
	d01_sfc_cancel(&w->sw);
	wait_free(w);
}

void
az_token_forget(
    struct d01_env *env, const struct az_token_req *r, const char *token)
{
	unsigned char key[D01_SFC_KEY];
	struct az_state *st = az_state_of(env);
	const char *v;
	size_t len = 0;

	if (st == NULL || token == NULL || token_key(env, r, key) != 0)
		return;
	/* Only the token that was refused: another op may have put a fresh
	 * one there meanwhile. */
	v = d01_sfc_peek(st->tokens, key, &len);
	if (v != NULL && len == strlen(token) + 1 &&
	    CRYPTO_memcmp(v, token, len) == 0)
		d01_sfc_forget(st->tokens, key);
	OPENSSL_cleanse(key, sizeof(key));
}
