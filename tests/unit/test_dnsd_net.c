/* SPDX-License-Identifier: ISC */
/*
 * The embedded DNS server's sockets: UDP and TCP exchanges over loopback
 * on a real event loop, sent with plain sockets from the test itself:
 * listen addresses, several queries per TCP connection, pipelining split
 * across writes, half-close, the bound on TCP clients, and free with live
 * clients (LSan checks nothing is left). Answers are test_dnsd.c's job.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#include "harness.h"
#include "providers/embedded/dnsd.h"
#include "providers/embedded/store.h"
#include "dnsd_fixture.h"

/* A port the kernel just handed out for UDP; TCP may still be taken. */
static int
ephemeral_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sl) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/*
 * A server on 127.0.0.1 at a free port (stored in *port). The bind itself
 * is the test of "free": an ephemeral port may be some client socket's
 * local TCP port, so a few are tried.
 */
static struct d01_dnsd *
serve(struct event_base *base, const struct d01_txtstore *s, int *port)
{
	struct d01_dnsd *d = NULL;
	struct d01_error err;
	char addr[64];
	int i;

	for (i = 0; i < 20 && d == NULL; i++) {
		if ((*port = ephemeral_port()) <= 0)
			continue;
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", *port);
		if ((d = d01_dnsd_new(base, s, addr, &err)) == NULL)
			fprintf(stderr, "  note: %s\n", err.msg);
	}
	return d;
}

/* Run the loop for ms milliseconds (the server's events keep it alive). */
static void
run_for(struct event_base *base, int ms)
{
	struct timeval tv = {0, ms * 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

enum until { ONE_DGRAM, ONE_FRAME, PEER_EOF };

struct wait {
	struct event_base *base;
	enum until until;
	uint8_t buf[65535];
	size_t len;
	int eof;
};

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct wait *w = arg;
	ssize_t n;

	if (what & EV_TIMEOUT) {
		event_base_loopbreak(w->base);
		return;
	}
	n = recv(fd, w->buf + w->len, sizeof(w->buf) - w->len, 0);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n > 0)
		w->len += (size_t)n;
	else
		w->eof = 1;
	if (w->eof || w->until == ONE_DGRAM ||
	    (w->until == ONE_FRAME && w->len >= 2 &&
		w->len >= 2 + (size_t)(w->buf[0] << 8 | w->buf[1])))
		event_base_loopbreak(w->base);
}

/* Read from fd on the loop until w->until holds (or 5 s pass). */
static void
wait_reply(struct event_base *base, int fd, enum until until, struct wait *w)
{
	struct timeval tv = {5, 0};
	struct event *ev;

	w->base = base;
	w->until = until;
	w->len = 0;
	w->eof = 0;
	ev = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, w);
	if (ev == NULL)
		return;
	event_add(ev, &tv);
	event_base_dispatch(base);
	event_free(ev);
}

/* A non-blocking socket connected (or connecting) to 127.0.0.1:port. */
static int
dial(int port, int type)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd = socket(AF_INET, type, 0);

	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) != 0 ||
	    (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
		errno != EINPROGRESS)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The wire form of a TXT query for ACME with this ID, length-framed
 * when `framed`; returns the length written into buf. */
static size_t
query_wire(uint8_t *buf, uint16_t id, int framed)
{
	ldns_pkt *q = NULL;
	uint8_t *wire = NULL;
	size_t len = 0, off = framed ? 2 : 0;

	if (ldns_pkt_query_new_frm_str(&q, ACME, LDNS_RR_TYPE_TXT,
		LDNS_RR_CLASS_IN, 0) == LDNS_STATUS_OK) {
		ldns_pkt_set_id(q, id);
		if (ldns_pkt2wire(&wire, q, &len) != LDNS_STATUS_OK)
			len = 0;
	}
	memcpy(buf + off, wire, len);
	buf[0] = framed ? (uint8_t)(len >> 8) : buf[0];
	buf[1] = framed ? (uint8_t)len : buf[1];
	LDNS_FREE(wire);
	ldns_pkt_free(q);
	return len > 0 ? len + off : 0;
}

/* The reply at buf[0..len) answers ID `id` with both TXT values? */
static int
good_reply(const uint8_t *buf, size_t len, uint16_t id)
{
	ldns_pkt *r = NULL;
	int ok = ldns_wire2pkt(&r, buf, len) == LDNS_STATUS_OK &&
	    ldns_pkt_id(r) == id && ldns_pkt_aa(r) && ldns_pkt_ancount(r) == 2;

	ldns_pkt_free(r);
	return ok;
}

static void
t_listen_addr(void)
{
	static const char *bad[] = {"127.0.0.1", "nonsense:53", "", "[::1]",
	    "127.0.0.1:0", "127.0.0.1:99999", "1.2.3.4.5:53"};
	struct d01_txtstore *s = fixture();
	struct event_base *base = event_base_new();
	struct d01_dnsd *d = NULL, *d2 = NULL;
	struct d01_error err;
	char addr[64];
	size_t i;
	int port = -1;

	CHECK(s != NULL && base != NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d01_error_clear(&err);
		CHECK(d01_dnsd_new(base, s, bad[i], &err) == NULL);
		CHECK_INT(err.code, ==, D01_E_CONFIG);
	}
	CHECK((d = serve(base, s, &port)) != NULL);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	/* The port is taken (TCP refuses a second listener). */
	CHECK((d2 = d01_dnsd_new(base, s, addr, &err)) == NULL);
	CHECK_INT(err.code, ==, D01_E_NETWORK);
	d01_dnsd_free(d);
	d = NULL;
	snprintf(addr, sizeof(addr), "[::1]:%d", port);
	d = d01_dnsd_new(base, s, addr, &err);
	if (d == NULL) /* a host without IPv6 loopback */
		fprintf(stderr, "  note: [::1] not bound: %s\n", err.msg);
	d01_dnsd_free(NULL);
end:
	d01_dnsd_free(d);
	d01_dnsd_free(d2);
	d01_txtstore_free(s);
	if (base != NULL)
		event_base_free(base);
}

static void
t_udp_tcp(void)
{
	struct d01_txtstore *s = fixture();
	struct event_base *base = event_base_new();
	struct d01_dnsd *d = NULL;
	struct wait *w = calloc(1, sizeof(*w));
	uint8_t q[600];
	size_t qlen;
	int port = -1, fd = -1;

	CHECK(s != NULL && base != NULL && w != NULL);
	CHECK((d = serve(base, s, &port)) != NULL);
	CHECK((qlen = query_wire(q, 7, 0)) > 0);
	CHECK((fd = dial(port, SOCK_DGRAM)) >= 0);
	CHECK_INT(send(fd, q, qlen, 0), ==, qlen);
	wait_reply(base, fd, ONE_DGRAM, w);
	CHECK(good_reply(w->buf, w->len, 7));
	close(fd);
	CHECK((qlen = query_wire(q, 8, 1)) > 0);
	CHECK((fd = dial(port, SOCK_STREAM)) >= 0);
	run_for(base, 20); /* connected and accepted */
	CHECK_INT(send(fd, q, qlen, 0), ==, qlen);
	wait_reply(base, fd, ONE_FRAME, w);
	CHECK_INT(w->len, ==, 2 + (w->buf[0] << 8 | w->buf[1]));
	CHECK(good_reply(w->buf + 2, w->len - 2, 8));
	/* The connection stays open for the next query. */
	CHECK((qlen = query_wire(q, 9, 1)) > 0);
	CHECK_INT(send(fd, q, qlen, 0), ==, qlen);
	wait_reply(base, fd, ONE_FRAME, w);
	CHECK(!w->eof && good_reply(w->buf + 2, w->len - 2, 9));
end:
	if (fd >= 0)
		close(fd);
	d01_dnsd_free(d); /* with the TCP client still connected */
	d01_txtstore_free(s);
	if (base != NULL)
		event_base_free(base);
	free(w);
}

/* Three queries in one segment, some split across writes, then a
 * half-close: three answers in order, then the server closes. */
static void
t_tcp_pipelined_halfclose(void)
{
	struct d01_txtstore *s = fixture();
	struct event_base *base = event_base_new();
	struct d01_dnsd *d = NULL;
	struct wait *w = calloc(1, sizeof(*w));
	uint8_t q[3 * 600];
	size_t n = 0, off, l, i;
	int port = -1, fd = -1;

	CHECK(s != NULL && base != NULL && w != NULL);
	CHECK((d = serve(base, s, &port)) != NULL);
	for (i = 0; i < 3; i++)
		n += query_wire(q + n, (uint16_t)(100 + i), 1);
	CHECK((fd = dial(port, SOCK_STREAM)) >= 0);
	run_for(base, 20);
	CHECK_INT(send(fd, q, 5, 0), ==, 5); /* split inside a message */
	run_for(base, 20);
	CHECK_INT(send(fd, q + 5, n - 5, 0), ==, n - 5);
	CHECK(shutdown(fd, SHUT_WR) == 0);
	wait_reply(base, fd, PEER_EOF, w);
	CHECK(w->eof);
	for (off = 0, i = 0; i < 3; i++, off += 2 + l) {
		CHECK(off + 2 <= w->len);
		l = (size_t)(w->buf[off] << 8 | w->buf[off + 1]);
		CHECK(off + 2 + l <= w->len);
		CHECK(good_reply(w->buf + off + 2, l, (uint16_t)(100 + i)));
	}
	CHECK_INT(off, ==, w->len);
end:
	if (fd >= 0)
		close(fd);
	d01_dnsd_free(d);
	d01_txtstore_free(s);
	if (base != NULL)
		event_base_free(base);
	free(w);
}

/* 256 TCP clients are served; the 257th is closed at once; freeing the
 * server closes all of them (LSan checks nothing is left). */
static void
t_tcp_client_bound(void)
{
	struct d01_txtstore *s = fixture();
	struct event_base *base = event_base_new();
	struct d01_dnsd *d = NULL;
	struct wait *w = calloc(1, sizeof(*w));
	int fds[257], port = -1, i;
	uint8_t q[600], b;
	size_t qlen;

	for (i = 0; i < 257; i++)
		fds[i] = -1;
	CHECK(s != NULL && base != NULL && w != NULL);
	CHECK((d = serve(base, s, &port)) != NULL);
	for (i = 0; i < 256; i++) {
		CHECK((fds[i] = dial(port, SOCK_STREAM)) >= 0);
		if (i % 32 == 31) /* let the listener keep up */
			run_for(base, 20);
	}
	run_for(base, 50);
	CHECK((fds[256] = dial(port, SOCK_STREAM)) >= 0);
	wait_reply(base, fds[256], PEER_EOF, w);
	CHECK(w->eof && w->len == 0);
	/* The others are still open (nothing to read, no EOF) ... */
	CHECK(recv(fds[0], &b, 1, 0) < 0 && errno == EAGAIN);
	CHECK(recv(fds[255], &b, 1, 0) < 0 && errno == EAGAIN);
	/* ... and served. */
	CHECK((qlen = query_wire(q, 55, 1)) > 0);
	CHECK_INT(send(fds[255], q, qlen, 0), ==, qlen);
	wait_reply(base, fds[255], ONE_FRAME, w);
	CHECK(good_reply(w->buf + 2, w->len - 2, 55));
end:
	d01_dnsd_free(d);
	for (i = 0; i < 257; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	d01_txtstore_free(s);
	if (base != NULL)
		event_base_free(base);
	free(w);
}

int
main(void)
{
	RUN(t_listen_addr);
	RUN(t_udp_tcp);
	RUN(t_tcp_pipelined_halfclose);
	RUN(t_tcp_client_bound);
	return harness_done();
}
