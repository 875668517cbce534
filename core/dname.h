/* SPDX-License-Identifier: ISC */
/*
 * Domain names in presentation form, as they arrive in webhook requests,
 * flags and configs: validated and normalised to lower case with a trailing
 * dot, the one form every other module compares.
 */
#ifndef D01_DNAME_H
#define D01_DNAME_H

#include <stddef.h>

/* Longest normalised name, including the trailing dot, plus NUL. */
#define D01_DNAME_BUF 256

/*
 * Normalise `src` into dst (dstlen >= D01_DNAME_BUF is always enough):
 * lower-case, absolute. Accepts letters, digits, '-', '_' (challenge names)
 * and '*' (wildcard owners); rejects empty labels, labels over 63 bytes,
 * names over 253 bytes and "." itself. Returns 0 or -1.
 */
int d01_dname_normalise(char *dst, size_t dstlen, const char *src);

/* 1 when normalised `name` equals `zone` or lies below it. */
int d01_dname_in_zone(const char *name, const char *zone);

#endif
