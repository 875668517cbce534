/* SPDX-License-Identifier: ISC */
/* Fuzz target: what every token endpoint reply (Microsoft Entra ID and
 * IMDS) goes through: the token parser (a token is printable, bounded
 * and a bearer token, or nothing) and the OAuth error reply parser
 * (structured fields only, no control bytes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/azuredns/az_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {400, 401, 403, 429, 500};
	struct d01_error err;
	char *tok = NULL;
	long long exp = 0;
	size_t i;

	d01_error_clear(&err);
	if (az_token_parse((const char *)data, size, &tok, &exp, &err) == 0) {
		if (tok == NULL || *tok == '\0' || strlen(tok) > AZ_TOKEN_MAX ||
		    exp < -1)
			__builtin_trap();
		for (i = 0; tok[i] != '\0'; i++)
			if ((unsigned char)tok[i] <= 0x20 ||
			    (unsigned char)tok[i] >= 0x7f)
				__builtin_trap();
	} else if (tok != NULL || err.msg[0] == '\0') {
		__builtin_trap();
	}
	free(tok);
	d01_error_clear(&err);
	if (az_token_error(
		statuses[size % 5], (const char *)data, size, &err) == D01_OK ||
	    err.msg[0] == '\0')
		__builtin_trap();
	for (i = 0; err.msg[i] != '\0'; i++)
		if ((unsigned char)err.msg[i] < 0x20)
			__builtin_trap();
	return 0;
}
