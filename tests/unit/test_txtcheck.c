/* SPDX-License-Identifier: ISC */
/*
 * The TXT checker: what counts as "the value is there" in a reply, and the
 * state machine (CNAME, SOA walk, NS, addresses, polling, absent mode,
 * timeout, cancel) against an in-process UDP responder that answers from a
 * small table of RRs. Real BIND zones are exercised by
 * tests/integration/test_cli.py.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/txtcheck.h"
#include "harness.h"

#define NAME "_acme-challenge.www.example.test."

/* ---- a table-driven responder ---- */

struct responder {
	int fd, port;
	struct event *ev;
	ldns_rr_list *zone;
	int queries, txt_with_rd;
};

static void
respond(evutil_socket_t fd, short what, void *arg)
{
	struct responder *r = arg;
	uint8_t buf[1500], *out = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ldns_pkt *q = NULL, *a = NULL;
	ldns_rr *qr;
	size_t i, olen, owners = 0;
	ssize_t n =
	    recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl);

	(void)what;
	if (n <= 0 || ldns_wire2pkt(&q, buf, (size_t)n) != LDNS_STATUS_OK)
		goto out;
	r->queries++;
	qr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
	if (ldns_rr_get_type(qr) == LDNS_RR_TYPE_TXT && ldns_pkt_rd(q))
		r->txt_with_rd++;
	a = ldns_pkt_new();
	ldns_pkt_set_id(a, ldns_pkt_id(q));
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_aa(a, true);
	ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, ldns_rr_clone(qr));
	for (i = 0; i < ldns_rr_list_rr_count(r->zone); i++) {
		ldns_rr *rr = ldns_rr_list_rr(r->zone, i);

		if (ldns_dname_compare(ldns_rr_owner(rr), ldns_rr_owner(qr)))
			continue;
		owners++;
		if (ldns_rr_get_type(rr) == ldns_rr_get_type(qr))
			ldns_pkt_push_rr(
			    a, LDNS_SECTION_ANSWER, ldns_rr_clone(rr));
	}
	ldns_pkt_set_rcode(
	    a, owners ? LDNS_RCODE_NOERROR : LDNS_RCODE_NXDOMAIN);
	if (ldns_pkt2wire(&out, a, &olen) == LDNS_STATUS_OK)
		sendto(fd, out, olen, 0, (struct sockaddr *)&ss, sl);
out:
	LDNS_FREE(out);
	ldns_pkt_free(q);
	ldns_pkt_free(a);
}

static int
responder_start(
    struct responder *r, struct event_base *base, const char *const *rrs)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	ldns_rr *rr;

	memset(r, 0, sizeof(*r));
	r->zone = ldns_rr_list_new();
	for (; *rrs != NULL; rrs++) {
		if (ldns_rr_new_frm_str(&rr, *rrs, 60, NULL, NULL) !=
		    LDNS_STATUS_OK)
			return -1;
		ldns_rr_list_push_rr(r->zone, rr);
	}
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((r->fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    bind(r->fd, (struct sockaddr *)&sa, sl) != 0 ||
	    getsockname(r->fd, (struct sockaddr *)&sa, &sl) != 0)
		return -1;
	r->port = ntohs(sa.sin_port);
	r->ev = event_new(base, r->fd, EV_READ | EV_PERSIST, respond, r);
	return event_add(r->ev, NULL);
}

static void
responder_stop(struct responder *r)
{
	if (r->ev != NULL)
		event_free(r->ev);
	if (r->fd > 0)
		close(r->fd);
	ldns_rr_list_deep_free(r->zone);
	memset(r, 0, sizeof(*r));
}

/* ---- the checker's callback ---- */

struct outcome {
	struct event_base *base; /* stopped on completion when set */
	int calls, started;
	int early;
	enum d01_err code;
	char summary[1024];
};

static void
done_cb(void *arg, const struct d01_error *err, const char *summary)
{
	struct outcome *o = arg;

	o->calls++;
	o->early |= !o->started;
	o->code = err->code;
	snprintf(o->summary, sizeof(o->summary), "%s", summary);
	if (o->base != NULL)
		event_base_loopexit(o->base, NULL);
}

static void
run(struct event_base *base, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* ---- tests ---- */

static ldns_pkt *
reply(ldns_pkt_rcode rc, const char *const *rrs)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *rr;

	ldns_pkt_set_rcode(p, rc);
	for (; *rrs != NULL; rrs++)
		if (ldns_rr_new_frm_str(&rr, *rrs, 60, NULL, NULL) ==
		    LDNS_STATUS_OK)
			ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	return p;
}

static void
t_reply_has(void)
{
	static const struct {
		ldns_pkt_rcode rc;
		const char *rrs[3];
		int want;
	} cases[] = {
	    {LDNS_RCODE_NOERROR, {NAME " TXT \"v1\"", NULL}, 1},
	    {LDNS_RCODE_NOERROR,
		{NAME " TXT \"v=spf1 -all\"", NAME " TXT \"v1\"", NULL}, 1},
	    /* Strings of one RR are joined; two RRs are not. */
	    {LDNS_RCODE_NOERROR, {NAME " TXT \"v\" \"1\"", NULL}, 1},
	    {LDNS_RCODE_NOERROR, {NAME " TXT \"v\"", NAME " TXT \"1\"", NULL},
		0},
	    {LDNS_RCODE_NOERROR,
		{"_ACME-Challenge.WWW.example.test. TXT \"v1\"", NULL}, 1},
	    {LDNS_RCODE_NOERROR, {NAME " TXT \"v11\"", NULL}, 0},
	    {LDNS_RCODE_NOERROR, {NAME " TXT \"V1\"", NULL}, 0},
	    {LDNS_RCODE_NOERROR, {"other.example.test. TXT \"v1\"", NULL}, 0},
	    {LDNS_RCODE_NOERROR, {NAME " A 192.0.2.1", NULL}, 0},
	    {LDNS_RCODE_NOERROR, {NULL}, 0},
	    {LDNS_RCODE_NXDOMAIN, {NULL}, 0},
	    {LDNS_RCODE_REFUSED, {NULL}, -1},
	    {LDNS_RCODE_SERVFAIL, {NAME " TXT \"v1\"", NULL}, -1},
	};
	ldns_pkt *p = NULL;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = reply(cases[i].rc, cases[i].rrs);
		if (d01_txtcheck_reply_has(p, NAME, "v1") != cases[i].want)
			fprintf(stderr, "  case %zu\n", i);
		CHECK_INT(
		    d01_txtcheck_reply_has(p, NAME, "v1"), ==, cases[i].want);
		ldns_pkt_free(p);
		p = NULL;
	}
end:
	ldns_pkt_free(p);
}

/* Discovery end to end: a CNAME, an SOA two labels up, NS, A. */
static void
t_discovery(void)
{
	static const char *const zone[] = {
	    "_acme-challenge.alias.example.test. CNAME " NAME,
	    "example.test. SOA ns1.example.test. h.example.test. 1 60 60 60 60",
	    "example.test. NS ns1.example.test.",
	    "example.test. NS ns2.example.test.",
	    "ns1.example.test. A 127.0.0.1",
	    "ns2.example.test. A 127.0.0.1", /* same address: asked once */
	    /* connect() refuses it at once (EACCES): skipped, like an AAAA
	     * on a host without IPv6. */
	    "ns2.example.test. A 255.255.255.255",
	    NAME " TXT \"v=spf1 -all\"",
	    NAME " TXT \"v1\"",
	    "other.test. SOA ns.other.test. h.other.test. 1 60 60 60 60",
	    "other.test. NS ns.other.test.",
	    "ns.other.test. A 255.255.255.255",
	    NULL,
	};
	struct event_base *base = event_base_new();
	struct d01_dns *dns = d01_dns_new(base, 16);
	struct responder r = {0};
	struct d01_dns_server res;
	struct d01_txtcheck_opts o = {
	    .fqdn = "_acme-challenge.alias.example.test",
	    .value = "v1",
	    .resolver = &res,
	    .timeout_ms = 2000,
	    .interval_ms = 50};
	struct outcome out = {0};
	char addr[32];

	CHECK(base != NULL && dns != NULL);
	out.base = base;
	CHECK_INT(responder_start(&r, base, zone), ==, 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", r.port);
	CHECK_INT(d01_dns_server_parse(addr, 53, &res, NULL), ==, D01_OK);
	o.ns_port = r.port;
	CHECK(d01_txtcheck_start(base, dns, &o, done_cb, &out, NULL) != NULL);
	out.started = 1;
	run(base, 3000);
	CHECK_INT(out.calls, ==, 1);
	CHECK_INT(out.early, ==, 0);
	CHECK_INT(out.code, ==, D01_OK);
	CHECK(strstr(out.summary, NAME " visible on 1/1") != NULL);
	CHECK(strstr(out.summary, addr) != NULL);
	CHECK(strstr(out.summary, "255.255.255.255:") != NULL);
	CHECK(strstr(out.summary, "unreachable from here (skipped)") != NULL);
	CHECK_INT(r.txt_with_rd, ==, 0); /* authoritative: RD=0 */
	/* Gone mode: the value is still there, so it times out. */
	memset(&out, 0, sizeof(out));
	out.base = base;
	o.absent = 1;
	o.timeout_ms = 300;
	CHECK(d01_txtcheck_start(base, dns, &o, done_cb, &out, NULL) != NULL);
	out.started = 1;
	run(base, 2000);
	CHECK_INT(out.calls, ==, 1);
	CHECK_INT(out.code, ==, D01_E_TIMEOUT);
	CHECK(strstr(out.summary, "not gone on 1/1") != NULL);
	CHECK(strstr(out.summary, "the value is there") != NULL);
	/* No server of the zone can be reached at all: an error. */
	memset(&out, 0, sizeof(out));
	out.base = base;
	o.fqdn = "_acme-challenge.x.other.test";
	CHECK(d01_txtcheck_start(base, dns, &o, done_cb, &out, NULL) != NULL);
	run(base, 2000);
	CHECK_INT(out.calls, ==, 1);
	CHECK_INT(out.code, ==, D01_E_NETWORK);
	CHECK(strstr(out.summary, "other.test. is reachable") != NULL);
end:
	responder_stop(&r);
	d01_dns_free(dns);
	if (base != NULL)
		event_base_free(base);
}

/* Explicit servers: absent, timeout bounded, cancel, bad input. */
static void
t_explicit_and_shape(void)
{
	static const char *const zone[] = {
	    "example.test. SOA ns1.example.test. h.example.test. 1 60 60 60 60",
	    NAME " TXT \"v=spf1 -all\"",
	    NULL,
	};
	struct event_base *base = event_base_new();
	struct d01_dns *dns = d01_dns_new(base, 16);
	struct responder r = {0};
	struct d01_dns_server srv[2];
	struct d01_txtcheck_opts o = {.fqdn = NAME,
	    .value = "v1",
	    .servers = srv,
	    .nservers = 1,
	    .timeout_ms = 400,
	    .interval_ms = 1000};
	struct outcome out = {0}, never = {0};
	struct d01_error err;
	struct timeval t0, t1;
	char addr[32];

	CHECK(base != NULL && dns != NULL);
	CHECK_INT(responder_start(&r, base, zone), ==, 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", r.port);
	CHECK_INT(d01_dns_server_parse(addr, 53, &srv[0], NULL), ==, D01_OK);
	/* Not there: timeout; the 1 s interval is cut to the deadline. */
	out.base = base;
	gettimeofday(&t0, NULL);
	CHECK(d01_txtcheck_start(base, dns, &o, done_cb, &out, NULL) != NULL);
	out.started = 1;
	run(base, 3000);
	gettimeofday(&t1, NULL);
	CHECK_INT(out.calls, ==, 1);
	CHECK_INT(out.code, ==, D01_E_TIMEOUT);
	CHECK(strstr(out.summary, "said the value is not there") != NULL);
	CHECK_INT(
	    (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000,
	    <, 900);
	/* Absent: agreed at once. */
	memset(&out, 0, sizeof(out));
	out.base = base;
	o.absent = 1;
	CHECK(d01_txtcheck_start(base, dns, &o, done_cb, &out, NULL) != NULL);
	out.started = 1;
	run(base, 1000);
	CHECK_INT(out.calls, ==, 1);
	CHECK_INT(out.code, ==, D01_OK);
	CHECK(strstr(out.summary, "gone on 1/1") != NULL);
	/* Cancelled before the loop runs, and while a query is out. */
	d01_txtcheck_cancel(
	    d01_txtcheck_start(base, dns, &o, done_cb, &never, NULL));
	{
		struct d01_txtcheck *t =
		    d01_txtcheck_start(base, dns, &o, done_cb, &never, NULL);

		CHECK(t != NULL);
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		d01_txtcheck_cancel(t);
	}
	run(base, 300);
	CHECK_INT(never.calls, ==, 0);
	/* Bad input: NULL and no callback. */
	o.fqdn = "bad..name";
	CHECK(d01_txtcheck_start(base, dns, &o, done_cb, &never, &err) == NULL);
	CHECK_INT(err.code, ==, D01_E_CONFIG);
	o.fqdn = NAME;
	o.nservers = 0;
	CHECK(d01_txtcheck_start(base, dns, &o, done_cb, &never, &err) == NULL);
	run(base, 50);
	CHECK_INT(never.calls, ==, 0);
end:
	responder_stop(&r);
	d01_dns_free(dns);
	if (base != NULL)
		event_base_free(base);
}

int
main(void)
{
	RUN(t_reply_has);
	RUN(t_discovery);
	RUN(t_explicit_and_shape);
	return harness_done();
}
