/* SPDX-License-Identifier: ISC */
/*
 * The ACME directory (RFC 8555 §7.1.1, plus RFC 9773's renewalInfo): the
 * URLs of every resource and the meta flags we honour. Parsing is pure;
 * fetching happens in issuer/acme.c.
 */
#ifndef D01_DIRECTORY_H
#define D01_DIRECTORY_H

#include <stddef.h>

#include <jansson.h>

#include "core/err.h"

/* Longest URL accepted from a CA. */
#define D01_ACME_URL_MAX 2048
/* meta.profiles kept (name at most 64 bytes, description 512) and
 * meta.caaIdentities kept (domain names); more are ignored. */
#define D01_ACME_PROFILES_MAX 32
#define D01_ACME_PROFILE_NAME 64
#define D01_ACME_CAA_IDS_MAX  16

/* Owned strings (malloc'd); NULL when the directory lacks them. */
struct d01_acme_dir {
	char *new_nonce;
	char *new_account;
	char *new_order;
	char *revoke_cert;
	char *key_change;
	char *renewal_info; /* RFC 9773; NULL when the CA has no ARI */
	char *terms;	    /* meta.termsOfService */
	int eab_required;   /* meta.externalAccountRequired */
	/* meta.profiles (draft-ietf-acme-profiles): names and descriptions
	 * ("" when not a string), in the CA's order. */
	char *profiles[D01_ACME_PROFILES_MAX];
	char *profile_desc[D01_ACME_PROFILES_MAX];
	size_t nprofiles;
	/* meta.caaIdentities (RFC 8555 §7.1.1): lower case, no final dot. */
	char *caa_ids[D01_ACME_CAA_IDS_MAX];
	size_t ncaa_ids;
};

/*
 * Parse a directory body. newNonce, newAccount and newOrder are required.
 * On success `d` owns its strings (free with d01_acme_dir_clear); on
 * failure `d` is left empty.
 */
enum d01_err d01_acme_dir_parse(const char *body, size_t len,
    struct d01_acme_dir *d, struct d01_error *err);

/* Free the strings of d and zero it. NULL is accepted. */
void d01_acme_dir_clear(struct d01_acme_dir *d);

/* 1 when `url` is an http(s) URL without spaces or control characters and
 * at most D01_ACME_URL_MAX bytes long. */
int d01_acme_url_ok(const char *url);

/*
 * The directory URL of a well-known public CA by short name
 * ("letsencrypt", "letsencrypt-staging", "zerossl", "google",
 * "google-staging"); NULL when `name` is none of them. Static strings.
 */
const char *d01_acme_directory_named(const char *name);
/* The short names above, comma separated, for messages. */
#define D01_ACME_DIRECTORY_NAMES                                               \
	"letsencrypt, letsencrypt-staging, zerossl, google, google-staging"
extern const char d01_acme_directory_names[];

/* The profile named `name` is offered (an index), or -1. */
int d01_acme_dir_profile(const struct d01_acme_dir *d, const char *name);
/* "a, b, c" (the offered profiles), "none" when the CA offers none;
 * truncated to fit `len`. */
void d01_acme_dir_profiles_text(
    const struct d01_acme_dir *d, char *out, size_t len);

/* strdup of json member `name` of `o` when it is a valid URL, else NULL. */
char *d01_acme_url_member(const json_t *o, const char *name);

#endif
