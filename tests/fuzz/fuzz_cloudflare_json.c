/* SPDX-License-Identifier: ISC */
/* Fuzz target: the Cloudflare API envelope parser (what every reply of
 * the API goes through before the provider looks at it). */
#include <stdint.h>
#include <string.h>

#include "providers/cloudflare/cloudflare.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {200, 400, 403, 429, 500};
	struct d01_error err;
	json_t *root = NULL, *res;
	int pages = 0, code = 0;

	d01_error_clear(&err);
	res = cf_envelope(statuses[size % 5], (const char *)data, size, &root,
	    &pages, &code, &err);
	/* Either a result (possibly JSON null) or an error with a message,
	 * never both, never neither. */
	if (res == NULL && err.code == D01_OK &&
	    !(json_is_true(json_object_get(root, "success")) &&
		statuses[size % 5] < 300))
		__builtin_trap();
	if (res != NULL && err.code != D01_OK)
		__builtin_trap();
	if (err.code != D01_OK && strlen(err.msg) == 0)
		__builtin_trap();
	json_decref(root);
	return 0;
}
