/* SPDX-License-Identifier: ISC */
/*
 * AWS Signature Version 4 (header signing) for Route 53 and STS, on
 * OpenSSL 3 EVP only. Pure: the caller passes the time, so the AWS test
 * suite's known answers can be checked exactly.
 */
#ifndef D01_SIGV4_H
#define D01_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/err.h"

struct d01_sigv4_header {
	const char *name;
	const char *value;
};

struct d01_sigv4_input {
	const char *method;
	const char *path;  /* as sent, not yet percent-encoded */
	const char *query; /* as sent ("a=b&c=%20"), "" or NULL for none */
	const struct d01_sigv4_header *headers; /* must include Host */
	size_t nheaders;
	const uint8_t *payload;
	size_t payload_len;
	const char *region, *service;
	const char *access_key, *secret_key;
	const char *session_token; /* NULL for long-term keys */
	time_t when;
	int normalize;	    /* remove dot segments and empty ones (not S3) */
	int sign_body;	    /* add and sign x-amz-content-sha256 */
	int unsigned_token; /* send the token but leave it out of the
			       signature (the suite's omit_session_token) */
};

/*
 * Headers to add to the request: X-Amz-Date, Authorization, and when set
 * X-Amz-Security-Token and X-Amz-Content-Sha256. The canonical request and
 * string to sign are kept for tests and debugging (never logged: they hold
 * no secret, but the headers around them may).
 */
struct d01_sigv4_output {
	char amz_date[17];
	char content_sha256[65];
	char *authorization;	 /* malloc'ed */
	char *canonical_request; /* malloc'ed */
	char *string_to_sign;	 /* malloc'ed */
};

enum d01_err d01_sigv4_sign(const struct d01_sigv4_input *in,
    struct d01_sigv4_output *out, struct d01_error *err);

/* Free what d01_sigv4_sign allocated; safe on a zeroed struct. */
void d01_sigv4_output_clear(struct d01_sigv4_output *out);

/* RFC 3986 encoding with AWS's unreserved set (A-Z a-z 0-9 - . _ ~);
 * `keep_slash` leaves '/' alone. Returns a malloc'ed string or NULL. */
char *d01_sigv4_uri_encode(const char *s, size_t len, int keep_slash);

#endif
