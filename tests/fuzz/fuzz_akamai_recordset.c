/* SPDX-License-Identifier: ISC */
/* Fuzz target: what every Edge DNS reply goes through: the record set
 * parser, the rdata edits and re-serialisation the provider runs on a
 * set it read, and the problem-details reader for error replies. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/akamai/ak_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "_acme-challenge.example.com"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {400, 401, 404, 409, 429, 500};
	struct ak_rrset s;
	struct d01_error err;
	json_t *with = NULL, *without = NULL;
	char *body;
	size_t i;

	d01_error_clear(&err);
	if (ak_rrset_parse((const char *)data, size, NAME, &s, &err) ==
	    D01_OK) {
		if (!s.exists || s.ttl < 0 || json_array_size(s.rdata) == 0 ||
		    json_array_size(s.rdata) > AK_MAX_RDATA)
			__builtin_trap();
		with = ak_rdata_with(s.rdata, "v");
		without = ak_rdata_without(with, "v");
		if (with == NULL || without == NULL ||
		    !ak_rdata_has(with, "v") || ak_rdata_has(without, "v") ||
		    json_array_size(without) >= json_array_size(with))
			__builtin_trap();
		body = ak_rrset_body(NAME, s.ttl, with);
		if (body == NULL)
			__builtin_trap();
		free(body);
		json_decref(with);
		json_decref(without);
		json_decref(s.rdata);
	} else if (s.rdata != NULL || strlen(err.msg) == 0) {
		__builtin_trap();
	}
	ak_problem(statuses[size % 6], (const char *)data, size, &err);
	for (i = 0; err.msg[i] != '\0'; i++)
		if ((unsigned char)err.msg[i] < 0x20)
			__builtin_trap(); /* no control bytes reach logs */
	return 0;
}
