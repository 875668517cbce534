/* SPDX-License-Identifier: ISC */
/*
 * Which connections get in: the listener, accept() failures (back off, do
 * not spin), the connection cap and who makes room at it. What happens on
 * a connection once accepted is http.c's business (d01_http_conn_start).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "core/log.h"
#include "httpd/http_int.h"

int
d01_ratelog_ok(struct d01_ratelog *rl, unsigned long *suppressed)
{
	time_t now = time(NULL);

	if (now == rl->last) {
		rl->suppressed++;
		return 0;
	}
	rl->last = now;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return 1;
}

/*
 * At the cap: the oldest connection no authenticated client has used, not
 * busy in a handler. Idle and half-open connections cost an attacker
 * nothing to hold, so they make room rather than the newcomer being
 * refused; the kube-apiserver's pooled connections are trusted and stay.
 */
static struct conn *
eviction_victim(struct d01_httpd *srv)
{
	struct conn *c;

	TAILQ_FOREACH(c, &srv->conns, link)
	if (!c->trusted && c->st != C_HANDLER)
		return c;
	return NULL;
}

static void
accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct d01_httpd *srv = arg;

	(void)fd;
	(void)what;
	if (srv->lis != NULL && !srv->stopping)
		evconnlistener_enable(srv->lis);
}

/*
 * accept() failed for a reason other than "try again": out of file
 * descriptors, or memory. The pending connection stays queued and the
 * listener readable, so retrying at once spins: pause the listener,
 * 100 ms doubling to 1 s while the failures go on, with one log line a
 * second at most.
 */
static void
accept_error_cb(struct evconnlistener *lis, void *arg)
{
	struct d01_httpd *srv = arg;
	int e = EVUTIL_SOCKET_ERROR();
	unsigned long skipped;
	struct timeval tv;

	srv->accept_errors++;
	evconnlistener_disable(lis);
	srv->accept_backoff_ms = srv->accept_backoff_ms == 0 ? 100
	    : srv->accept_backoff_ms >= 500		     ? 1000
					    : srv->accept_backoff_ms * 2;
	d01_http_tv_ms(&tv, srv->accept_backoff_ms);
	evtimer_add(srv->accept_timer, &tv);
	if (d01_ratelog_ok(&srv->accept_log, &skipped))
		d01_log(D01_LOG_WARN, "http_accept_failed",
		    "error=\"%s\" conns=%zu retry_ms=%d suppressed=%lu",
		    evutil_socket_error_to_string(e), srv->nconns,
		    srv->accept_backoff_ms, skipped);
}

static void
accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct d01_httpd *srv = arg;
	struct conn *victim;
	char addr[INET6_ADDRSTRLEN] = "?", peer[INET6_ADDRSTRLEN + 8];
	int port = 0, one = 1;
	unsigned long skipped;

	(void)lis;
	(void)salen;
	srv->accept_backoff_ms = 0;
	if (!srv->stopping && srv->nconns >= srv->lim.max_conns &&
	    (victim = eviction_victim(srv)) != NULL) {
		srv->evicted++;
		if (d01_ratelog_ok(&srv->cap_log, &skipped))
			d01_log(D01_LOG_WARN, "http_conn_evicted",
			    "peer=%s conns=%zu suppressed=%lu", victim->peer,
			    srv->nconns, skipped);
		d01_http_conn_free(victim);
	}
	if (srv->stopping || srv->nconns >= srv->lim.max_conns) {
		evutil_closesocket(fd);
		if (!srv->stopping && d01_ratelog_ok(&srv->cap_log, &skipped))
			d01_log(D01_LOG_WARN, "http_conn_refused",
			    "conns=%zu suppressed=%lu", srv->nconns, skipped);
		return;
	}
	/* A reply is one write, but a 100 Continue, the TLS handshake's
	 * flights and pipelined replies are several: none may wait for the
	 * peer's delayed ACK (40 ms). */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof(addr));
		port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof(addr));
		port = ntohs(s6->sin6_port);
	}
	snprintf(peer, sizeof(peer), "%s:%d", addr, port);
	if (d01_http_conn_start(srv, fd, peer) != 0) {
		d01_log(D01_LOG_ERR, "http_conn_failed", "reason=nomem");
		evutil_closesocket(fd);
	}
}

enum d01_err
d01_httpd_listen(
    struct d01_httpd *srv, const char *addr, int port, struct d01_error *err)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		len = sizeof(*s6);
	} else {
		return d01_error_set(err, D01_E_CONFIG,
		    "bind address %s is not an IP address", addr);
	}
	if (srv->accept_timer == NULL &&
	    (srv->accept_timer =
		    evtimer_new(srv->base, accept_resume_cb, srv)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	srv->lis = evconnlistener_new_bind(srv->base, accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
	    (struct sockaddr *)&ss, (int)len);
	if (srv->lis == NULL)
		return d01_error_set(err, D01_E_NETWORK,
		    "cannot listen on %s:%d: %s", addr, port,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	evconnlistener_set_error_cb(srv->lis, accept_error_cb);
	return D01_OK;
}

void
d01_http_listen_close(struct d01_httpd *srv)
{
	if (srv->lis != NULL) {
		evconnlistener_free(srv->lis);
		srv->lis = NULL;
	}
	if (srv->accept_timer != NULL) {
		event_free(srv->accept_timer);
		srv->accept_timer = NULL;
	}
}
