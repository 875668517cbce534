/* SPDX-License-Identifier: ISC */
/*
 * Session start-up: fetch the directory, then find or create the account
 * (RFC 8555 §7.3): with a key that existed before, newAccount with
 * onlyReturnExisting first (no new account is ever made by mistake); when
 * the CA says accountDoesNotExist, or the key is new, newAccount with the
 * contact, termsOfServiceAgreed and, when given, the external account
 * binding (§7.3.4). On success the session's kid is set.
 */
#ifndef D01_ACCOUNT_H
#define D01_ACCOUNT_H

#include <stddef.h>

#include "core/err.h"
#include "providers/provider.h" /* d01_done_fn */

struct d01_acme;
struct d01_acme_account_op;

struct d01_acme_account_opts {
	const char *directory; /* directory URL */
	const char *email;     /* contact, may be NULL */
	int key_existed;       /* try onlyReturnExisting first */
	int only_existing;     /* and never create one (revocation) */
	const char *eab_kid;   /* NULL: no external account binding */
	const unsigned char *eab_key;
	size_t eab_len;
};

/*
 * Start. `o` and its strings are copied (the EAB key is wiped when the op
 * ends). Async call shape (docs/DESIGN.md, "The async call shape");
 * cb gets D01_OK once the kid is set, or an error naming the step
 * ("directory: ...", "newAccount: ...").
 */
struct d01_acme_account_op *d01_acme_account_start(struct d01_acme *a,
    const struct d01_acme_account_opts *o, d01_done_fn cb, void *arg,
    struct d01_error *err);

/* cb will not run; frees the op. NULL is a no-op. */
void d01_acme_account_cancel(struct d01_acme_account_op *op);

#endif
