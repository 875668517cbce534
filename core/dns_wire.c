/* SPDX-License-Identifier: ISC */
/*
 * Parsing DNS replies from the network (see d01_dns_parse in dns.h).
 *
 * ldns_wire2pkt is the parser, but ldns 1.8.3 has two habits a hostile
 * peer could use: a second TSIG RR replaces the first without freeing it
 * (ldns_pkt_set_tsig; a leak per reply), and a TSIG RR that is not last
 * stops the walk of the additional section. RFC 8945 §5.1 says a TSIG RR
 * must be the last RR and appear once, so a cheap walk over the record
 * headers rejects anything else before ldns sees it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dname.h"
#include "core/dns.h"

#define HDR    12
#define T_TSIG 250

/* Skip a (possibly compressed) name at *pos; -1 when malformed. */
static int
skip_name(const uint8_t *w, size_t len, size_t *pos)
{
	size_t p = *pos;
	uint8_t l;

	for (;;) {
		if (p >= len)
			return -1;
		l = w[p];
		if (l == 0) {
			*pos = p + 1;
			return 0;
		}
		if ((l & 0xc0) == 0xc0) { /* pointer: the name ends here */
			if (p + 2 > len)
				return -1;
			*pos = p + 2;
			return 0;
		}
		if (l & 0xc0) /* 0x40, 0x80: extended/obsolete label types */
			return -1;
		p += 1 + (size_t)l;
	}
}

/* Walk the record headers; -1 unless every RR fits and a TSIG RR, if
 * any, is the single last RR of the additional section. */
static int
precheck(const uint8_t *w, size_t len)
{
	size_t pos = HDR, i, rdlen;
	unsigned qd, an, ns, ar, total;
	unsigned type = 0;

	if (len < HDR)
		return -1;
	qd = (unsigned)w[4] << 8 | w[5];
	an = (unsigned)w[6] << 8 | w[7];
	ns = (unsigned)w[8] << 8 | w[9];
	ar = (unsigned)w[10] << 8 | w[11];
	for (i = 0; i < qd; i++) {
		if (skip_name(w, len, &pos) != 0 || pos + 4 > len)
			return -1;
		pos += 4;
	}
	total = an + ns + ar;
	for (i = 0; i < total; i++) {
		if (skip_name(w, len, &pos) != 0 || pos + 10 > len)
			return -1;
		type = (unsigned)w[pos] << 8 | w[pos + 1];
		rdlen = (size_t)w[pos + 8] << 8 | w[pos + 9];
		pos += 10;
		if (pos + rdlen > len)
			return -1;
		pos += rdlen;
		if (type == T_TSIG && i != total - 1)
			return -1;
	}
	/* A TSIG RR only in the additional section. */
	if (total > 0 && ar == 0 && type == T_TSIG)
		return -1;
	return 0;
}

enum d01_err
d01_dns_parse(const uint8_t *wire, size_t len, ldns_pkt **out)
{
	*out = NULL;
	if (precheck(wire, len) != 0)
		return D01_E_PROTOCOL;
	if (ldns_wire2pkt(out, wire, len) != LDNS_STATUS_OK) {
		*out = NULL;
		return D01_E_PROTOCOL;
	}
	return D01_OK;
}

int
d01_dns_rdata_name(const ldns_rr *rr, char *out, size_t len)
{
	char *s = ldns_rdf2str(ldns_rr_rdf(rr, 0));
	int rc = s != NULL ? d01_dname_normalise(out, len, s) : -1;

	LDNS_FREE(s);
	return rc;
}

int
d01_dns_owner_is(const ldns_rr *rr, const char *name)
{
	char norm[D01_DNAME_BUF], *o = ldns_rdf2str(ldns_rr_owner(rr));
	int same = o != NULL &&
	    d01_dname_normalise(norm, sizeof(norm), o) == 0 &&
	    strcmp(norm, name) == 0;

	LDNS_FREE(o);
	return same;
}

int
d01_dns_rr_server(const ldns_rr *rr, int port, struct d01_dns_server *out)
{
	char ip[64], *s = ldns_rdf2str(ldns_rr_rdf(rr, 0));

	if (s == NULL)
		return -1;
	snprintf(ip, sizeof(ip), strchr(s, ':') ? "[%s]" : "%s", s);
	LDNS_FREE(s);
	return d01_dns_server_parse(ip, port, out, NULL) == D01_OK ? 0 : -1;
}
