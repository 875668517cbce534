/* SPDX-License-Identifier: ISC */
/*
 * Small text helpers the HTTP providers share: percent-encoding a value for
 * a URL, and copying an upstream's text for a log line or a Challenge
 * status. Pure functions on caller-owned buffers; nothing here allocates.
 */
#ifndef D01_TEXT_H
#define D01_TEXT_H

#include <stddef.h>

/*
 * Percent-encode `src` into `dst` (`n` bytes) for a URL path segment or a
 * query value: the RFC 3986 unreserved bytes (ASCII letters, digits,
 * "-._~") stay, every other byte becomes %XX (upper-case hex). Returns 0,
 * or -1 when `dst` is too small (its content is then unspecified).
 */
int d01_url_escape(char *dst, size_t n, const char *src);

/*
 * Copy `s` (NULL reads as "") into `out` (`n` > 0 bytes), truncated, with
 * control bytes (below 0x20, and 0x7f) as spaces: an upstream's text goes
 * into logs and Challenge status, where it must not break a line.
 */
void d01_clean_copy(char *out, size_t n, const char *s);

/* Replace control bytes of the NUL-terminated `s` with spaces, in place. */
void d01_unctrl(char *s);

#endif
