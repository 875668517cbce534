/* SPDX-License-Identifier: ISC */
/* Revocation (revoke.h): directory, account (unless the certificate key
 * signs), then one POST to revokeCert. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/b64url.h"
#include "issuer/account.h"
#include "issuer/acme.h"
#include "issuer/acme_http.h"
#include "issuer/key.h"
#include "issuer/revoke.h"

/* RFC 5280 §5.3.1 CRLReason codes an ACME subscriber may ask for (RFC
 * 8555 §7.6; CAs refuse the others). */
static const struct {
	const char *name;
	int code;
} reasons[] = {
    {"unspecified", 0},
    {"keyCompromise", 1},
    {"affiliationChanged", 3},
    {"superseded", 4},
    {"cessationOfOperation", 5},
};

const char d01_revoke_reasons[] = "unspecified, keyCompromise, "
				  "affiliationChanged, superseded, "
				  "cessationOfOperation";

int
d01_revoke_reason(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(reasons) / sizeof(reasons[0]);
	     i++)
		if (strcmp(name, reasons[i].name) == 0)
			return reasons[i].code;
	return -1;
}

struct rv {
	const struct d01_revoke_opts *o;
	struct event_base *base;
	struct d01_acme *acme;
	struct d01_acme_account_op *acct;
	struct d01_acme_req *req;
	char *payload;
	struct d01_error err;
	int done;
};

static void
revoked(void *arg, const struct d01_error *err, const struct d01_acme_resp *r)
{
	struct rv *rv = arg;

	(void)r;
	rv->req = NULL;
	rv->err = *err;
	if (err->code != D01_OK)
		d01_error_prefix(&rv->err, "revokeCert: ");
	rv->done = 1;
	event_base_loopexit(rv->base, NULL);
}

static void
post_revoke(struct rv *rv)
{
	const char *url = d01_acme_directory(rv->acme)->revoke_cert;

	if (url == NULL) {
		d01_error_set(&rv->err, D01_E_PROTOCOL,
		    "the directory has no revokeCert");
		event_base_loopexit(rv->base, NULL);
		return;
	}
	rv->req =
	    d01_acme_post(rv->acme, url, rv->payload, revoked, rv, &rv->err);
	if (rv->req == NULL)
		event_base_loopexit(rv->base, NULL);
}

static void
account_done(void *arg, const struct d01_error *err)
{
	struct rv *rv = arg;

	rv->acct = NULL;
	if (err->code != D01_OK) {
		rv->err = *err;
		event_base_loopexit(rv->base, NULL);
		return;
	}
	post_revoke(rv);
}

static void
directory_done(
    void *arg, const struct d01_error *err, const struct d01_acme_resp *r)
{
	struct rv *rv = arg;

	rv->req = NULL;
	rv->err = *err;
	if (err->code == D01_OK &&
	    d01_acme_set_directory(rv->acme, r->body, r->len, &rv->err) ==
		D01_OK) {
		post_revoke(rv);
		return;
	}
	d01_error_prefix(&rv->err, "directory %s: ", rv->o->directory);
	event_base_loopexit(rv->base, NULL);
}

/* {"certificate": base64url(DER) [, "reason": n]} of out/cert.pem. */
static char *
revoke_payload(const char *path, int reason, char *serial, size_t slen,
    struct d01_error *err)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	char *b = NULL, *s = NULL, *hex = NULL;
	BIGNUM *bn = NULL;
	json_t *j = NULL;
	int n;

	if (f != NULL)
		fclose(f);
	if (x == NULL) {
		d01_error_set(err, D01_E_CONFIG, "%s: no certificate", path);
		return NULL;
	}
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) !=
		NULL &&
	    (hex = BN_bn2hex(bn)) != NULL)
		snprintf(serial, slen, "%s", hex);
	if ((n = i2d_X509(x, &der)) <= 0 ||
	    (b = d01_b64url_encode_new(der, (size_t)n)) == NULL ||
	    (j = json_pack("{s:s}", "certificate", b)) == NULL ||
	    (reason >= 0 &&
		json_object_set_new(j, "reason", json_integer(reason)) != 0) ||
	    (s = json_dumps(j, JSON_COMPACT)) == NULL)
		d01_error_set(err, D01_E_NOMEM, "out of memory");
	json_decref(j);
	free(b);
	OPENSSL_free(der);
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	return s;
}

/* renewal.json's directory, when --directory was not given. */
static char *
state_directory(const char *out, struct d01_error *err)
{
	char path[1100];
	json_t *j;
	char *d = NULL;
	const char *s;

	snprintf(path, sizeof(path), "%s/%s", out, D01_ISSUE_STATE_FILE);
	j = json_load_file(path, 0, NULL);
	s = json_string_value(json_object_get(j, "directory"));
	if (s == NULL || (d = strdup(s)) == NULL)
		d01_error_set(err, D01_E_CONFIG,
		    "%s has no directory: give --directory", path);
	json_decref(j);
	return d;
}

enum d01_issue_status
d01_revoke(const struct d01_revoke_opts *o)
{
	struct d01_revoke_opts oo = *o;
	struct rv rv = {.o = &oo};
	struct d01_acme_account_opts ao = {0};
	struct d01_acme_http *http = NULL;
	EVP_PKEY *key = NULL;
	char path[1100], serial[128] = "?", *dir = NULL;
	enum d01_issue_status rc = D01_ISSUE_FAILED;

	d01_error_clear(&rv.err);
	if (oo.directory == NULL &&
	    (oo.directory = dir = state_directory(oo.out, &rv.err)) == NULL)
		goto out;
	snprintf(path, sizeof(path), "%s/cert.pem", oo.out);
	if ((rv.payload = revoke_payload(
		 path, oo.reason, serial, sizeof(serial), &rv.err)) == NULL)
		goto out;
	if (oo.with_cert_key)
		snprintf(path, sizeof(path), "%s/privkey.pem", oo.out);
	else if (oo.account_key != NULL)
		snprintf(path, sizeof(path), "%s", oo.account_key);
	else
		snprintf(path, sizeof(path), "%s/account.key", oo.out);
	if ((key = d01_key_load(path, &rv.err)) == NULL) {
		d01_error_prefix(&rv.err, "%s: ", path);
		goto out;
	}
	if ((rv.base = event_base_new()) == NULL) {
		d01_error_set(&rv.err, D01_E_NOMEM, "cannot make a loop");
		goto out;
	}
	if ((http = d01_acme_http_new(rv.base, oo.ca_bundle, &rv.err)) ==
		NULL ||
	    (rv.acme = d01_acme_new(rv.base, http, key, &rv.err)) == NULL)
		goto out;
	if (oo.with_cert_key) {
		/* No kid: the request carries the certificate key's jwk. */
		rv.req = d01_acme_get(
		    rv.acme, oo.directory, directory_done, &rv, &rv.err);
		if (rv.req == NULL)
			goto out;
	} else {
		ao.directory = oo.directory;
		ao.only_existing = 1;
		rv.acct = d01_acme_account_start(
		    rv.acme, &ao, account_done, &rv, &rv.err);
		if (rv.acct == NULL)
			goto out;
	}
	event_base_dispatch(rv.base);
	if (rv.done && rv.err.code == D01_OK) {
		printf("%s: revoked serial %s\n", oo.out, serial);
		rc = D01_ISSUE_DONE;
	}
out:
	if (rc != D01_ISSUE_DONE) {
		fprintf(stderr, "dns01 revoke: %s\n",
		    rv.err.code ? rv.err.msg : "not revoked");
		if (rv.err.code == D01_E_CONFIG)
			rc = D01_ISSUE_BADCONF;
	}
	d01_acme_req_cancel(rv.req);
	d01_acme_account_cancel(rv.acct);
	d01_acme_free(rv.acme);
	d01_acme_http_free(http);
	if (rv.base != NULL)
		event_base_free(rv.base);
	EVP_PKEY_free(key);
	free(rv.payload);
	free(dir);
	return rc;
}
