/* SPDX-License-Identifier: ISC */
/*
 * Replay nonces (RFC 8555 §7.2): every ACME reply's Replay-Nonce goes into
 * a small pool, every signed request takes one out; only when the pool is
 * empty does the client ask newNonce. A caller-owned value type; no
 * allocation, no I/O (the newNonce request lives in issuer/acme.c).
 */
#ifndef D01_NONCE_H
#define D01_NONCE_H

#include <stddef.h>

/* Longest nonce kept (RFC 8555 nonces are short base64url strings). */
#define D01_NONCE_LEN 128
/* Nonces kept; parallel requests each need one. */
#define D01_NONCE_POOL 16

struct d01_nonce_pool {
	char v[D01_NONCE_POOL][D01_NONCE_LEN + 1];
	size_t n;
};

/*
 * Add a nonce of `len` bytes (surrounding spaces trimmed). Values outside
 * the base64url alphabet or longer than D01_NONCE_LEN are refused (-1);
 * when full, the oldest is dropped. Returns 0 when stored.
 */
int d01_nonce_push(struct d01_nonce_pool *p, const char *value, size_t len);

/* Take the newest nonce into out (D01_NONCE_LEN + 1 bytes). Returns 0, or
 * -1 when the pool is empty. */
int d01_nonce_pop(struct d01_nonce_pool *p, char out[D01_NONCE_LEN + 1]);

#endif
