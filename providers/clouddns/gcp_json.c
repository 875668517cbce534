/* SPDX-License-Identifier: ISC */
/*
 * The pure half of clouddns: the service-account key, token replies,
 * Cloud DNS error replies, zone and rrset listings, and the `changes`
 * body. No I/O; everything here is driven by the fuzz targets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "core/secret.h"
#include "core/text.h"
#include "providers/clouddns/gcp_int.h"

void
gcp_cred_free(struct gcp_cred *c)
{
	d01_secret_wipe(&c->email);
	d01_secret_wipe(&c->key_pem);
	d01_secret_wipe(&c->key_id);
	d01_secret_wipe(&c->token_uri);
	d01_secret_wipe(&c->project_id);
	d01_secret_wipe(&c->metadata);
	d01_secret_wipe(&c->where);
	d01_secret_wipe(&c->audience);
	d01_secret_wipe(&c->subject_type);
	d01_secret_wipe(&c->subject_file);
	d01_secret_wipe(&c->subject_field);
	d01_secret_wipe(&c->impersonate);
}

int
gcp_member(const json_t *o, const char *k, size_t max, int nl, char **out)
{
	const json_t *v = json_object_get(o, k);
	const char *s = json_string_value(v);
	size_t i, n;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (s == NULL || (n = json_string_length(v)) == 0 || n > max ||
	    strlen(s) != n)
		return -1;
	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && !(nl && s[i] == '\n')) ||
		    s[i] == 0x7f)
			return -1;
	return (*out = strdup(s)) != NULL ? 0 : -1;
}

enum d01_err
gcp_cred_parse(
    const char *json, size_t len, struct gcp_cred *c, struct d01_error *err)
{
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	const char *type = json_string_value(json_object_get(root, "type"));
	const char *bad = NULL;
	char where[400];

	memset(c, 0, sizeof(*c));
	if (!json_is_object(root)) {
		d01_error_set(err, D01_E_CONFIG,
		    "the service account key is not a JSON object");
		goto fail;
	}
	if (type == NULL || strcmp(type, "service_account") != 0) {
		d01_error_set(err, D01_E_CONFIG,
		    "the service account key has type %.40s, not "
		    "service_account%s",
		    type != NULL && strcspn(type, "\r\n") == strlen(type)
			? type
			: "(none)",
		    type != NULL && strcmp(type, "external_account") == 0
			? " (an external account names a file on the server: "
			  "it is only read from the server's "
			  "GOOGLE_APPLICATION_CREDENTIALS)"
			: "");
		goto fail;
	}
	if (gcp_member(root, "client_email", 320, 0, &c->email) != 0 ||
	    c->email == NULL)
		bad = "client_email";
	else if (gcp_member(root, "private_key", 16384, 1, &c->key_pem) != 0 ||
	    c->key_pem == NULL)
		bad = "private_key";
	else if (gcp_member(root, "private_key_id", 128, 0, &c->key_id) != 0)
		bad = "private_key_id";
	else if (gcp_member(root, "token_uri", 512, 0, &c->token_uri) != 0)
		bad = "token_uri";
	else if (gcp_member(root, "project_id", 100, 0, &c->project_id) != 0)
		bad = "project_id";
	if (bad != NULL) {
		d01_error_set(err, D01_E_CONFIG,
		    "the service account key has no usable %s", bad);
		goto fail;
	}
	if (c->token_uri == NULL &&
	    (c->token_uri = strdup(GCP_DEFAULT_TOKEN_URI)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto fail;
	}
	snprintf(where, sizeof(where), "service account %s", c->email);
	if ((c->where = strdup(where)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto fail;
	}
	c->kind = GCP_KEY;
	json_decref(root);
	return D01_OK;
fail:
	json_decref(root);
	gcp_cred_free(c);
	return err->code;
}

char *
gcp_token_reply(long status, const char *body, size_t len, long *expires_in,
    struct d01_error *err)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	const json_t *tok = json_object_get(root, "access_token");
	const json_t *exp = json_object_get(root, "expires_in");
	char code[64], desc[GCP_QUOTE_MAX + 1], *out = NULL;
	const char *t = json_string_value(tok);
	size_t i, n;

	*expires_in = 0;
	if (status >= 200 && status <= 299 && t != NULL &&
	    (n = json_string_length(tok)) > 0 && n < GCP_TOKEN_MAX &&
	    strlen(t) == n && json_is_integer(exp) &&
	    json_integer_value(exp) > 0 &&
	    json_integer_value(exp) <= 7 * 86400) {
		for (i = 0; i < n; i++)
			if ((unsigned char)t[i] <= 0x20 || t[i] == 0x7f)
				break;
		if (i == n) {
			*expires_in = (long)json_integer_value(exp);
			if ((out = strdup(t)) == NULL)
				d01_error_set(
				    err, D01_E_NOMEM, "out of memory");
			json_decref(root);
			return out;
		}
	}
	/* Only the structured error fields are quoted (RFC 6749 §5.2), never
	 * the body: it may hold a token. */
	d01_clean_copy(code, sizeof(code),
	    json_string_value(json_object_get(root, "error")));
	d01_clean_copy(desc, sizeof(desc),
	    json_string_value(json_object_get(root, "error_description")));
	d01_error_set(err,
	    status == 429			? D01_E_RATELIMIT
		: status >= 500			? D01_E_UPSTREAM
		: status >= 200 && status < 300 ? D01_E_PROTOCOL
						: D01_E_AUTH,
	    "HTTP %ld: %s%s%s", status,
	    code[0]				? code
		: status >= 200 && status < 300 ? "no access_token/expires_in"
						: "no error code",
	    desc[0] ? ": " : "", desc);
	err->status = status;
	err->retryable = status == 429 || status >= 500;
	json_decref(root);
	return NULL;
}

enum d01_err
gcp_reply_error(
    long status, const char *body, size_t len, struct d01_error *err)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	const json_t *e = json_object_get(root, "error");
	char reason[64], msg[GCP_QUOTE_MAX + 1];

	d01_clean_copy(reason, sizeof(reason),
	    json_string_value(json_object_get(
		json_array_get(json_object_get(e, "errors"), 0), "reason")));
	d01_clean_copy(
	    msg, sizeof(msg), json_string_value(json_object_get(e, "message")));
	d01_error_set(err,
	    status == 401			 ? D01_E_AUTH
		: status == 403			 ? D01_E_FORBIDDEN
		: status == 404			 ? D01_E_NOTFOUND
		: status == 409 || status == 412 ? D01_E_CONFLICT
		: status == 429			 ? D01_E_RATELIMIT
						 : D01_E_UPSTREAM,
	    "HTTP %ld: %s%s%s", status, reason, reason[0] && msg[0] ? ": " : "",
	    reason[0] || msg[0]	    ? msg
		: json_is_object(e) ? "request failed"
				    : "not a Cloud DNS error reply");
	err->status = status;
	err->retryable = status == 429 || status >= 500;
	json_decref(root);
	return err->code;
}

/* 1 when `zone` (a DNS name with its dot) is fqdn or a parent of it. */
static int
suffix_of(const char *fqdn, const char *zone)
{
	size_t f = strlen(fqdn), z = strlen(zone);

	if (z == 0 || zone[z - 1] != '.' || z > f)
		return 0;
	if (strcmp(zone, ".") == 0)
		return 1;
	return strcasecmp(fqdn + f - z, zone) == 0 &&
	    (f == z || fqdn[f - z - 1] == '.');
}

int
gcp_zones_pick(const json_t *root, const char *fqdn, char *best, size_t n,
    size_t *best_len, char *next, size_t n2)
{
	const json_t *zones = json_object_get(root, "managedZones"), *z, *nt;
	const char *name, *dns, *vis, *t;
	size_t i, l;

	next[0] = '\0';
	if (!json_is_object(root) || (zones != NULL && !json_is_array(zones)))
		return -1;
	json_array_foreach(zones, i, z)
	{
		name = json_string_value(json_object_get(z, "name"));
		dns = json_string_value(json_object_get(z, "dnsName"));
		vis = json_string_value(json_object_get(z, "visibility"));
		if (name == NULL || dns == NULL || strlen(name) >= n ||
		    strlen(name) == 0 ||
		    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
			strlen(name) ||
		    (vis != NULL && strcmp(vis, "public") != 0) ||
		    !suffix_of(fqdn, dns))
			continue;
		if ((l = strlen(dns)) > *best_len) {
			*best_len = l;
			memcpy(best, name, strlen(name) + 1);
		}
	}
	nt = json_object_get(root, "nextPageToken");
	if (nt != NULL && !json_is_null(nt)) {
		t = json_string_value(nt);
		/* Sent back in a query: plain token characters only. */
		if (t == NULL || strlen(t) >= n2 ||
		    strspn(t,
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"0123456789-_.~=") != strlen(t))
			return -1;
		memcpy(next, t, strlen(t) + 1);
	}
	return 0;
}

json_t *
gcp_rrset_find(const json_t *root, const char *fqdn, int *bad)
{
	const json_t *sets = json_object_get(root, "rrsets"), *s, *d, *v;
	const char *name, *type;
	size_t i, j;

	*bad = 0;
	if (!json_is_object(root) || (sets != NULL && !json_is_array(sets))) {
		*bad = 1;
		return NULL;
	}
	json_array_foreach(sets, i, s)
	{
		name = json_string_value(json_object_get(s, "name"));
		type = json_string_value(json_object_get(s, "type"));
		if (name == NULL || type == NULL || strcmp(type, "TXT") != 0 ||
		    strcasecmp(name, fqdn) != 0)
			continue;
		d = json_object_get(s, "rrdatas");
		if (!json_is_integer(json_object_get(s, "ttl")) ||
		    json_integer_value(json_object_get(s, "ttl")) < 0 ||
		    !json_is_array(d) || json_array_size(d) == 0 ||
		    json_array_size(d) > GCP_MAX_VALUES) {
			*bad = 1;
			return NULL;
		}
		json_array_foreach(d, j, v) if (!json_is_string(v))
		{
			*bad = 1;
			return NULL;
		}
		return json_incref((json_t *)s);
	}
	return NULL;
}

int
gcp_rrdata_is(const char *rrdata, const char *value)
{
	size_t n = strlen(value);

	if (strcmp(rrdata, value) == 0)
		return 1;
	return strlen(rrdata) == n + 2 && rrdata[0] == '"' &&
	    rrdata[n + 1] == '"' && strncmp(rrdata + 1, value, n) == 0;
}

char *
gcp_change_body(const json_t *old, const char *fqdn, const char *value,
    int present, unsigned ttl, int *noop, struct d01_error *err)
{
	const json_t *d = json_object_get(old, "rrdatas"), *v;
	json_t *body = NULL, *vals = NULL, *add;
	char quoted[300];
	char *out = NULL;
	size_t i;
	int found = 0;

	*noop = 0;
	if ((vals = json_array()) == NULL)
		goto nomem;
	json_array_foreach(d, i, v)
	{
		if (gcp_rrdata_is(json_string_value(v), value)) {
			found = 1;
			if (!present)
				continue; /* ours goes */
		}
		if (json_array_append(vals, (json_t *)v) != 0)
			goto nomem;
	}
	if (found == present) {
		*noop = 1;
		json_decref(vals);
		return NULL;
	}
	if (present) {
		if (json_array_size(vals) >= GCP_MAX_VALUES) {
			d01_error_set(err, D01_E_LIMIT,
			    "the TXT rrset already holds %d values",
			    GCP_MAX_VALUES);
			goto out;
		}
		/* One quoted character-string; a key authorization digest
		 * has no quote or backslash to escape. */
		snprintf(quoted, sizeof(quoted), "\"%s\"", value);
		if (json_array_append_new(vals, json_string(quoted)) != 0)
			goto nomem;
	}
	if ((body = json_object()) == NULL)
		goto nomem;
	if (old != NULL &&
	    json_object_set_new(
		body, "deletions", json_pack("[O]", (json_t *)old)) != 0)
		goto nomem;
	if (json_array_size(vals) > 0) {
		add = json_pack("[{s:s, s:s, s:I, s:O}]", "name",
		    old ? json_string_value(json_object_get(old, "name"))
			: fqdn,
		    "type", "TXT", "ttl",
		    old ? json_integer_value(json_object_get(old, "ttl"))
			: (json_int_t)ttl,
		    "rrdatas", vals);
		if (json_object_set_new(body, "additions", add) != 0)
			goto nomem;
	}
	if ((out = json_dumps(body, JSON_COMPACT)) == NULL)
		goto nomem;
	goto out;
nomem:
	d01_error_set(err, D01_E_NOMEM, "out of memory");
out:
	json_decref(vals);
	json_decref(body);
	return out;
}
