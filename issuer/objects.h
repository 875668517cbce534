/* SPDX-License-Identifier: ISC */
/*
 * ACME resources the issuer reads (RFC 8555 §7.1.3, §7.1.4, §8): orders,
 * authorizations and their dns-01 challenge, and account objects. Pure
 * parsers: bodies in, owned structs out; every field a later request
 * uses is validated here (URLs, token alphabet, bounded counts).
 */
#ifndef D01_OBJECTS_H
#define D01_OBJECTS_H

#include <stddef.h>

#include "core/err.h"
#include "issuer/problem.h"

/* Most identifiers/authorizations per order we accept (LE allows 100). */
#define D01_ACME_NAMES_MAX 100
/* Longest challenge token we accept. */
#define D01_ACME_TOKEN_MAX 128

enum d01_acme_status {
	D01_ACME_ST_UNKNOWN = 0,
	D01_ACME_ST_PENDING,
	D01_ACME_ST_READY,
	D01_ACME_ST_PROCESSING,
	D01_ACME_ST_VALID,
	D01_ACME_ST_INVALID,
	D01_ACME_ST_EXPIRED,
	D01_ACME_ST_DEACTIVATED,
	D01_ACME_ST_REVOKED,
	D01_ACME_ST__MAX
};

/* "pending" -> D01_ACME_ST_PENDING; UNKNOWN for anything else or NULL. */
enum d01_acme_status d01_acme_status_parse(const char *s);
const char *d01_acme_status_name(enum d01_acme_status st);

/* An order; strings owned (free with d01_acme_order_clear). */
struct d01_acme_order {
	enum d01_acme_status status;
	char **authz; /* nauthz URLs */
	size_t nauthz;
	char *finalize;
	char *certificate; /* once valid */
	int has_error;
	struct d01_acme_problem error;
};

enum d01_err d01_acme_order_parse(const char *body, size_t len,
    struct d01_acme_order *o, struct d01_error *err);
void d01_acme_order_clear(struct d01_acme_order *o);

/* An authorization reduced to what DNS-01 needs. */
struct d01_acme_authz {
	enum d01_acme_status status;
	char ident[256]; /* the name as ordered: "*." restored on wildcards */
	int wildcard;
	int has_dns01; /* 0 when the CA offered no dns-01 challenge */
	char *chall_url;
	char token[D01_ACME_TOKEN_MAX + 1];
	enum d01_acme_status chall_status;
	int has_error; /* the dns-01 challenge carried an error */
	struct d01_acme_problem error;
};

enum d01_err d01_acme_authz_parse(const char *body, size_t len,
    struct d01_acme_authz *a, struct d01_error *err);
void d01_acme_authz_clear(struct d01_acme_authz *a);

/* Status of an account object (newAccount reply); UNKNOWN if absent. */
enum d01_acme_status d01_acme_account_status(const char *body, size_t len);

#endif
