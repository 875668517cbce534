/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the --tsig-keyfile parser (providers/embedded/tsigkeys.c)
 * on arbitrary text, then a grant and a look-up for what it accepted.
 * An accepted file yields keys whose names normalise; a refused one
 * leaves the keyring empty and its message never quotes the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/embedded/tsigkeys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct d01_keyring *kr = d01_keyring_new();
	struct d01_error err = {0};
	enum d01_err rc;

	if (kr == NULL)
		abort();
	rc = d01_keyring_parse(kr, (const char *)data, size, "fuzz", &err);
	if (rc != D01_OK && d01_keyring_count(kr) != 0)
		__builtin_trap();
	if (rc == D01_OK && d01_keyring_count(kr) == 0)
		__builtin_trap();
	if (rc != D01_OK && strncmp(err.msg, "fuzz", 4) != 0 &&
	    strstr(err.msg, "TSIG") == NULL)
		__builtin_trap(); /* every message names the file */
	(void)d01_keyring_grant(kr, "a=zonesub", &err);
	(void)d01_keyring_allows(
	    kr, d01_keyring_find(kr, "a."), "example.test.", "x.example.test.");
	d01_keyring_free(kr);
	return 0;
}
