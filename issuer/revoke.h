/* SPDX-License-Identifier: ISC */
/*
 * `dns01 revoke` (RFC 8555 §7.6): revoke the certificate in an --out
 * directory, signed with the account key ("kid"; the account must
 * exist already) or with the certificate's own key ("jwk"). The files
 * are left as they are. One loop of its own; synchronous to the caller.
 */
#ifndef D01_ISSUER_REVOKE_H
#define D01_ISSUER_REVOKE_H

#include "issuer/issue.h"

struct d01_revoke_opts {
	const char *out;	 /* the --out directory of `issue` */
	const char *directory;	 /* NULL: the one in out/renewal.json */
	const char *account_key; /* NULL: out/account.key */
	const char *ca_bundle;	 /* NULL: the system's */
	int reason;		 /* RFC 5280 CRLReason, -1: none sent */
	int with_cert_key;	 /* sign with out/privkey.pem */
};

/* "keyCompromise" etc. to its RFC 5280 code; -1 when unknown. */
int d01_revoke_reason(const char *name);
/* The names d01_revoke_reason knows, for messages. */
extern const char d01_revoke_reasons[];

/* D01_ISSUE_DONE when the CA revoked it (one line on stdout), else a
 * line on stderr naming the step; BADCONF when the options cannot
 * work. */
enum d01_issue_status d01_revoke(const struct d01_revoke_opts *o);

#endif
