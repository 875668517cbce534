/* SPDX-License-Identifier: ISC */
/* Fuzz target: the acme-dns API's request bodies (POST /register,
 * POST|DELETE /update) and the stored allowfrom text, through the pure
 * parsers the server runs (server/acmedns_api_parse.h); the same bytes
 * as an X-Forwarded-For list behind a trusted proxy. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/acmedns_api_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct d01_adns_register *reg = malloc(sizeof(*reg));
	struct d01_cidr c[D01_ADNS_MAX_CIDRS], proxy;
	struct d01_adns_update u;
	struct d01_ipaddr ip;
	char *text = malloc(size + 1);
	size_t i;

	if (reg == NULL || text == NULL)
		goto out;
	memcpy(text, data, size);
	text[size] = '\0';
	if (d01_adns_parse_register((const char *)data, size, reg) ==
	    D01_ADNS_REG_OK) {
		if (reg->ncidrs > D01_ADNS_MAX_CIDRS)
			__builtin_trap();
		for (i = 0; i < reg->ncidrs; i++)
			if (strlen(reg->text[i]) >= D01_ADNS_CIDR_TEXT ||
			    strchr(reg->text[i], '"') != NULL)
				__builtin_trap(); /* stored and echoed */
	}
	d01_adns_parse_update((const char *)data, size, &u);
	/* Both are compared and echoed as C strings. */
	if (strlen(u.subdomain) >= sizeof(u.subdomain) ||
	    strlen(u.txt) >= sizeof(u.txt))
		__builtin_trap();
	if (d01_adns_valid_txt(u.txt) && strchr(u.txt, '"') != NULL)
		__builtin_trap(); /* goes into {"txt": "..."} unescaped */
	(void)d01_adns_allowfrom_load(text, c, D01_ADNS_MAX_CIDRS);
	if (d01_cidr_parse("127.0.0.0/8", &proxy) != 0)
		__builtin_trap();
	if (d01_adns_client_addr("127.0.0.1:1", text, &proxy, 1, &ip) == 0 &&
	    ip.family != 4 && ip.family != 6)
		__builtin_trap();
out:
	free(text);
	free(reg);
	return 0;
}
