/* SPDX-License-Identifier: ISC */
/*
 * The DigitalOcean API exchange: requests with the op's bearer token on
 * the shared async HTTP client (which retries 429 after Retry-After or
 * RateLimit-Reset, and 5xx), and the pure parsers of what comes back.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "providers/digitalocean/do_int.h"

#define PER_CALL_MS 10000 /* one attempt; the op's budget caps it */

struct d01_http_call *
do_api_start(struct do_op *o, const char *method, const char *url,
    const char *body, d01_http_fn cb, struct d01_error *err)
{
	char auth[DO_SECRET_MAX + 32];
	const char *hdrs[4];
	struct d01_http_request req = {0};
	struct d01_http_call *call = NULL;
	size_t n = 0;

	/* The token was checked (length, no control bytes) on arrival. */
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->secret);
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
		call = d01_http_start(o->op.env->http, &req, cb, o, err);
	OPENSSL_cleanse(auth, sizeof(auth));
	return call;
}

enum d01_err
do_reply_error(long status, const char *body, size_t len, struct d01_error *err)
{
	char id[64], msg[DO_QUOTE_MAX + 1];
	json_t *root = json_loadb(body, len, 0, NULL);

	d01_clean_copy(
	    id, sizeof(id), json_string_value(json_object_get(root, "id")));
	d01_clean_copy(msg, sizeof(msg),
	    json_string_value(json_object_get(root, "message")));
	d01_error_set(err,
	    status == 401 || status == 403 ? D01_E_AUTH
		: status == 404		   ? D01_E_NOTFOUND
		: status == 429		   ? D01_E_RATELIMIT
					   : D01_E_UPSTREAM,
	    "HTTP %ld: %s%s%s", status, id, id[0] && msg[0] ? ": " : "",
	    id[0] || msg[0]	       ? msg
		: json_is_object(root) ? "request failed"
				       : "not a JSON reply");
	err->status = status;
	err->retryable = status == 429 || status >= 500;
	json_decref(root);
	return err->code;
}

int
do_records_match(const json_t *root, const char *rel, const char *value,
    long long *ids, int max, int *nids)
{
	const json_t *recs = json_object_get(root, "domain_records"), *r, *id;
	const char *name, *type, *data;
	size_t i;
	int hits = 0;

	if (!json_is_array(recs))
		return -1;
	for (i = 0; i < json_array_size(recs); i++) {
		r = json_array_get(recs, i);
		id = json_object_get(r, "id");
		name = json_string_value(json_object_get(r, "name"));
		type = json_string_value(json_object_get(r, "type"));
		data = json_string_value(json_object_get(r, "data"));
		/* The server filtered by type and name; check again, and
		 * the value exactly: never touch a record not ours. */
		if (!json_is_integer(id) || json_integer_value(id) <= 0 ||
		    name == NULL || type == NULL || data == NULL ||
		    strcmp(type, "TXT") != 0 || strcasecmp(name, rel) != 0 ||
		    strcmp(data, value) != 0)
			continue;
		hits++;
		if (*nids < max)
			ids[(*nids)++] = (long long)json_integer_value(id);
	}
	return hits;
}

/* Length of "scheme://authority" at the start of url; 0 if not http(s). */
static size_t
origin_len(const char *url)
{
	size_t s;

	if (strncasecmp(url, "https://", 8) == 0)
		s = 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		s = 7;
	else
		return 0;
	return s + strcspn(url + s, "/?#");
}

int
do_next_link(const json_t *root, const char *base_url, char *out, size_t n)
{
	const json_t *v = json_object_get(
	    json_object_get(json_object_get(root, "links"), "pages"), "next");
	const char *s = json_string_value(v);
	size_t ob = origin_len(base_url), on, i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (s == NULL || strlen(s) != json_string_length(v) || strlen(s) >= n)
		return -1;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 ||
		    (unsigned char)s[i] >= 0x7f || s[i] == '#')
			return -1;
	/* Same scheme, host and port, then a path: nowhere else. */
	on = origin_len(s);
	if (ob == 0 || on != ob || strncasecmp(s, base_url, ob) != 0 ||
	    s[on] != '/')
		return -1;
	memcpy(out, s, strlen(s) + 1);
	return 1;
}
