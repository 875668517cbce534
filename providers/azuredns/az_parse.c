/* SPDX-License-Identifier: ISC */
/*
 * Pure parsers for what Azure sends back (token replies from Microsoft
 * Entra ID and IMDS, ARM record sets and errors) and the record set a
 * Present or CleanUp writes back. No I/O: the unit tests and the fuzz
 * targets drive them directly.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "providers/azuredns/az_int.h"

/* expires_in: AAD sends a number, IMDS a string of digits. */
static long long
seconds(const json_t *v)
{
	const char *s = json_string_value(v);
	long long n = 0;
	size_t i;

	if (json_is_integer(v))
		return json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
	if (s == NULL || *s == '\0' || strlen(s) > 12)
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	return n;
}

int
az_token_parse(const char *body, size_t len, char **token,
    long long *expires_in, struct d01_error *err)
{
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	const json_t *t = json_object_get(root, "access_token");
	const char *s = json_string_value(t);
	const char *type =
	    json_string_value(json_object_get(root, "token_type"));
	size_t i, n = s != NULL ? strlen(s) : 0;
	int rc = -1;

	*token = NULL;
	*expires_in = -1;
	if (!json_is_object(root)) {
		d01_error_set(err, D01_E_PROTOCOL, "the reply is not JSON");
		goto out;
	}
	if (s == NULL || n == 0 || n != json_string_length(t) ||
	    n > AZ_TOKEN_MAX) {
		d01_error_set(err, D01_E_PROTOCOL,
		    "the reply has no usable access_token");
		goto out;
	}
	/* It goes into an Authorization header: visible ASCII only. */
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			break;
	if (i < n || (type != NULL && strcasecmp(type, "Bearer") != 0)) {
		d01_error_set(err, D01_E_PROTOCOL,
		    "the reply's access_token is not a bearer token");
		goto out;
	}
	*expires_in = seconds(json_object_get(root, "expires_in"));
	if ((*token = strdup(s)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

enum d01_err
az_token_error(long status, const char *body, size_t len, struct d01_error *err)
{
	char code[64], desc[AZ_QUOTE_MAX + 1];
	json_t *root = json_loadb(body, len, 0, NULL);

	d01_clean_copy(code, sizeof(code),
	    json_string_value(json_object_get(root, "error")));
	d01_clean_copy(desc, sizeof(desc),
	    json_string_value(json_object_get(root, "error_description")));
	d01_error_set(err,
	    status == 400 || status == 401 || status == 403 ? D01_E_AUTH
		: status == 429				    ? D01_E_RATELIMIT
							    : D01_E_UPSTREAM,
	    "HTTP %ld: %s%s%s", status, code, code[0] && desc[0] ? ": " : "",
	    code[0] || desc[0]	       ? desc
		: json_is_object(root) ? "request failed"
				       : "not a JSON reply");
	err->status = status;
	err->retryable = status == 429 || status >= 500;
	json_decref(root);
	return err->code;
}

enum d01_err
az_arm_error(long status, const char *body, size_t len, struct d01_error *err)
{
	char code[64], msg[AZ_QUOTE_MAX + 1];
	json_t *root = json_loadb(body, len, 0, NULL);
	const json_t *e = json_object_get(root, "error");

	d01_clean_copy(
	    code, sizeof(code), json_string_value(json_object_get(e, "code")));
	d01_clean_copy(
	    msg, sizeof(msg), json_string_value(json_object_get(e, "message")));
	d01_error_set(err,
	    status == 401			 ? D01_E_AUTH
		: status == 403			 ? D01_E_FORBIDDEN
		: status == 404			 ? D01_E_NOTFOUND
		: status == 409 || status == 412 ? D01_E_CONFLICT
		: status == 429			 ? D01_E_RATELIMIT
						 : D01_E_UPSTREAM,
	    "HTTP %ld: %s%s%s", status, code, code[0] && msg[0] ? ": " : "",
	    code[0] || msg[0]	       ? msg
		: json_is_object(root) ? "request failed"
				       : "not a JSON reply");
	err->status = status;
	err->retryable = status == 429 || status >= 500;
	json_decref(root);
	return err->code;
}

void
az_rrset_clear(struct az_rrset *rs)
{
	json_decref(rs->records);
	json_decref(rs->metadata);
	memset(rs, 0, sizeof(*rs));
}

/* A TXT record's text: its "value" strings joined (Azure splits long
 * texts into 255-byte strings). 0 with out filled, -1 malformed. */
static int
record_text(const json_t *rec, char *out, size_t n)
{
	const json_t *v = json_object_get(rec, "value"), *s;
	size_t i, o = 0, l;

	if (!json_is_array(v))
		return -1;
	out[0] = '\0';
	for (i = 0; i < json_array_size(v); i++) {
		s = json_array_get(v, i);
		if (!json_is_string(s))
			return -1;
		l = json_string_length(s);
		if (o + l >= n) /* longer than any value of ours: no match */
			return 1;
		memcpy(out + o, json_string_value(s), l);
		o += l;
		out[o] = '\0';
	}
	return 0;
}

int
az_rrset_parse(const char *body, size_t len, int private_zone,
    struct az_rrset *rs, struct d01_error *err)
{
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	const json_t *props = json_object_get(root, "properties"), *recs, *ttl;
	const json_t *etag = json_object_get(root, "etag");
	const char *e = json_string_value(etag), *what = NULL;
	char text[300];
	size_t i;

	memset(rs, 0, sizeof(*rs));
	recs =
	    json_object_get(props, private_zone ? "txtRecords" : "TXTRecords");
	ttl = json_object_get(props, private_zone ? "ttl" : "TTL");
	if (!json_is_object(props))
		what = "no properties";
	else if (e == NULL || *e == '\0' ||
	    json_string_length(etag) >= AZ_ETAG_MAX ||
	    strlen(e) != json_string_length(etag))
		what = "no usable etag";
	else if (!json_is_integer(ttl) || json_integer_value(ttl) < 0 ||
	    json_integer_value(ttl) > 2147483647)
		what = "no usable TTL";
	else if (recs != NULL && !json_is_array(recs))
		what = "TXT records that are not a list";
	for (i = 0; what == NULL && e[i] != '\0'; i++)
		if ((unsigned char)e[i] < 0x20 || (unsigned char)e[i] >= 0x7f)
			what = "an etag with control bytes";
	for (i = 0; what == NULL && i < json_array_size(recs); i++)
		if (record_text(json_array_get(recs, i), text, sizeof(text)) <
		    0)
			what = "a TXT record without a list of strings";
	if (what != NULL) {
		d01_error_set(err, D01_E_PROTOCOL,
		    "the record set in the reply has %s", what);
		json_decref(root);
		return -1;
	}
	rs->exists = 1;
	snprintf(rs->etag, sizeof(rs->etag), "%s", e);
	rs->ttl = json_integer_value(ttl);
	rs->records = recs != NULL ? json_incref((json_t *)recs) : json_array();
	rs->metadata = json_incref(json_object_get(props, "metadata"));
	json_decref(root);
	if (rs->records == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory"), -1;
	return 0;
}

int
az_rrset_change(const struct az_rrset *rs, const char *value, int present,
    int private_zone, char **body, struct d01_error *err)
{
	json_t *keep = json_array(), *props = NULL, *root = NULL;
	char text[300];
	size_t i, n = rs->records != NULL ? json_array_size(rs->records) : 0;
	int ours = 0, rc = -1;

	*body = NULL;
	if (keep == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		json_t *r = json_array_get(rs->records, i);

		if (record_text(r, text, sizeof(text)) == 0 &&
		    strcmp(text, value) == 0) {
			ours++;
			if (present && ours == 1 && json_array_append(keep, r))
				goto nomem;
			continue; /* CleanUp drops it (and any duplicate) */
		}
		if (json_array_append(keep, r) != 0)
			goto nomem;
	}
	if (present ? ours > 0 : ours == 0) {
		rc = AZ_NOOP;
		goto out;
	}
	if (!present && json_array_size(keep) == 0) {
		rc = AZ_DELETE;
		goto out;
	}
	if (present && json_array_size(keep) >= AZ_RECORDS_MAX) {
		d01_error_set(err, D01_E_LIMIT,
		    "the TXT record set already holds %zu records: Azure DNS "
		    "allows at most %d records in a record set",
		    json_array_size(keep), AZ_RECORDS_MAX);
		goto out;
	}
	if (present &&
	    json_array_append_new(keep, json_pack("{s:[s]}", "value", value)) !=
		0)
		goto nomem;
	props = json_pack("{s:I, s:O}", private_zone ? "ttl" : "TTL",
	    (json_int_t)(rs->exists ? rs->ttl : AZ_TTL_DEFAULT),
	    private_zone ? "txtRecords" : "TXTRecords", keep);
	if (props == NULL ||
	    (rs->metadata != NULL &&
		json_object_set(props, "metadata", rs->metadata) != 0) ||
	    (root = json_pack("{s:O}", "properties", props)) == NULL ||
	    (*body = json_dumps(root, JSON_COMPACT)) == NULL)
		goto nomem;
	rc = AZ_PUT;
	goto out;
nomem:
	d01_error_set(err, D01_E_NOMEM, "out of memory");
	rc = -1;
out:
	json_decref(keep);
	json_decref(props);
	json_decref(root);
	return rc;
}
