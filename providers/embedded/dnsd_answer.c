/* SPDX-License-Identifier: ISC */
/*
 * The embedded DNS server's answers: what an authoritative server says for
 * the zones of a d01_txtstore. Pure (no I/O) so the fuzz target drives it
 * directly. ldns parses the query and writes the reply; names are compared
 * in the store's lower-case presentation form; the question goes back as
 * asked, so resolvers using 0x20 case randomisation accept the reply.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

#include "providers/embedded/dnsd.h"
#include "providers/embedded/store.h"

#define TTL	  60
#define EDNS_SIZE 1232 /* the DNS flag day 2020 recommendation */
#define PLAIN_UDP 512

/* A header-only reply (FORMERR, NOTIMP) echoing the ID and opcode. */
static size_t
header_only(const uint8_t *q, uint8_t *out, size_t outcap, int rcode)
{
	if (outcap < 12)
		return 0;
	memset(out, 0, 12);
	out[0] = q[0];
	out[1] = q[1];
	out[2] = (uint8_t)(0x80 | (q[2] & 0x79)); /* QR, opcode, RD */
	out[3] = (uint8_t)rcode;
	return 12;
}

static ldns_rr *rr_from_str(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static ldns_rr *
rr_from_str(const char *fmt, ...)
{
	char buf[1024];
	ldns_rr *rr = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (ldns_rr_new_frm_str(&rr, buf, 0, NULL, NULL) != LDNS_STATUS_OK)
		return NULL;
	return rr;
}

static ldns_rr *
soa_rr(const struct d01_txtzone *z)
{
	return rr_from_str("%s %d IN SOA %s %s %u 3600 600 86400 %d", z->name,
	    TTL, z->ns, z->hostmaster, z->serial, TTL);
}

/* One TXT RR holding `value` as a single character-string. */
static ldns_rr *
txt_rr(const ldns_rdf *owner, const char *value)
{
	uint8_t data[256];
	size_t n = strlen(value);
	ldns_rr *rr;
	ldns_rdf *rd;

	if (n > 255 || (rr = ldns_rr_new()) == NULL)
		return NULL;
	data[0] = (uint8_t)n;
	memcpy(data + 1, value, n);
	if ((rd = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, n + 1, data)) ==
	    NULL) {
		ldns_rr_free(rr);
		return NULL;
	}
	ldns_rr_set_owner(rr, ldns_rdf_clone(owner));
	ldns_rr_set_type(rr, LDNS_RR_TYPE_TXT);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(rr, TTL);
	ldns_rr_push_rdf(rr, rd);
	return rr;
}

/* Push rr (NULL = allocation failure) into section; -1 on failure. */
static int
push(ldns_pkt *p, ldns_pkt_section s, ldns_rr *rr)
{
	if (rr == NULL)
		return -1;
	if (!ldns_pkt_push_rr(p, s, rr)) {
		ldns_rr_free(rr);
		return -1;
	}
	return 0;
}

/* Lower-case presentation form of a wire name into buf; -1 on failure. */
static int
name_key(const ldns_rdf *name, char *buf, size_t len)
{
	char *s = ldns_rdf2str(name);
	size_t i, n;

	if (s == NULL)
		return -1;
	n = strlen(s);
	if (n + 1 > len) {
		LDNS_FREE(s);
		return -1;
	}
	for (i = 0; i <= n; i++)
		buf[i] = (char)tolower((unsigned char)s[i]);
	LDNS_FREE(s);
	return 0;
}

/*
 * Fill the answer sections for (name, qtype) inside zone z. Returns the
 * rcode, or -1 when building the reply failed.
 */
static int
fill(ldns_pkt *r, const struct d01_txtstore *s, const struct d01_txtzone *z,
    const char *name, const ldns_rdf *owner, ldns_rr_type qtype)
{
	const char *const *vals;
	size_t n = 0, i;
	int apex = strcmp(name, z->name) == 0, any = qtype == LDNS_RR_TYPE_ANY;

	vals = d01_txtstore_values(s, name, &n);
	if (apex && (qtype == LDNS_RR_TYPE_SOA || any) &&
	    push(r, LDNS_SECTION_ANSWER, soa_rr(z)) != 0)
		return -1;
	if (apex && (qtype == LDNS_RR_TYPE_NS || any) &&
	    push(r, LDNS_SECTION_ANSWER,
		rr_from_str("%s %d IN NS %s", z->name, TTL, z->ns)) != 0)
		return -1;
	if (qtype == LDNS_RR_TYPE_TXT || any)
		for (i = 0; i < n; i++)
			if (push(
				r, LDNS_SECTION_ANSWER, txt_rr(owner, vals[i])))
				return -1;
	if (ldns_pkt_ancount(r) > 0)
		return LDNS_RCODE_NOERROR;
	/* NODATA or NXDOMAIN: either way the SOA goes in the authority
	 * section so resolvers can cache the negative answer (RFC 2308). */
	if (push(r, LDNS_SECTION_AUTHORITY, soa_rr(z)) != 0)
		return -1;
	return apex || n > 0 || d01_txtstore_name_exists(s, name)
	    ? LDNS_RCODE_NOERROR
	    : LDNS_RCODE_NXDOMAIN;
}

/* Wire form of r into out, truncated to header + question past limit. */
static size_t
to_wire(ldns_pkt *r, uint8_t *out, size_t outcap, size_t limit)
{
	uint8_t *wire = NULL;
	size_t len = 0;

	if (ldns_pkt2wire(&wire, r, &len) != LDNS_STATUS_OK)
		return 0;
	if (len > limit) {
		LDNS_FREE(wire);
		/* RFC 2181 9: drop every RR set and set TC. */
		ldns_rr_list_deep_free(ldns_pkt_answer(r));
		ldns_rr_list_deep_free(ldns_pkt_authority(r));
		ldns_pkt_set_answer(r, ldns_rr_list_new());
		ldns_pkt_set_authority(r, ldns_rr_list_new());
		ldns_pkt_set_ancount(r, 0);
		ldns_pkt_set_nscount(r, 0);
		ldns_pkt_set_tc(r, true);
		if (ldns_pkt2wire(&wire, r, &len) != LDNS_STATUS_OK)
			return 0;
	}
	if (len > outcap || len > limit) {
		LDNS_FREE(wire);
		return 0;
	}
	memcpy(out, wire, len);
	LDNS_FREE(wire);
	return len;
}

size_t
d01_dnsd_answer(const struct d01_txtstore *store, const uint8_t *q, size_t qlen,
    uint8_t *out, size_t outcap, int tcp)
{
	ldns_pkt *qp = NULL, *r = NULL;
	const struct d01_txtzone *z;
	ldns_rr *qrr;
	char name[LDNS_MAX_DOMAINLEN * 4 + 2];
	size_t limit, len = 0;
	int rcode;

	if (qlen < 12 || (q[2] & 0x80) != 0)
		return 0; /* too short to answer, or a response */
	if (((q[2] >> 3) & 0x0f) != LDNS_PACKET_QUERY)
		return header_only(q, out, outcap, LDNS_RCODE_NOTIMPL);
	if (ldns_wire2pkt(&qp, q, qlen) != LDNS_STATUS_OK ||
	    ldns_pkt_qdcount(qp) != 1 || ldns_pkt_ancount(qp) != 0 ||
	    (qrr = ldns_rr_list_rr(ldns_pkt_question(qp), 0)) == NULL ||
	    name_key(ldns_rr_owner(qrr), name, sizeof(name)) != 0) {
		len = header_only(q, out, outcap, LDNS_RCODE_FORMERR);
		goto out;
	}
	if ((r = ldns_pkt_new()) == NULL)
		goto out;
	ldns_pkt_set_id(r, ldns_pkt_id(qp));
	ldns_pkt_set_qr(r, true);
	ldns_pkt_set_rd(r, ldns_pkt_rd(qp));
	ldns_pkt_set_opcode(r, LDNS_PACKET_QUERY);
	ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, ldns_rr_clone(qrr));
	limit = PLAIN_UDP;
	if (ldns_pkt_edns(qp)) {
		ldns_pkt_set_edns_udp_size(r, EDNS_SIZE);
		if (ldns_pkt_edns_udp_size(qp) > PLAIN_UDP)
			limit = ldns_pkt_edns_udp_size(qp) < EDNS_SIZE
			    ? ldns_pkt_edns_udp_size(qp)
			    : EDNS_SIZE;
	}
	if (tcp)
		limit = 65535;
	z = d01_txtstore_find_zone(store, name);
	if (z == NULL ||
	    (ldns_rr_get_class(qrr) != LDNS_RR_CLASS_IN &&
		ldns_rr_get_class(qrr) != LDNS_RR_CLASS_ANY)) {
		rcode = LDNS_RCODE_REFUSED; /* not ours: no AA */
	} else {
		ldns_pkt_set_aa(r, true);
		rcode = fill(r, store, z, name, ldns_rr_owner(qrr),
		    ldns_rr_get_type(qrr));
		if (rcode < 0)
			rcode = LDNS_RCODE_SERVFAIL;
	}
	ldns_pkt_set_rcode(r, (uint8_t)rcode);
	len = to_wire(r, out, outcap, limit);
out:
	ldns_pkt_free(qp);
	ldns_pkt_free(r);
	return len;
}
