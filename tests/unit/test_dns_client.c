/* SPDX-License-Identifier: ISC */
/*
 * The async DNS client's call shape: the callback never runs inside
 * d01_dns_send, runs exactly once, and never after cancel; UDP retries
 * end in a timeout; server strings parse as documented. A local UDP
 * socket plays a server that answers what the test tells it to.
 */
#include <arpa/inet.h>
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

int
main(void)
{
	RUN(t_shape_and_reply);
	RUN(t_server_parse);
	return harness_done();
}
