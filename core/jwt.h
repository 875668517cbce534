/* SPDX-License-Identifier: ISC */
/*
 * JSON Web Tokens (RFC 7519) signed with RS256 or ES256 (ES384 too), the
 * compact form OAuth 2.0 token endpoints take as a bearer assertion:
 * Google's service-account grant (RFC 7523 jwt-bearer), and the client
 * assertions of OAuth client credentials (RFC 7521 §4.2, Azure AD's
 * certificate credentials). Built on core/jws.h (the signature) and
 * core/b64url.h; OpenSSL EVP only.
 *
 * Ownership: keys and JSON passed in are borrowed for the call; strings
 * and JSON returned are new and the caller's (a signed assertion is a
 * credential: wipe it with OPENSSL_cleanse before freeing).
 */
#ifndef D01_CORE_JWT_H
#define D01_CORE_JWT_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "core/err.h"

/* Longest compact JWT made or read here. */
#define D01_JWT_MAX (16 * 1024)

/*
 * A private key from PEM text (PKCS#8 "PRIVATE KEY", or the traditional
 * RSA / EC forms), `len` bytes (NUL not needed). Only RSA (2048 bits or
 * more) and EC P-256 / P-384 keys: what the signatures below take.
 * Encrypted keys are refused. Caller frees with EVP_PKEY_free; NULL with
 * err (D01_E_CONFIG, naming no part of the key).
 */
EVP_PKEY *d01_jwt_key_from_pem(
    const char *pem, size_t len, struct d01_error *err);

/*
 * Sign `claims` (a JSON object) as a compact JWT with `key`: the header
 * is {"alg", "typ": "JWT"} plus the members of `header_extra` (an
 * object or NULL: "kid", "x5t"...; "alg" and "typ" there are refused).
 * The algorithm follows the key (RSA: RS256, P-256: ES256, P-384:
 * ES384). Returns "header.payload.signature", new; NULL with err.
 */
char *d01_jwt_sign(EVP_PKEY *key, const json_t *header_extra,
    const json_t *claims, struct d01_error *err);

/*
 * The usual assertion: claims {iss, sub, aud, iat, exp} plus `scope`
 * when not NULL and "jti" (16 random bytes, base64url) when `jti` is
 * set; sub NULL means sub = iss. iat = now (Unix seconds, the caller's
 * clock), exp = now + lifetime_s. `kid` NULL: no "kid" in the header.
 */
char *d01_jwt_assertion(EVP_PKEY *key, const char *kid, const char *iss,
    const char *sub, const char *aud, const char *scope, long long now,
    long lifetime_s, int jti, struct d01_error *err);

/*
 * Read a compact JWT signed by `key`: the signature must verify with the
 * algorithm the header names, which must be the key's (never "none", no
 * HMAC). Returns the claims object (new reference); NULL with err
 * (D01_E_INVAL) when malformed, D01_E_AUTH when the signature is wrong.
 * Only the signature is checked here: the caller judges exp, aud, iss.
 */
json_t *d01_jwt_verify(
    EVP_PKEY *key, const char *compact, struct d01_error *err);

#endif
