/* SPDX-License-Identifier: ISC */
/*
 * JSON Web Signatures for ACME (RFC 7515, RFC 8555 §6.2): ES256/ES384 with
 * fixed-width r||s signatures, RS256, the flattened JSON serialization
 * with a protected header carrying alg, nonce, url and either the account
 * "kid" or the "jwk" (before registration), and the HS256 external account
 * binding of RFC 8555 §7.3.4. Keys are borrowed; strings returned are new
 * and owned by the caller.
 */
#ifndef D01_JWS_H
#define D01_JWS_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "core/err.h"

enum d01_jws_alg {
	D01_JWS_ES256 = 0,
	D01_JWS_ES384,
	D01_JWS_RS256,
	D01_JWS__MAX
};

/* Largest raw signature: RSA 8192. */
#define D01_JWS_SIG_MAX 1024

/* The algorithm for `key` (P-256 -> ES256, P-384 -> ES384, RSA -> RS256).
 * Returns 0, or -1 for other keys. */
int d01_jws_alg_of(EVP_PKEY *key, enum d01_jws_alg *alg);

/*
 * Sign `n` bytes with `key` and `alg`: for ES* the JWS form r||s, each
 * half left-padded to the curve size (RFC 7518 §3.4). `sig` has room for
 * D01_JWS_SIG_MAX bytes; *siglen gets the length.
 */
enum d01_err d01_jws_sign_raw(EVP_PKEY *key, enum d01_jws_alg alg,
    const void *in, size_t n, unsigned char *sig, size_t *siglen,
    struct d01_error *err);

/* 1 when `sig` (JWS form) is a valid signature of `in`, else 0. */
int d01_jws_verify_raw(EVP_PKEY *key, enum d01_jws_alg alg, const void *in,
    size_t n, const unsigned char *sig, size_t siglen);

/*
 * Verify a compact JWS "header.payload.signature" whose header names the
 * algorithm: 1 valid, 0 not. For tests and the fuzz target.
 */
int d01_jws_verify_compact(EVP_PKEY *key, const char *compact);

/*
 * An ACME request body: flattened JWS JSON of `payload` (`plen` bytes;
 * NULL/0 is the empty payload of POST-as-GET) with protected header
 * {alg, kid|jwk, nonce, url}. `kid` NULL means "use jwk". Returns a new
 * NUL-terminated string (caller frees) or NULL with err filled.
 */
char *d01_jws_acme(EVP_PKEY *key, const char *kid, const char *nonce,
    const char *url, const char *payload, size_t plen, struct d01_error *err);

/*
 * The externalAccountBinding object for newAccount: an HS256 JWS over the
 * account key's public JWK, protected header {alg, kid: eab_kid, url}.
 * `mac_key` is the decoded HMAC key (borrowed, not kept). New reference.
 */
json_t *d01_jws_eab(const char *eab_kid, const unsigned char *mac_key,
    size_t keylen, EVP_PKEY *account_key, const char *url,
    struct d01_error *err);

#endif
