/* SPDX-License-Identifier: ISC */
/*
 * The async DNS client's call shape: the callback never runs inside
 * d01_dns_send, runs exactly once, and never after cancel; UDP retries
 * end in a timeout; server strings parse as documented. A local UDP
 * socket plays a server that answers what the test tells it to.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/dns.h"
#include "harness.h"

struct probe {
	int calls, started;
	int early;
	enum d01_err code;
	int rcode;
};

static void
probe_cb(void *arg, const struct d01_error *err, ldns_pkt *reply)
{
	struct probe *p = arg;

	p->calls++;
	p->early |= !p->started;
	p->code = err->code;
	p->rcode = reply ? (int)ldns_pkt_get_rcode(reply) : -1;
}

static int
udp_server(int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sl) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
		return -1;
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Answer one query on fd: a stray wrong-ID reply first, then the real
 * one with REFUSED. */
static void
answer_cb(evutil_socket_t fd, short what, void *arg)
{
	uint8_t buf[512];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ssize_t n =
	    recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl);

	(void)what;
	(void)arg;
	if (n < 12)
		return;
	buf[2] |= 0x80;
	buf[3] = (buf[3] & 0xf0) | LDNS_RCODE_REFUSED;
	buf[0] ^= 0xff; /* stray: must be ignored */
	sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&ss, sl);
	buf[0] ^= 0xff;
	sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&ss, sl);
}

static void
t_shape_and_reply(void)
{
	struct event_base *base = event_base_new();
	struct d01_dns *c = d01_dns_new(base, 8);
	struct d01_dns_server srv;
	struct d01_dns_opts o;
	struct probe p = {0}, q = {0};
	struct event *ev = NULL;
	ldns_pkt *query = NULL;
	char addr[64];
	int port = 0, fd = udp_server(&port);

	CHECK(base != NULL && c != NULL && fd >= 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	CHECK_INT(d01_dns_server_parse(addr, 53, &srv, NULL), ==, D01_OK);
	CHECK_INT(ldns_pkt_query_new_frm_str(&query, "example.test.",
		      LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0),
	    ==, LDNS_STATUS_OK);
	d01_dns_opts_default(&o);
	o.timeout_ms = 100;
	o.tries = 2;
	/* Cancelled right away: never called back. */
	d01_dns_cancel(
	    d01_dns_send(c, query, &srv, NULL, &o, probe_cb, &q, NULL));
	ev = event_new(base, fd, EV_READ | EV_PERSIST, answer_cb, NULL);
	event_add(ev, NULL);
	CHECK(
	    d01_dns_send(c, query, &srv, NULL, &o, probe_cb, &p, NULL) != NULL);
	p.started = 1;
	CHECK_INT(p.calls, ==, 0);
	event_base_loopexit(base, &(struct timeval){1, 0});
	event_base_dispatch(base);
	CHECK_INT(p.calls, ==, 1);
	CHECK_INT(p.early, ==, 0);
	CHECK_INT(p.code, ==, D01_OK);
	CHECK_INT(p.rcode, ==, LDNS_RCODE_REFUSED);
	CHECK_INT(q.calls, ==, 0);
	/* Nobody answering: timeout after `tries`, exactly once. */
	event_del(ev);
	memset(&p, 0, sizeof(p));
	CHECK(
	    d01_dns_send(c, query, &srv, NULL, &o, probe_cb, &p, NULL) != NULL);
	p.started = 1;
	event_base_loopexit(base, &(struct timeval){1, 0});
	event_base_dispatch(base);
	CHECK_INT(p.calls, ==, 1);
	CHECK_INT(p.code, ==, D01_E_TIMEOUT);
end:
	if (ev != NULL)
		event_free(ev);
	ldns_pkt_free(query);
	d01_dns_free(c);
	if (fd >= 0)
		close(fd);
	if (base != NULL)
		event_base_free(base);
}

static void
t_server_parse(void)
{
	static const struct {
		const char *in, *label;
	} ok[] = {
	    {"192.0.2.1", "192.0.2.1:53"},
	    {" 192.0.2.1:5353 ", "192.0.2.1:5353"},
	    {"[2001:db8::1]:54", "[2001:db8::1]:54"},
	    {"[::1]", "[::1]:53"},
	    {"2001:db8::2", "[2001:db8::2]:53"},
	};
	static const char *const bad[] = {"ns.example.com", "192.0.2.1:0",
	    "192.0.2.1:70000", "[::1", "1.2.3.4:53x", ""};
	struct d01_dns_server s;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CHECK_INT(
		    d01_dns_server_parse(ok[i].in, 53, &s, NULL), ==, D01_OK);
		CHECK_STR(s.label, ok[i].label);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(d01_dns_server_parse(bad[i], 53, &s, NULL), ==,
		    D01_E_CONFIG);
end:;
}

/* BIND's signed reply to an UPDATE (providers-detail.md §4.6 (3)). */
static const uint8_t bind_reply[] = {0x43, 0x21, 0xa8, 0x00, 0x00, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x04,
    't', 'e', 's', 't', 0x00, 0x00, 0x06, 0x00, 0x01, 0x0e, 'd', 'n', 's', '0',
    '1', '-', 't', 'e', 's', 't', '-', 'k', 'e', 'y', 0x00, 0x00, 0xfa, 0x00,
    0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3d, 0x0b, 'h', 'm', 'a', 'c', '-',
    's', 'h', 'a', '2', '5', '6', 0x00, 0x00, 0x00, 0x6b, 0x0b, 0x4f, 0xb0,
    0x01, 0x2c, 0x00, 0x20, 0xe8, 0x80, 0x5a, 0x66, 0x52, 0xc0, 0xfd, 0x12,
    0xe5, 0xf0, 0x0c, 0xa4, 0x0d, 0x77, 0x12, 0xec, 0x94, 0xc3, 0x16, 0x2e,
    0xed, 0xf8, 0xe8, 0x80, 0x2f, 0xce, 0xaa, 0x27, 0x30, 0x92, 0x48, 0xc4,
    0x43, 0x21, 0x00, 0x00, 0x00, 0x00};
#define Q_END 30 /* header + zone question */

/* d01_dns_parse: what ldns accepts but RFC 8945 §5.1 does not. */
static void
t_parse_strict(void)
{
	uint8_t buf[512];
	size_t n = sizeof(bind_reply), tl = n - Q_END;
	ldns_pkt *p = NULL;

	CHECK_INT(n, ==, 117);
	CHECK_INT(d01_dns_parse(bind_reply, n, &p), ==, D01_OK);
	CHECK(p != NULL && ldns_pkt_tsig(p) != NULL);
	ldns_pkt_free(p);
	p = NULL;
	/* Two TSIG RRs (ldns would leak the first). */
	memcpy(buf, bind_reply, n);
	memcpy(buf + n, bind_reply + Q_END, tl);
	buf[11] = 2;
	CHECK_INT(d01_dns_parse(buf, n + tl, &p), ==, D01_E_PROTOCOL);
	CHECK(p == NULL);
	/* TSIG in the answer section. */
	memcpy(buf, bind_reply, n);
	buf[7] = 1;
	buf[11] = 0;
	CHECK_INT(d01_dns_parse(buf, n, &p), ==, D01_E_PROTOCOL);
	/* Truncated RDATA, truncated header, a count past the end. */
	CHECK_INT(d01_dns_parse(bind_reply, n - 1, &p), ==, D01_E_PROTOCOL);
	CHECK_INT(d01_dns_parse(bind_reply, 11, &p), ==, D01_E_PROTOCOL);
	memcpy(buf, bind_reply, n);
	buf[11] = 3;
	CHECK_INT(d01_dns_parse(buf, n, &p), ==, D01_E_PROTOCOL);
	/* An extended label type (0x40) in a name. */
	memcpy(buf, bind_reply, n);
	buf[12] = 0x47;
	CHECK_INT(d01_dns_parse(buf, n, &p), ==, D01_E_PROTOCOL);
	CHECK(p == NULL);
end:
	ldns_pkt_free(p);
}

struct resolved {
	int calls, started, early;
	enum d01_err code;
	char label[80];
};

static void
resolved_cb(
    void *arg, const struct d01_error *err, const struct d01_dns_server *srv)
{
	struct resolved *r = arg;

	r->calls++;
	r->early |= !r->started;
	r->code = err->code;
	snprintf(r->label, sizeof(r->label), "%s", srv ? srv->label : "");
}

/* Names and literals through d01_dns_resolve: never synchronous, cancel
 * safe while the helper thread is still working. */
static void
t_resolve(void)
{
	struct event_base *base = event_base_new();
	struct resolved a = {0}, b = {0}, never = {0};
	struct addrinfo hints = {
	    .ai_socktype = SOCK_DGRAM, .ai_flags = AI_ADDRCONFIG};
	struct addrinfo *res = NULL;
	char want[INET6_ADDRSTRLEN] = "";
	struct d01_error err;
	int i;

	CHECK(base != NULL);
	CHECK(d01_dns_resolve(
		  base, "192.0.2.1:5353", 53, resolved_cb, &a, &err) != NULL);
	CHECK(d01_dns_resolve(
		  base, "localhost:5353", 53, resolved_cb, &b, &err) != NULL);
	a.started = b.started = 1;
	for (i = 0; i < 100 && (a.calls == 0 || b.calls == 0); i++)
		event_base_loop(base, EVLOOP_ONCE);
	CHECK_INT(a.calls, ==, 1);
	CHECK_INT(a.early, ==, 0);
	CHECK_STR(a.label, "192.0.2.1:5353");
	CHECK_INT(b.calls, ==, 1);
	CHECK_INT(b.early, ==, 0);
	CHECK_INT(b.code, ==, D01_OK);
	/* The first address the system's resolver gives, named. */
	CHECK_INT(getaddrinfo("localhost", NULL, &hints, &res), ==, 0);
	getnameinfo(res->ai_addr, res->ai_addrlen, want, sizeof(want), NULL, 0,
	    NI_NUMERICHOST);
	CHECK(strstr(b.label, "localhost (") == b.label);
	CHECK(strstr(b.label, want) != NULL);
	CHECK(strstr(b.label, ":5353") != NULL);
	/* Malformed: NULL at once, no callback. */
	CHECK(d01_dns_resolve(
		  base, "localhost:0", 53, resolved_cb, &never, &err) == NULL);
	CHECK_INT(err.code, ==, D01_E_CONFIG);
	CHECK(d01_dns_resolve(
		  base, "bad..name", 53, resolved_cb, &never, &err) == NULL);
	/* Cancelled at once, literal and name: never called back. */
	d01_dns_resolve_cancel(
	    d01_dns_resolve(base, "192.0.2.1", 53, resolved_cb, &never, &err));
	d01_dns_resolve_cancel(
	    d01_dns_resolve(base, "localhost", 53, resolved_cb, &never, &err));
	event_base_loopexit(base, &(struct timeval){0, 200000});
	event_base_dispatch(base);
	CHECK_INT(never.calls, ==, 0);
end:
	if (res != NULL)
		freeaddrinfo(res);
	if (base != NULL)
		event_base_free(base);
}

/* The in-flight cap: past it, NULL with D01_E_LIMIT and no callback. */
static void
t_inflight_cap(void)
{
	struct event_base *base = event_base_new();
	struct d01_dns *c = d01_dns_new(base, 2);
	struct d01_dns_server srv;
	struct d01_dns_req *r1 = NULL;
	struct d01_error err;
	struct probe p = {0};
	ldns_pkt *query = NULL;

	CHECK(base != NULL && c != NULL);
	CHECK_INT(
	    d01_dns_server_parse("127.0.0.1:9", 53, &srv, NULL), ==, D01_OK);
	CHECK_INT(ldns_pkt_query_new_frm_str(&query, "example.test.",
		      LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0),
	    ==, LDNS_STATUS_OK);
	CHECK((r1 = d01_dns_send(
		   c, query, &srv, NULL, NULL, probe_cb, &p, &err)) != NULL);
	CHECK(d01_dns_send(c, query, &srv, NULL, NULL, probe_cb, &p, &err) !=
	    NULL);
	CHECK(d01_dns_send(c, query, &srv, NULL, NULL, probe_cb, &p, &err) ==
	    NULL);
	CHECK_INT(err.code, ==, D01_E_LIMIT);
	CHECK(strstr(err.msg, "127.0.0.1:9") != NULL);
	/* A slot frees up when one is cancelled. */
	d01_dns_cancel(r1);
	r1 = d01_dns_send(c, query, &srv, NULL, NULL, probe_cb, &p, &err);
	CHECK(r1 != NULL);
	CHECK_INT(p.calls, ==, 0);
	/* d01_dns_free cancels what is left: still no callback. */
	d01_dns_free(c);
	c = NULL;
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK_INT(p.calls, ==, 0);
end:
	d01_dns_free(c);
	ldns_pkt_free(query);
	if (base != NULL)
		event_base_free(base);
}

int
main(void)
{
	RUN(t_shape_and_reply);
	RUN(t_server_parse);
	RUN(t_parse_strict);
	RUN(t_resolve);
	RUN(t_inflight_cap);
	return harness_done();
}
