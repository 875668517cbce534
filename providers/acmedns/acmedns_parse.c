/* SPDX-License-Identifier: ISC */
/*
 * The pure parsers of the acmedns provider: the accounts JSON (a Secret's
 * value, so a tenant's input) and acme-dns's error replies (the server's
 * input). Nothing here allocates beyond jansson's tree, and no message
 * ever quotes a value from the accounts file.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "providers/acmedns/acmedns_int.h"

int
adns_txt_valid(const char *s)
{
	return strlen(s) == ADNS_TXT_LEN &&
	    strspn(s,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789-_") == ADNS_TXT_LEN;
}

int
adns_subdomain_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= ADNS_LABEL_MAX &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n &&
	    s[0] != '-' && s[n - 1] != '-';
}

/* A header-safe token: 1..max bytes, printable, no spaces. */
static int
token_ok(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* The member of `accounts` whose key equals `name`, any letter case. */
static json_t *
lookup(json_t *accounts, const char *name)
{
	const char *k;
	json_t *v;

	json_object_foreach(accounts, k, v)
	{
		if (strcasecmp(k, name) == 0)
			return v;
	}
	return NULL;
}

/* A string member of an account: its value, or NULL (absent, not a
 * string, or with a NUL inside). */
static const char *
field(const json_t *acct, const char *name)
{
	const json_t *v = json_object_get(acct, name);

	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

static enum d01_err
check_account(const json_t *acct, const char *key, struct adns_account *out,
    struct d01_error *err)
{
	const char *user = field(acct, "username");
	const char *pass = field(acct, "password");
	const char *sub = field(acct, "subdomain");

	if (!json_is_object(acct))
		return d01_error_set(err, D01_E_CONFIG,
		    "the account for %s is not a JSON object", key);
	if (user == NULL || !token_ok(user, ADNS_USER_MAX))
		return d01_error_set(err, D01_E_CONFIG,
		    "the account for %s: username must be 1-%d printable "
		    "characters without spaces",
		    key, ADNS_USER_MAX);
	if (pass == NULL || !token_ok(pass, ADNS_PASS_MAX))
		return d01_error_set(err, D01_E_CONFIG,
		    "the account for %s: password must be 1-%d printable "
		    "characters without spaces",
		    key, ADNS_PASS_MAX);
	if (sub == NULL || !adns_subdomain_valid(sub))
		return d01_error_set(err, D01_E_CONFIG,
		    "the account for %s: subdomain must be one lower-case DNS "
		    "label (acme-dns registers a UUID)",
		    key);
	memcpy(out->username, user, strlen(user) + 1);
	memcpy(out->password, pass, strlen(pass) + 1);
	memcpy(out->subdomain, sub, strlen(sub) + 1);
	return D01_OK;
}

enum d01_err
adns_account_find(const char *json, size_t len, const char *dns_name,
    struct adns_account *out, struct d01_error *err)
{
	char name[D01_DNAME_BUF];
	const char *bare;
	json_t *root, *acct;
	enum d01_err rc;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (dns_name == NULL || *dns_name == '\0' ||
	    strlen(dns_name) >= sizeof(name))
		return d01_error_set(
		    err, D01_E_INVAL, "the challenge has no dnsName");
	memcpy(name, dns_name, strlen(dns_name) + 1);
	if ((n = strlen(name)) > 1 && name[n - 1] == '.')
		name[n - 1] = '\0';
	/* Never quote jansson's error text: it can echo the input. */
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		return d01_error_set(err, D01_E_CONFIG,
		    "the accounts are not a JSON object keyed by domain");
	}
	bare = strncmp(name, "*.", 2) == 0 ? name + 2 : NULL;
	acct = lookup(root, name);
	if (acct == NULL && bare != NULL)
		acct = lookup(root, bare);
	if (acct == NULL)
		rc = d01_error_set(err, D01_E_CONFIG,
		    "the accounts have no entry for %s%s%s", name,
		    bare ? " nor " : "", bare ? bare : "");
	else
		rc = check_account(
		    acct, acct == lookup(root, name) ? name : bare, out, err);
	json_decref(root);
	return rc;
}

enum d01_err
adns_reply_error(
    long status, const char *body, size_t len, struct d01_error *err)
{
	char text[ADNS_QUOTE_MAX + 1] = "";
	const char *e;
	json_t *root = json_loadb(body, len, 0, NULL);

	e = json_string_value(json_object_get(root, "error"));
	/* acme-dns's text goes into logs and Challenge status. */
	d01_clean_copy(text, sizeof(text), e);
	d01_error_set(err,
	    status == 401 || status == 403 ? D01_E_AUTH
		: status == 429		   ? D01_E_RATELIMIT
					   : D01_E_UPSTREAM,
	    "HTTP %ld: %s", status,
	    text[0]		       ? text
		: json_is_object(root) ? "request failed"
				       : "not a JSON reply");
	err->status = status;
	err->retryable = status == 429 || status >= 500;
	json_decref(root);
	return err->code;
}
