/* SPDX-License-Identifier: ISC */
/* Fuzz target: the .edgerc reader (a Secret's text, or the CLI's file),
 * for the "default" section and one named by the input's first line. */
#include <stdint.h>
#include <string.h>

#include "providers/akamai/ak_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct ak_edgerc *e)
{
	const char *v[] = {e->host, e->cred[0], e->cred[1], e->cred[2]};
	size_t i, j;

	for (i = 0; i < 4; i++)
		for (j = 0; v[i] != NULL && v[i][j] != '\0'; j++)
			if ((unsigned char)v[i][j] < 0x20 || v[i][j] == 0x7f)
				__builtin_trap(); /* would reach a header */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ak_edgerc e;
	struct d01_error err;
	char section[65];
	size_t n = 0;

	d01_error_clear(&err);
	if (ak_edgerc_parse((const char *)data, size, "default", &e, &err) ==
	    D01_OK) {
		check(&e);
		ak_edgerc_free(&e);
	} else if (e.host != NULL || strlen(err.msg) == 0) {
		__builtin_trap();
	}
	while (n < size && n < sizeof(section) - 1 && data[n] != '\n' &&
	    data[n] != '\0')
		n++;
	memcpy(section, data, n);
	section[n] = '\0';
	if (ak_edgerc_parse((const char *)data, size, section, &e, &err) ==
	    D01_OK) {
		check(&e);
		ak_edgerc_free(&e);
	}
	return 0;
}
