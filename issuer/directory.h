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

/* strdup of json member `name` of `o` when it is a valid URL, else NULL. */
char *d01_acme_url_member(const json_t *o, const char *name);

#endif
