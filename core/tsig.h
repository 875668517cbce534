/* SPDX-License-Identifier: ISC */
/*
 * TSIG keys (RFC 8945) as users write them (cert-manager's HMACSHA256,
 * BIND's hmac-sha256, lego's hmac-sha256.), signing of outgoing messages and
 * verification of replies, on top of ldns's TSIG code.
 */
#ifndef D01_TSIG_H
#define D01_TSIG_H

#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "core/err.h"

#define D01_TSIG_FUDGE 300

struct d01_tsig_key {
	char name[256];	    /* absolute key name, lower-case */
	char algorithm[32]; /* ldns/wire name, e.g. "hmac-sha256." */
	char *secret;	    /* base64, owned; wiped by d01_tsig_key_clear */
};

/*
 * Fill `k` from user input. `algorithm` NULL or "" means cert-manager's
 * default (HMACMD5). Checks that the secret is valid base64 and the
 * algorithm is one ldns implements (md5, sha1, sha256, sha512). Error
 * messages never include the secret.
 */
enum d01_err d01_tsig_key_init(struct d01_tsig_key *k, const char *name,
    const char *algorithm, const char *secret_b64, struct d01_error *err);

/* The wire name for a user spelling ("HMACSHA256" -> "hmac-sha256."),
 * NULL or "" meaning HMACMD5; NULL when unsupported. */
const char *d01_tsig_algorithm(const char *user);

/* Wipe and free the secret. Safe on a zeroed or cleared key. */
void d01_tsig_key_clear(struct d01_tsig_key *k);

/*
 * Sign `pkt` (its ID must be final) and return a copy of the request MAC
 * for verifying the reply (caller frees with ldns_rdf_deep_free), or NULL
 * with err set.
 */
ldns_rdf *d01_tsig_sign(
    ldns_pkt *pkt, const struct d01_tsig_key *k, struct d01_error *err);

/*
 * Check a reply to a request signed with `k` whose MAC was `qmac`: `wire`
 * are the bytes received. Reports the TSIG error a server put in an
 * unsigned refusal (BADSIG, BADKEY, BADTIME), a missing or bad signature,
 * and a Time Signed outside the fudge window of `now`. `who` names the
 * server in messages.
 */
enum d01_err d01_tsig_verify_reply(ldns_pkt *reply, const uint8_t *wire,
    size_t len, const struct d01_tsig_key *k, const ldns_rdf *qmac, int64_t now,
    const char *who, struct d01_error *err);

#endif
