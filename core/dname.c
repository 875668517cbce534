/* SPDX-License-Identifier: ISC */
/* Presentation-form domain name validation and comparison. */
#include <string.h>

#include "core/dname.h"

int
d01_dname_normalise(char *dst, size_t dstlen, const char *src)
{
	size_t len = strlen(src), i, label = 0;

	if (len > 0 && src[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || len + 2 > dstlen)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '*') {
			label++;
		} else if (c >= 'A' && c <= 'Z') {
			c = (unsigned char)(c - 'A' + 'a');
			label++;
		} else {
			return -1;
		}
		if (label > 63)
			return -1;
		dst[i] = (char)c;
	}
	if (label == 0)
		return -1;
	dst[len] = '.';
	dst[len + 1] = '\0';
	return 0;
}

int
d01_dname_in_zone(const char *name, const char *zone)
{
	size_t nl = strlen(name), zl = strlen(zone);

	if (strcmp(zone, ".") == 0)
		return 1;
	if (nl < zl || strcmp(name + nl - zl, zone) != 0)
		return 0;
	return nl == zl || name[nl - zl - 1] == '.';
}
