/* SPDX-License-Identifier: ISC */
/* Fuzz target: what every DigitalOcean API reply goes through: the
 * records scan, the next-link check (never another origin) and the error
 * reply parser. */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "providers/digitalocean/do_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE "https://api.example.com"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {400, 401, 404, 429, 500};
	long long ids[DO_MAX_IDS];
	char next[DO_URL_MAX];
	struct d01_error err;
	json_t *root;
	int nids = 0, hits, i;

	root =
	    json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	hits = do_records_match(
	    root, "_acme-challenge", "v", ids, DO_MAX_IDS, &nids);
	if (nids > DO_MAX_IDS || (hits >= 0 && nids > hits) ||
	    (hits < 0 && nids != 0))
		__builtin_trap();
	for (i = 0; i < nids; i++)
		if (ids[i] <= 0)
			__builtin_trap();
	if (do_next_link(root, BASE, next, sizeof(next)) == 1 &&
	    (strncasecmp(next, BASE "/", strlen(BASE) + 1) != 0 ||
		strpbrk(next, " \r\n#") != NULL))
		__builtin_trap(); /* only ever the same origin */
	json_decref(root);
	d01_error_clear(&err);
	if (do_reply_error(
		statuses[size % 5], (const char *)data, size, &err) == D01_OK ||
	    err.msg[0] == '\0')
		__builtin_trap();
	for (i = 0; err.msg[i] != '\0'; i++)
		if ((unsigned char)err.msg[i] < 0x20)
			__builtin_trap();
	return 0;
}
