/* SPDX-License-Identifier: ISC */
/*
 * The embedded DNS server's sockets: UDP (one datagram in, one out) and TCP
 * (RFC 7766: two-byte length framing, several queries per connection)
 * on the event loop. Answers come from dnsd_answer.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "core/log.h"
#include "providers/embedded/dnsd.h"

#define MAX_TCP_CLIENTS 256
#define TCP_IDLE_SEC	10
#define UDP_BURST	64	   /* datagrams per wake-up, then yield */
#define TCP_OUT_HIGH	(64 << 10) /* stop reading while this is queued */
#define MAX_MSG		65535

struct tcp_client {
	TAILQ_ENTRY(tcp_client) link;
	struct d01_dnsd *d;
	struct bufferevent *bev;
};

struct d01_dnsd {
	const struct d01_txtstore *store;
	evutil_socket_t udp;
	struct event *udp_ev;
	struct evconnlistener *tcp;
	TAILQ_HEAD(, tcp_client) clients;
	size_t nclients;
	uint8_t in[MAX_MSG], out[MAX_MSG];
};

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
			return; /* EAGAIN, or an ICMP error from an old reply */
		len = d01_dnsd_answer(
		    d->store, d->in, (size_t)n, d->out, sizeof(d->out), 0);
		/* A full send buffer drops the reply; the client retries. */
		if (len > 0)
			(void)sendto(
			    fd, d->out, len, 0, (struct sockaddr *)&ss, sl);
	}
}

static void
client_free(struct tcp_client *c)
{
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
		len = d01_dnsd_answer(
		    d->store, d->in, mlen, d->out + 2, sizeof(d->out) - 2, 1);
		if (len == 0)
			continue;
		d->out[0] = (uint8_t)(len >> 8);
		d->out[1] = (uint8_t)len;
		bufferevent_write(bev, d->out, len + 2);
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
	(void)arg;
	if (!(bufferevent_get_enabled(bev) & EV_READ)) {
		bufferevent_enable(bev, EV_READ);
		tcp_read_cb(bev, arg);
	}
}

static void
tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what; /* EOF, error or idle timeout: all end the client */
	client_free(arg);
}

static void
tcp_accept_cb(struct evconnlistener *lis, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct d01_dnsd *d = arg;
	struct tcp_client *c;
	struct timeval idle = {TCP_IDLE_SEC, 0};

	(void)sa;
	(void)salen;
	if (d->nclients >= MAX_TCP_CLIENTS ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->d = d;
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

struct d01_dnsd *
d01_dnsd_new(struct event_base *base, const struct d01_txtstore *store,
    const char *addr, struct d01_error *err)
{
	struct d01_dnsd *d;
	struct sockaddr_storage ss;
	int sl = sizeof(ss), one = 1;

	memset(&ss, 0, sizeof(ss));
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sl) !=
		0 ||
	    ((struct sockaddr_in *)&ss)->sin_port == 0) {
		d01_error_set(err, D01_E_CONFIG,
		    "--dns-listen %.200s: expected ADDR:PORT, e.g. "
		    "127.0.0.1:5353 or [::1]:53",
		    addr);
		return NULL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	d->store = store;
	TAILQ_INIT(&d->clients);
	d->udp = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (d->udp < 0 || evutil_make_socket_nonblocking(d->udp) != 0 ||
	    setsockopt(d->udp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(d->udp, (struct sockaddr *)&ss, (socklen_t)sl) != 0)
		goto syserr;
	if ((d->udp_ev = event_new(
		 base, d->udp, EV_READ | EV_PERSIST, udp_cb, d)) == NULL ||
	    event_add(d->udp_ev, NULL) != 0)
		goto syserr;
	d->tcp = evconnlistener_new_bind(base, tcp_accept_cb, d,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 128,
	    (struct sockaddr *)&ss, sl);
	if (d->tcp == NULL)
		goto syserr;
	return d;
syserr:
	d01_error_set(err, D01_E_NETWORK, "embedded DNS on %.200s: %s", addr,
	    strerror(errno));
	d01_dnsd_free(d);
	return NULL;
}

void
d01_dnsd_free(struct d01_dnsd *d)
{
	if (d == NULL)
		return;
	while (!TAILQ_EMPTY(&d->clients))
		client_free(TAILQ_FIRST(&d->clients));
	if (d->tcp != NULL)
		evconnlistener_free(d->tcp);
	if (d->udp_ev != NULL)
		event_free(d->udp_ev);
	if (d->udp >= 0)
		close(d->udp);
	free(d);
}
