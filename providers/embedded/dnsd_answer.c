/* SPDX-License-Identifier: ISC */
/*
 * The embedded DNS server's answers: what an authoritative server says for
 * the zones of a d01_txtstore. Pure (no I/O) so the fuzz target drives it
 * directly. Ordinary queries take the fast path (dnsd_fast.c); this
 * file is the reference it must match byte for byte, and answers the
 * rest. ldns parses the query and writes the reply; names are compared
 * in the store's lower-case presentation form; the question goes back as
 * asked, so resolvers using 0x20 case randomisation accept the reply.
 *
 * The zone's own NS host name, when it lies inside the zone, exists but
 * has no address here: we cannot know the address resolvers reach us on
 * (a Service, a load balancer, NAT), so A/AAAA for it is NODATA and the
 * parent's glue stays the source of truth. NXDOMAIN would tell resolvers
 * that the target of our own NS record does not exist.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

#include "core/dname.h"
#include "core/dns.h"
#include "providers/embedded/dnsd.h"
#include "providers/embedded/dnsd_answer.h"
#include "providers/embedded/store.h"

#define TTL	      D01_DNSD_TTL
#define SOA_MINIMUM   D01_DNSD_SOA_MINIMUM
#define EDNS_SIZE     D01_DNSD_EDNS_SIZE
#define PLAIN_UDP     D01_DNSD_PLAIN_UDP
#define TCP_MAX	      D01_DNSD_TCP_MAX
#define RCODE_BADVERS 16 /* extended: OPT version we do not speak */
#define TSIG_BADKEY   17

/* The parsed query and its name as the store spells it. */
struct query {
	const struct d01_txtstore *store;
	const ldns_pkt *pkt;
	const ldns_rr *qrr;
	char name[LDNS_MAX_DOMAINLEN * 4 + 2]; /* lower-case, absolute */
};

/* A header-only reply (FORMERR, NOTIMP, SERVFAIL): ID, opcode, RD echoed. */
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

/*
 * The zone's SOA, built from its fields rather than parsed from text: it
 * goes into every negative answer, and ldns_rr_new_frm_str takes 64 KiB
 * buffers per call, which glibc got from and gave back to the kernel (two
 * brk calls and page faults) each time: under a query mix with 10%
 * negative answers, a fifth of the UDP path's CPU (bench/authdns.py).
 */
static ldns_rr *
soa_rr(const struct d01_txtzone *z)
{
	const uint32_t times[] = {z->serial, 3600, 600, 86400, SOA_MINIMUM};
	ldns_rr *rr = ldns_rr_new();
	ldns_rdf *owner = NULL, *rd;
	size_t i;

	if (rr == NULL || (owner = ldns_dname_new_frm_str(z->name)) == NULL)
		goto fail;
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_type(rr, LDNS_RR_TYPE_SOA);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(rr, SOA_MINIMUM);
	if ((rd = ldns_dname_new_frm_str(z->ns)) == NULL ||
	    !ldns_rr_push_rdf(rr, rd))
		goto fail_rd;
	if ((rd = ldns_dname_new_frm_str(z->hostmaster)) == NULL ||
	    !ldns_rr_push_rdf(rr, rd))
		goto fail_rd;
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		if ((rd = ldns_native2rdf_int32(
			 i == 0 ? LDNS_RDF_TYPE_INT32 : LDNS_RDF_TYPE_PERIOD,
			 times[i])) == NULL ||
		    !ldns_rr_push_rdf(rr, rd))
			goto fail_rd;
	return rr;
fail_rd:
	ldns_rdf_deep_free(rd);
fail:
	ldns_rr_free(rr);
	return NULL;
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
 * Whether `name` exists in z although it holds no TXT value: the apex, an
 * empty non-terminal above stored names, or the NS host (and the names
 * above it) when it lies inside the zone.
 */
static int
name_exists(const struct query *qq, const struct d01_txtzone *z)
{
	return strcmp(qq->name, z->name) == 0 ||
	    d01_txtstore_name_exists(qq->store, qq->name) ||
	    (d01_dname_in_zone(z->ns, z->name) &&
		d01_dname_in_zone(z->ns, qq->name));
}

/*
 * Fill the answer sections for the question inside zone z. Returns the
 * rcode, or -1 when building the reply failed.
 */
static int
fill(ldns_pkt *r, const struct query *qq, const struct d01_txtzone *z)
{
	const char *const *vals;
	ldns_rr_type qtype = ldns_rr_get_type(qq->qrr);
	size_t n = 0, i;
	int apex = strcmp(qq->name, z->name) == 0;
	int any = qtype == LDNS_RR_TYPE_ANY;

	vals = d01_txtstore_values(qq->store, qq->name, &n);
	if (apex && (qtype == LDNS_RR_TYPE_SOA || any) &&
	    push(r, LDNS_SECTION_ANSWER, soa_rr(z)) != 0)
		return -1;
	if (apex && (qtype == LDNS_RR_TYPE_NS || any) &&
	    push(r, LDNS_SECTION_ANSWER,
		rr_from_str("%s %d IN NS %s", z->name, TTL, z->ns)) != 0)
		return -1;
	if (qtype == LDNS_RR_TYPE_TXT || any)
		for (i = 0; i < n; i++)
			if (push(r, LDNS_SECTION_ANSWER,
				txt_rr(ldns_rr_owner(qq->qrr), vals[i])))
				return -1;
	if (ldns_pkt_ancount(r) > 0)
		return LDNS_RCODE_NOERROR;
	/* NODATA or NXDOMAIN: either way the SOA goes in the authority
	 * section so resolvers can cache the negative answer (RFC 2308). */
	if (push(r, LDNS_SECTION_AUTHORITY, soa_rr(z)) != 0)
		return -1;
	return n > 0 || name_exists(qq, z) ? LDNS_RCODE_NOERROR
					   : LDNS_RCODE_NXDOMAIN;
}

/*
 * The rcode for query types that never reach the data: zone transfers are
 * not offered (REFUSED, as BIND and Knot tell a client not allowed to
 * transfer), pseudo-types cannot be asked for (FORMERR), the obsolete
 * MAILA/MAILB are not implemented. -1 for ordinary types.
 */
static int
qtype_rcode(ldns_rr_type t)
{
	switch (t) {
	case LDNS_RR_TYPE_AXFR:
	case LDNS_RR_TYPE_IXFR:
		return LDNS_RCODE_REFUSED;
	case LDNS_RR_TYPE_OPT:
	case LDNS_RR_TYPE_TSIG:
	case LDNS_RR_TYPE_TKEY:
		return LDNS_RCODE_FORMERR;
	case LDNS_RR_TYPE_MAILA:
	case LDNS_RR_TYPE_MAILB:
		return LDNS_RCODE_NOTIMPL;
	default:
		return -1;
	}
}

/*
 * A TSIG-signed query: we hold no keys, so RFC 8945 §5.2.2 says NOTAUTH
 * with an unsigned TSIG RR carrying BADKEY: the request's RR with the MAC
 * emptied and the error set. -1 when the RR cannot be built.
 */
static int
tsig_badkey(ldns_pkt *r, const ldns_rr *req)
{
	static const uint8_t empty[2];
	uint8_t err[2] = {0, TSIG_BADKEY};
	ldns_rr *rr = NULL;
	ldns_rdf *rd;

	if (ldns_rr_rd_count(req) != 7 || (rr = ldns_rr_clone(req)) == NULL)
		goto fail;
	/* rdata: algorithm, time, fudge, MAC, original ID, error, other */
	if ((rd = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, 2, empty)) ==
	    NULL)
		goto fail;
	ldns_rdf_deep_free(ldns_rr_set_rdf(rr, rd, 3));
	if ((rd = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16, 2, err)) == NULL)
		goto fail;
	ldns_rdf_deep_free(ldns_rr_set_rdf(rr, rd, 5));
	if ((rd = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, 2, empty)) ==
	    NULL)
		goto fail;
	ldns_rdf_deep_free(ldns_rr_set_rdf(rr, rd, 6));
	ldns_pkt_set_tsig(r, rr);
	return LDNS_RCODE_NOTAUTH;
fail:
	ldns_rr_free(rr);
	return -1;
}

/*
 * EDNS0 (RFC 6891): echo an OPT when the query had one and work out the
 * UDP size limit. Returns an rcode when EDNS itself is the problem (two
 * OPT RRs: FORMERR; a version we do not speak: BADVERS), else -1.
 */
static int
edns(ldns_pkt *r, const struct query *qq, const uint8_t *q, size_t *limit)
{
	const ldns_pkt *p = qq->pkt;
	size_t nopt, client;

	*limit = PLAIN_UDP;
	if (!ldns_pkt_edns(p))
		return -1;
	/* ldns drops OPT (and TSIG) RRs from ARCOUNT as it parses them. */
	nopt = ((size_t)q[10] << 8 | q[11]) - ldns_pkt_arcount(p) -
	    (ldns_pkt_tsig(p) != NULL);
	ldns_pkt_set_edns_udp_size(r, EDNS_SIZE);
	if (nopt > 1)
		return LDNS_RCODE_FORMERR;
	if (ldns_pkt_edns_version(p) != 0)
		return RCODE_BADVERS;
	client = ldns_pkt_edns_udp_size(p);
	if (client > PLAIN_UDP)
		*limit = client < EDNS_SIZE ? client : EDNS_SIZE;
	return -1;
}

/* The reply skeleton: ID, flags a server copies, the question as asked. */
static ldns_pkt *
reply_new(const struct query *qq)
{
	ldns_pkt *r = ldns_pkt_new();
	ldns_rr *qrr;

	if (r == NULL)
		return NULL;
	ldns_pkt_set_id(r, ldns_pkt_id(qq->pkt));
	ldns_pkt_set_qr(r, true);
	ldns_pkt_set_opcode(r, LDNS_PACKET_QUERY);
	ldns_pkt_set_rd(r, ldns_pkt_rd(qq->pkt));
	ldns_pkt_set_cd(r, ldns_pkt_cd(qq->pkt)); /* RFC 4035 §3.1.6 */
	if ((qrr = ldns_rr_clone(qq->qrr)) == NULL ||
	    push(r, LDNS_SECTION_QUESTION, qrr) != 0) {
		ldns_pkt_free(r);
		return NULL;
	}
	return r;
}

/* Set the rcode; those past 15 go in the OPT's extended-rcode bits. */
static void
set_rcode(ldns_pkt *r, int rcode)
{
	ldns_pkt_set_rcode(r, (uint8_t)(rcode & 0x0f));
	ldns_pkt_set_edns_extended_rcode(r, (uint8_t)(rcode >> 4));
}

/*
 * Decide the rcode and fill the sections, in the order a server checks:
 * EDNS, TSIG, class and zone, query type, data. Returns -1 on failure.
 */
static int
respond(ldns_pkt *r, const struct query *qq, const uint8_t *q, size_t *limit)
{
	const struct d01_txtzone *z;
	ldns_rr_class cls = ldns_rr_get_class(qq->qrr);
	int rcode;

	if ((rcode = edns(r, qq, q, limit)) >= 0)
		return rcode;
	if (ldns_pkt_tsig(qq->pkt) != NULL)
		return tsig_badkey(r, ldns_pkt_tsig(qq->pkt));
	z = d01_txtstore_find_zone(qq->store, qq->name);
	/* Not ours (or a class we do not serve): REFUSED, no AA. */
	if (z == NULL || (cls != LDNS_RR_CLASS_IN && cls != LDNS_RR_CLASS_ANY))
		return LDNS_RCODE_REFUSED;
	if ((rcode = qtype_rcode(ldns_rr_get_type(qq->qrr))) >= 0)
		return rcode;
	ldns_pkt_set_aa(r, true);
	return fill(r, qq, z);
}

/* Wire form of r into out, truncated to header + question past limit. */
static size_t
to_wire(ldns_pkt *r, uint8_t *out, size_t limit)
{
	uint8_t *wire = NULL;
	size_t len = 0;

	if (ldns_pkt2wire(&wire, r, &len) != LDNS_STATUS_OK)
		return 0;
	if (len > limit) {
		LDNS_FREE(wire);
		/* RFC 2181 §9: drop every RR set (the OPT stays) and set TC
		 * so the client retries over TCP. */
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
	if (len > limit) {
		LDNS_FREE(wire);
		return 0;
	}
	memcpy(out, wire, len);
	LDNS_FREE(wire);
	return len;
}

size_t
d01_dnsd_answer_ldns(const struct d01_txtstore *store, const uint8_t *q,
    size_t qlen, uint8_t *out, size_t outcap, int tcp)
{
	ldns_pkt *qp = NULL, *r = NULL;
	struct query qq = {.store = store};
	size_t limit, len = 0;
	int rcode;

	if (qlen < 12 || (q[2] & 0x80) != 0)
		return 0; /* too short to answer, or a response */
	if (((q[2] >> 3) & 0x0f) != LDNS_PACKET_QUERY)
		return header_only(q, out, outcap, LDNS_RCODE_NOTIMPL);
	/* d01_dns_parse, not bare ldns_wire2pkt: it refuses the TSIG
	 * layouts that make ldns leak or stop early. */
	if (q[4] != 0 || q[5] != 1 || q[6] != 0 || q[7] != 0 ||
	    d01_dns_parse(q, qlen, &qp) != D01_OK ||
	    (qq.qrr = ldns_rr_list_rr(ldns_pkt_question(qp), 0)) == NULL ||
	    name_key(ldns_rr_owner(qq.qrr), qq.name, sizeof(qq.name)) != 0) {
		len = header_only(q, out, outcap, LDNS_RCODE_FORMERR);
		goto out;
	}
	qq.pkt = qp;
	if ((r = reply_new(&qq)) == NULL)
		goto servfail;
	if ((rcode = respond(r, &qq, q, &limit)) < 0)
		goto servfail;
	set_rcode(r, rcode);
	if (tcp)
		limit = TCP_MAX;
	len = to_wire(r, out, limit < outcap ? limit : outcap);
	goto out;
servfail:
	len = header_only(q, out, outcap, LDNS_RCODE_SERVFAIL);
out:
	ldns_pkt_free(qp);
	ldns_pkt_free(r);
	return len;
}

size_t
d01_dnsd_answer(const struct d01_txtstore *store, const uint8_t *q, size_t qlen,
    uint8_t *out, size_t outcap, int tcp)
{
	size_t len;

	if (d01_dnsd_answer_fast(store, q, qlen, out, outcap, tcp, &len))
		return len;
	return d01_dnsd_answer_ldns(store, q, qlen, out, outcap, tcp);
}
