/* SPDX-License-Identifier: ISC */
/*
 * The HTTPS layer with requests held by the handler: the in-flight cap
 * answers 503, a graceful shutdown lets held requests finish, and the
 * shutdown deadline aborts what is left (abort hook, 503). Clients are
 * OpenSSL bufferevents on the same event loop, or, where a test must decide
 * what the server has read when the shutdown starts, non-blocking SSL on a
 * plain socket driven by hand.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "harness.h"
#include "httpd/http.h"
#include "httpd/tls.h"

#define NCLIENTS 3

struct client {
	struct bufferevent *bev;
	int status; /* of the reply, 0 until one arrived */
	int closed;
};

struct fixture {
	struct event_base *base;
	struct d01_httpd *srv;
	SSL_CTX *cctx;
	struct d01_req *held[NCLIENTS];
	int nheld, aborted, drained, port;
	struct client cl[NCLIENTS];
};

static void
on_abort(void *arg)
{
	((struct fixture *)arg)->aborted++;
}

static void
handler(struct d01_req *req, void *arg)
{
	struct fixture *f = arg;

	d01_req_on_abort(req, on_abort, f);
	f->held[f->nheld++] = req; /* reply later */
}

static void
error_fn(struct d01_req *req, int status, const char *why, void *arg)
{
	(void)why;
	(void)arg;
	d01_req_reply(req, status, "text/plain", "no", 2);
}

static void
client_read(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	char *line = evbuffer_readln(
	    bufferevent_get_input(bev), NULL, EVBUFFER_EOL_CRLF);

	if (line != NULL && c->status == 0)
		c->status = atoi(line + 9); /* "HTTP/1.1 NNN" */
	free(line);
	evbuffer_drain(bufferevent_get_input(bev), (size_t)-1);
}

static void
client_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		((struct client *)arg)->closed = 1;
}

static int
listen_port(struct fixture *f)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sl) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	if (port > 0 && d01_httpd_listen(f->srv, "127.0.0.1", port, NULL) != 0)
		port = -1;
	return port;
}

static int
connect_client(struct fixture *f, struct client *c)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	SSL *ssl = SSL_new(f->cctx);

	sa.sin_port = htons((uint16_t)f->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->bev = bufferevent_openssl_socket_new(f->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		return -1;
	bufferevent_setcb(c->bev, client_read, NULL, client_event, c);
	bufferevent_enable(c->bev, EV_READ);
	if (bufferevent_socket_connect(
		c->bev, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -1;
	return bufferevent_write(
	    c->bev, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n", 28);
}

/* Run the loop until cond(f) or ~5 s. */
static int
spin(struct fixture *f, int (*cond)(struct fixture *))
{
	int i;

	for (i = 0; i < 500 && !cond(f); i++) {
		struct timeval tv = {0, 10000};
		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
	}
	return cond(f);
}

static int
count_status(struct fixture *f, int status)
{
	int i, n = 0;

	for (i = 0; i < NCLIENTS; i++)
		n += f->cl[i].status == status;
	return n;
}

static int
two_held_one_refused(struct fixture *f)
{
	return f->nheld == 2 && count_status(f, 503) == 1;
}

static int
drained_and_answered(struct fixture *f)
{
	return f->drained && count_status(f, 0) == 0;
}

static int
setup_server(struct fixture *f, int max_inflight)
{
	struct d01_http_limits lim;
	SSL_CTX *sctx = d01_tls_demo_ctx(NULL);

	memset(f, 0, sizeof(*f));
	d01_http_limits_default(&lim);
	lim.max_inflight = (size_t)max_inflight;
	f->base = event_base_new();
	f->cctx = SSL_CTX_new(TLS_client_method());
	if (sctx == NULL || f->base == NULL || f->cctx == NULL)
		return -1;
	f->srv = d01_httpd_new(f->base, sctx, &lim, handler, error_fn, f, NULL);
	SSL_CTX_free(sctx);
	if (f->srv == NULL || (f->port = listen_port(f)) < 0)
		return -1;
	return 0;
}

static int
setup(struct fixture *f, int max_inflight)
{
	int i;

	if (setup_server(f, max_inflight) != 0)
		return -1;
	for (i = 0; i < NCLIENTS; i++)
		if (connect_client(f, &f->cl[i]) != 0)
			return -1;
	return 0;
}

static void
teardown(struct fixture *f)
{
	int i;

	for (i = 0; i < NCLIENTS; i++)
		if (f->cl[i].bev != NULL)
			bufferevent_free(f->cl[i].bev);
	d01_httpd_free(f->srv);
	SSL_CTX_free(f->cctx);
	if (f->base != NULL)
		event_base_free(f->base);
}

static void
drained(void *arg)
{
	((struct fixture *)arg)->drained = 1;
}

static void
t_inflight_cap(void)
{
	struct fixture f;
	int i;

	CHECK(setup(&f, 2) == 0);
	CHECK(spin(&f, two_held_one_refused));
	CHECK_INT(d01_httpd_inflight(f.srv), ==, 2);
	for (i = 0; i < 2; i++)
		d01_req_reply(f.held[i], 200, "text/plain", "ok", 2);
	f.drained = 1; /* not shutting down: just wait for the replies */
	CHECK(spin(&f, drained_and_answered));
	CHECK_INT(count_status(&f, 200), ==, 2);
	CHECK_INT(d01_httpd_inflight(f.srv), ==, 0);
	CHECK_INT(f.aborted, ==, 0);
end:
	teardown(&f);
}

/* Held requests finish after shutdown began; then the server is done. */
static void
t_graceful_shutdown(void)
{
	struct fixture f;
	int i;

	CHECK(setup(&f, 2) == 0);
	CHECK(spin(&f, two_held_one_refused));
	d01_httpd_shutdown(f.srv, 5000, drained, &f);
	CHECK_INT(f.drained, ==, 0);
	for (i = 0; i < 2; i++)
		d01_req_reply(f.held[i], 200, "text/plain", "ok", 2);
	CHECK(spin(&f, drained_and_answered));
	CHECK_INT(count_status(&f, 200), ==, 2);
	CHECK_INT(f.aborted, ==, 0);
end:
	teardown(&f);
}

/* Past the deadline, held requests are aborted and answered 503. */
static void
t_shutdown_deadline(void)
{
	struct fixture f;

	CHECK(setup(&f, 2) == 0);
	CHECK(spin(&f, two_held_one_refused));
	d01_httpd_shutdown(f.srv, 50, drained, &f);
	CHECK(spin(&f, drained_and_answered));
	CHECK_INT(f.aborted, ==, 2);
	CHECK_INT(count_status(&f, 503), ==, 3);
end:
	teardown(&f);
}

/* One turn of the server's loop (at most 10 ms). */
static void
turn(struct fixture *f)
{
	struct timeval tv = {0, 10000};

	event_base_loopexit(f->base, &tv);
	event_base_dispatch(f->base);
}

struct raw {
	int fd;
	SSL *ssl;
};

/* Connect and finish the handshake on the client side only: the server has
 * not read the client's Finished yet when this returns. */
static int
raw_connect(struct fixture *f, struct raw *r)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int i, rc, one = 1;

	r->ssl = NULL;
	sa.sin_port = htons((uint16_t)f->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((r->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    /* Else Nagle holds a request sent right after the Finished
	     * until the server ACKs it. */
	    setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) !=
		0 ||
	    connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    evutil_make_socket_nonblocking(r->fd) != 0 ||
	    (r->ssl = SSL_new(f->cctx)) == NULL ||
	    SSL_set_fd(r->ssl, r->fd) != 1)
		return -1;
	for (i = 0; i < 500; i++) {
		ERR_clear_error(); /* shared with the server: same thread */
		if ((rc = SSL_connect(r->ssl)) == 1)
			return 0;
		if (SSL_get_error(r->ssl, rc) != SSL_ERROR_WANT_READ)
			return -1;
		turn(f);
	}
	return -1;
}

static int
raw_send(struct raw *r)
{
	static const char req[] = "GET /x HTTP/1.1\r\nHost: t\r\n\r\n";

	ERR_clear_error();
	return SSL_write(r->ssl, req, (int)strlen(req)) == (int)strlen(req)
	    ? 0
	    : -1;
}

/* Turn the loop until the next whole reply (its status), or 0 when the
 * server closed first, -1 after ~5 s. The server's replies carry
 * Content-Length. */
static int
raw_status(struct fixture *f, struct raw *r)
{
	char buf[4096], *end, *cl;
	size_t have = 0;
	int i, n;

	for (i = 0; i < 500; i++) {
		ERR_clear_error();
		n = SSL_read(r->ssl, buf + have, (int)(sizeof(buf) - 1 - have));
		if (n <= 0) {
			if (SSL_get_error(r->ssl, n) != SSL_ERROR_WANT_READ) {
				ERR_clear_error();
				return 0;
			}
			turn(f);
			continue;
		}
		have += (size_t)n;
		buf[have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) == NULL ||
		    (cl = strstr(buf, "Content-Length: ")) == NULL)
			continue;
		if (have >= (size_t)(end + 4 - buf) + (size_t)atoi(cl + 16))
			return atoi(buf + 9);
	}
	return -1;
}

static void
raw_close(struct raw *r)
{
	SSL_free(r->ssl);
	if (r->fd >= 0)
		close(r->fd);
}

static int
one_held(struct fixture *f)
{
	return f->nheld == 1;
}

static int
is_drained(struct fixture *f)
{
	return f->drained;
}

/* A request that reached the server's socket before the shutdown began is
 * read and answered even though its connection looked idle: here behind
 * the client's Finished, which the server has not read yet. */
static void
t_shutdown_reads_request_behind_handshake(void)
{
	struct fixture f;
	struct raw r = {-1, NULL};

	CHECK(setup_server(&f, 4) == 0);
	CHECK(raw_connect(&f, &r) == 0);
	CHECK(raw_send(&r) == 0);
	d01_httpd_shutdown(f.srv, 5000, drained, &f);
	CHECK(spin(&f, one_held));
	d01_req_reply(f.held[0], 200, "text/plain", "ok", 2);
	CHECK_INT(raw_status(&f, &r), ==, 200);
	CHECK(spin(&f, is_drained));
	CHECK_INT(f.aborted, ==, 0);
end:
	raw_close(&r);
	teardown(&f);
}

/* Likewise on a keep-alive connection between two requests; and a
 * connection with nothing sent is still closed at once. */
static void
t_shutdown_reads_request_on_idle_connection(void)
{
	struct fixture f;
	struct raw r = {-1, NULL}, idle = {-1, NULL};
	int i;

	CHECK(setup_server(&f, 4) == 0);
	CHECK(raw_connect(&f, &r) == 0);
	CHECK(raw_connect(&f, &idle) == 0);
	CHECK(raw_send(&r) == 0);
	CHECK(spin(&f, one_held));
	d01_req_reply(f.held[0], 200, "text/plain", "ok", 2);
	CHECK_INT(raw_status(&f, &r), ==, 200);
	for (i = 0; i < 5; i++) /* the idle handshake completes */
		turn(&f);
	f.nheld = 0;
	CHECK(raw_send(&r) == 0); /* in the server's socket, not read */
	d01_httpd_shutdown(f.srv, 5000, drained, &f);
	CHECK_INT(raw_status(&f, &idle), ==, 0); /* closed, not kept */
	CHECK(spin(&f, one_held));
	d01_req_reply(f.held[0], 200, "text/plain", "ok", 2);
	CHECK_INT(raw_status(&f, &r), ==, 200);
	CHECK(spin(&f, is_drained));
end:
	raw_close(&r);
	raw_close(&idle);
	teardown(&f);
}

/* A keep-alive reply queued in the loop turn the shutdown starts in still
 * goes out before its connection closes. */
static void
t_shutdown_flushes_queued_reply(void)
{
	struct fixture f;
	struct raw r = {-1, NULL};

	CHECK(setup_server(&f, 4) == 0);
	CHECK(raw_connect(&f, &r) == 0);
	CHECK(raw_send(&r) == 0);
	CHECK(spin(&f, one_held));
	d01_req_reply(f.held[0], 200, "text/plain", "ok", 2);
	d01_httpd_shutdown(f.srv, 5000, drained, &f);
	CHECK_INT(raw_status(&f, &r), ==, 200);
	CHECK(spin(&f, is_drained));
end:
	raw_close(&r);
	teardown(&f);
}

int
main(void)
{
	RUN(t_inflight_cap);
	RUN(t_graceful_shutdown);
	RUN(t_shutdown_deadline);
	RUN(t_shutdown_reads_request_behind_handshake);
	RUN(t_shutdown_reads_request_on_idle_connection);
	RUN(t_shutdown_flushes_queued_reply);
	return harness_done();
}
