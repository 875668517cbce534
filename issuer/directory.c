/* SPDX-License-Identifier: ISC */
/* ACME directory parsing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "issuer/directory.h"
#include "core/dname.h"

/* The public ACME CAs by short name (their documented directory URLs). */
static const struct {
	const char *name, *url;
} named_dirs[] = {
    {"letsencrypt", "https://acme-v02.api.letsencrypt.org/directory"},
    {"letsencrypt-staging",
	"https://acme-staging-v02.api.letsencrypt.org/directory"},
    {"zerossl", "https://acme.zerossl.com/v2/DV90"},
    {"google", "https://dv.acme-v02.api.pki.goog/directory"},
    {"google-staging", "https://dv.acme-v02.test-api.pki.goog/directory"},
};

const char d01_acme_directory_names[] = D01_ACME_DIRECTORY_NAMES;

const char *
d01_acme_directory_named(const char *name)
{
	size_t i;

	for (i = 0;
	     name != NULL && i < sizeof(named_dirs) / sizeof(named_dirs[0]);
	     i++)
		if (strcmp(name, named_dirs[i].name) == 0)
			return named_dirs[i].url;
	return NULL;
}

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
	size_t i;

	if (d == NULL)
		return;
	free(d->new_nonce);
	free(d->new_account);
	free(d->new_order);
	free(d->revoke_cert);
	free(d->key_change);
	free(d->renewal_info);
	free(d->terms);
	for (i = 0; i < d->nprofiles; i++) {
		free(d->profiles[i]);
		free(d->profile_desc[i]);
	}
	for (i = 0; i < d->ncaa_ids; i++)
		free(d->caa_ids[i]);
	memset(d, 0, sizeof(*d));
}

/* A profile name we can send back and print: [A-Za-z0-9._-], 1-64. */
static int
profile_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > D01_ACME_PROFILE_NAME)
		return 0;
	return strspn(s,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789._-") == n;
}

/* meta.profiles: {name: description}. Names we could not send back are
 * left out; descriptions are shown to users, so control characters are
 * replaced and the length bounded. */
static int
parse_profiles(json_t *meta, struct d01_acme_dir *d)
{
	json_t *prof = json_object_get(meta, "profiles"), *v;
	const char *k, *desc;
	char *c;

	json_object_foreach(prof, k, v)
	{
		if (d->nprofiles == D01_ACME_PROFILES_MAX)
			break;
		if (!profile_name_ok(k))
			continue;
		desc = json_is_string(v) ? json_string_value(v) : "";
		if ((d->profiles[d->nprofiles] = strdup(k)) == NULL ||
		    (d->profile_desc[d->nprofiles] = strndup(desc, 512)) ==
			NULL) {
			free(d->profiles[d->nprofiles]);
			return -1;
		}
		for (c = d->profile_desc[d->nprofiles]; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = ' ';
		d->nprofiles++;
	}
	return 0;
}

/* meta.caaIdentities: domain names, kept normalised without the dot. */
static int
parse_caa_ids(json_t *meta, struct d01_acme_dir *d)
{
	json_t *ids = json_object_get(meta, "caaIdentities"), *v;
	char buf[D01_DNAME_BUF];
	size_t i;

	json_array_foreach(ids, i, v)
	{
		if (d->ncaa_ids == D01_ACME_CAA_IDS_MAX)
			break;
		if (!json_is_string(v) ||
		    d01_dname_normalise(
			buf, sizeof(buf), json_string_value(v)) != 0)
			continue;
		buf[strlen(buf) - 1] = '\0';
		if ((d->caa_ids[d->ncaa_ids] = strdup(buf)) == NULL)
			return -1;
		d->ncaa_ids++;
	}
	return 0;
}

int
d01_acme_dir_profile(const struct d01_acme_dir *d, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < d->nprofiles; i++)
		if (strcmp(d->profiles[i], name) == 0)
			return (int)i;
	return -1;
}

void
d01_acme_dir_profiles_text(const struct d01_acme_dir *d, char *out, size_t len)
{
	size_t i, o = 0;
	int n;

	if (len == 0)
		return;
	snprintf(out, len, "%s", d->nprofiles ? "" : "none");
	for (i = 0; i < d->nprofiles && o < len; i++) {
		n = snprintf(
		    out + o, len - o, "%s%s", i ? ", " : "", d->profiles[i]);
		if (n < 0)
			break;
		o += (size_t)n;
	}
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
	if (parse_profiles(meta, d) != 0 || parse_caa_ids(meta, d) != 0) {
		json_decref(o);
		d01_acme_dir_clear(d);
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	}
	json_decref(o);
	if (d->new_nonce == NULL || d->new_account == NULL ||
	    d->new_order == NULL) {
		d01_acme_dir_clear(d);
		return d01_error_set(err, D01_E_PROTOCOL,
		    "directory: newNonce, newAccount or newOrder missing");
	}
	return D01_OK;
}
