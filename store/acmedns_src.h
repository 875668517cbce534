/* SPDX-License-Identifier: ISC */
/*
 * An acme-dns database, read for `dns01 acmedns import`: its `records`
 * table (Username, Password = bcrypt hash, Subdomain, AllowFrom = JSON
 * array of CIDRs) and its `txt` table (Subdomain, Value, LastUpdate, two
 * rows per subdomain, empty until first written). SQLite (`sqlite:PATH`,
 * opened read-only) or PostgreSQL (`postgres://...`). The CLI's own
 * process reads the operator's database before any loop runs, so the
 * calls block.
 *
 * Rows that dns01 could not serve are not carried over silently: each is
 * counted in `skipped` with one line in `why` naming the row (never the
 * hash).
 */
#ifndef D01_STORE_ACMEDNS_SRC_H
#define D01_STORE_ACMEDNS_SRC_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/recstore.h"

struct d01_acmedns_value {
	char *subdomain; /* lower-case label */
	char *value;	 /* 43 bytes of base64url, as acme-dns checked */
	int64_t updated; /* Unix seconds (LastUpdate) */
};

struct d01_acmedns_src {
	struct d01_recstore_acct *accts; /* strings owned */
	size_t naccts;
	struct d01_acmedns_value *values; /* non-empty ones only */
	size_t nvalues;
	size_t skipped;
	char **why; /* nwhy lines, at most D01_ACMEDNS_SRC_MAXWHY */
	size_t nwhy;
};

#define D01_ACMEDNS_SRC_MAXWHY	20
#define D01_ACMEDNS_SRC_MAXROWS 1000000

/* Read the database named by url into *src (zeroed first). Fails on an
 * unknown scheme, a database that cannot be opened or lacks the tables,
 * or more than D01_ACMEDNS_SRC_MAXROWS rows; messages never carry the
 * password of a URL. */
enum d01_err d01_acmedns_src_read(
    const char *url, struct d01_acmedns_src *src, struct d01_error *err);

/* Free what read filled (hashes wiped); safe on a zeroed struct. */
void d01_acmedns_src_free(struct d01_acmedns_src *src);

/* The checks read applies to one row, for tests and the fuzz target:
 * 0 when the account can be carried over, else -1 and *why. */
int d01_acmedns_src_check_acct(
    const struct d01_recstore_acct *a, const char **why);

#endif
