/* SPDX-License-Identifier: ISC */
/* Fuzz target: what every Cloudflare API reply goes through: the envelope
 * parser, then the zone and record scans the provider runs on `result`. */
#include <stdint.h>
#include <string.h>

#include "providers/cloudflare/cf_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {200, 400, 403, 429, 500};
	char ids[CF_MAX_IDS][CF_ID_MAX], id[CF_ID_MAX];
	struct d01_error err;
	json_t *root = NULL, *res;
	int pages = 0, code = 0, nids = 0, hits, i;

	d01_error_clear(&err);
	res = cf_envelope(statuses[size % 5], (const char *)data, size, &root,
	    &pages, &code, &err);
	/* Either a result (possibly JSON null) or an error with a message,
	 * never both, never neither. */
	if ((res == NULL) == (err.code == D01_OK))
		__builtin_trap();
	if (err.code != D01_OK && strlen(err.msg) == 0)
		__builtin_trap();
	for (i = 0; err.msg[i] != '\0'; i++)
		if ((unsigned char)err.msg[i] < 0x20)
			__builtin_trap(); /* no control bytes reach logs */
	if (res != NULL) {
		if (cf_zone_pick(res, "example.com", id, sizeof(id)) == 0 &&
		    !cf_id_valid(id))
			__builtin_trap();
		hits = cf_records_match(res, "_acme-challenge.example.com", "v",
		    ids, CF_MAX_IDS, &nids);
		if (nids > CF_MAX_IDS || nids > hits)
			__builtin_trap();
		for (i = 0; i < nids; i++)
			if (!cf_id_valid(ids[i]))
				__builtin_trap();
	}
	json_decref(root);
	return 0;
}
