/* SPDX-License-Identifier: ISC */
/*
 * Does a reply hold the TXT value? (see d01_txtcheck_reply_has in
 * txtcheck.h). Apart from the state machine so the fuzz target and the
 * unit tests reach it without any I/O.
 */
#include <string.h>
#include <strings.h>

#include "core/txtcheck.h"

int
d01_txtcheck_reply_has(
    const ldns_pkt *reply, const char *name, const char *value)
{
	ldns_rr_list *ans = ldns_pkt_answer(reply);
	char joined[4096], *owner;
	size_t i, j, len, n;
	int match;

	if (ldns_pkt_get_rcode(reply) == LDNS_RCODE_NXDOMAIN)
		return 0;
	if (ldns_pkt_get_rcode(reply) != LDNS_RCODE_NOERROR)
		return -1;
	for (i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ans, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT)
			continue;
		if ((owner = ldns_rdf2str(ldns_rr_owner(rr))) == NULL)
			continue;
		match = strcasecmp(owner, name) == 0;
		LDNS_FREE(owner);
		if (!match)
			continue;
		/* One RR's character-strings, concatenated (RFC 8555 8.4
		 * values fit one string, but long ones may be split). */
		for (len = 0, j = 0; match && j < ldns_rr_rd_count(rr); j++) {
			const ldns_rdf *rd = ldns_rr_rdf(rr, j);

			if (ldns_rdf_size(rd) < 1)
				continue;
			n = ldns_rdf_data(rd)[0];
			/* Longer than any value we compare: no match. */
			if (n + 1 > ldns_rdf_size(rd) ||
			    len + n >= sizeof(joined)) {
				match = 0;
				break;
			}
			memcpy(joined + len, ldns_rdf_data(rd) + 1, n);
			len += n;
		}
		if (match && len == strlen(value) &&
		    memcmp(joined, value, len) == 0)
			return 1;
	}
	return 0;
}
