/* SPDX-License-Identifier: ISC */
/* Fuzz target: the webhook's ChallengePayload decoder. */
#include <stdint.h>
#include <string.h>

#include "server/payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct d01_payload p;
	char why[300];

	if (d01_payload_decode(
		(const char *)data, size, &p, why, sizeof(why)) == 0) {
		/* Whatever is accepted must satisfy the invariants the
		 * providers rely on. */
		if (p.ch.fqdn == NULL || p.ch.key == NULL ||
		    p.ch.fqdn[strlen(p.ch.fqdn) - 1] != '.' ||
		    strlen(p.ch.key) == 0 || strlen(p.ch.key) > 255)
			__builtin_trap();
		d01_payload_clear(&p);
	} else if (why[0] == '\0') {
		__builtin_trap(); /* every refusal explains itself */
	}
	return 0;
}
