/* SPDX-License-Identifier: ISC */
/*
 * ACME problem documents (RFC 8555 §6.7, RFC 7807): parsed out of error
 * replies and out of invalid authorizations/orders, and turned into one
 * line for the user: "<type name>: <detail>[; <identifier>: <subdetail>]".
 * Text from the CA is copied with control characters replaced, truncated
 * to fit; nothing here allocates.
 */
#ifndef D01_PROBLEM_H
#define D01_PROBLEM_H

#include <stddef.h>

#include <jansson.h>

#include "core/err.h"

#define D01_ACME_ERR_NS "urn:ietf:params:acme:error:"

struct d01_acme_problem {
	char type[128];	  /* the full type URI; "" when absent */
	char detail[320]; /* human-readable detail; may be "" */
	long status;	  /* "status" member, or 0 */
	int nsub;	  /* number of subproblems */
	char sub[256];	  /* first subproblem, "<identifier>: <detail>" */
};

/*
 * Parse a problem document held in `body` (`len` bytes). Returns 0 when
 * it is a JSON object with a string "type", else -1; `p` is always reset
 * first, so it is safe to print either way.
 */
int d01_acme_problem_parse(
    const char *body, size_t len, struct d01_acme_problem *p);

/* Same from an already decoded JSON value (borrowed). */
int d01_acme_problem_from_json(const json_t *o, struct d01_acme_problem *p);

/* The type without the ACME namespace ("badNonce"), else the full type;
 * "" when there is none. Borrowed from p. */
const char *d01_acme_problem_name(const struct d01_acme_problem *p);

/* 1 when p's type is urn:ietf:params:acme:error:<name>. */
int d01_acme_problem_is(const struct d01_acme_problem *p, const char *name);

/*
 * Fill err from p: a code chosen by type (badNonce, rateLimited and
 * serverInternal are retryable), the HTTP status, and the one-line text.
 */
void d01_acme_problem_to_error(
    const struct d01_acme_problem *p, long http_status, struct d01_error *err);

/* Write the one-line text of p into buf (size n). Returns buf. */
char *d01_acme_problem_format(
    const struct d01_acme_problem *p, char *buf, size_t n);

#endif
