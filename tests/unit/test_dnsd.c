/* SPDX-License-Identifier: ISC */
/*
 * The embedded DNS server: authoritative answers from d01_dnsd_answer()
 * checked rule by rule with ldns, and hostile input fed to it. The
 * sockets are tested in test_dnsd_net.c.
 */
#include <stdlib.h>

#include <ldns/ldns.h>

#include "harness.h"
#include "providers/embedded/dnsd.h"
#include "providers/embedded/store.h"
#include "dnsd_fixture.h"

/* Send query q through d01_dnsd_answer; the parsed reply or NULL. */
static ldns_pkt *
ask_pkt(const struct d01_txtstore *s, const ldns_pkt *q, int tcp, size_t outcap,
    size_t *wirelen)
{
	static uint8_t out[65535];
	ldns_pkt *r = NULL;
	uint8_t *wire = NULL;
	size_t qlen, len;

	if (ldns_pkt2wire(&wire, q, &qlen) == LDNS_STATUS_OK) {
		len = d01_dnsd_answer(s, wire, qlen, out, outcap, tcp);
		if (wirelen != NULL)
			*wirelen = len;
		if (len > 0 && ldns_wire2pkt(&r, out, len) != LDNS_STATUS_OK)
			r = NULL;
	}
	LDNS_FREE(wire);
	return r;
}

/* Ask (name, type) with an optional EDNS size; the parsed reply. */
static ldns_pkt *
ask(const struct d01_txtstore *s, const char *name, ldns_rr_type type,
    uint16_t edns, int tcp, size_t *wirelen)
{
	ldns_pkt *q = NULL, *r;

	if (ldns_pkt_query_new_frm_str(
		&q, name, type, LDNS_RR_CLASS_IN, LDNS_RD) != LDNS_STATUS_OK)
		return NULL;
	ldns_pkt_set_id(q, 4242);
	if (edns)
		ldns_pkt_set_edns_udp_size(q, edns);
	r = ask_pkt(s, q, tcp, 65535, wirelen);
	ldns_pkt_free(q);
	return r;
}

/* Presentation form of rdata field i of RR n in a section. */
static char *
rdata(ldns_rr_list *sec, size_t n, size_t i)
{
	return ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(sec, n), i));
}

static int
rrtype(ldns_rr_list *sec, size_t n)
{
	return ldns_rr_get_type(ldns_rr_list_rr(sec, n));
}

static void
t_positive(void)
{
	struct d01_txtstore *s = fixture();
	ldns_pkt *r = NULL;
	char *a = NULL, *b = NULL;

	CHECK(s != NULL);
	r = ask(s, ACME, LDNS_RR_TYPE_TXT, 0, 0, NULL);
	CHECK(r != NULL);
	CHECK_INT(ldns_pkt_id(r), ==, 4242);
	CHECK(ldns_pkt_qr(r) && ldns_pkt_aa(r) && ldns_pkt_rd(r));
	CHECK(!ldns_pkt_ra(r) && !ldns_pkt_tc(r));
	CHECK_INT(ldns_pkt_get_rcode(r), ==, LDNS_RCODE_NOERROR);
	CHECK_INT(ldns_pkt_ancount(r), ==, 2);
	a = rdata(ldns_pkt_answer(r), 0, 0);
	b = rdata(ldns_pkt_answer(r), 1, 0);
	CHECK_STR(a, "\"K1\"");
	CHECK_STR(b, "\"K2\"");
	CHECK_INT(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(r), 0)), ==, 60);
	CHECK_INT(ldns_pkt_nscount(r), ==, 0);
	ldns_pkt_free(r);
	/* ANY at the name: everything there, i.e. both TXT values. */
	r = ask(s, ACME, LDNS_RR_TYPE_ANY, 0, 0, NULL);
	CHECK(r != NULL && ldns_pkt_ancount(r) == 2 && ldns_pkt_aa(r));
	CHECK_INT(rrtype(ldns_pkt_answer(r), 1), ==, LDNS_RR_TYPE_TXT);
end:
	LDNS_FREE(a);
	LDNS_FREE(b);
	ldns_pkt_free(r);
	d01_txtstore_free(s);
}

static void
t_apex(void)
{
	struct d01_txtstore *s = fixture();
	ldns_pkt *r = NULL;
	char *str = NULL;
	ldns_rr *soa;

	CHECK(s != NULL);
	r = ask(s, "example.test.", LDNS_RR_TYPE_SOA, 0, 0, NULL);
	CHECK(r != NULL && ldns_pkt_ancount(r) == 1 && ldns_pkt_aa(r));
	soa = ldns_rr_list_rr(ldns_pkt_answer(r), 0);
	CHECK_INT(ldns_rr_get_type(soa), ==, LDNS_RR_TYPE_SOA);
	CHECK_INT(ldns_rr_ttl(soa), ==, 60);
	str = ldns_rr2str(soa);
	/* mname, rname, serial (two changes so far), timers, minimum */
	CHECK(strstr(str, "\tns.example.test. hostmaster.example.test. ") &&
	    strstr(str, " 3600 600 86400 60\n"));
	ldns_pkt_free(r);
	LDNS_FREE(str);
	r = ask(s, "example.test.", LDNS_RR_TYPE_NS, 0, 0, NULL);
	CHECK(r != NULL && ldns_pkt_ancount(r) == 1);
	str = rdata(ldns_pkt_answer(r), 0, 0);
	CHECK_STR(str, "ns.example.test.");
	ldns_pkt_free(r);
	r = ask(s, "example.test.", LDNS_RR_TYPE_ANY, 0, 0, NULL);
	CHECK(r != NULL && ldns_pkt_ancount(r) == 2);
	CHECK_INT(rrtype(ldns_pkt_answer(r), 0), ==, LDNS_RR_TYPE_SOA);
	CHECK_INT(rrtype(ldns_pkt_answer(r), 1), ==, LDNS_RR_TYPE_NS);
	ldns_pkt_free(r);
	/* Apex, type without data: NODATA. */
	r = ask(s, "example.test.", LDNS_RR_TYPE_TXT, 0, 0, NULL);
	CHECK(r != NULL && ldns_pkt_get_rcode(r) == LDNS_RCODE_NOERROR);
	CHECK(ldns_pkt_ancount(r) == 0 && ldns_pkt_nscount(r) == 1);
end:
	LDNS_FREE(str);
	ldns_pkt_free(r);
	d01_txtstore_free(s);
}

/* rcode, AA, answer count and SOA-in-authority of one question. */
static int
shape(const struct d01_txtstore *s, const char *name, ldns_rr_type t, int rcode,
    int aa, size_t an, size_t ns)
{
	ldns_pkt *r = ask(s, name, t, 0, 0, NULL);
	int ok = r != NULL && (int)ldns_pkt_get_rcode(r) == rcode &&
	    (int)ldns_pkt_aa(r) == aa && ldns_pkt_ancount(r) == an &&
	    ldns_pkt_nscount(r) == ns &&
	    (ns == 0 ||
		(rrtype(ldns_pkt_authority(r), 0) == LDNS_RR_TYPE_SOA &&
		    ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_authority(r), 0)) ==
			60));

	if (!ok)
		fprintf(stderr, "  %s type %d: unexpected reply\n", name, t);
	ldns_pkt_free(r);
	return ok;
}

static void
t_negative(void)
{
	struct d01_txtstore *s = fixture();
	const int NX = LDNS_RCODE_NXDOMAIN, OK = LDNS_RCODE_NOERROR;
	const int REF = LDNS_RCODE_REFUSED;

	CHECK(s != NULL);
	CHECK(shape(s, "nope.example.test.", LDNS_RR_TYPE_TXT, NX, 1, 0, 1));
	CHECK(shape(s, "a.nope.example.test.", LDNS_RR_TYPE_SOA, NX, 1, 0, 1));
	/* Existing name, other type: NODATA. */
	CHECK(shape(s, ACME, LDNS_RR_TYPE_A, OK, 1, 0, 1));
	/* Empty non-terminal: NODATA, not NXDOMAIN. */
	CHECK(shape(s, "www.example.test.", LDNS_RR_TYPE_TXT, OK, 1, 0, 1));
	/* The zone's own NS host: exists, no address here (NODATA). */
	CHECK(shape(s, "ns.example.test.", LDNS_RR_TYPE_A, OK, 1, 0, 1));
	CHECK(shape(s, "ns.example.test.", LDNS_RR_TYPE_AAAA, OK, 1, 0, 1));
	/* Outside every zone: REFUSED, not authoritative. */
	CHECK(shape(s, "example.com.", LDNS_RR_TYPE_TXT, REF, 0, 0, 0));
	CHECK(shape(s, "xexample.test.", LDNS_RR_TYPE_TXT, REF, 0, 0, 0));
	CHECK(shape(s, "test.", LDNS_RR_TYPE_SOA, REF, 0, 0, 0));
	CHECK(shape(s, ".", LDNS_RR_TYPE_NS, REF, 0, 0, 0));
	/* No zone transfers; pseudo-types are not questions. */
	CHECK(shape(s, "example.test.", LDNS_RR_TYPE_AXFR, REF, 0, 0, 0));
	CHECK(shape(s, "example.test.", LDNS_RR_TYPE_IXFR, REF, 0, 0, 0));
	CHECK(shape(
	    s, "example.test.", LDNS_RR_TYPE_OPT, LDNS_RCODE_FORMERR, 0, 0, 0));
	CHECK(shape(s, "example.test.", LDNS_RR_TYPE_MAILA, LDNS_RCODE_NOTIMPL,
	    0, 0, 0));
	/* After removal the name is gone. */
	CHECK_INT(d01_txtstore_remove(s, ACME, "K1", NULL), ==, D01_OK);
	CHECK_INT(d01_txtstore_remove(s, ACME, "K2", NULL), ==, D01_OK);
	CHECK(shape(s, ACME, LDNS_RR_TYPE_TXT, NX, 1, 0, 1));
	CHECK(shape(s, "www.example.test.", LDNS_RR_TYPE_TXT, NX, 1, 0, 1));
end:
	d01_txtstore_free(s);
}

static void
t_class_and_flags(void)
{
	struct d01_txtstore *s = fixture();
	ldns_pkt *q = NULL, *r = NULL;

	CHECK(s != NULL);
	CHECK_INT(ldns_pkt_query_new_frm_str(
		      &q, ACME, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_CH, LDNS_CD),
	    ==, LDNS_STATUS_OK);
	r = ask_pkt(s, q, 0, 512, NULL);
	CHECK(r != NULL && ldns_pkt_get_rcode(r) == LDNS_RCODE_REFUSED);
	CHECK(!ldns_pkt_aa(r) && !ldns_pkt_rd(r) && ldns_pkt_cd(r));
	ldns_pkt_free(r);
	ldns_pkt_free(q);
	CHECK_INT(ldns_pkt_query_new_frm_str(
		      &q, ACME, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_ANY, 0),
	    ==, LDNS_STATUS_OK);
	r = ask_pkt(s, q, 0, 512, NULL);
	CHECK(r != NULL && ldns_pkt_ancount(r) == 2 && !ldns_pkt_rd(r));
end:
	ldns_pkt_free(q);
	ldns_pkt_free(r);
	d01_txtstore_free(s);
}

static void
t_case_and_edns(void)
{
	struct d01_txtstore *s = fixture();
	ldns_pkt *q = NULL, *r = NULL;
	char *qn = NULL;

	CHECK(s != NULL);
	/* 0x20 case randomisation: matched case-insensitively, question
	 * echoed as asked. */
	r = ask(s, "_ACME-Challenge.wWw.Example.TEST.", LDNS_RR_TYPE_TXT, 0, 0,
	    NULL);
	CHECK(r != NULL && ldns_pkt_ancount(r) == 2);
	qn = ldns_rdf2str(
	    ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(r), 0)));
	CHECK_STR(qn, "_ACME-Challenge.wWw.Example.TEST.");
	CHECK(!ldns_pkt_edns(r));
	ldns_pkt_free(r);
	r = ask(s, "example.test.", LDNS_RR_TYPE_SOA, 4096, 0, NULL);
	CHECK(r != NULL && ldns_pkt_edns(r));
	CHECK_INT(ldns_pkt_edns_udp_size(r), ==, 1232);
	CHECK_INT(ldns_pkt_edns_version(r), ==, 0);
	ldns_pkt_free(r);
	/* An EDNS version we do not speak: BADVERS (16), OPT version 0. */
	CHECK_INT(ldns_pkt_query_new_frm_str(&q, "example.test.",
		      LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0),
	    ==, LDNS_STATUS_OK);
	ldns_pkt_set_edns_udp_size(q, 1232);
	ldns_pkt_set_edns_version(q, 1);
	r = ask_pkt(s, q, 0, 512, NULL);
	CHECK(r != NULL && ldns_pkt_edns(r));
	CHECK_INT(ldns_pkt_edns_extended_rcode(r) << 4 | ldns_pkt_get_rcode(r),
	    ==, 16);
	CHECK_INT(ldns_pkt_edns_version(r), ==, 0);
	CHECK_INT(ldns_pkt_ancount(r), ==, 0);
end:
	LDNS_FREE(qn);
	ldns_pkt_free(q);
	ldns_pkt_free(r);
	d01_txtstore_free(s);
}

/* n values of 200 bytes at `name`. */
static int
add_big(struct d01_txtstore *s, const char *name, int n)
{
	char val[201];
	int i;

	for (i = 0; i < n; i++) {
		memset(val, 'a' + i, 200);
		val[200] = '\0';
		if (d01_txtstore_add(s, name, val, NULL) != D01_OK)
			return -1;
	}
	return 0;
}

/* TC, answer count and wire length of one reply, as expected? */
static int
sized(const struct d01_txtstore *s, const char *name, uint16_t edns, int tcp,
    int tc, size_t an, size_t maxlen)
{
	size_t len = 0;
	ldns_pkt *r = ask(s, name, LDNS_RR_TYPE_TXT, edns, tcp, &len);
	int ok = r != NULL && (int)ldns_pkt_tc(r) == tc &&
	    ldns_pkt_ancount(r) == an && ldns_pkt_nscount(r) == 0 &&
	    len <= maxlen && ldns_pkt_qdcount(r) == 1 &&
	    (int)ldns_pkt_edns(r) == (edns != 0);

	if (!ok)
		fprintf(stderr, "  %s edns %u tcp %d: tc/an/len %d/%zu/%zu\n",
		    name, edns, tcp, r ? ldns_pkt_tc(r) : -1,
		    r ? (size_t)ldns_pkt_ancount(r) : 0, len);
	ldns_pkt_free(r);
	return ok;
}

static void
t_truncation(void)
{
	struct d01_txtstore *s = fixture();
	const char *big = "big.example.test.", *mid = "mid.example.test.";

	CHECK(s != NULL);
	CHECK(add_big(s, big, 10) == 0 && add_big(s, mid, 5) == 0);
	/* ~1.1 kB: TC without EDNS or with a small buffer, fits in 1232. */
	CHECK(sized(s, mid, 0, 0, 1, 0, 512));
	CHECK(sized(s, mid, 512, 0, 1, 0, 512));
	CHECK(sized(s, mid, 600, 0, 1, 0, 600));
	CHECK(sized(s, mid, 4096, 0, 0, 5, 1232));
	/* ~2.1 kB: over 1232 whatever the client offers. */
	CHECK(sized(s, big, 0, 0, 1, 0, 512));
	CHECK(sized(s, big, 65000, 0, 1, 0, 1232));
	CHECK(sized(s, big, 0, 1, 0, 10, 65535));
	CHECK(sized(s, big, 1232, 1, 0, 10, 65535));
end:
	d01_txtstore_free(s);
}

/* A small output buffer truncates too, and never overflows. */
static void
t_small_outcap(void)
{
	struct d01_txtstore *s = fixture();
	ldns_pkt *q = NULL, *r = NULL;
	size_t len = 0;

	CHECK(s != NULL && add_big(s, "mid.example.test.", 5) == 0);
	CHECK_INT(ldns_pkt_query_new_frm_str(&q, "mid.example.test.",
		      LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, 0),
	    ==, LDNS_STATUS_OK);
	ldns_pkt_set_edns_udp_size(q, 4096);
	r = ask_pkt(s, q, 0, 512, &len);
	CHECK(r != NULL && ldns_pkt_tc(r) && len <= 512);
	ldns_pkt_free(r);
	r = ask_pkt(s, q, 1, 700, &len);
	CHECK(r != NULL && ldns_pkt_tc(r) && len <= 700);
	ldns_pkt_free(r);
	r = ask_pkt(s, q, 0, 11, &len);
	CHECK(r == NULL && len == 0);
end:
	ldns_pkt_free(q);
	ldns_pkt_free(r);
	d01_txtstore_free(s);
}

/* A signed query: NOTAUTH with an unsigned TSIG carrying BADKEY. */
static void
t_tsig(void)
{
	struct d01_txtstore *s = fixture();
	ldns_pkt *q = NULL, *r = NULL;
	ldns_rr *t;

	CHECK(s != NULL);
	CHECK_INT(ldns_pkt_query_new_frm_str(
		      &q, ACME, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, 0),
	    ==, LDNS_STATUS_OK);
	CHECK_INT(ldns_pkt_tsig_sign(q, "k.", "c2VjcmV0c2VjcmV0c2VjcmV0", 300,
		      "hmac-sha256.", NULL),
	    ==, LDNS_STATUS_OK);
	r = ask_pkt(s, q, 0, 512, NULL);
	CHECK(r != NULL && ldns_pkt_get_rcode(r) == LDNS_RCODE_NOTAUTH);
	CHECK(!ldns_pkt_aa(r) && ldns_pkt_ancount(r) == 0);
	CHECK((t = ldns_pkt_tsig(r)) != NULL);
	CHECK_INT(ldns_rdf2native_int16(ldns_rr_rdf(t, 5)), ==, 17);
	CHECK_INT(ldns_rdf_size(ldns_rr_rdf(t, 3)), ==, 2); /* empty MAC */
end:
	ldns_pkt_free(q);
	ldns_pkt_free(r);
	d01_txtstore_free(s);
}

/* Header (ID 0x0102, RD) + question for example.test. SOA IN. */
static const uint8_t SOA_Q[] = {1, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'e', 'x',
    'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0, 0, 6, 0, 1};

static int
rcode_of(const struct d01_txtstore *s, const uint8_t *q, size_t n)
{
	uint8_t out[512];
	size_t len = d01_dnsd_answer(s, q, n, out, sizeof(out), 0);

	if (len < 12 || out[0] != q[0] || out[1] != q[1] || !(out[2] & 0x80))
		return -1;
	return out[3] & 0x0f;
}

static void
t_malformed(void)
{
	struct d01_txtstore *s = fixture();
	uint8_t q[128], out[512];
	static const uint8_t opt[] = {0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0};
	size_t n = sizeof(SOA_Q), i;

	CHECK(s != NULL);
	memcpy(q, SOA_Q, n);
	CHECK_INT(rcode_of(s, q, n), ==, LDNS_RCODE_NOERROR);
	CHECK_INT(d01_dnsd_answer(s, q, 11, out, sizeof(out), 0), ==, 0);
	q[2] |= 0x80; /* a response: no reply at all */
	CHECK_INT(d01_dnsd_answer(s, q, n, out, sizeof(out), 0), ==, 0);
	q[2] = 0x28; /* opcode UPDATE */
	CHECK_INT(rcode_of(s, q, n), ==, LDNS_RCODE_NOTIMPL);
	q[2] = 0x01;
	q[5] = 2; /* QDCOUNT 2 with one question */
	CHECK_INT(rcode_of(s, q, n), ==, LDNS_RCODE_FORMERR);
	q[5] = 0;
	CHECK_INT(rcode_of(s, q, 12), ==, LDNS_RCODE_FORMERR);
	q[5] = 1;
	q[7] = 1; /* an answer RR in a query */
	CHECK_INT(rcode_of(s, q, n), ==, LDNS_RCODE_FORMERR);
	q[7] = 0;
	q[11] = 2; /* two OPT RRs (RFC 6891 §6.1.1) */
	memcpy(q + n, opt, sizeof(opt));
	memcpy(q + n + sizeof(opt), opt, sizeof(opt));
	CHECK_INT(rcode_of(s, q, n + 2 * sizeof(opt)), ==, LDNS_RCODE_FORMERR);
	q[11] = 1;
	CHECK_INT(rcode_of(s, q, n + sizeof(opt)), ==, LDNS_RCODE_NOERROR);
	q[11] = 0;
	q[12] = 0xc0; /* compression pointer to itself */
	q[13] = 12;
	CHECK_INT(rcode_of(s, q, 18), ==, LDNS_RCODE_FORMERR);
	/* Every prefix of a valid query: an answer or FORMERR, no crash. */
	memcpy(q, SOA_Q, n);
	for (i = 12; i < n; i++)
		CHECK_INT(rcode_of(s, q, i), ==, LDNS_RCODE_FORMERR);
end:
	d01_txtstore_free(s);
}

/* Random bytes behind a query-shaped header: never a crash, never more
 * than the buffer, always the ID echoed (run under ASan in CI). */
static void
t_garbage(void)
{
	struct d01_txtstore *s = fixture();
	uint8_t q[300], out[512];
	unsigned seed = 1;
	size_t i, j, len, n;

	CHECK(s != NULL);
	for (i = 0; i < 20000; i++) {
		n = 12 + (size_t)rand_r(&seed) % (sizeof(q) - 12);
		for (j = 0; j < n; j++)
			q[j] = (uint8_t)rand_r(&seed);
		q[2] &= 0x7f;
		if (i % 2) { /* mostly one question, so parsing goes deep */
			q[4] = q[6] = q[7] = 0;
			q[5] = 1;
		}
		len = d01_dnsd_answer(s, q, n, out, sizeof(out), (int)(i % 3));
		CHECK(len <= sizeof(out));
		CHECK(len == 0 || (out[0] == q[0] && out[1] == q[1]));
	}
end:
	d01_txtstore_free(s);
}

int
main(void)
{
	RUN(t_positive);
	RUN(t_apex);
	RUN(t_negative);
	RUN(t_class_and_flags);
	RUN(t_case_and_edns);
	RUN(t_truncation);
	RUN(t_small_outcap);
	RUN(t_tsig);
	RUN(t_malformed);
	RUN(t_garbage);
	return harness_done();
}
