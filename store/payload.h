/* SPDX-License-Identifier: ISC */
/*
 * The NOTIFY payload of the PostgreSQL store (pg.c): one change as text,
 * built by the writer in C (or in SQL, for expiry) and decoded by every
 * instance. An operation letter, then each field as its byte length in
 * decimal, ':', and its bytes; optionally '@' and the row's creation time
 * in ms since the epoch; optionally '#' and the writer's job number (its
 * own connection's notification tells the writer its write is applied):
 *
 *   V<zone><fqdn><value>[@ms][#job]            a value is there
 *   R<fqdn><value>[#job]                       a value is gone
 *   A<user><hash><subdomain><allowfrom>[#job]  an account was created
 *
 * e.g. "R19:_acme-challenge.a.b.3:xyz#12". Length-prefixed so that no byte
 * of a value needs escaping; PostgreSQL bounds a payload at 8000 bytes
 * and the fields' own bounds keep every payload well below.
 */
#ifndef D01_STORE_PAYLOAD_H
#define D01_STORE_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#define D01_DBP_MAX	   8000 /* PostgreSQL's bound, NUL excluded */
#define D01_DBP_MAX_FIELDS 4

struct d01_dbp {
	char op;			   /* 'V', 'R' or 'A' */
	int nf;				   /* fields, as op says */
	const char *f[D01_DBP_MAX_FIELDS]; /* NUL-terminated, in buf */
	int64_t created_ms;		   /* -1 when absent */
	int64_t job;			   /* -1 when absent */
	char buf[D01_DBP_MAX + D01_DBP_MAX_FIELDS];
};

/* The field count of op, or -1 for an unknown op. */
int d01_dbp_nfields(char op);

/* Encode op and its fields (no '@ms') into out: the length, or 0 when
 * op is unknown or the result (NUL included) does not fit n or the
 * 8000-byte bound. */
size_t d01_dbp_encode(char *out, size_t n, char op, const char *const *fields);

/* Decode a payload: 0, or -1 when malformed (unknown op, a length
 * that runs past the end or has leading zeros, wrong field count,
 * trailing bytes, a bad time or job number). */
int d01_dbp_decode(const char *in, struct d01_dbp *p);

#endif
