/* SPDX-License-Identifier: ISC */
/*
 * Out of memory on a TLS connection's read: drop it, never spin.
 *
 * Why this exists: in libevent 2.1's OpenSSL bufferevent (do_read), when
 * evbuffer_reserve_space() cannot get memory for the bytes to decrypt, the
 * read gives up without an event callback, and the read event stays armed
 * on a socket that is still readable (level-triggered), so the loop runs
 * it again at once, forever: until the head or request deadline, seconds
 * later; the idle timeout never fires, since each activation counts as a
 * read. We are never told, so we watch libevent's allocations instead
 * (event_set_mem_functions): a failed one wakes a sweep, through an event
 * made in advance (activating it allocates nothing). The sweep does what
 * that read would have done first: make room in the connection's input
 * for the most libevent reads at once (max_single_read, set in
 * d01_http_conn_start). If that fails, the read cannot succeed either: the
 * connection is closed. If it succeeds, the next read has its space and
 * makes progress (or fails inside OpenSSL, which does report an error).
 * Decrypted bytes left inside TLS (SSL_pending) after a read loop mean the
 * loop stopped on such a failure; no socket event will read them: closed
 * too.
 *
 * Other designs weighed: a periodic progress check lets the loop spin
 * until it runs and costs wake-ups all the time; reading through a filter
 * bufferevent trades the spin for a stall until a deadline.
 *
 * The hooks run on whatever thread allocates through libevent; here that
 * is only the event loop's, which also owns the list below.
 */
#include <poll.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "core/log.h"
#include "httpd/http_int.h"

static struct d01_httpd *watched; /* servers to sweep, by nomem_next */

static void
nomem_noticed(void)
{
	struct d01_httpd *srv;

	for (srv = watched; srv != NULL; srv = srv->nomem_next)
		if (!srv->nomem_sweeping)
			event_active(srv->nomem_ev, 0, 0);
}

static void *
watch_malloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL && n != 0)
		nomem_noticed();
	return p;
}

static void *
watch_realloc(void *old, size_t n)
{
	void *p = realloc(old, n);

	if (p == NULL && n != 0)
		nomem_noticed();
	return p;
}

void
d01_http_watch_allocations(void)
{
	/* The wrappers return what malloc returns: memory libevent hands
	 * out (evbuffer_readln) may still be released with free(). */
	event_set_mem_functions(watch_malloc, watch_realloc, free);
}

static int
socket_readable(evutil_socket_t fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	/* Data, end of stream or a pending error: each makes the read event
	 * fire. */
	return poll(&p, 1, 0) == 1 && p.revents != 0;
}

/* Would libevent's next read on `c` spin or stall for lack of memory? */
static int
read_starved(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	ev_ssize_t most;

	/* Plain sockets report a failed read; so does OpenSSL during the
	 * handshake, which reads without our input buffer. */
	if (ssl == NULL || !SSL_is_init_finished(ssl) ||
	    !(bufferevent_get_enabled(c->bev) & EV_READ))
		return 0;
	if (SSL_pending(ssl) > 0)
		return 1;
	if (!socket_readable(bufferevent_getfd(c->bev)))
		return 0;
	most = bufferevent_get_max_single_read(c->bev);
	return evbuffer_expand(bufferevent_get_input(c->bev),
		   most > 0 ? (size_t)most : TLS_READ_MAX) != 0;
}

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct d01_httpd *srv = arg;
	struct conn *c, *next;
	unsigned long skipped;

	(void)fd;
	(void)what;
	/* Our own failures here must not wake us again and again. */
	srv->nomem_sweeping = 1;
	for (c = TAILQ_FIRST(&srv->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (!read_starved(c))
			continue;
		if (d01_ratelog_ok(&srv->nomem_log, &skipped))
			d01_log(D01_LOG_WARN, "http_conn_dropped",
			    "reason=nomem peer=%s suppressed=%lu", c->peer,
			    skipped);
		d01_http_conn_free(c);
	}
	srv->nomem_sweeping = 0;
}

int
d01_http_nomem_watch(struct d01_httpd *srv)
{
	if ((srv->nomem_ev = event_new(srv->base, -1, 0, sweep_cb, srv)) ==
	    NULL)
		return -1;
	srv->nomem_next = watched;
	watched = srv;
	return 0;
}

void
d01_http_nomem_unwatch(struct d01_httpd *srv)
{
	struct d01_httpd **pp;

	for (pp = &watched; *pp != NULL; pp = &(*pp)->nomem_next)
		if (*pp == srv) {
			*pp = srv->nomem_next;
			break;
		}
	if (srv->nomem_ev != NULL)
		event_free(srv->nomem_ev);
	srv->nomem_ev = NULL;
}
