/* SPDX-License-Identifier: ISC */
/*
 * The Edge DNS API exchange: EdgeGrid-signed requests on the shared HTTP
 * client, and the parsing of what comes back (record sets, problem
 * details). The parsers are pure functions over outside input, driven by
 * tests/fuzz/fuzz_akamai_recordset.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "core/clock.h"
#include "providers/akamai/ak_int.h"
#include "providers/akamai/edgegrid.h"

#define PER_CALL_MS 10000 /* one attempt; the op's budget caps it */

struct d01_http_call *
ak_api_send(struct ak_op *o, d01_http_fn cb, struct d01_error *err)
{
	char url[AK_HOST_MAX + sizeof(o->path) + 16];
	char auth[3 * AK_SECRET_MAX + 256], ts[EG_TIMESTAMP_LEN], nonce[37];
	const char *hdrs[4];
	struct eg_creds creds = {o->cred[AK_CLIENT_TOKEN],
	    o->cred[AK_CLIENT_SECRET], o->cred[AK_ACCESS_TOKEN]};
	struct eg_request sreq = {0};
	struct d01_http_request req = {0};
	struct d01_http_call *call = NULL;
	size_t n = 0;

	snprintf(url, sizeof(url), "https://%s%s", o->host, o->path);
	sreq.method = o->method;
	sreq.scheme = "https";
	sreq.host = o->host;
	sreq.path = o->path;
	sreq.body = o->body;
	sreq.body_len = o->body ? strlen(o->body) : 0;
	/* A fresh timestamp and nonce for every send: Akamai refuses a
	 * nonce it has seen, so the HTTP client must never resend one
	 * (max_attempts 1 below; akamai.c resends, signed anew). */
	eg_timestamp((time_t)d01_clock_wall_s(o->env->clock), ts);
	memcpy(auth, "Authorization: ", 15);
	if (eg_nonce(nonce) != 0) {
		d01_error_set(err, D01_E_INTERNAL, "no random nonce");
		return NULL;
	}
	if (eg_sign(&creds, &sreq, ts, nonce, auth + 15, sizeof(auth) - 15,
		err) != D01_OK)
		goto out;
	hdrs[n++] = auth;
	hdrs[n++] = "Accept: application/json";
	if (o->body != NULL)
		hdrs[n++] = "Content-Type: application/json";
	hdrs[n] = NULL;
	req.method = o->method;
	req.url = url;
	req.headers = hdrs;
	req.body = o->body;
	req.body_len = sreq.body_len;
	req.ca_pem = o->cfg->ca_pem;
	req.max_attempts = 1;
	req.budget_ms = d01_op_budget_ms(&o->op);
	req.timeout_ms =
	    req.budget_ms < PER_CALL_MS ? req.budget_ms : PER_CALL_MS;
	if (req.budget_ms <= 0)
		d01_error_set(err, D01_E_TIMEOUT, "out of time");
	else
		call = d01_http_start(o->env->http, &req, cb, o, err);
out:
	OPENSSL_cleanse(auth, sizeof(auth));
	return call;
}

/* Same name, ignoring case and one trailing dot on the reply's side. */
static int
same_name(const char *got, const char *want)
{
	size_t n = strlen(want);

	return strncasecmp(got, want, n) == 0 &&
	    (got[n] == '\0' || (got[n] == '.' && got[n + 1] == '\0'));
}

static int
text_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > AK_RDATA_LEN_MAX || strlen(s) != len)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

enum d01_err
ak_rrset_parse(const char *body, size_t len, const char *name,
    struct ak_rrset *out, struct d01_error *err)
{
	json_t *root, *rd, *v, *copy = NULL;
	const char *rn, *type;
	json_int_t ttl;
	size_t i;
	const char *why = NULL;

	memset(out, 0, sizeof(*out));
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	rn = json_string_value(json_object_get(root, "name"));
	type = json_string_value(json_object_get(root, "type"));
	v = json_object_get(root, "ttl");
	rd = json_object_get(root, "rdata");
	ttl = json_is_integer(v) ? json_integer_value(v) : -1;
	if (!json_is_object(root))
		why = "not a JSON object";
	else if (rn == NULL || !same_name(rn, name))
		why = "another name";
	else if (type == NULL || strcmp(type, "TXT") != 0)
		why = "not type TXT";
	else if (ttl < 0 || ttl > 2147483647)
		why = "no valid ttl";
	else if (!json_is_array(rd) || json_array_size(rd) == 0 ||
	    json_array_size(rd) > AK_MAX_RDATA)
		why = "no rdata array (or too many values)";
	else if ((copy = json_array()) == NULL)
		why = "out of memory";
	for (i = 0; why == NULL && i < json_array_size(rd); i++) {
		v = json_array_get(rd, i);
		if (!json_is_string(v) ||
		    !text_ok(json_string_value(v), json_string_length(v)))
			why = "an rdata value that is no short text";
		else if (json_array_append(copy, v) != 0)
			why = "out of memory";
	}
	json_decref(root);
	if (why != NULL) {
		json_decref(copy);
		d01_error_set(err, D01_E_PROTOCOL,
		    "unexpected record set in the reply: %s", why);
		return err->code;
	}
	out->exists = 1;
	out->ttl = (long)ttl;
	out->rdata = copy;
	return D01_OK;
}

/* rdata text equal to value, bare or as one quoted string. */
static int
rdata_is(const char *rd, const char *value)
{
	size_t n = strlen(value);

	if (strcmp(rd, value) == 0)
		return 1;
	return strlen(rd) == n + 2 && rd[0] == '"' && rd[n + 1] == '"' &&
	    strncmp(rd + 1, value, n) == 0;
}

int
ak_rdata_has(const json_t *rdata, const char *value)
{
	size_t i;
	const char *s;

	for (i = 0; i < json_array_size(rdata); i++)
		if ((s = json_string_value(json_array_get(rdata, i))) != NULL &&
		    rdata_is(s, value))
			return 1;
	return 0;
}

json_t *
ak_rdata_with(const json_t *rdata, const char *value)
{
	json_t *a = json_array();
	char quoted[260];
	size_t i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < json_array_size(rdata); i++)
		if (json_array_append(a, json_array_get(rdata, i)) != 0)
			goto fail;
	/* Quoted: Akamai keeps TXT rdata as quoted character strings. */
	snprintf(quoted, sizeof(quoted), "\"%s\"", value);
	if (json_array_append_new(a, json_string(quoted)) != 0)
		goto fail;
	return a;
fail:
	json_decref(a);
	return NULL;
}

json_t *
ak_rdata_without(const json_t *rdata, const char *value)
{
	json_t *a = json_array(), *v;
	size_t i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < json_array_size(rdata); i++) {
		v = json_array_get(rdata, i);
		if (json_is_string(v) && rdata_is(json_string_value(v), value))
			continue;
		if (json_array_append(a, v) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

char *
ak_rrset_body(const char *name, long ttl, const json_t *rdata)
{
	json_t *j = json_pack("{s:s, s:s, s:I, s:O}", "name", name, "type",
	    "TXT", "ttl", (json_int_t)ttl, "rdata", (json_t *)rdata);
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

/* Append printable bytes of s (at most max) to out at *o. */
static void
quote(char *out, size_t n, size_t *o, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s != NULL && s[i] != '\0' && i < max && *o + 1 < n; i++)
		out[(*o)++] =
		    ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? ' ' : s[i];
	out[*o] = '\0';
}

void
ak_problem(long status, const char *body, size_t len, struct d01_error *err)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	const char *title = json_string_value(json_object_get(root, "title"));
	const char *detail = json_string_value(json_object_get(root, "detail"));
	char text[AK_QUOTE_MAX + 1] = "";
	size_t o = 0;

	quote(text, sizeof(text), &o, title, 80);
	if (detail != NULL && o + 2 < sizeof(text)) {
		if (o > 0)
			quote(text, sizeof(text), &o, ": ", 2);
		quote(text, sizeof(text), &o, detail, AK_QUOTE_MAX);
	}
	d01_error_set(err,
	    status == 401 || status == 403	 ? D01_E_AUTH
		: status == 429			 ? D01_E_RATELIMIT
		: status == 404			 ? D01_E_NOTFOUND
		: status == 409 || status == 412 ? D01_E_CONFLICT
						 : D01_E_UPSTREAM,
	    "HTTP %ld: %s", status,
	    text[0] ? text
		    : (json_is_object(root) ? "request failed"
					    : "not a JSON reply"));
	err->status = status;
	err->retryable = status == 429 || status >= 500;
	json_decref(root);
}
