/* SPDX-License-Identifier: ISC */
/* The nonce pool: newest first, bounded, validated on the way in. */
#include <string.h>

#include "issuer/nonce.h"

static int
b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int
d01_nonce_push(struct d01_nonce_pool *p, const char *value, size_t len)
{
	size_t i;

	while (len > 0 && (*value == ' ' || *value == '\t')) {
		value++;
		len--;
	}
	while (len > 0 &&
	    (value[len - 1] == ' ' || value[len - 1] == '\t' ||
		value[len - 1] == '\r' || value[len - 1] == '\n'))
		len--;
	if (len == 0 || len > D01_NONCE_LEN)
		return -1;
	for (i = 0; i < len; i++)
		if (!b64url_char(value[i]))
			return -1;
	if (p->n == D01_NONCE_POOL) {
		/* Drop the oldest: it is the likeliest to have expired. */
		memmove(
		    p->v[0], p->v[1], sizeof(p->v[0]) * (D01_NONCE_POOL - 1));
		p->n--;
	}
	memcpy(p->v[p->n], value, len);
	p->v[p->n][len] = '\0';
	p->n++;
	return 0;
}

int
d01_nonce_pop(struct d01_nonce_pool *p, char out[D01_NONCE_LEN + 1])
{
	if (p->n == 0)
		return -1;
	p->n--;
	memcpy(out, p->v[p->n], D01_NONCE_LEN + 1);
	return 0;
}
