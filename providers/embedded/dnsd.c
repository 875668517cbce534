/* SPDX-License-Identifier: ISC */
/*
 * The embedded DNS server's sockets: UDP (one datagram in, one out) and TCP
 * (RFC 7766: two-byte length framing, several queries per connection)
 * on the event loop. Answers come from dnsd_answer.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include <ldns/ldns.h>

#include "core/log.h"
#include "providers/embedded/dnsd.h"
#include "providers/embedded/xfr.h"
#include "providers/embedded/dnsd_update.h"

#define MAX_TCP_CLIENTS 256
#define TCP_IDLE_SEC	10
#define UDP_BURST	64	   /* datagrams per wake-up, then yield */
#define TCP_OUT_HIGH	(64 << 10) /* stop reading while this is queued */
#define MAX_MSG		65535

struct tcp_client {
	TAILQ_ENTRY(tcp_client) link;
	struct d01_dnsd *d;
	struct bufferevent *bev;
	struct sockaddr_storage peer; /* for the debug log */
	int closing;  /* the client sent EOF: flush the replies, then close */
	unsigned xfr; /* zone transfers queued (counted in d->xfr) */
	unsigned pending; /* UPDATEs whose reply is still to come */
};

/* An UPDATE's reply to come (dnsd_updater.c), and where it goes. */
struct pending {
	TAILQ_ENTRY(pending) link;
	struct d01_dnsd *d;
	struct tcp_client *c; /* NULL: UDP to peer */
	struct sockaddr_storage peer;
	socklen_t sl;
	struct d01_update_job *job;
};

struct d01_dnsd {
	const struct d01_txtstore *store;
	struct d01_xfr *xfr; /* NULL: transfers refused (dnsd_answer.c) */
	evutil_socket_t udp;
	struct event *udp_ev;
	struct evconnlistener *tcp;
	TAILQ_HEAD(, tcp_client) clients;
	size_t nclients;
	struct d01_updater *upd; /* NULL: no TSIG keys, UPDATE is NOTIMP */
	TAILQ_HEAD(, pending) pending;
	uint8_t in[MAX_MSG], out[MAX_MSG];
};

/* "1.2.3.4:53" or "[::1]:53" for the debug log. */
static void
peer_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		evutil_inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(buf, len, "%s:%d", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		evutil_inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(buf, len, "[%s]:%d", host, port);
	} else {
		snprintf(buf, len, "?");
	}
}

/*
 * One line per query, at debug level only: at info a query flood would
 * become a log flood. Decoding the name costs an allocation, so nothing
 * is done unless debug is on. The name comes from the network: quoted.
 */
static void
log_query(const char *proto, const struct sockaddr *peer, const uint8_t *q,
    size_t qlen, const uint8_t *r, size_t rlen)
{
	char who[INET6_ADDRSTRLEN + 16], name[LDNS_MAX_DOMAINLEN * 4 + 8];
	ldns_rdf *dn = NULL;
	char *s = NULL;
	size_t pos = 12;
	unsigned qtype = 0;

	if (!d01_log_enabled(D01_LOG_DEBUG))
		return;
	peer_str(peer, who, sizeof(who));
	if (qlen > 12 && (q[4] | q[5]) != 0 &&
	    ldns_wire2dname(&dn, q, qlen, &pos) == LDNS_STATUS_OK) {
		s = ldns_rdf2str(dn);
		if (pos + 2 <= qlen)
			qtype = (unsigned)q[pos] << 8 | q[pos + 1];
	}
	d01_log_quote(name, sizeof(name), s);
	d01_log(D01_LOG_DEBUG, "dns_query",
	    "proto=%s peer=%s qname=%s qtype=%u rcode=%d answers=%u tc=%d "
	    "bytes=%zu",
	    proto, who, name, qtype, rlen >= 12 ? r[3] & 0x0f : -1,
	    rlen >= 12 ? (unsigned)r[6] << 8 | r[7] : 0u,
	    rlen >= 12 ? (r[2] & 0x02) != 0 : 0, rlen);
	LDNS_FREE(s);
	ldns_rdf_deep_free(dn);
}

static void pending_free(struct pending *p);
static void client_free(struct tcp_client *c);

/* An UPDATE's deferred reply: to the UDP peer, or framed on its TCP
 * connection (which then closes if the client half-closed meanwhile). */
static void
pending_done(void *arg, const uint8_t *r, size_t len)
{
	struct pending *p = arg;
	struct d01_dnsd *d = p->d;
	struct tcp_client *c = p->c;
	uint8_t hdr[2] = {(uint8_t)(len >> 8), (uint8_t)len};

	if (len > 0 && c == NULL)
		(void)sendto(
		    d->udp, r, len, 0, (struct sockaddr *)&p->peer, p->sl);
	if (len > 0 && c != NULL) {
		bufferevent_write(c->bev, hdr, 2);
		bufferevent_write(c->bev, r, len);
	}
	pending_free(p);
	if (c != NULL && c->closing && c->pending == 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		client_free(c);
}

/* A message for the updater (UPDATE, signed query): the reply now, in
 * out, or later through pending_done. */
static size_t
dispatch(struct d01_dnsd *d, struct tcp_client *c,
    const struct sockaddr_storage *ss, socklen_t sl, size_t n, uint8_t *out,
    size_t cap)
{
	struct pending *p = calloc(1, sizeof(*p));
	size_t len = 0;

	if (p == NULL)
		return 0;
	p->d = d;
	p->c = c;
	if (ss != NULL) {
		p->peer = *ss;
		p->sl = sl;
	}
	p->job = d01_updater_handle(
	    d->upd, d->in, n, out, cap, &len, c != NULL, pending_done, p);
	if (p->job == NULL) {
		free(p);
		return len;
	}
	TAILQ_INSERT_TAIL(&d->pending, p, link);
	if (c != NULL)
		c->pending++;
	return 0;
}

/*
 * Drain up to UDP_BURST datagrams per wake-up, then yield so TCP clients
 * and the webhook get their turn even under a flood.
 */
static void
udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct d01_dnsd *d = arg;
	struct sockaddr_storage ss;
	socklen_t sl;
	ssize_t n;
	size_t len;
	int i;

	(void)what;
	for (i = 0; i < UDP_BURST; i++) {
		sl = sizeof(ss);
		n = recvfrom(
		    fd, d->in, sizeof(d->in), 0, (struct sockaddr *)&ss, &sl);
		if (n < 0)
			return; /* EAGAIN: drained; anything else: next wake-up
				 */
		len = 0;
		/* Transfer requests first, signed or not: dnsd_xfr.c checks
		 * their TSIG itself; then UPDATEs and other signed messages. */
		if (d->xfr != NULL && d01_xfr_is_request(d->in, (size_t)n))
			len = d01_xfr_udp(d->xfr, d->store,
			    (struct sockaddr *)&ss, d->in, (size_t)n, d->out,
			    sizeof(d->out));
		else if (d->upd != NULL && d01_updater_wants(d->in, (size_t)n))
			len = dispatch(d, NULL, &ss, sl, (size_t)n, d->out,
			    sizeof(d->out));
		else
			len = d01_dnsd_answer(d->store, d->in, (size_t)n,
			    d->out, sizeof(d->out), 0);
		/* A full send buffer drops the reply; the client retries. */
		if (len > 0)
			(void)sendto(
			    fd, d->out, len, 0, (struct sockaddr *)&ss, sl);
		log_query("udp", (struct sockaddr *)&ss, d->in, (size_t)n,
		    d->out, len);
	}
}

/* A transfer's output has gone (flushed, or its client closed). */
static void
xfr_end(struct tcp_client *c)
{
	for (; c->xfr > 0; c->xfr--)
		d01_xfr_done(c->d->xfr);
}

static void
pending_free(struct pending *p)
{
	TAILQ_REMOVE(&p->d->pending, p, link);
	if (p->c != NULL)
		p->c->pending--;
	free(p);
}

static void
client_free(struct tcp_client *c)
{
	struct pending *p, *next;

	/* Its UPDATEs' replies have nowhere to go: cancel them. */
	for (p = TAILQ_FIRST(&c->d->pending); p != NULL; p = next) {
		next = TAILQ_NEXT(p, link);
		if (p->c == c) {
			d01_update_cancel(p->job);
			pending_free(p);
		}
	}
	xfr_end(c);
	TAILQ_REMOVE(&c->d->clients, c, link);
	c->d->nclients--;
	bufferevent_free(c->bev);
	free(c);
}

static void
tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct tcp_client *c = arg;
	struct d01_dnsd *d = c->d;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hdr[2];
	size_t mlen, len;

	while (evbuffer_get_length(in) >= 2) {
		evbuffer_copyout(in, hdr, 2);
		mlen = (size_t)hdr[0] << 8 | hdr[1];
		if (mlen == 0) {
			client_free(c);
			return;
		}
		if (evbuffer_get_length(in) < mlen + 2)
			return;
		evbuffer_drain(in, 2);
		evbuffer_remove(in, d->in, mlen);
		/* Transfers first (see udp_cb): they write many messages
		 * themselves (dnsd_xfr.c). */
		if (d->xfr != NULL && d01_xfr_is_request(d->in, mlen)) {
			int rc = d01_xfr_tcp(d->xfr, d->store,
			    (struct sockaddr *)&c->peer, d->in, mlen,
			    bufferevent_get_output(bev));

			c->xfr += rc > 0;
			if (rc >= 0)
				goto sent;
			len = d01_dnsd_answer(d->store, d->in, mlen, d->out + 2,
			    sizeof(d->out) - 2, 1);
		} else if (d->upd != NULL && d01_updater_wants(d->in, mlen)) {
			len = dispatch(d, c, NULL, 0, mlen, d->out + 2,
			    sizeof(d->out) - 2);
		} else {
			len = d01_dnsd_answer(d->store, d->in, mlen, d->out + 2,
			    sizeof(d->out) - 2, 1);
		}
		if (len == 0)
			continue;
		log_query("tcp", (struct sockaddr *)&c->peer, d->in, mlen,
		    d->out + 2, len);
		d->out[0] = (uint8_t)(len >> 8);
		d->out[1] = (uint8_t)len;
		bufferevent_write(bev, d->out, len + 2);
	sent:
		/* A client that does not read its answers gets no more. */
		if (evbuffer_get_length(bufferevent_get_output(bev)) >
		    TCP_OUT_HIGH) {
			bufferevent_disable(bev, EV_READ);
			return;
		}
	}
}

static void
tcp_write_cb(struct bufferevent *bev, void *arg)
{
	struct tcp_client *c = arg;

	/* Called once the output is flushed. */
	xfr_end(c);
	if (c->closing) {
		if (c->pending == 0) /* else the last reply closes it */
			client_free(c);
		return;
	}
	if (!(bufferevent_get_enabled(bev) & EV_READ)) {
		bufferevent_enable(bev, EV_READ);
		tcp_read_cb(bev, arg);
	}
}

static void
tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tcp_client *c = arg;

	/* A client may half-close after its last query (RFC 7766 §6.2.4
	 * allows either side to close); its replies still go out, bounded
	 * by the write timeout. Errors and idle timeouts end it at once. */
	if ((what & BEV_EVENT_EOF) && !c->closing &&
	    (evbuffer_get_length(bufferevent_get_output(bev)) > 0 ||
		c->pending > 0)) {
		c->closing = 1;
		bufferevent_disable(bev, EV_READ);
		return;
	}
	client_free(c);
}

static void
tcp_accept_cb(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct d01_dnsd *d = arg;
	struct tcp_client *c;
	struct timeval idle = {TCP_IDLE_SEC, 0};

	/* Past the bound a new client is closed at once: it retries, or
	 * asks another server, and the ones being served keep their turn. */
	if (d->nclients >= MAX_TCP_CLIENTS ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->d = d;
	if (salen > 0 && (size_t)salen <= sizeof(c->peer))
		memcpy(&c->peer, sa, (size_t)salen);
	c->bev = bufferevent_socket_new(
	    evconnlistener_get_base(lis), fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&d->clients, c, link);
	d->nclients++;
	bufferevent_setcb(c->bev, tcp_read_cb, tcp_write_cb, tcp_event_cb, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	/* Messages are bounded by the framing; do not buffer past one. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, MAX_MSG + 2);
	bufferevent_enable(c->bev, EV_READ);
}

/* "ADDR:PORT" with a non-zero port into ss; -1 when malformed. */
static int
parse_addr(const char *addr, struct sockaddr_storage *ss, int *sl)
{
	in_port_t port = 0;

	memset(ss, 0, sizeof(*ss));
	*sl = sizeof(*ss);
	if (addr == NULL ||
	    evutil_parse_sockaddr_port(addr, (struct sockaddr *)ss, sl) != 0)
		return -1;
	if (ss->ss_family == AF_INET)
		port = ((struct sockaddr_in *)ss)->sin_port;
	else if (ss->ss_family == AF_INET6)
		port = ((struct sockaddr_in6 *)ss)->sin6_port;
	/* evutil accepts a bare address as port 0; a DNS server needs one. */
	return port != 0 ? 0 : -1;
}

/* The UDP socket and its persistent read event; -1 with errno set. */
static int
udp_open(struct d01_dnsd *d, struct event_base *base,
    const struct sockaddr_storage *ss, int sl)
{
	int one = 1;

	d->udp = socket(ss->ss_family, SOCK_DGRAM, 0);
	if (d->udp < 0 || evutil_make_socket_nonblocking(d->udp) != 0 ||
	    evutil_make_socket_closeonexec(d->udp) != 0 ||
	    setsockopt(d->udp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(d->udp, (const struct sockaddr *)ss, (socklen_t)sl) != 0)
		return -1;
	if ((d->udp_ev = event_new(
		 base, d->udp, EV_READ | EV_PERSIST, udp_cb, d)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return event_add(d->udp_ev, NULL);
}

struct d01_dnsd *
d01_dnsd_new(struct event_base *base, const struct d01_txtstore *store,
    const char *addr, struct d01_error *err)
{
	char qaddr[128];
	struct d01_dnsd *d;
	struct sockaddr_storage ss;
	int sl;

	if (parse_addr(addr, &ss, &sl) != 0) {
		d01_error_set(err, D01_E_CONFIG,
		    "--dns-listen %.200s: expected ADDR:PORT, e.g. "
		    "127.0.0.1:5353 or [::1]:53",
		    addr != NULL ? addr : "(none)");
		return NULL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	d->store = store;
	d->udp = -1;
	TAILQ_INIT(&d->clients);
	TAILQ_INIT(&d->pending);
	if (udp_open(d, base, &ss, sl) != 0)
		goto syserr;
	/* evconnlistener makes accepted sockets non-blocking. */
	d->tcp = evconnlistener_new_bind(base, tcp_accept_cb, d,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    128, (struct sockaddr *)&ss, sl);
	if (d->tcp == NULL)
		goto syserr;
	d01_log(D01_LOG_DEBUG, "dns_listen", "addr=%s",
	    d01_log_quote(qaddr, sizeof(qaddr), addr));
	return d;
syserr:
	d01_error_set(err, D01_E_NETWORK, "embedded DNS on %.200s: %s", addr,
	    strerror(errno));
	d01_dnsd_free(d);
	return NULL;
}

void
d01_dnsd_set_xfr(struct d01_dnsd *d, struct d01_xfr *xfr)
{
	d->xfr = xfr;
}

void
d01_dnsd_free(struct d01_dnsd *d)
{
	if (d == NULL)
		return;
	while (!TAILQ_EMPTY(&d->pending)) {
		d01_update_cancel(TAILQ_FIRST(&d->pending)->job);
		pending_free(TAILQ_FIRST(&d->pending));
	}
	while (!TAILQ_EMPTY(&d->clients))
		client_free(TAILQ_FIRST(&d->clients));
	if (d->tcp != NULL)
		evconnlistener_free(d->tcp);
	if (d->udp_ev != NULL)
		event_free(d->udp_ev);
	if (d->udp >= 0)
		evutil_closesocket(d->udp);
	free(d);
}

void
d01_dnsd_set_updater(struct d01_dnsd *d, struct d01_updater *up)
{
	d->upd = up;
}
