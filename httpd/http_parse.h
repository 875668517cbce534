/* SPDX-License-Identifier: ISC */
/*
 * HTTP/1.1 request-head parsing (RFC 9112), pure and bounded: no I/O, no
 * allocation. The connection code (http.c) finds the end of the head, hands
 * the bytes here, and gets back pointers into that same buffer.
 *
 * Strict where leniency enables request smuggling (obs-fold, whitespace
 * before the colon, both Content-Length and Transfer-Encoding, conflicting
 * Content-Length values), lenient where real clients differ (bare LF line
 * ends).
 */
#ifndef D01_HTTP_PARSE_H
#define D01_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define D01_HTTP_MAX_HEADERS 100

struct d01_http_header {
	const char
	    *name; /* NUL-terminated, as sent (compare with strcasecmp) */
	const char *value; /* NUL-terminated, surrounding whitespace trimmed */
};

struct d01_http_head {
	const char *method;
	const char *target; /* request-target as sent */
	const char *path;   /* target up to '?', not decoded */
	const char *query;  /* after '?', or "" */
	int minor;	    /* HTTP/1.<minor> */
	size_t nheaders;
	struct d01_http_header headers[D01_HTTP_MAX_HEADERS];

	/* Derived framing. */
	int chunked;		/* Transfer-Encoding: chunked */
	int64_t content_length; /* -1 when absent */
	int keep_alive;		/* after this request */
	int expect_continue;	/* Expect: 100-continue */
};

/*
 * Parse the head in buf[0..len) (request line, header lines, through the
 * empty line), writing NULs into buf. Returns 0, or the HTTP status to
 * answer with: 400 malformed, 414 request line too long (> max_line),
 * 431 too many headers, 501 unsupported transfer coding, 505 version.
 * On error `why` (if not NULL) points to a static explanation; the
 * head's strings are then "" or what was parsed, never NULL.
 */
int d01_http_parse_head(char *buf, size_t len, size_t max_line,
    struct d01_http_head *head, const char **why);

/* First header named `name` (case-insensitive), or NULL. */
const char *d01_http_head_get(
    const struct d01_http_head *head, const char *name);

#endif
