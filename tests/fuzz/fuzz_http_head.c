/* SPDX-License-Identifier: ISC */
/* Fuzz target: the HTTP/1.1 request-head parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpd/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct d01_http_head h;
	const char *why = NULL;
	char *buf;
	int rc;

	if (size > 65536 || (buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	rc = d01_http_parse_head(buf, size, 8192, &h, &why);
	if (rc == 0) {
		/* Accepted heads are origin-form with sane framing. */
		if (h.path[0] != '/' || (h.chunked && h.content_length >= 0))
			__builtin_trap();
	} else if (why == NULL || rc < 400 || rc > 599) {
		__builtin_trap();
	}
	free(buf);
	return 0;
}
