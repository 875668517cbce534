/* SPDX-License-Identifier: ISC */
/* Fuzz target: what every Cloud DNS reply goes through: the managed zone
 * pick (longest public suffix, the page token sent back in a query), the
 * rrset find, the changes body built from what was found, and the error
 * reply parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/clouddns/gcp_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FQDN "_acme-challenge.www.example.test."

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {400, 401, 404, 412, 500};
	char best[64] = "", next[512];
	struct d01_error err;
	size_t best_len = 0, i;
	json_t *root, *set, *b;
	char *body;
	int bad, noop, present;

	root =
	    json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (gcp_zones_pick(root, FQDN, best, sizeof(best), &best_len, next,
		sizeof(next)) == 0) {
		if (best_len > strlen(FQDN) || strpbrk(next, "&?# ") != NULL)
			__builtin_trap();
	}
	set = gcp_rrset_find(root, FQDN, &bad);
	if (set != NULL && bad)
		__builtin_trap();
	for (present = 0; present < 2; present++) {
		d01_error_clear(&err);
		body =
		    gcp_change_body(set, FQDN, "v", present, 60, &noop, &err);
		if (body == NULL) {
			if (!noop && err.msg[0] == '\0')
				__builtin_trap();
			continue;
		}
		/* Deletions are the set exactly as read, or none. */
		b = json_loads(body, 0, NULL);
		if (b == NULL ||
		    (set != NULL &&
			!json_equal(
			    json_array_get(json_object_get(b, "deletions"), 0),
			    set)) ||
		    (set == NULL && json_object_get(b, "deletions") != NULL))
			__builtin_trap();
		json_decref(b);
		free(body);
	}
	json_decref(set);
	json_decref(root);
	d01_error_clear(&err);
	if (gcp_reply_error(
		statuses[size % 5], (const char *)data, size, &err) == D01_OK)
		__builtin_trap();
	for (i = 0; err.msg[i] != '\0'; i++)
		if ((unsigned char)err.msg[i] < 0x20)
			__builtin_trap();
	return 0;
}
