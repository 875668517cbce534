/* SPDX-License-Identifier: ISC */
/*
 * Cutting a credential out of a message before it reaches a reply or a
 * log. Upstreams that echo what they were sent rarely echo it verbatim:
 * they percent-encode it (a query string), upper-case it, JSON-escape it,
 * base64 it (Basic auth) or quote a piece of it. The first line of defence
 * is never to quote upstream text beyond an API's structured error fields
 * (providers do that); this is the second.
 */
#ifndef D01_REDACT_H
#define D01_REDACT_H

#include <stddef.h>

/* Shortest secret redacted at all, the shortest whose base64 form and
 * whose pieces are looked for, and the length of such a piece. */
#define D01_REDACT_MIN	     4
#define D01_REDACT_B64_MIN   12
#define D01_REDACT_SPLIT_MIN 16
#define D01_REDACT_PIECE     8

/*
 * Replace in `msg` (NUL-terminated, `cap` bytes of room) every occurrence
 * of `secret` by "[redacted]": the bytes themselves in any letter case,
 * percent-encoded (%xx, either case) or JSON-escaped (\uXXXX, \", \\, \/)
 * forms, mixed freely; its base64 (standard or URL-safe, at any byte
 * alignment, so inside a longer base64 string too) once it is
 * D01_REDACT_B64_MIN bytes; and any run of D01_REDACT_PIECE of its bytes
 * once it is D01_REDACT_SPLIT_MIN bytes (a secret echoed in pieces).
 * NULL or short secrets change nothing. Truncates rather than overflow.
 */
void d01_redact(char *msg, size_t cap, const char *secret);

#endif
