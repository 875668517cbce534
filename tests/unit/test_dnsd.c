/* SPDX-License-Identifier: ISC */
/*
 * The embedded DNS server: authoritative answers from d01_dnsd_answer()
 * checked rule by rule with ldns, then one UDP and one TCP exchange over
 * loopback sockets on a real event loop.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#include "harness.h"
#include "providers/embedded/dnsd.h"
#include "providers/embedded/store.h"

static struct d01_txtstore *
fixture(void)
{
	struct d01_txtstore *s = d01_txtstore_new();

	if (s == NULL ||
	    d01_txtstore_add_zone(s, "example.test", NULL, NULL) != D01_OK ||
	    d01_txtstore_add(
		s, "_acme-challenge.www.example.test.", "K1", NULL) != D01_OK ||
	    d01_txtstore_add(
		s, "_acme-challenge.www.example.test.", "K2", NULL) != D01_OK) {
		d01_txtstore_free(s);
		return NULL;
	}
	return s;
}

/* Ask (name, type) with optional EDNS size; returns the parsed reply. */
static ldns_pkt *
ask(const struct d01_txtstore *s, const char *name, ldns_rr_type type,
    uint16_t edns, int tcp, size_t *wirelen)
{
	ldns_pkt *q = NULL, *r = NULL;
	uint8_t *wire = NULL, out[65535];
	size_t qlen, len;

	if (ldns_pkt_query_new_frm_str(
		&q, name, type, LDNS_RR_CLASS_IN, LDNS_RD) != LDNS_STATUS_OK)
		return NULL;
	ldns_pkt_set_id(q, 4242);
	if (edns)
		ldns_pkt_set_edns_udp_size(q, edns);
	if (ldns_pkt2wire(&wire, q, &qlen) == LDNS_STATUS_OK) {
		len = d01_dnsd_answer(s, wire, qlen, out, sizeof(out), tcp);
		if (wirelen != NULL)
			*wirelen = len;
		if (len > 0)
			ldns_wire2pkt(&r, out, len);
	}
	LDNS_FREE(wire);
	ldns_pkt_free(q);
	return r;
}

static void
t_positive(void)
{
	struct d01_txtstore *s = fixture();
	ldns_pkt *r = NULL;
	char *str = NULL;

	CHECK(s != NULL);
	r = ask(s, "_acme-challenge.www.example.test.", LDNS_RR_TYPE_TXT, 0, 0,
	    NULL);
	CHECK(r != NULL);
	CHECK_INT(ldns_pkt_id(r), ==, 4242);
	CHECK(ldns_pkt_qr(r) && ldns_pkt_aa(r) && ldns_pkt_rd(r));
	CHECK(!ldns_pkt_ra(r));
	CHECK_INT(ldns_pkt_get_rcode(r), ==, LDNS_RCODE_NOERROR);
	CHECK_INT(ldns_pkt_ancount(r), ==, 2);
	str = ldns_rdf2str(
	    ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), 0), 0));
	CHECK_STR(str, "\"K1\"");
	LDNS_FREE(str);
	str = ldns_rdf2str(
	    ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), 1), 0));
	CHECK_STR(str, "\"K2\"");
	CHECK_INT(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(r), 0)), ==, 60);
	ldns_pkt_free(r);
	r = ask(s, "example.test.", LDNS_RR_TYPE_SOA, 0, 0, NULL);
	CHECK(r != NULL && ldns_pkt_ancount(r) == 1 && ldns_pkt_aa(r));
	CHECK_INT(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(r), 0)), ==,
	    LDNS_RR_TYPE_SOA);
	ldns_pkt_free(r);
	r = ask(s, "example.test.", LDNS_RR_TYPE_NS, 0, 0, NULL);
	CHECK(r != NULL && ldns_pkt_ancount(r) == 1);
	LDNS_FREE(str);
	str = ldns_rdf2str(
	    ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), 0), 0));
	CHECK_STR(str, "ns.example.test.");
	ldns_pkt_free(r);
	r = ask(s, "example.test.", LDNS_RR_TYPE_ANY, 0, 0, NULL);
	CHECK(r != NULL && ldns_pkt_ancount(r) == 2);
end:
	LDNS_FREE(str);
	ldns_pkt_free(r);
	d01_txtstore_free(s);
}

static void
t_negative(void)
{
	struct d01_txtstore *s = fixture();
	ldns_pkt *r = NULL;

	CHECK(s != NULL);
	/* Missing name: NXDOMAIN, SOA in authority, authoritative. */
	r = ask(s, "nope.example.test.", LDNS_RR_TYPE_TXT, 0, 0, NULL);
	CHECK(r != NULL);
	CHECK_INT(ldns_pkt_get_rcode(r), ==, LDNS_RCODE_NXDOMAIN);
	CHECK(ldns_pkt_aa(r));
	CHECK_INT(ldns_pkt_nscount(r), ==, 1);
	CHECK_INT(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_authority(r), 0)),
	    ==, LDNS_RR_TYPE_SOA);
	ldns_pkt_free(r);
	/* Existing name, other type: NODATA. */
	r = ask(
	    s, "_acme-challenge.www.example.test.", LDNS_RR_TYPE_A, 0, 0, NULL);
	CHECK(r != NULL && ldns_pkt_get_rcode(r) == LDNS_RCODE_NOERROR);
	CHECK_INT(ldns_pkt_ancount(r), ==, 0);
	CHECK_INT(ldns_pkt_nscount(r), ==, 1);
	ldns_pkt_free(r);
	/* Empty non-terminal: NODATA, not NXDOMAIN. */
	r = ask(s, "www.example.test.", LDNS_RR_TYPE_TXT, 0, 0, NULL);
	CHECK(r != NULL && ldns_pkt_get_rcode(r) == LDNS_RCODE_NOERROR);
	CHECK_INT(ldns_pkt_ancount(r), ==, 0);
	ldns_pkt_free(r);
	/* Outside every zone: REFUSED, not authoritative. */
	r = ask(s, "example.com.", LDNS_RR_TYPE_TXT, 0, 0, NULL);
	CHECK(r != NULL && ldns_pkt_get_rcode(r) == LDNS_RCODE_REFUSED);
	CHECK(!ldns_pkt_aa(r));
	ldns_pkt_free(r);
	r = ask(s, "xexample.test.", LDNS_RR_TYPE_TXT, 0, 0, NULL);
	CHECK(r != NULL && ldns_pkt_get_rcode(r) == LDNS_RCODE_REFUSED);
end:
	ldns_pkt_free(r);
	d01_txtstore_free(s);
}

static void
t_case_and_edns(void)
{
	struct d01_txtstore *s = fixture();
	ldns_pkt *r = NULL;
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
end:
	LDNS_FREE(qn);
	ldns_pkt_free(r);
	d01_txtstore_free(s);
}

static void
t_truncation(void)
{
	struct d01_txtstore *s = fixture();
	ldns_pkt *r = NULL;
	char val[256];
	size_t len = 0;
	int i;

	CHECK(s != NULL);
	for (i = 0; i < 10; i++) {
		memset(val, 'a' + i, 200);
		val[200] = '\0';
		CHECK_INT(d01_txtstore_add(s, "big.example.test.", val, NULL),
		    ==, D01_OK);
	}
	r = ask(s, "big.example.test.", LDNS_RR_TYPE_TXT, 0, 0, &len);
	CHECK(r != NULL && ldns_pkt_tc(r));
	CHECK_INT(ldns_pkt_ancount(r), ==, 0);
	CHECK(len <= 512);
	ldns_pkt_free(r);
	r = ask(s, "big.example.test.", LDNS_RR_TYPE_TXT, 1232, 0, &len);
	CHECK(r != NULL && ldns_pkt_tc(r)); /* 10 x 200 > 1232 too */
	CHECK(len <= 1232);
	ldns_pkt_free(r);
	r = ask(s, "big.example.test.", LDNS_RR_TYPE_TXT, 0, 1, &len);
	CHECK(r != NULL && !ldns_pkt_tc(r));
	CHECK_INT(ldns_pkt_ancount(r), ==, 10);
end:
	ldns_pkt_free(r);
	d01_txtstore_free(s);
}

static void
t_malformed(void)
{
	struct d01_txtstore *s = fixture();
	uint8_t q[64], out[512];

	CHECK(s != NULL);
	memset(q, 0, sizeof(q));
	CHECK_INT(d01_dnsd_answer(s, q, 11, out, sizeof(out), 0), ==, 0);
	q[0] = 1;
	q[2] = 0x80; /* a response: no reply at all */
	CHECK_INT(d01_dnsd_answer(s, q, 12, out, sizeof(out), 0), ==, 0);
	q[2] = 0x28; /* opcode UPDATE */
	CHECK_INT(d01_dnsd_answer(s, q, 12, out, sizeof(out), 0), ==, 12);
	CHECK_INT(out[3] & 0x0f, ==, LDNS_RCODE_NOTIMPL);
	CHECK_INT(out[0], ==, 1);
	q[2] = 0;
	q[5] = 2; /* QDCOUNT 2 with no questions */
	CHECK_INT(d01_dnsd_answer(s, q, 12, out, sizeof(out), 0), ==, 12);
	CHECK_INT(out[3] & 0x0f, ==, LDNS_RCODE_FORMERR);
	q[5] = 1;
	q[12] = 0xc0; /* compression pointer to itself */
	q[13] = 12;
	CHECK_INT(d01_dnsd_answer(s, q, 18, out, sizeof(out), 0), ==, 12);
	CHECK_INT(out[3] & 0x0f, ==, LDNS_RCODE_FORMERR);
end:
	d01_txtstore_free(s);
}

static int
free_port(int type)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, type, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sl) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

struct wait {
	struct event_base *base;
	uint8_t buf[65535];
	ssize_t len;
	int tcp;
};

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct wait *w = arg;

	(void)what;
	/* TCP: the whole framed reply arrives in one read on loopback. */
	w->len = recv(fd, w->buf, sizeof(w->buf), 0);
	event_base_loopbreak(w->base);
}

/* Send wire to 127.0.0.1:port over UDP or TCP and wait (<= 5 s). */
static ssize_t
exchange(struct event_base *base, int port, int tcp, const uint8_t *wire,
    size_t len, struct wait *w)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct timeval tv = {5, 0};
	struct event *ev = NULL;
	uint8_t frame[2 + 512];
	int fd;

	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	w->base = base;
	w->len = -1;
	if ((fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto out;
	if (tcp) {
		frame[0] = (uint8_t)(len >> 8);
		frame[1] = (uint8_t)len;
		memcpy(frame + 2, wire, len);
		wire = frame;
		len += 2;
	}
	if (send(fd, wire, len, 0) != (ssize_t)len)
		goto out;
	ev = event_new(base, fd, EV_READ, on_readable, w);
	event_add(ev, &tv);
	event_base_dispatch(base);
out:
	if (ev != NULL)
		event_free(ev);
	close(fd);
	return w->len;
}

static void
t_sockets(void)
{
	struct d01_txtstore *s = fixture();
	struct event_base *base = event_base_new();
	struct d01_dnsd *d = NULL;
	struct d01_error err;
	struct wait *w = calloc(1, sizeof(*w));
	ldns_pkt *q = NULL, *r = NULL;
	uint8_t *wire = NULL;
	size_t qlen;
	char addr[64];
	int port = free_port(SOCK_DGRAM);

	CHECK(s != NULL && base != NULL && w != NULL && port > 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	d = d01_dnsd_new(base, s, addr, &err);
	CHECK(d != NULL);
	CHECK(d01_dnsd_new(base, s, "127.0.0.1", &err) == NULL);
	CHECK(d01_dnsd_new(base, s, "nonsense:53", &err) == NULL);
	CHECK_INT(
	    ldns_pkt_query_new_frm_str(&q, "_acme-challenge.www.example.test.",
		LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, 0),
	    ==, LDNS_STATUS_OK);
	CHECK_INT(ldns_pkt2wire(&wire, q, &qlen), ==, LDNS_STATUS_OK);
	CHECK(exchange(base, port, 0, wire, qlen, w) > 12);
	CHECK_INT(
	    ldns_wire2pkt(&r, w->buf, (size_t)w->len), ==, LDNS_STATUS_OK);
	CHECK_INT(ldns_pkt_ancount(r), ==, 2);
	ldns_pkt_free(r);
	r = NULL;
	CHECK(exchange(base, port, 1, wire, qlen, w) > 14);
	CHECK_INT((w->buf[0] << 8 | w->buf[1]), ==, w->len - 2);
	CHECK_INT(ldns_wire2pkt(&r, w->buf + 2, (size_t)w->len - 2), ==,
	    LDNS_STATUS_OK);
	CHECK_INT(ldns_pkt_ancount(r), ==, 2);
	CHECK(ldns_pkt_aa(r));
end:
	LDNS_FREE(wire);
	ldns_pkt_free(q);
	ldns_pkt_free(r);
	d01_dnsd_free(d);
	d01_txtstore_free(s);
	if (base != NULL)
		event_base_free(base);
	free(w);
}

int
main(void)
{
	RUN(t_positive);
	RUN(t_negative);
	RUN(t_case_and_edns);
	RUN(t_truncation);
	RUN(t_malformed);
	RUN(t_sockets);
	return harness_done();
}
