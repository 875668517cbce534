/* SPDX-License-Identifier: ISC */
/*
 * Server names to addresses off the loop (see d01_dns_resolve in dns.h).
 *
 * getaddrinfo() is the only resolver that honours everything the host is
 * configured with (/etc/hosts, search domains and ndots in a pod's
 * resolv.conf, nsswitch), and it blocks; so it runs on a short-lived
 * detached thread and reports back through a pipe the loop watches, the
 * way libcurl's threaded resolver does. IP literals skip the thread but
 * take the same pipe, so the callback never runs inside d01_dns_resolve.
 *
 * Ownership: two references, the loop's and the worker's, counted
 * atomically; whoever drops the last one frees the request and closes the
 * pipe. So the worker can always write its wake-up byte (the pipe is open
 * while it holds its reference), and the loop never frees memory the
 * worker may still touch. The worker's results are written before that
 * byte and read after it arrives.
 */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/dname.h"
#include "core/dns.h"

struct d01_dns_resolve {
	atomic_int refs;
	atomic_int done; /* release: results written; acquire: read them */
	int fds[2];
	struct event *ev;
	char host[D01_DNAME_BUF], port[12];
	/* Written by the worker before its byte, read by the loop after. */
	int gai_rc;
	struct d01_dns_server srv;
	d01_dns_resolve_fn cb;
	void *arg;
};

/* Drop one reference; the last one frees. */
static void
resolve_unref(struct d01_dns_resolve *r)
{
	if (atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	close(r->fds[0]);
	close(r->fds[1]);
	free(r);
}

/* First address getaddrinfo returned, in its (RFC 6724) order. */
static void
take_first(struct d01_dns_resolve *r, const struct addrinfo *ai)
{
	char ip[INET6_ADDRSTRLEN];
	const char *v6 = ai->ai_family == AF_INET6 ? "[" : "";

	memcpy(&r->srv.addr, ai->ai_addr, ai->ai_addrlen);
	r->srv.len = ai->ai_addrlen;
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, ip, sizeof(ip), NULL, 0,
		NI_NUMERICHOST) != 0)
		snprintf(ip, sizeof(ip), "?");
	snprintf(r->srv.label, sizeof(r->srv.label), "%.16s (%s%s%s):%.5s",
	    r->host, v6, ip, *v6 ? "]" : "", r->port);
}

/* Wake the loop (harmless when cancelled: nobody listens any more). */
static void
resolve_done(struct d01_dns_resolve *r)
{
	atomic_store_explicit(&r->done, 1, memory_order_release);
	if (write(r->fds[1], "x", 1) != 1)
		abort(); /* an empty pipe always takes one byte */
}

static void *
worker(void *arg)
{
	struct d01_dns_resolve *r = arg;
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM,
	    .ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV};
	struct addrinfo *res = NULL;

	r->gai_rc = getaddrinfo(r->host, r->port, &hints, &res);
	if (r->gai_rc == 0 && res != NULL)
		take_first(r, res);
	else if (r->gai_rc == 0)
		r->gai_rc = EAI_NONAME;
	if (res != NULL)
		freeaddrinfo(res);
	resolve_done(r);
	resolve_unref(r); /* r may be gone now */
	return NULL;
}

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct d01_dns_resolve *r = arg;
	struct d01_error err;
	d01_dns_resolve_fn cb = r->cb;
	void *cbarg = r->arg;
	struct d01_dns_server srv;

	(void)fd;
	(void)what;
	if (!atomic_load_explicit(&r->done, memory_order_acquire)) {
		event_add(r->ev, NULL); /* cannot happen: byte after `done` */
		return;
	}
	srv = r->srv;
	d01_error_clear(&err);
	if (r->gai_rc != 0) {
		d01_error_set(&err, D01_E_NETWORK,
		    "nameserver %s: cannot resolve (%s)", r->host,
		    gai_strerror(r->gai_rc));
		err.retryable = r->gai_rc == EAI_AGAIN;
	}
	event_free(r->ev);
	resolve_unref(r);
	cb(cbarg, &err, err.code == D01_OK ? &srv : NULL);
}

/* Split "host", "host:port", "[v6]", "[v6]:port" into host and port. */
static int
split(const char *s, int port, char *host, size_t hostlen, char *portbuf,
    size_t portlen)
{
	const char *colon, *end = s + strlen(s);
	char *e, name[D01_DNAME_BUF];
	long v = port;

	if (*s == '[') {
		if ((colon = strchr(s, ']')) == NULL)
			return -1;
		snprintf(host, hostlen, "%.*s", (int)(colon - s - 1), s + 1);
		colon = colon[1] == ':' ? colon + 1 : colon[1] ? s : NULL;
		if (colon == s)
			return -1;
	} else {
		colon = strrchr(s, ':');
		if (colon != NULL && strchr(s, ':') != colon)
			colon = NULL; /* bare IPv6 */
		snprintf(
		    host, hostlen, "%.*s", (int)((colon ? colon : end) - s), s);
	}
	if (colon != NULL) {
		v = strtol(colon + 1, &e, 10);
		if (e == colon + 1 || *e != '\0' || v < 1 || v > 65535)
			return -1;
	}
	snprintf(portbuf, portlen, "%ld", v);
	return d01_dname_normalise(name, sizeof(name), host);
}

int
d01_dns_hostport_ok(const char *s)
{
	struct d01_dns_server srv;
	char host[D01_DNAME_BUF], port[12];

	return d01_dns_server_parse(s, 53, &srv, NULL) == D01_OK ||
	    split(s, 53, host, sizeof(host), port, sizeof(port)) == 0;
}

struct d01_dns_resolve *
d01_dns_resolve(struct event_base *base, const char *hostport, int port,
    d01_dns_resolve_fn cb, void *arg, struct d01_error *err)
{
	struct d01_dns_resolve *r = calloc(1, sizeof(*r));
	pthread_attr_t attr;
	pthread_t tid;
	int literal, rc;

	if (r == NULL || pipe(r->fds) != 0 ||
	    fcntl(r->fds[0], F_SETFD, FD_CLOEXEC) != 0 ||
	    fcntl(r->fds[1], F_SETFD, FD_CLOEXEC) != 0) {
		free(r);
		d01_error_set(
		    err, D01_E_NOMEM, "cannot resolve: %s", strerror(errno));
		return NULL;
	}
	atomic_init(&r->refs, 1); /* the loop's */
	atomic_init(&r->done, 0);
	r->cb = cb;
	r->arg = arg;
	literal = d01_dns_server_parse(hostport, port, &r->srv, NULL) == 0;
	if (!literal &&
	    split(hostport, port, r->host, sizeof(r->host), r->port,
		sizeof(r->port)) != 0) {
		d01_error_set(err, D01_E_CONFIG,
		    "nameserver %.100s: expected host, host:port, IP or "
		    "[IPv6]:port",
		    hostport);
		goto fail;
	}
	if ((r->ev = event_new(base, r->fds[0], EV_READ, wake_cb, r)) == NULL ||
	    event_add(r->ev, NULL) != 0) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto fail;
	}
	if (literal) {
		resolve_done(r);
		return r;
	}
	atomic_fetch_add(&r->refs, 1); /* the worker's */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, worker, r);
	pthread_attr_destroy(&attr);
	if (rc == 0)
		return r;
	atomic_fetch_sub(&r->refs, 1);
	d01_error_set(err, D01_E_LIMIT,
	    "nameserver %s: cannot start a "
	    "resolver thread: %s",
	    r->host, strerror(rc));
fail:
	if (r->ev != NULL)
		event_free(r->ev);
	resolve_unref(r);
	return NULL;
}

void
d01_dns_resolve_cancel(struct d01_dns_resolve *r)
{
	if (r == NULL)
		return;
	event_free(r->ev);
	resolve_unref(r);
}
