/* SPDX-License-Identifier: ISC */
/*
 * Zone transfers (providers/embedded/xfr.h): the AXFR-form builder split
 * at the message bound and read back with ldns, its SOA against the one
 * d01_dnsd_answer serves, the byte bound, the ACL, the UDP answers; the
 * store's change hook, walk and time-based serials.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "harness.h"
#include "core/clock.h"
#include "providers/embedded/dnsd.h"
#include "providers/embedded/store.h"
#include "providers/embedded/xfr.h"

#define ZONE "example.test."

static struct d01_txtstore *
zone_store(void)
{
	struct d01_txtstore *s = d01_txtstore_new();

	if (s != NULL &&
	    (d01_txtstore_add_zone(s, ZONE, NULL, NULL) ||
		d01_txtstore_add_zone(s, "sub." ZONE, NULL, NULL)))
		return NULL;
	return s;
}

/* The wire of a query (name, type); *len set. Caller frees. */
static uint8_t *
wire_query(const char *name, ldns_rr_type t, size_t *len)
{
	ldns_pkt *q = NULL;
	uint8_t *w = NULL;

	if (ldns_pkt_query_new_frm_str(&q, name, t, LDNS_RR_CLASS_IN, 0) !=
	    LDNS_STATUS_OK)
		return NULL;
	ldns_pkt_set_id(q, 777);
	if (ldns_pkt2wire(&w, q, len) != LDNS_STATUS_OK)
		w = NULL;
	ldns_pkt_free(q);
	return w;
}

/* The messages the builder emits, parsed. */
struct capture {
	ldns_pkt *m[64];
	size_t n, maxlen;
	int bad;
};

static enum d01_err
capture(void *arg, const uint8_t *msg, size_t len)
{
	struct capture *c = arg;

	if (len > c->maxlen)
		c->maxlen = len;
	if (c->n == 64 ||
	    ldns_wire2pkt(&c->m[c->n], msg, len) != LDNS_STATUS_OK)
		c->bad = 1;
	else
		c->n++;
	return D01_OK;
}

static void
capture_free(struct capture *c)
{
	while (c->n > 0)
		ldns_pkt_free(c->m[--c->n]);
}

static void
t_split_at_bound(void)
{
	struct d01_txtstore *s = zone_store();
	struct capture c = {.n = 0};
	struct d01_error err;
	const struct d01_txtzone *z;
	char name[64], val[64];
	size_t qlen = 0, i, k, total = 0, ntxt = 0;
	uint8_t *q = wire_query(ZONE, LDNS_RR_TYPE_AXFR, &qlen);
	int seen[200] = {0};
	ldns_rr *rr;

	CHECK(s != NULL && q != NULL);
	for (i = 0; i < 200; i++) {
		snprintf(
		    name, sizeof(name), "_acme-challenge.h%zu." ZONE, i % 37);
		snprintf(val, sizeof(val), "value-%03zu-padding-padding", i);
		CHECK_INT(d01_txtstore_add(s, name, val, &err), ==, D01_OK);
	}
	/* In the sub-zone: never part of example.test.'s transfer. */
	CHECK_INT(
	    d01_txtstore_add(s, "x.sub." ZONE, "elsewhere", &err), ==, D01_OK);
	z = d01_txtstore_find_zone(s, ZONE);
	CHECK_INT(
	    d01_xfr_build(s, z, q, qlen, 1024, 1 << 20, capture, &c, &err), ==,
	    D01_OK);
	CHECK(!c.bad);
	CHECK(c.maxlen <= 1024);
	CHECK_INT(c.n, >=, 10); /* ~15 KiB of RRs in 1 KiB messages */
	for (k = 0; k < c.n; k++) {
		ldns_rr_list *an = ldns_pkt_answer(c.m[k]);

		CHECK_INT(ldns_pkt_id(c.m[k]), ==, 777);
		CHECK(ldns_pkt_qr(c.m[k]) && ldns_pkt_aa(c.m[k]));
		CHECK_INT(ldns_pkt_get_rcode(c.m[k]), ==, 0);
		/* The question in the first message only (RFC 5936 §2.2.1). */
		CHECK_INT(ldns_pkt_qdcount(c.m[k]), ==, k == 0 ? 1 : 0);
		for (i = 0; i < ldns_rr_list_rr_count(an); i++, total++) {
			rr = ldns_rr_list_rr(an, i);
			if (total == 0)
				CHECK_INT(
				    ldns_rr_get_type(rr), ==, LDNS_RR_TYPE_SOA);
			if (total == 1)
				CHECK_INT(
				    ldns_rr_get_type(rr), ==, LDNS_RR_TYPE_NS);
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_TXT) {
				char *v = ldns_rdf2str(ldns_rr_rdf(rr, 0));
				unsigned idx = 999;

				CHECK(v != NULL);
				sscanf(v, "\"value-%u", &idx);
				free(v);
				CHECK(idx < 200 && !seen[idx]);
				seen[idx] = 1;
				ntxt++;
			}
		}
	}
	CHECK_INT(ntxt, ==, 200); /* every value once; not the sub-zone's */
	rr = ldns_rr_list_rr(
	    ldns_pkt_answer(c.m[c.n - 1]), ldns_pkt_ancount(c.m[c.n - 1]) - 1);
	CHECK_INT(ldns_rr_get_type(rr), ==, LDNS_RR_TYPE_SOA);
	CHECK_INT(
	    ldns_rr_compare(rr, ldns_rr_list_rr(ldns_pkt_answer(c.m[0]), 0)),
	    ==, 0);
	capture_free(&c);
	/* The byte bound: the same zone does not fit in 4 KiB. */
	CHECK_INT(d01_xfr_build(s, z, q, qlen, 1024, 4096, capture, &c, &err),
	    ==, D01_E_LIMIT);
end:
	capture_free(&c);
	free(q);
	d01_txtstore_free(s);
}

/* The SOA in a transfer is the one the server answers SOA queries with. */
static void
t_soa_matches_answer(void)
{
	struct d01_txtstore *s = zone_store();
	struct capture c = {.n = 0};
	struct d01_error err;
	uint8_t out[4096], *q = NULL, *q2 = NULL;
	size_t qlen = 0, q2len = 0, n;
	ldns_pkt *r = NULL;

	CHECK(s != NULL);
	CHECK_INT(d01_txtstore_add(s, "a." ZONE, "v", &err), ==, D01_OK);
	q = wire_query(ZONE, LDNS_RR_TYPE_AXFR, &qlen);
	q2 = wire_query(ZONE, LDNS_RR_TYPE_SOA, &q2len);
	CHECK(q != NULL && q2 != NULL);
	CHECK_INT(d01_xfr_build(s, d01_txtstore_find_zone(s, ZONE), q, qlen,
		      D01_XFR_MAX_MSG, 1 << 20, capture, &c, &err),
	    ==, D01_OK);
	CHECK_INT(c.n, ==, 1);
	CHECK_INT(ldns_pkt_ancount(c.m[0]), ==, 4); /* SOA NS TXT SOA */
	n = d01_dnsd_answer(s, q2, q2len, out, sizeof(out), 1);
	CHECK(n > 0 && ldns_wire2pkt(&r, out, n) == LDNS_STATUS_OK);
	CHECK_INT(ldns_rr_compare(ldns_rr_list_rr(ldns_pkt_answer(r), 0),
		      ldns_rr_list_rr(ldns_pkt_answer(c.m[0]), 0)),
	    ==, 0);
end:
	ldns_pkt_free(r);
	capture_free(&c);
	free(q);
	free(q2);
	d01_txtstore_free(s);
}

static void
sin4(struct sockaddr_storage *ss, const char *a)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	inet_pton(AF_INET, a, &in->sin_addr);
}

static void
sin6(struct sockaddr_storage *ss, const char *a)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	in6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, a, &in6->sin6_addr);
}

static void
t_acl(void)
{
	const char *allow[] = {"192.0.2.0/25", "10.1.2.3", "2001:db8::/33"};
	const char *bad[] = {"192.0.2.0/33", "300.1.1.1", "10.0.0.0/", "/8",
	    "2001:db8::/129", "10.0.0.0/8x", "key:", "", "a.b"};
	struct d01_xfr *x = d01_xfr_new(allow, 3, NULL), *y;
	struct sockaddr_storage ss;
	struct d01_error err;
	size_t i;

	CHECK(x != NULL);
	sin4(&ss, "192.0.2.127");
	CHECK(d01_xfr_allowed(x, (struct sockaddr *)&ss));
	sin4(&ss, "192.0.2.128");
	CHECK(!d01_xfr_allowed(x, (struct sockaddr *)&ss));
	sin4(&ss, "10.1.2.3");
	CHECK(d01_xfr_allowed(x, (struct sockaddr *)&ss));
	sin4(&ss, "10.1.2.4");
	CHECK(!d01_xfr_allowed(x, (struct sockaddr *)&ss));
	sin6(&ss, "::ffff:10.1.2.3"); /* a v4 client on a dual-stack [::] */
	CHECK(d01_xfr_allowed(x, (struct sockaddr *)&ss));
	sin6(&ss, "2001:db8:7fff::1");
	CHECK(d01_xfr_allowed(x, (struct sockaddr *)&ss));
	sin6(&ss, "2001:db8:8000::1");
	CHECK(!d01_xfr_allowed(x, (struct sockaddr *)&ss));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		y = d01_xfr_new(&bad[i], 1, &err);
		CHECK(y == NULL);
		CHECK_INT(err.code, ==, D01_E_CONFIG);
	}
	/* No entries: nobody. */
	d01_xfr_free(x);
	x = d01_xfr_new(NULL, 0, NULL);
	CHECK(x != NULL);
	sin4(&ss, "127.0.0.1");
	CHECK(!d01_xfr_allowed(x, (struct sockaddr *)&ss));
end:
	d01_xfr_free(x);
}

static void
t_udp(void)
{
	const char *allow[] = {"127.0.0.1"};
	struct d01_txtstore *s = zone_store();
	struct d01_xfr *x = d01_xfr_new(allow, 1, NULL);
	struct sockaddr_storage ok, no;
	uint8_t out[1024], *ax = NULL, *ix = NULL, *txt = NULL;
	size_t axl = 0, ixl = 0, txtl = 0, n;

	CHECK(s != NULL && x != NULL);
	sin4(&ok, "127.0.0.1");
	sin4(&no, "127.0.0.2");
	ax = wire_query(ZONE, LDNS_RR_TYPE_AXFR, &axl);
	ix = wire_query(ZONE, LDNS_RR_TYPE_IXFR, &ixl);
	txt = wire_query(ZONE, LDNS_RR_TYPE_TXT, &txtl);
	CHECK(ax != NULL && ix != NULL && txt != NULL);
	CHECK(d01_xfr_is_request(ax, axl) && d01_xfr_is_request(ix, ixl));
	CHECK(!d01_xfr_is_request(txt, txtl));
	CHECK(!d01_xfr_is_request(ax, 16)); /* cut short */
	n = d01_xfr_udp(
	    x, s, (struct sockaddr *)&ok, ax, axl, out, sizeof(out));
	CHECK(n >= 12);
	CHECK_INT(out[3] & 0x0f, ==, LDNS_RCODE_FORMERR);
	n = d01_xfr_udp(
	    x, s, (struct sockaddr *)&no, ix, ixl, out, sizeof(out));
	CHECK(n >= 12);
	CHECK_INT(out[3] & 0x0f, ==, LDNS_RCODE_REFUSED);
	n = d01_xfr_udp(
	    x, s, (struct sockaddr *)&ok, ix, ixl, out, sizeof(out));
	CHECK(n > 12);
	CHECK_INT(out[3] & 0x0f, ==, 0);
	CHECK_INT(out[7], ==, 1); /* the one SOA: "use TCP" */
end:
	free(ax);
	free(ix);
	free(txt);
	d01_xfr_free(x);
	d01_txtstore_free(s);
}

struct hook_log {
	int calls;
	uint32_t last;
};

static void
hook(void *arg, const struct d01_txtzone *z)
{
	struct hook_log *h = arg;

	h->calls++;
	h->last = z->serial;
}

/* Serials follow the clock in 10 ms steps and never go back; the hook
 * sees every change and nothing else. */
static void
t_serial_and_hook(void)
{
	struct d01_test_clock tc;
	struct d01_txtstore *s = d01_txtstore_new(), *s2 = NULL;
	struct hook_log h = {0, 0};
	struct d01_error err;
	const struct d01_txtzone *z;
	uint32_t s0;
	int i;

	d01_test_clock_init(&tc, 1700000000);
	CHECK(s != NULL);
	d01_txtstore_set_clock(s, &tc.clock);
	CHECK_INT(d01_txtstore_add_zone(s, ZONE, NULL, &err), ==, D01_OK);
	z = d01_txtstore_zone(s, 0);
	s0 = z->serial;
	/* (1700000000 - 1577836800) s in hundredths. */
	CHECK_INT(s0, ==, (uint32_t)(122163200LL * 100));
	d01_txtstore_on_change(s, hook, &h);
	for (i = 0; i < 50; i++) /* a burst: +1 each, ahead of the clock */
		CHECK_INT(
		    d01_txtstore_add(s, "a." ZONE, i % 2 ? "x" : "y", &err), ==,
		    D01_OK);
	CHECK_INT(h.calls, ==, 2); /* the rest were idempotent: no change */
	CHECK_INT(z->serial, ==, s0 + 2);
	CHECK_INT(h.last, ==, z->serial);
	d01_test_clock_advance(&tc, 5000);
	CHECK_INT(d01_txtstore_remove(s, "a." ZONE, "x", &err), ==, D01_OK);
	CHECK_INT(z->serial, ==, s0 + 500); /* caught up with the clock */
	CHECK_INT(d01_txtstore_remove(s, "a." ZONE, "x", &err), ==, D01_OK);
	CHECK_INT(h.calls, ==, 3); /* removing nothing is no change */
	d01_txtstore_clear(s);
	CHECK_INT(h.calls, ==, 4);
	CHECK_INT(z->serial, ==, s0 + 501);
	/* A restart 20 ms later starts above every serial served. */
	d01_test_clock_advance(&tc, 20);
	s2 = d01_txtstore_new();
	CHECK(s2 != NULL);
	d01_txtstore_set_clock(s2, &tc.clock);
	CHECK_INT(d01_txtstore_add_zone(s2, ZONE, NULL, &err), ==, D01_OK);
	CHECK(d01_serial_gt(d01_txtstore_zone(s2, 0)->serial, z->serial));
	/* RFC 1982 across the wrap. */
	CHECK(d01_serial_gt(5, 0xfffffff0u));
	CHECK(!d01_serial_gt(0xfffffff0u, 5));
	CHECK(!d01_serial_gt(7, 7));
end:
	d01_txtstore_free(s);
	d01_txtstore_free(s2);
}

int
main(void)
{
	RUN(t_split_at_bound);
	RUN(t_soa_matches_answer);
	RUN(t_acl);
	RUN(t_udp);
	RUN(t_serial_and_hook);
	return harness_done();
}
