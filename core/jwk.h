/* SPDX-License-Identifier: ISC */
/*
 * JSON Web Keys (RFC 7517/7518) for ACME account keys: the public JWK of
 * an EVP_PKEY, its RFC 7638 thumbprint (the second half of every DNS-01
 * key authorization), and the reverse, a JWK to an EVP_PKEY (tests and
 * signature verification). EC P-256/P-384 and RSA only.
 */
#ifndef D01_JWK_H
#define D01_JWK_H

#include <jansson.h>
#include <openssl/evp.h>

#include "core/err.h"

/* base64url of a SHA-256 digest: 43 characters. */
#define D01_JWK_THUMB_LEN 43

/*
 * The public JWK of `key` with exactly the required members
 * ({crv,kty,x,y} or {e,kty,n}). New reference; NULL with err on failure.
 */
json_t *d01_jwk_public(EVP_PKEY *key, struct d01_error *err);

/*
 * RFC 7638 thumbprint (SHA-256) of a JWK given as JSON: only the required
 * members are hashed, in lexicographic order, without whitespace; other
 * members ("kid", "alg", "d") are ignored. `out` gets 43 characters + NUL.
 */
enum d01_err d01_jwk_thumbprint_json(
    const json_t *jwk, char out[D01_JWK_THUMB_LEN + 1], struct d01_error *err);

/* Thumbprint of `key`'s public JWK. */
enum d01_err d01_jwk_thumbprint(
    EVP_PKEY *key, char out[D01_JWK_THUMB_LEN + 1], struct d01_error *err);

/*
 * An EVP_PKEY from a JWK: public only, or with the private part when "d"
 * is present (EC only; RSA private JWKs are not needed). Caller frees.
 */
EVP_PKEY *d01_jwk_to_pkey(const json_t *jwk, struct d01_error *err);

/*
 * Size in bytes of each of r and s for an EC key (32 for P-256, 48 for
 * P-384), or 0 for other keys.
 */
size_t d01_jwk_ec_size(EVP_PKEY *key);

#endif
