/* SPDX-License-Identifier: ISC */
/* base64url without padding, strict on decode (see b64url.h). */
#include <stdint.h>
#include <stdlib.h>

#include "core/b64url.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
d01_b64url_encode(char *dst, const void *src, size_t n)
{
	const uint8_t *s = src;
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		dst[o++] = alphabet[v >> 18 & 63];
		dst[o++] = alphabet[v >> 12 & 63];
		dst[o++] = alphabet[v >> 6 & 63];
		dst[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)s[i] << 16;
		dst[o++] = alphabet[v >> 18 & 63];
		dst[o++] = alphabet[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		dst[o++] = alphabet[v >> 18 & 63];
		dst[o++] = alphabet[v >> 12 & 63];
		dst[o++] = alphabet[v >> 6 & 63];
	}
	dst[o] = '\0';
	return o;
}

char *
d01_b64url_encode_new(const void *src, size_t n)
{
	char *s = malloc(D01_B64URL_LEN(n) + 1);

	if (s != NULL)
		d01_b64url_encode(s, src, n);
	return s;
}

static int
value_of(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long
d01_b64url_decode(void *dst, size_t cap, const char *src, size_t len)
{
	uint8_t *d = dst;
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0, v;

	while (len > 0 && src[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = value_of(src[i])) < 0)
			return -1;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -1;
			d[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* Canonical encodings leave the unused low bits zero. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)o;
}
