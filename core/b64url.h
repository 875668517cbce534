/* SPDX-License-Identifier: ISC */
/*
 * base64url without padding (RFC 4648 §5, as JWS and ACME use it: RFC 7515
 * §2). Pure functions on caller-owned buffers; nothing here allocates
 * except d01_b64url_encode_new.
 */
#ifndef D01_B64URL_H
#define D01_B64URL_H

#include <stddef.h>

/* Encoded length of n bytes, excluding the NUL. */
#define D01_B64URL_LEN(n) (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))

/*
 * Encode `n` bytes of `src` into `dst` (at least D01_B64URL_LEN(n) + 1
 * bytes), NUL-terminated, no padding. Returns the length written.
 */
size_t d01_b64url_encode(char *dst, const void *src, size_t n);

/* Same into a new malloc'd string (caller frees); NULL when out of memory. */
char *d01_b64url_encode_new(const void *src, size_t n);

/*
 * Decode `len` characters of `src` (no padding, no whitespace; '=' padding
 * at the end is tolerated) into `dst` of `cap` bytes. Returns the number of
 * bytes written, or -1 on a character outside the alphabet, an impossible
 * length, non-zero trailing bits, or when `cap` is too small.
 */
long d01_b64url_decode(void *dst, size_t cap, const char *src, size_t len);

#endif
