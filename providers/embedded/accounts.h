/* SPDX-License-Identifier: ISC */
/*
 * The accounts of the acme-dns API (server/acmedns_api.c): who may write
 * which subdomain of --acmedns-domain. The local copy every instance
 * answers from, kept by the store back end through its sink
 * (core/recstore.h, acct_put/acct_remove) exactly like the TXT values;
 * owned by the embedded provider next to its d01_txtstore. Pure data, no
 * I/O, on the loop thread.
 *
 * Strings passed in are copied; an account returned is borrowed and valid
 * until the next change of the table.
 */
#ifndef D01_EMBEDDED_ACCOUNTS_H
#define D01_EMBEDDED_ACCOUNTS_H

#include <stddef.h>

#include "core/err.h"
#include "core/recstore.h"

/* Past this many accounts put() fails with D01_E_LIMIT. */
#define D01_ACCT_MAX 1000000
/* Field bounds, checked by put(): a username or subdomain is one DNS
 * label; a crypt(3) hash is ~60 bytes; allowfrom is a JSON array. */
#define D01_ACCT_LABEL_MAX     63
#define D01_ACCT_HASH_MAX      128
#define D01_ACCT_ALLOWFROM_MAX 4096

struct d01_acctab;

struct d01_acctab *d01_acctab_new(void);
void d01_acctab_free(struct d01_acctab *t);
void d01_acctab_clear(struct d01_acctab *t);
size_t d01_acctab_count(const struct d01_acctab *t);

/*
 * Insert or replace the account named a->username (every field copied).
 * Refused with D01_E_CONFLICT when another username holds a->subdomain
 * (a subdomain has one owner), D01_E_INVAL for a field out of bounds or
 * a username/subdomain that is not one lower-case DNS label.
 */
enum d01_err d01_acctab_put(struct d01_acctab *t,
    const struct d01_recstore_acct *a, struct d01_error *err);

/* Remove the account named username; nothing when it is not there. */
void d01_acctab_remove(struct d01_acctab *t, const char *username);

/* The account named username / owning subdomain, or NULL (borrowed). */
const struct d01_recstore_acct *d01_acctab_get(
    const struct d01_acctab *t, const char *username);
const struct d01_recstore_acct *d01_acctab_by_subdomain(
    const struct d01_acctab *t, const char *subdomain);

#endif
