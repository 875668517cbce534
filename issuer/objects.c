/* SPDX-License-Identifier: ISC */
/* Parsers for ACME orders, authorizations and account objects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "issuer/directory.h"
#include "issuer/objects.h"

static const char *const status_names[D01_ACME_ST__MAX] = {
    [D01_ACME_ST_UNKNOWN] = "unknown",
    [D01_ACME_ST_PENDING] = "pending",
    [D01_ACME_ST_READY] = "ready",
    [D01_ACME_ST_PROCESSING] = "processing",
    [D01_ACME_ST_VALID] = "valid",
    [D01_ACME_ST_INVALID] = "invalid",
    [D01_ACME_ST_EXPIRED] = "expired",
    [D01_ACME_ST_DEACTIVATED] = "deactivated",
    [D01_ACME_ST_REVOKED] = "revoked",
};

enum d01_acme_status
d01_acme_status_parse(const char *s)
{
	int i;

	for (i = 1; s != NULL && i < D01_ACME_ST__MAX; i++)
		if (strcmp(s, status_names[i]) == 0)
			return (enum d01_acme_status)i;
	return D01_ACME_ST_UNKNOWN;
}

const char *
d01_acme_status_name(enum d01_acme_status st)
{
	return (unsigned)st < D01_ACME_ST__MAX ? status_names[st] : "unknown";
}

static json_t *
load_object(
    const char *body, size_t len, const char *what, struct d01_error *err)
{
	json_t *o = json_loadb(body, len, 0, NULL);

	if (!json_is_object(o)) {
		json_decref(o);
		d01_error_set(
		    err, D01_E_PROTOCOL, "%s: not a JSON object", what);
		return NULL;
	}
	return o;
}

static enum d01_acme_status
status_of(const json_t *o)
{
	return d01_acme_status_parse(
	    json_string_value(json_object_get(o, "status")));
}

void
d01_acme_order_clear(struct d01_acme_order *o)
{
	size_t i;

	if (o == NULL)
		return;
	for (i = 0; i < o->nauthz; i++)
		free(o->authz[i]);
	free(o->authz);
	free(o->finalize);
	free(o->certificate);
	memset(o, 0, sizeof(*o));
}

static enum d01_err
order_authz(const json_t *list, struct d01_acme_order *o, struct d01_error *err)
{
	size_t i, n = json_array_size(list);

	if (!json_is_array(list) || n > D01_ACME_NAMES_MAX)
		return d01_error_set(err, D01_E_PROTOCOL,
		    "order: authorizations missing or more than %d",
		    D01_ACME_NAMES_MAX);
	if (n > 0 && (o->authz = calloc(n, sizeof(char *))) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		const char *u = json_string_value(json_array_get(list, i));

		if (!d01_acme_url_ok(u))
			return d01_error_set(err, D01_E_PROTOCOL,
			    "order: bad authorization URL");
		if ((o->authz[o->nauthz] = strdup(u)) == NULL)
			return d01_error_set(err, D01_E_NOMEM, "out of memory");
		o->nauthz++;
	}
	return D01_OK;
}

enum d01_err
d01_acme_order_parse(const char *body, size_t len, struct d01_acme_order *o,
    struct d01_error *err)
{
	json_t *j;
	enum d01_err rc;

	memset(o, 0, sizeof(*o));
	if ((j = load_object(body, len, "order", err)) == NULL)
		return D01_E_PROTOCOL;
	o->status = status_of(j);
	o->finalize = d01_acme_url_member(j, "finalize");
	o->certificate = d01_acme_url_member(j, "certificate");
	o->has_error = d01_acme_problem_from_json(
			   json_object_get(j, "error"), &o->error) == 0;
	rc = order_authz(json_object_get(j, "authorizations"), o, err);
	if (rc == D01_OK && o->status == D01_ACME_ST_UNKNOWN)
		rc = d01_error_set(err, D01_E_PROTOCOL, "order: no status");
	if (rc == D01_OK && o->finalize == NULL)
		rc = d01_error_set(err, D01_E_PROTOCOL, "order: no finalize");
	json_decref(j);
	if (rc != D01_OK)
		d01_acme_order_clear(o);
	return rc;
}

void
d01_acme_authz_clear(struct d01_acme_authz *a)
{
	if (a == NULL)
		return;
	free(a->chall_url);
	memset(a, 0, sizeof(*a));
}

static int
token_ok(const char *t)
{
	size_t i, n = t ? strlen(t) : 0;

	if (n == 0 || n > D01_ACME_TOKEN_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((t[i] >= 'A' && t[i] <= 'Z') ||
			(t[i] >= 'a' && t[i] <= 'z') ||
			(t[i] >= '0' && t[i] <= '9') || t[i] == '-' ||
			t[i] == '_'))
			return 0;
	return 1;
}

/* Pick the dns-01 challenge; note the first error of any challenge. */
static enum d01_err
authz_challenges(
    const json_t *list, struct d01_acme_authz *a, struct d01_error *err)
{
	const json_t *c;
	const char *type;
	size_t i;

	if (!json_is_array(list))
		return d01_error_set(
		    err, D01_E_PROTOCOL, "authorization: no challenges");
	json_array_foreach(list, i, c)
	{
		type = json_string_value(json_object_get(c, "type"));
		if (type == NULL || strcmp(type, "dns-01") != 0) {
			if (!a->has_error)
				a->has_error = d01_acme_problem_from_json(
						   json_object_get(c, "error"),
						   &a->error) == 0;
			continue;
		}
		if (a->has_dns01)
			continue;
		a->chall_url = d01_acme_url_member(c, "url");
		type = json_string_value(json_object_get(c, "token"));
		if (a->chall_url == NULL || !token_ok(type))
			return d01_error_set(err, D01_E_PROTOCOL,
			    "authorization: bad dns-01 url or token");
		snprintf(a->token, sizeof(a->token), "%s", type);
		a->chall_status = status_of(c);
		a->has_dns01 = 1;
		/* The dns-01 error is the one to report. */
		a->has_error =
		    d01_acme_problem_from_json(
			json_object_get(c, "error"), &a->error) == 0 ||
		    a->has_error;
	}
	return D01_OK;
}

enum d01_err
d01_acme_authz_parse(const char *body, size_t len, struct d01_acme_authz *a,
    struct d01_error *err)
{
	const json_t *id;
	const char *value;
	json_t *j;
	enum d01_err rc = D01_OK;

	memset(a, 0, sizeof(*a));
	if ((j = load_object(body, len, "authorization", err)) == NULL)
		return D01_E_PROTOCOL;
	a->status = status_of(j);
	a->wildcard = json_is_true(json_object_get(j, "wildcard"));
	id = json_object_get(j, "identifier");
	value = json_string_value(json_object_get(id, "value"));
	if (value == NULL || strlen(value) == 0 || strlen(value) > 253 ||
	    a->status == D01_ACME_ST_UNKNOWN)
		rc = d01_error_set(err, D01_E_PROTOCOL,
		    "authorization: no identifier or status");
	else
		snprintf(a->ident, sizeof(a->ident), "%s%s",
		    a->wildcard ? "*." : "", value);
	if (rc == D01_OK)
		rc = authz_challenges(json_object_get(j, "challenges"), a, err);
	json_decref(j);
	if (rc != D01_OK)
		d01_acme_authz_clear(a);
	return rc;
}

enum d01_acme_status
d01_acme_account_status(const char *body, size_t len)
{
	json_t *j = json_loadb(body, len, 0, NULL);
	enum d01_acme_status st = status_of(j);

	json_decref(j);
	return st;
}
