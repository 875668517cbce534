/* SPDX-License-Identifier: ISC */
/*
 * TSIG-keyed zone transfers (providers/embedded/xfr.h with dnsd_tsig.h):
 * a signed AXFR of a zone too big for one message is signed message by
 * message and every message verifies with ldns's own code
 * (ldns_pkt_tsig_verify_next: the first over the request's MAC, the
 * following ones over the prior MAC with the timers only); who may
 * transfer (a listed key from anywhere, another key REFUSED signed, a bad
 * secret BADSIG, unsigned by address); key:NAME checked at start-up; a
 * signed IXFR over UDP.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <ldns/ldns.h>

#include "harness.h"
#include "core/clock.h"
#include "providers/embedded/dnsd_tsig.h"
#include "providers/embedded/store.h"
#include "providers/embedded/tsigkeys.h"
#include "providers/embedded/xfr.h"

#define ZONE	"example.test."
#define SECRET	"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXh4eHg="
#define SECRET2 "b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXIteHg="
#define BADSEC	"d3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmctd3JvbmcteHg="
#define KEYFILE                                                                \
	"key \"xfr-key\" { algorithm hmac-sha256; secret \"" SECRET "\"; };\n" \
	"key \"other-key\" { algorithm hmac-sha256; secret \"" SECRET2         \
	"\"; };\n"

static void
sin4(struct sockaddr_storage *ss, const char *a)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	inet_pton(AF_INET, a, &in->sin_addr);
}

/* A request for (ZONE, t), signed with key/secret unless key is NULL;
 * its wire in *w (caller frees) and the packet (caller frees). */
static ldns_pkt *
request(ldns_rr_type t, const char *key, const char *secret, uint8_t **w,
    size_t *len)
{
	ldns_pkt *q = NULL;

	*w = NULL;
	if (ldns_pkt_query_new_frm_str(&q, ZONE, t, LDNS_RR_CLASS_IN, 0) !=
	    LDNS_STATUS_OK)
		return NULL;
	ldns_pkt_set_id(q, 4242);
	if ((key != NULL &&
		ldns_pkt_tsig_sign(q, key, secret, 300, "hmac-sha256.", NULL) !=
		    LDNS_STATUS_OK) ||
	    ldns_pkt2wire(w, q, len) != LDNS_STATUS_OK) {
		ldns_pkt_free(q);
		free(*w);
		*w = NULL;
		return NULL;
	}
	return q;
}

/* The next framed message of buf into msg (*len); 0 when none is left. */
static int
next_msg(struct evbuffer *buf, uint8_t *msg, size_t *len)
{
	uint8_t hdr[2];

	if (evbuffer_remove(buf, hdr, 2) != 2)
		return 0;
	*len = (size_t)hdr[0] << 8 | hdr[1];
	return evbuffer_remove(buf, msg, *len) == (int)*len;
}

struct fixture {
	struct d01_test_clock tc;
	struct d01_txtstore *s;
	struct d01_keyring *kr;
	struct d01_xfr *x;
};

static int
fixture_init(struct fixture *f)
{
	static const char *allow[] = {"key:xfr-key", "192.0.2.1"};
	char name[64], val[256];
	struct d01_error err;
	size_t i;

	memset(f, 0, sizeof(*f));
	d01_test_clock_init(&f->tc, (int64_t)time(NULL));
	if ((f->s = d01_txtstore_new()) == NULL ||
	    d01_txtstore_add_zone(f->s, ZONE, NULL, &err) != D01_OK ||
	    (f->kr = d01_keyring_new()) == NULL ||
	    d01_keyring_parse(f->kr, KEYFILE, strlen(KEYFILE), "test", &err) !=
		D01_OK ||
	    (f->x = d01_xfr_new(allow, 2, &err)) == NULL ||
	    d01_xfr_set_keys(f->x, f->kr, &f->tc.clock, &err) != D01_OK)
		return -1;
	/* 600 values of 200 bytes: ~140 KiB, three messages at least. */
	memset(val, 'v', 200);
	val[200] = '\0';
	for (i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "_acme-challenge.h%zu." ZONE, i);
		snprintf(val, sizeof(val), "%03zu", i);
		val[3] = 'v';
		if (d01_txtstore_add(f->s, name, val, &err) != D01_OK)
			return -1;
	}
	return 0;
}

static void
fixture_free(struct fixture *f)
{
	d01_xfr_free(f->x);
	d01_keyring_free(f->kr);
	d01_txtstore_free(f->s);
}

/* A signed AXFR over TCP from an address not in the list: every message
 * signed and verified in order; the RRs are the whole zone. */
static void
t_signed_multi_message(void)
{
	struct fixture f;
	struct sockaddr_storage peer;
	struct evbuffer *out = evbuffer_new();
	ldns_pkt *q = NULL, *m = NULL;
	ldns_rdf *prior = NULL;
	uint8_t *w = NULL, *msg = malloc(65536);
	size_t wl = 0, ml, nmsg = 0, ntxt = 0, i;
	ldns_rr *last = NULL;

	CHECK(fixture_init(&f) == 0 && out != NULL && msg != NULL);
	sin4(&peer, "127.0.0.1");
	q = request(LDNS_RR_TYPE_AXFR, "xfr-key.", SECRET, &w, &wl);
	CHECK(q != NULL);
	CHECK_INT(
	    d01_xfr_tcp(f.x, f.s, (struct sockaddr *)&peer, w, wl, out), ==, 1);
	d01_xfr_done(f.x);
	prior = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(q), 3));
	while (next_msg(out, msg, &ml)) {
		CHECK(ml <= 65535);
		CHECK_INT(ldns_wire2pkt(&m, msg, ml), ==, LDNS_STATUS_OK);
		CHECK(ldns_pkt_tsig(m) != NULL); /* every message signed */
		/* The first over the request's MAC and every variable, the
		 * others over the prior MAC and the timers. */
		CHECK(ldns_pkt_tsig_verify_next(
		    m, msg, ml, "xfr-key.", SECRET, prior, nmsg > 0));
		ldns_rdf_deep_free(prior);
		prior = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(m), 3));
		CHECK_INT(ldns_pkt_get_rcode(m), ==, 0);
		for (i = 0; i < ldns_pkt_ancount(m); i++) {
			ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(m), i);

			ntxt += ldns_rr_get_type(rr) == LDNS_RR_TYPE_TXT;
			ldns_rr_free(last);
			last = ldns_rr_clone(rr);
		}
		ldns_pkt_free(m);
		m = NULL;
		nmsg++;
	}
	CHECK_INT(nmsg, >=, 2);
	CHECK_INT(ntxt, ==, 600);
	CHECK(last != NULL && ldns_rr_get_type(last) == LDNS_RR_TYPE_SOA);
	CHECK_INT(evbuffer_get_length(out), ==, 0); /* nothing half-framed */
end:
	ldns_rr_free(last);
	ldns_rdf_deep_free(prior);
	ldns_pkt_free(m);
	ldns_pkt_free(q);
	free(w);
	free(msg);
	if (out != NULL)
		evbuffer_free(out);
	fixture_free(&f);
}

/* One TCP reply to the request; its rcode, and the TSIG error (or -1
 * when the reply is unsigned; -2 when the signature does not verify). */
static int
one_reply(struct fixture *f, const char *from, const char *key,
    const char *secret, const char *verify_secret, int *tsig_error)
{
	struct sockaddr_storage peer;
	struct evbuffer *out = evbuffer_new();
	ldns_pkt *q = NULL, *m = NULL;
	uint8_t *w = NULL, msg[4096];
	size_t wl = 0, ml = 0;
	int rcode = -1, rc;

	*tsig_error = -1;
	sin4(&peer, from);
	q = request(LDNS_RR_TYPE_AXFR, key, secret, &w, &wl);
	if (q == NULL || out == NULL)
		goto out;
	rc = d01_xfr_tcp(f->x, f->s, (struct sockaddr *)&peer, w, wl, out);
	if (rc == 1) {
		d01_xfr_done(f->x);
		rcode = 0;
		goto out;
	}
	if (rc != 0 || evbuffer_get_length(out) > sizeof(msg) + 2 ||
	    !next_msg(out, msg, &ml) ||
	    ldns_wire2pkt(&m, msg, ml) != LDNS_STATUS_OK)
		goto out;
	rcode = ldns_pkt_get_rcode(m);
	if (ldns_pkt_tsig(m) != NULL) {
		*tsig_error = (int)ldns_rdf2native_int16(
		    ldns_rr_rdf(ldns_pkt_tsig(m), 5));
		if (verify_secret != NULL &&
		    !ldns_pkt_tsig_verify(m, msg, ml, key, verify_secret,
			ldns_rr_rdf(ldns_pkt_tsig(q), 3)))
			*tsig_error = -2;
	}
out:
	ldns_pkt_free(m);
	ldns_pkt_free(q);
	free(w);
	if (out != NULL)
		evbuffer_free(out);
	return rcode;
}

static void
t_who_may_transfer(void)
{
	struct fixture f;
	int te;

	CHECK(fixture_init(&f) == 0);
	/* Unsigned: by address. */
	CHECK_INT(one_reply(&f, "127.0.0.1", NULL, NULL, NULL, &te), ==,
	    LDNS_RCODE_REFUSED);
	CHECK_INT(te, ==, -1);
	CHECK_INT(one_reply(&f, "192.0.2.1", NULL, NULL, NULL, &te), ==, 0);
	/* Another valid key, not listed: REFUSED, signed, even from the
	 * listed address. */
	CHECK_INT(
	    one_reply(&f, "127.0.0.1", "other-key.", SECRET2, SECRET2, &te), ==,
	    LDNS_RCODE_REFUSED);
	CHECK_INT(te, ==, 0);
	CHECK_INT(
	    one_reply(&f, "192.0.2.1", "other-key.", SECRET2, SECRET2, &te), ==,
	    LDNS_RCODE_REFUSED);
	CHECK_INT(te, ==, 0);
	/* The listed key with a wrong secret: NOTAUTH, BADSIG, unsigned. */
	CHECK_INT(one_reply(&f, "127.0.0.1", "xfr-key.", BADSEC, NULL, &te), ==,
	    LDNS_RCODE_NOTAUTH);
	CHECK_INT(te, ==, D01_TSIG_E_BADSIG);
	/* A key nobody knows: BADKEY. */
	CHECK_INT(one_reply(&f, "127.0.0.1", "nobody.", SECRET, NULL, &te), ==,
	    LDNS_RCODE_NOTAUTH);
	CHECK_INT(te, ==, D01_TSIG_E_BADKEY);
	/* Time outside the fudge: BADTIME, signed. */
	d01_test_clock_advance(&f.tc, 3600 * 1000);
	CHECK_INT(one_reply(&f, "127.0.0.1", "xfr-key.", SECRET, NULL, &te), ==,
	    LDNS_RCODE_NOTAUTH);
	CHECK_INT(te, ==, D01_TSIG_E_BADTIME);
end:
	fixture_free(&f);
}

/* key:NAME must name a key of the keyring, checked before serving. */
static void
t_keys_checked_at_startup(void)
{
	const char *one[] = {"key:missing-key"}, *bad[] = {"key:"};
	struct d01_keyring *kr = d01_keyring_new();
	struct d01_xfr *x = NULL;
	struct d01_error err;

	CHECK(kr != NULL);
	CHECK_INT(d01_keyring_parse(kr, KEYFILE, strlen(KEYFILE), "t", &err),
	    ==, D01_OK);
	x = d01_xfr_new(one, 1, &err);
	CHECK(x != NULL);
	CHECK_INT(d01_xfr_set_keys(x, kr, NULL, &err), ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "missing-key") != NULL);
	CHECK(strstr(err.msg, "--tsig-keyfile") != NULL);
	CHECK_INT(d01_xfr_set_keys(x, NULL, NULL, &err), ==, D01_E_CONFIG);
	d01_xfr_free(x);
	x = d01_xfr_new(bad, 1, &err);
	CHECK(x == NULL);
	CHECK_INT(err.code, ==, D01_E_CONFIG);
end:
	d01_xfr_free(x);
	d01_keyring_free(kr);
}

/* A signed IXFR over UDP: the single SOA, signed; a signed AXFR over
 * UDP: FORMERR, signed. */
static void
t_signed_udp(void)
{
	struct fixture f;
	struct sockaddr_storage peer;
	ldns_pkt *q = NULL, *m = NULL;
	uint8_t *w = NULL, out[2048];
	size_t wl = 0, n;

	CHECK(fixture_init(&f) == 0);
	sin4(&peer, "127.0.0.1");
	q = request(LDNS_RR_TYPE_IXFR, "xfr-key.", SECRET, &w, &wl);
	CHECK(q != NULL);
	n = d01_xfr_udp(
	    f.x, f.s, (struct sockaddr *)&peer, w, wl, out, sizeof(out));
	CHECK(n > 12);
	CHECK_INT(ldns_wire2pkt(&m, out, n), ==, LDNS_STATUS_OK);
	CHECK_INT(ldns_pkt_get_rcode(m), ==, 0);
	CHECK_INT(ldns_pkt_ancount(m), ==, 1);
	CHECK(ldns_pkt_tsig_verify(
	    m, out, n, "xfr-key.", SECRET, ldns_rr_rdf(ldns_pkt_tsig(q), 3)));
	ldns_pkt_free(m);
	m = NULL;
	ldns_pkt_free(q);
	free(w);
	q = request(LDNS_RR_TYPE_AXFR, "xfr-key.", SECRET, &w, &wl);
	CHECK(q != NULL);
	n = d01_xfr_udp(
	    f.x, f.s, (struct sockaddr *)&peer, w, wl, out, sizeof(out));
	CHECK_INT(ldns_wire2pkt(&m, out, n), ==, LDNS_STATUS_OK);
	CHECK_INT(ldns_pkt_get_rcode(m), ==, LDNS_RCODE_FORMERR);
	CHECK(ldns_pkt_tsig_verify(
	    m, out, n, "xfr-key.", SECRET, ldns_rr_rdf(ldns_pkt_tsig(q), 3)));
end:
	ldns_pkt_free(m);
	ldns_pkt_free(q);
	free(w);
	fixture_free(&f);
}

int
main(void)
{
	RUN(t_signed_multi_message);
	RUN(t_who_may_transfer);
	RUN(t_keys_checked_at_startup);
	RUN(t_signed_udp);
	return harness_done();
}
