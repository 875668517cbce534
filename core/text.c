/* SPDX-License-Identifier: ISC */
#include <stdio.h>
#include <string.h>

#include "core/text.h"

int
d01_url_escape(char *dst, size_t n, const char *src)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *src != '\0'; src++) {
		unsigned char ch = (unsigned char)*src;

		if (o + 4 > n)
			return -1;
		/* ASCII ranges, not isalnum(): the locale must not widen it. */
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch) != NULL) {
			dst[o++] = (char)ch;
		} else {
			dst[o++] = '%';
			dst[o++] = hex[ch >> 4];
			dst[o++] = hex[ch & 15];
		}
	}
	if (o >= n)
		return -1;
	dst[o] = '\0';
	return 0;
}

void
d01_unctrl(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

void
d01_clean_copy(char *out, size_t n, const char *s)
{
	snprintf(out, n, "%s", s ? s : "");
	d01_unctrl(out);
}
