/* SPDX-License-Identifier: ISC */
/*
 * The Cloudflare API v4 exchange: requests with the op's credentials on
 * the shared async HTTP client, and the parsing of what comes back (the
 * envelope, zone lists, record lists). The parsers are pure functions over
 * outside input and are what tests/fuzz/fuzz_cloudflare_json.c exercises.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "providers/cloudflare/cf_int.h"

#define PER_CALL_MS 10000 /* one attempt; the op's budget caps it */

struct d01_http_call *
cf_api_start(struct cf_op *o, const char *method, const char *path,
    const char *body, d01_http_fn cb, struct d01_error *err)
{
	char url[1200], auth[CF_SECRET_MAX + 32], email[300];
	const char *hdrs[5];
	struct d01_http_request req = {0};
	struct d01_http_call *call = NULL;
	size_t n = 0;

	if (snprintf(url, sizeof(url), "%s%s", o->cfg->base_url, path) >=
	    (int)sizeof(url)) {
		d01_error_set(err, D01_E_INTERNAL, "request URL too long");
		return NULL;
	}
	/* The secret was checked (length, no control bytes) on arrival. */
	if (o->cfg->use_token) {
		snprintf(
		    auth, sizeof(auth), "Authorization: Bearer %s", o->secret);
	} else {
		snprintf(
		    email, sizeof(email), "X-Auth-Email: %s", o->cfg->email);
		snprintf(auth, sizeof(auth), "X-Auth-Key: %s", o->secret);
		hdrs[n++] = email;
	}
	hdrs[n++] = auth;
	hdrs[n++] = "Accept: application/json";
	if (body != NULL)
		hdrs[n++] = "Content-Type: application/json";
	hdrs[n] = NULL;
	req.method = method;
	req.url = url;
	req.headers = hdrs;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.ca_pem = o->cfg->ca_pem;
	req.budget_ms = d01_op_budget_ms(&o->op);
	req.timeout_ms =
	    req.budget_ms < PER_CALL_MS ? req.budget_ms : PER_CALL_MS;
	if (req.budget_ms <= 0)
		d01_error_set(err, D01_E_TIMEOUT, "out of time");
	else
		call = d01_http_start(o->env->http, &req, cb, o, err);
	OPENSSL_cleanse(auth, sizeof(auth));
	return call;
}

/* A short digest of the credential, so tenants never share memo
 * entries; the credential itself is never stored there. */
void
cf_cred_tag(const char *email, const char *secret, char out[33])
{
	unsigned char md[32];
	unsigned int mdlen = sizeof(md), i;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (email == NULL)
		email = "";
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, email, strlen(email) + 1) != 1 ||
	    EVP_DigestUpdate(ctx, secret, strlen(secret)) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		memset(md, 0, sizeof(md));
	EVP_MD_CTX_free(ctx);
	for (i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void
cf_undot(char *dst, size_t n, const char *src)
{
	size_t len;

	snprintf(dst, n, "%s", src ? src : "");
	if ((len = strlen(dst)) > 0 && dst[len - 1] == '.')
		dst[len - 1] = '\0';
}

/* Append "[code] message" for each entry of `errs`, chains included. */
static size_t
list_errors(const json_t *errs, char *out, size_t n, size_t o, int depth)
{
	const json_t *e;
	const char *m;
	size_t i;
	int w;

	for (i = 0; i < json_array_size(errs) && o + 1 < n; i++) {
		e = json_array_get(errs, i);
		m = json_string_value(json_object_get(e, "message"));
		w = snprintf(out + o, n - o, "%s[%lld] %.150s",
		    o > 0 ? (depth > 0 ? " <- " : "; ") : "",
		    (long long)json_integer_value(json_object_get(e, "code")),
		    m ? m : "");
		if (w < 0)
			break;
		/* Cloudflare's text goes into logs and Challenge status. */
		d01_unctrl(out + o);
		o = (size_t)w >= n - o ? n - 1 : o + (size_t)w;
		if (depth == 0)
			o = list_errors(
			    json_object_get(e, "error_chain"), out, n, o, 1);
	}
	return o;
}

json_t *
cf_envelope(long status, const char *body, size_t len, json_t **root,
    int *total_pages, int *cf_code, struct d01_error *err)
{
	json_t *errs, *res, *info;
	char list[CF_QUOTE_MAX + 1] = "";

	*cf_code = 0;
	*root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	res = json_object_get(*root, "result");
	if (json_is_true(json_object_get(*root, "success")) && status >= 200 &&
	    status < 300 && res != NULL) {
		info = json_object_get(*root, "result_info");
		if (total_pages != NULL)
			*total_pages = (int)json_integer_value(
			    json_object_get(info, "total_pages"));
		return res;
	}
	errs = json_object_get(*root, "errors");
	*cf_code = (int)json_integer_value(
	    json_object_get(json_array_get(errs, 0), "code"));
	list_errors(errs, list, sizeof(list), 0, 0);
	d01_error_set(err,
	    status == 401 || status == 403 ? D01_E_AUTH
		: status == 429		   ? D01_E_RATELIMIT
		: status == 404		   ? D01_E_NOTFOUND
					   : D01_E_UPSTREAM,
	    "HTTP %ld: %s", status,
	    list[0] ? list
		    : (json_is_object(*root) ? "request failed"
					     : "not a JSON reply"));
	err->status = status;
	err->retryable = status == 429 || status >= 500;
	return NULL;
}

int
cf_zone_pick(const json_t *result, const char *name, char *id, size_t n)
{
	const json_t *z;
	const char *zn, *zid;
	size_t i;

	for (i = 0; i < json_array_size(result); i++) {
		z = json_array_get(result, i);
		zn = json_string_value(json_object_get(z, "name"));
		zid = json_string_value(json_object_get(z, "id"));
		/* The filter is exact, but never trust a list blindly. */
		if (zn == NULL || zid == NULL || strcasecmp(zn, name) != 0 ||
		    !cf_id_valid(zid) || strlen(zid) >= n)
			continue;
		memcpy(id, zid, strlen(zid) + 1);
		return 0;
	}
	return -1;
}

/* Content equal to value, or to "value" (one quoted string). */
static int
content_matches(const char *content, const char *value)
{
	size_t n = strlen(value);

	if (content == NULL)
		return 0;
	if (strcmp(content, value) == 0)
		return 1;
	return strlen(content) == n + 2 && content[0] == '"' &&
	    content[n + 1] == '"' && strncmp(content + 1, value, n) == 0;
}

int
cf_records_match(const json_t *result, const char *name, const char *value,
    char ids[][CF_ID_MAX], int max, int *nids)
{
	const json_t *r;
	const char *id, *rn, *type;
	size_t i;
	int hits = 0;

	for (i = 0; i < json_array_size(result); i++) {
		r = json_array_get(result, i);
		id = json_string_value(json_object_get(r, "id"));
		rn = json_string_value(json_object_get(r, "name"));
		type = json_string_value(json_object_get(r, "type"));
		/* Filters on the server are case-insensitive; ACME values
		 * are not, and names and types are checked again. */
		if (id == NULL || rn == NULL || type == NULL ||
		    strcmp(type, "TXT") != 0 || strcasecmp(rn, name) != 0 ||
		    !content_matches(
			json_string_value(json_object_get(r, "content")),
			value) ||
		    !cf_id_valid(id))
			continue;
		hits++;
		if (*nids < max)
			memcpy(ids[(*nids)++], id, strlen(id) + 1);
	}
	return hits;
}
