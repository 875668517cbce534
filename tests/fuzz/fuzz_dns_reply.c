/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: what the DNS client and the checker do with a reply from
 * the network: parse it, look for a TXT value, verify its TSIG.
 */
#include <stdint.h>
#include <stdlib.h>

#include "core/dns.h"
#include "core/tsig.h"
#include "core/txtcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct d01_tsig_key key;
	static ldns_rdf *qmac;
	static const uint8_t mac[34] = {0, 32};
	ldns_pkt *p = NULL;

	if (key.secret == NULL) {
		if (d01_tsig_key_init(&key, "dns01-test-key.", "HMACSHA256",
			"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", NULL) !=
		    D01_OK)
			abort();
		qmac = ldns_rdf_new_frm_data(
		    LDNS_RDF_TYPE_INT16_DATA, sizeof(mac), mac);
	}
	if (d01_dns_parse(data, size, &p) != D01_OK)
		return 0;
	if (d01_txtcheck_reply_has(p, "_acme-challenge.example.test.",
		"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0") > 1)
		__builtin_trap();
	(void)d01_tsig_verify_reply(
	    p, data, size, &key, qmac, 1795903408, "fuzz", NULL);
	ldns_pkt_free(p);
	return 0;
}
