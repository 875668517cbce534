/* SPDX-License-Identifier: ISC */
/*
 * Akamai EdgeGrid request signing, EG1-HMAC-SHA256, from Akamai's public
 * description of the scheme ("Authenticate with EdgeGrid"):
 *
 *   signing key = base64(HMAC-SHA256(client_secret, timestamp))
 *   auth        = "EG1-HMAC-SHA256 client_token=..;access_token=..;"
 *                 "timestamp=..;nonce=..;"
 *   data        = method TAB scheme TAB host TAB path?query TAB
 *                 canonical headers TAB content hash TAB auth
 *   header      = auth "signature=" base64(HMAC-SHA256(signing key, data))
 *
 * where the signing key is used as its base64 text, the canonical headers
 * are the headers named in `sign_headers` that the request has, in that
 * order, as "lower-case-name:value" joined by TAB with runs of white
 * space in the value collapsed to one space, and the content hash is
 * base64(SHA-256) of at most `max_body` bytes of a POST body (empty for
 * every other method and for an empty body).
 *
 * Pure functions over caller-owned buffers on OpenSSL's EVP; nothing is
 * kept. The signing key and every intermediate holding it are wiped.
 */
#ifndef D01_PROVIDERS_AKAMAI_EDGEGRID_H
#define D01_PROVIDERS_AKAMAI_EDGEGRID_H

#include <stddef.h>
#include <time.h>

#include "core/err.h"

/* base64 of a SHA-256 digest, with its NUL */
#define EG_B64_LEN 45
/* "20140321T19:34:21+0000" and its NUL */
#define EG_TIMESTAMP_LEN 23
/* The default body prefix hashed (Akamai's libraries use 128 KiB). */
#define EG_MAX_BODY_DEFAULT 131072

/* The three credentials of an API client; borrowed. */
struct eg_creds {
	const char *client_token;
	const char *client_secret;
	const char *access_token;
};

/* One request as it will be sent; borrowed for the call. */
struct eg_request {
	const char *method;	    /* upper case: "GET", "POST", ... */
	const char *scheme;	    /* "https" */
	const char *host;	    /* as in the URL, port included if any */
	const char *path;	    /* path and query, as sent */
	const char *const *headers; /* "Name: value", NULL-terminated; or
				       NULL */
	const char *const *sign_headers; /* names to sign, in order; NULL:
					    none (the usual case) */
	const void *body;		 /* NULL: none */
	size_t body_len;
	size_t max_body; /* 0: EG_MAX_BODY_DEFAULT */
};

/* out = base64(HMAC-SHA256(client_secret, timestamp)). 0, or -1. */
int eg_signing_key(
    const char *client_secret, const char *timestamp, char out[EG_B64_LEN]);

/* The content hash field for `method` and body (see above); "" when not
 * hashed. 0, or -1. */
int eg_content_hash(const char *method, const void *body, size_t len,
    size_t max_body, char out[EG_B64_LEN]);

/* "yyyymmddTHH:MM:SS+0000" for `t` (UTC). */
void eg_timestamp(time_t t, char out[EG_TIMESTAMP_LEN]);

/* A random UUID (version 4) as the nonce. 0, or -1 without randomness. */
int eg_nonce(char out[37]);

/*
 * The Authorization header value for `req` signed with `c` at `timestamp`
 * with `nonce`, into out (n bytes). D01_OK, or D01_E_INVAL when an input
 * cannot be signed safely: a credential, timestamp or nonce with white
 * space, ';' or control characters, a header value to sign with leading
 * white space or a line break (Akamai's libraries refuse those too), a
 * missing field; D01_E_LIMIT when out is too small.
 */
enum d01_err eg_sign(const struct eg_creds *c, const struct eg_request *req,
    const char *timestamp, const char *nonce, char *out, size_t n,
    struct d01_error *err);

#endif
