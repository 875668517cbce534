/* SPDX-License-Identifier: ISC */
/* ACME directory parsing. */
#include <stdlib.h>
#include <string.h>

#include "issuer/directory.h"

int
d01_acme_url_ok(const char *url)
{
	size_t i, n;

	if (url == NULL)
		return 0;
	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
		return 0;
	n = strlen(url);
	if (n > D01_ACME_URL_MAX || n < 9)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
			return 0;
	return 1;
}

char *
d01_acme_url_member(const json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return d01_acme_url_ok(s) ? strdup(s) : NULL;
}

void
d01_acme_dir_clear(struct d01_acme_dir *d)
{
	if (d == NULL)
		return;
	free(d->new_nonce);
	free(d->new_account);
	free(d->new_order);
	free(d->revoke_cert);
	free(d->key_change);
	free(d->renewal_info);
	free(d->terms);
	memset(d, 0, sizeof(*d));
}

enum d01_err
d01_acme_dir_parse(
    const char *body, size_t len, struct d01_acme_dir *d, struct d01_error *err)
{
	json_t *o, *meta;
	const char *tos;

	memset(d, 0, sizeof(*d));
	if ((o = json_loadb(body, len, 0, NULL)) == NULL ||
	    !json_is_object(o)) {
		json_decref(o);
		return d01_error_set(
		    err, D01_E_PROTOCOL, "directory: not a JSON object");
	}
	d->new_nonce = d01_acme_url_member(o, "newNonce");
	d->new_account = d01_acme_url_member(o, "newAccount");
	d->new_order = d01_acme_url_member(o, "newOrder");
	d->revoke_cert = d01_acme_url_member(o, "revokeCert");
	d->key_change = d01_acme_url_member(o, "keyChange");
	d->renewal_info = d01_acme_url_member(o, "renewalInfo");
	meta = json_object_get(o, "meta");
	/* termsOfService is shown to users, never fetched: any string. */
	tos = json_string_value(json_object_get(meta, "termsOfService"));
	if (tos != NULL && strlen(tos) <= D01_ACME_URL_MAX)
		d->terms = strdup(tos);
	d->eab_required =
	    json_is_true(json_object_get(meta, "externalAccountRequired"));
	json_decref(o);
	if (d->new_nonce == NULL || d->new_account == NULL ||
	    d->new_order == NULL) {
		d01_acme_dir_clear(d);
		return d01_error_set(err, D01_E_PROTOCOL,
		    "directory: newNonce, newAccount or newOrder missing");
	}
	return D01_OK;
}
