/* SPDX-License-Identifier: ISC */
/*
 * The pure half of workload identity federation for clouddns: an
 * Application Default Credentials file of type external_account, the
 * subject token in its credential_source file, and the IAM Credentials
 * generateAccessToken reply. No I/O; the fuzz target
 * (tests/fuzz/fuzz_clouddns_key.c) drives all three. The exchange itself
 * (STS, then impersonation) is in gcp_token.c.
 *
 * Only the operator's GOOGLE_APPLICATION_CREDENTIALS reaches
 * gcp_adc_parse: an external account names a file on the server to
 * read, so a tenant's Secret never may (gcp_cred_parse refuses it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "providers/clouddns/gcp_int.h"

#define WHERE	    "external account (workload identity federation)"
#define STS_DEFAULT "https://sts.googleapis.com/v1/token"

/* An absolute https URL without white space, control bytes or user
 * info: it is the operator's, but a typo should say so here, not as a
 * transport error later. */
static int
https_url(const char *u)
{
	size_t i, auth;

	if (u == NULL || strncmp(u, "https://", 8) != 0 || u[8] == '\0')
		return 0;
	for (i = 0; u[i] != '\0'; i++)
		if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f)
			return 0;
	auth = strcspn(u + 8, "/?#");
	return memchr(u + 8, '@', auth) == NULL;
}

static enum d01_err
ext_parse(const json_t *root, struct gcp_cred *c, struct d01_error *err)
{
	const json_t *src = json_object_get(root, "credential_source");
	const json_t *fmt = json_object_get(src, "format");
	const char *bad = NULL, *ftype = NULL;
	char *tmp = NULL;

	if (!json_is_object(src))
		return d01_error_set(err, D01_E_CONFIG,
		    "the external account has no credential_source object");
	if (json_object_get(src, "file") == NULL) {
		/* Only a file: a URL or a program would be a second
		 * transport (or a process) to run from the loop. */
		bad = json_object_get(src, "url")	     ? "url"
		    : json_object_get(src, "executable")     ? "executable"
		    : json_object_get(src, "environment_id") ? "environment_id"
							     : NULL;
		if (bad != NULL)
			return d01_error_set(err, D01_E_CONFIG,
			    "the external account's credential_source.%s is "
			    "not supported: mount the subject token as a file "
			    "and name it in credential_source.file",
			    bad);
		return d01_error_set(err, D01_E_CONFIG,
		    "the external account has no credential_source.file");
	}
	if (gcp_member(root, "audience", 1024, 0, &c->audience) != 0 ||
	    c->audience == NULL)
		bad = "audience";
	else if (gcp_member(root, "subject_token_type", 256, 0,
		     &c->subject_type) != 0 ||
	    c->subject_type == NULL)
		bad = "subject_token_type";
	else if (gcp_member(root, "token_url", 512, 0, &c->token_uri) != 0 ||
	    (c->token_uri != NULL && !https_url(c->token_uri)))
		bad = "token_url (an https URL)";
	else if (gcp_member(root, "service_account_impersonation_url", 1024, 0,
		     &c->impersonate) != 0 ||
	    (c->impersonate != NULL && !https_url(c->impersonate)))
		bad = "service_account_impersonation_url (an https URL)";
	else if (gcp_member(src, "file", 1024, 0, &c->subject_file) != 0 ||
	    c->subject_file == NULL)
		bad = "credential_source.file";
	else if (fmt != NULL && !json_is_null(fmt) &&
	    (!json_is_object(fmt) || gcp_member(fmt, "type", 8, 0, &tmp) != 0))
		bad = "credential_source.format";
	if (bad != NULL)
		goto fail;
	ftype = tmp != NULL ? tmp : "text";
	if (strcmp(ftype, "json") == 0) {
		if (gcp_member(fmt, "subject_token_field_name", 128, 0,
			&c->subject_field) != 0 ||
		    c->subject_field == NULL)
			bad =
			    "credential_source.format.subject_token_field_name";
	} else if (strcmp(ftype, "text") != 0) {
		bad = "credential_source.format.type (text or json)";
	}
	free(tmp);
	if (bad != NULL)
		goto fail;
	if (c->token_uri == NULL &&
	    (c->token_uri = strdup(STS_DEFAULT)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	return D01_OK;
fail:
	return d01_error_set(
	    err, D01_E_CONFIG, "the external account has no usable %s", bad);
}

enum d01_err
gcp_adc_parse(
    const char *json, size_t len, struct gcp_cred *c, struct d01_error *err)
{
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	const char *type = json_string_value(json_object_get(root, "type"));

	memset(c, 0, sizeof(*c));
	if (type == NULL || strcmp(type, "external_account") != 0) {
		/* A key, or a failure that says what a key lacks. */
		json_decref(root);
		return gcp_cred_parse(json, len, c, err);
	}
	if (ext_parse(root, c, err) != D01_OK)
		goto fail;
	if ((c->where = strdup(WHERE)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto fail;
	}
	c->kind = GCP_EXTERNAL;
	json_decref(root);
	return D01_OK;
fail:
	json_decref(root);
	gcp_cred_free(c);
	return err->code;
}

char *
gcp_subject_token(
    const char *text, size_t len, const char *field, struct d01_error *err)
{
	json_t *root = NULL;
	const char *s = text;
	char *out = NULL;
	size_t i, n = len;

	if (field != NULL) {
		root = json_loadb(text, len, 0, NULL);
		s = json_string_value(json_object_get(root, field));
		if (!json_is_object(root) || s == NULL) {
			d01_error_set(err, D01_E_CONFIG,
			    "the subject token file is not a JSON object with "
			    "a string %s",
			    field);
			goto out;
		}
		n = json_string_length(json_object_get(root, field));
	}
	/* Surrounding white space (a trailing newline) is no part of it. */
	while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
		s++;
		n--;
	}
	while (n > 0 &&
	    (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
		s[n - 1] == '\n'))
		n--;
	if (n == 0 || n > GCP_SUBJECT_MAX) {
		d01_error_set(err, D01_E_CONFIG,
		    "the subject token is empty or longer than %d bytes",
		    GCP_SUBJECT_MAX);
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			break;
	if (i < n) {
		d01_error_set(
		    err, D01_E_CONFIG, "the subject token holds control bytes");
		goto out;
	}
	if ((out = malloc(n + 1)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(out, s, n);
	out[n] = '\0';
out:
	/* The JSON text held the token: jansson's copy goes too. */
	if (root != NULL && s != NULL && s != text)
		OPENSSL_cleanse(
		    (char *)json_string_value(json_object_get(root, field)),
		    json_string_length(json_object_get(root, field)));
	json_decref(root);
	return out;
}

/* RFC 3339 ("2026-12-07T08:00:00Z", fractions and offsets allowed) to
 * Unix seconds; 0 when malformed. Field widths keep sscanf within int,
 * the ranges keep timegm's arithmetic defined. */
static long long
rfc3339(const char *s)
{
	struct tm tm = {0};
	int n = 0, oh = 0, om = 0, sign;
	long long t;

	if (s == NULL ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
		&tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 19 || tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour < 0 ||
	    tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 ||
	    tm.tm_sec < 0 || tm.tm_sec > 60)
		return 0;
	s += n;
	if (*s == '.') {
		s++;
		if (strspn(s, "0123456789") == 0)
			return 0;
		s += strspn(s, "0123456789");
	}
	if (strcmp(s, "Z") != 0 && strcmp(s, "z") != 0) {
		if ((*s != '+' && *s != '-') || strlen(s) != 6 || s[3] != ':' ||
		    strspn(s + 1, "0123456789") != 2 ||
		    strspn(s + 4, "0123456789") != 2)
			return 0;
		sign = *s == '-' ? -1 : 1;
		oh = (s[1] - '0') * 10 + (s[2] - '0');
		om = (s[4] - '0') * 10 + (s[5] - '0');
		if (oh > 23 || om > 59)
			return 0;
		oh *= sign;
		om *= sign;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = (long long)timegm(&tm);
	return t - (long long)oh * 3600 - (long long)om * 60;
}

char *
gcp_iam_reply(long status, const char *body, size_t len, long long now,
    long *expires_in, struct d01_error *err)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	const json_t *tok = json_object_get(root, "accessToken");
	const char *t = json_string_value(tok);
	char *out = NULL;
	long long exp;
	size_t i, n;

	*expires_in = 0;
	if (status < 200 || status > 299) {
		gcp_reply_error(status, body, len, err);
		goto out;
	}
	exp = rfc3339(json_string_value(json_object_get(root, "expireTime")));
	n = t != NULL ? json_string_length(tok) : 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || t[i] == 0x7f)
			break;
	if (n == 0 || n >= GCP_TOKEN_MAX || strlen(t) != n || i < n ||
	    exp <= now || exp - now > 7 * 86400) {
		d01_error_set(err, D01_E_PROTOCOL,
		    "HTTP %ld: no usable accessToken/expireTime", status);
		err->status = status;
		goto out;
	}
	*expires_in = (long)(exp - now);
	if ((out = strdup(t)) == NULL)
		d01_error_set(err, D01_E_NOMEM, "out of memory");
out:
	json_decref(root);
	return out;
}
