/* SPDX-License-Identifier: ISC */
/*
 * Async DNS exchanges on the event loop; see dns.h. One exchange is a
 * small state machine: UDP (send, wait, resend up to `tries`) and, when the
 * reply is truncated or TCP was asked for, TCP with two-byte framing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>
#include <arpa/inet.h>
#include <openssl/rand.h>

#include "core/dns.h"

#define MAX_REPLY 65535

struct d01_dns {
	struct event_base *base;
	size_t max_inflight, inflight;
	TAILQ_HEAD(, d01_dns_req) reqs;
};

struct d01_dns_req {
	TAILQ_ENTRY(d01_dns_req) link;
	struct d01_dns *c;
	struct d01_dns_server srv;
	struct d01_dns_opts o;
	const struct d01_tsig_key *key;
	ldns_rdf *qmac; /* request MAC when signed */
	uint8_t *wire;
	size_t wirelen;
	uint16_t id;
	int tries;
	struct timeval deadline; /* of the current UDP attempt */
	evutil_socket_t fd;	 /* UDP socket */
	struct event *ev;	 /* UDP readable / timeout */
	struct bufferevent *bev; /* TCP */
	d01_dns_fn cb;
	void *arg;
};

const char *
d01_rcode_name(int rcode)
{
	ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, rcode);

	return t != NULL ? t->name : "unknown RCODE";
}

void
d01_dns_opts_default(struct d01_dns_opts *o)
{
	o->tcp = 0;
	o->timeout_ms = 2000;
	o->tries = 3;
}

enum d01_err
d01_dns_server_parse(
    const char *s, int port, struct d01_dns_server *out, struct d01_error *err)
{
	char host[64];
	const char *p = s, *end;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&out->addr;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->addr;
	long v;
	char *e;

	memset(out, 0, sizeof(*out));
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '[') {
		if ((end = strchr(p, ']')) == NULL)
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(end - p - 1), p + 1);
		p = end + 1;
	} else {
		end = strchr(p, ':');
		/* A bare IPv6 address has several colons and no port. */
		if (end != NULL && strchr(end + 1, ':') != NULL)
			end = NULL;
		snprintf(host, sizeof(host), "%.*s",
		    (int)(end ? end - p : (long)strcspn(p, " \t")), p);
		p = end ? end : p + strlen(host);
	}
	if (*p == ':') {
		v = strtol(p + 1, &e, 10);
		if (e == p + 1 || v < 1 || v > 65535)
			goto bad;
		port = (int)v;
		p = e;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\0')
		goto bad;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		out->len = sizeof(*s4);
		snprintf(out->label, sizeof(out->label), "%s:%d", host, port);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*s6);
		snprintf(out->label, sizeof(out->label), "[%s]:%d", host, port);
	} else {
		goto bad;
	}
	return D01_OK;
bad:
	return d01_error_set(err, D01_E_CONFIG,
	    "nameserver %.100s: expected an IP address with an optional port "
	    "(192.0.2.1, 192.0.2.1:53, [2001:db8::1]:53)",
	    s);
}

struct d01_dns *
d01_dns_new(struct event_base *base, size_t max_inflight)
{
	struct d01_dns *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->base = base;
	c->max_inflight = max_inflight;
	TAILQ_INIT(&c->reqs);
	return c;
}

void
d01_dns_free(struct d01_dns *c)
{
	if (c == NULL)
		return;
	while (!TAILQ_EMPTY(&c->reqs))
		d01_dns_cancel(TAILQ_FIRST(&c->reqs));
	free(c);
}

void
d01_dns_cancel(struct d01_dns_req *r)
{
	if (r == NULL)
		return;
	TAILQ_REMOVE(&r->c->reqs, r, link);
	r->c->inflight--;
	if (r->ev != NULL)
		event_free(r->ev);
	if (r->fd >= 0)
		evutil_closesocket(r->fd);
	if (r->bev != NULL)
		bufferevent_free(r->bev);
	ldns_rdf_deep_free(r->qmac);
	free(r->wire);
	free(r);
}

/* Deliver the outcome and free the exchange. */
static void
finish(struct d01_dns_req *r, const struct d01_error *err, ldns_pkt *reply)
{
	d01_dns_fn cb = r->cb;
	void *arg = r->arg;

	d01_dns_cancel(r);
	cb(arg, err, reply);
}

static void
fail(struct d01_dns_req *r, enum d01_err code, const char *what)
{
	struct d01_error err;

	d01_error_set(&err, code, "%s: %s", r->srv.label, what);
	err.retryable = code == D01_E_TIMEOUT || code == D01_E_NETWORK;
	finish(r, &err, NULL);
}

static int start_tcp(struct d01_dns_req *r, const char **why);

/*
 * A reply arrived: check it belongs to us, then TC, TSIG. Returns 0 when
 * it was a stray UDP datagram (r untouched), 1 when r moved on (finished,
 * freed, or switched to TCP).
 */
static int
got_reply(struct d01_dns_req *r, const uint8_t *buf, size_t len, int tcp)
{
	struct d01_error err;
	ldns_pkt *p = NULL;
	const char *why;

	if (len < 12 || (buf[0] << 8 | buf[1]) != r->id || !(buf[2] & 0x80)) {
		if (!tcp)
			return 0;
		fail(r, D01_E_PROTOCOL, "reply does not match the query");
		return 1;
	}
	if (!tcp && (buf[2] & 0x02)) { /* TC: repeat over TCP */
		if (start_tcp(r, &why) != 0)
			fail(r, D01_E_NETWORK, why);
		return 1;
	}
	if (d01_dns_parse(buf, len, &p) != D01_OK) {
		fail(r, D01_E_PROTOCOL, "malformed reply");
		return 1;
	}
	d01_error_clear(&err);
	if (r->key != NULL)
		d01_tsig_verify_reply(p, buf, len, r->key, r->qmac,
		    (int64_t)time(NULL), r->srv.label, &err);
	finish(r, &err, err.code == D01_OK ? p : NULL);
	ldns_pkt_free(p);
	return 1;
}

static void
udp_send(struct d01_dns_req *r)
{
	struct timeval tv = {
	    r->o.timeout_ms / 1000, (r->o.timeout_ms % 1000) * 1000};
	struct timeval now;

	/* A failed send (buffer full) is just a lost datagram: retried. */
	(void)send(r->fd, r->wire, r->wirelen, 0);
	event_base_gettimeofday_cached(r->c->base, &now);
	evutil_timeradd(&now, &tv, &r->deadline);
	event_add(r->ev, &tv);
}

/* Wait again for what is left of this attempt (after a stray datagram). */
static void
udp_rearm(struct d01_dns_req *r)
{
	struct timeval now, left = {0, 0};

	event_base_gettimeofday_cached(r->c->base, &now);
	if (evutil_timercmp(&r->deadline, &now, >))
		evutil_timersub(&r->deadline, &now, &left);
	event_add(r->ev, &left);
}

static void
udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct d01_dns_req *r = arg;
	uint8_t buf[MAX_REPLY];
	ssize_t n;

	if (what & EV_TIMEOUT) {
		if (--r->tries > 0) {
			udp_send(r);
			return;
		}
		fail(r, D01_E_TIMEOUT, "no reply (timeout)");
		return;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR) {
			udp_rearm(r);
			return;
		}
		fail(r, D01_E_NETWORK,
		    errno == ECONNREFUSED ? "connection refused (nothing "
					    "listening on that port)"
					  : strerror(errno));
		return;
	}
	if (got_reply(r, buf, (size_t)n, 0) == 0)
		udp_rearm(r);
}

static void
tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct d01_dns_req *r = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hdr[2], *msg;
	size_t len;

	if (evbuffer_get_length(in) < 2)
		return;
	evbuffer_copyout(in, hdr, 2);
	len = (size_t)hdr[0] << 8 | hdr[1];
	if (evbuffer_get_length(in) < len + 2)
		return;
	msg = evbuffer_pullup(in, (ev_ssize_t)(len + 2));
	got_reply(r, msg + 2, len, 1);
}

static void
tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct d01_dns_req *r = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_TIMEOUT)
		fail(r, D01_E_TIMEOUT, "no reply over TCP (timeout)");
	else if (what & BEV_EVENT_EOF)
		fail(r, D01_E_NETWORK, "connection closed before a reply");
	else
		fail(r, D01_E_NETWORK,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* Switch to (or start with) TCP; -1 with *why when that fails now. */
static int
start_tcp(struct d01_dns_req *r, const char **why)
{
	struct timeval tv = {
	    r->o.timeout_ms / 1000, (r->o.timeout_ms % 1000) * 1000};
	uint8_t hdr[2] = {(uint8_t)(r->wirelen >> 8), (uint8_t)r->wirelen};

	if (r->ev != NULL) {
		event_free(r->ev);
		r->ev = NULL;
	}
	if (r->fd >= 0) {
		evutil_closesocket(r->fd);
		r->fd = -1;
	}
	r->bev = bufferevent_socket_new(r->c->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (r->bev == NULL) {
		*why = "out of memory";
		return -1;
	}
	bufferevent_setcb(r->bev, tcp_read_cb, NULL, tcp_event_cb, r);
	bufferevent_set_timeouts(r->bev, &tv, &tv);
	bufferevent_setwatermark(r->bev, EV_READ, 0, MAX_REPLY + 2);
	bufferevent_write(r->bev, hdr, 2);
	bufferevent_write(r->bev, r->wire, r->wirelen);
	bufferevent_enable(r->bev, EV_READ);
	/* Non-blocking connect; failures arrive as an event. */
	if (bufferevent_socket_connect(r->bev, (struct sockaddr *)&r->srv.addr,
		(int)r->srv.len) != 0) {
		*why = "cannot connect over TCP";
		return -1;
	}
	return 0;
}

/* Build the wire form of a copy of `query` with a fresh ID (+ TSIG). */
static int
prepare(struct d01_dns_req *r, const ldns_pkt *query, struct d01_error *err)
{
	ldns_pkt *q = ldns_pkt_clone(query);
	uint8_t id[2];
	int rc = -1;

	if (q == NULL || RAND_bytes(id, sizeof(id)) != 1) {
		d01_error_set(err, D01_E_NOMEM, "cannot prepare DNS query");
		goto out;
	}
	r->id = (uint16_t)(id[0] << 8 | id[1]);
	ldns_pkt_set_id(q, r->id);
	if (r->key != NULL && (r->qmac = d01_tsig_sign(q, r->key, err)) == NULL)
		goto out;
	if (ldns_pkt2wire(&r->wire, q, &r->wirelen) != LDNS_STATUS_OK) {
		d01_error_set(err, D01_E_INTERNAL, "cannot encode DNS query");
		goto out;
	}
	rc = 0;
out:
	ldns_pkt_free(q);
	return rc;
}

static int
start_udp(struct d01_dns_req *r, const char **why)
{
	r->fd = socket(r->srv.addr.ss_family,
	    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* connect() on UDP only sets the peer: it does not block, and it
	 * makes the kernel drop datagrams from anyone else. */
	if (r->fd < 0 ||
	    connect(r->fd, (struct sockaddr *)&r->srv.addr, r->srv.len) != 0) {
		*why = strerror(errno);
		return -1;
	}
	if ((r->ev = event_new(r->c->base, r->fd, EV_READ, udp_cb, r)) ==
	    NULL) {
		*why = "out of memory";
		return -1;
	}
	udp_send(r);
	return 0;
}

struct d01_dns_req *
d01_dns_send(struct d01_dns *c, const ldns_pkt *query,
    const struct d01_dns_server *srv, const struct d01_tsig_key *key,
    const struct d01_dns_opts *opts, d01_dns_fn cb, void *arg,
    struct d01_error *err)
{
	struct d01_dns_req *r;
	const char *why = NULL;

	if (c->inflight >= c->max_inflight) {
		d01_error_set(err, D01_E_LIMIT,
		    "%s: too many DNS queries in flight (%zu)", srv->label,
		    c->inflight);
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	r->c = c;
	r->fd = -1;
	r->srv = *srv;
	if (opts != NULL)
		r->o = *opts;
	else
		d01_dns_opts_default(&r->o);
	r->tries = r->o.tries > 0 ? r->o.tries : 1;
	r->key = key;
	r->cb = cb;
	r->arg = arg;
	TAILQ_INSERT_TAIL(&c->reqs, r, link);
	c->inflight++;
	if (prepare(r, query, err) != 0) {
		d01_dns_cancel(r);
		return NULL;
	}
	if ((r->o.tcp ? start_tcp(r, &why) : start_udp(r, &why)) != 0) {
		d01_error_set(err, D01_E_NETWORK, "%s: %s", srv->label, why);
		d01_dns_cancel(r);
		return NULL;
	}
	return r;
}
