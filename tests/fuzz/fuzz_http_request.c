/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the whole request path of `dns01 serve`. The input is the
 * plaintext a client sends on one TLS connection: request heads, bodies
 * (Content-Length or chunked), pipelined requests, anything. It goes
 * through the HTTPS layer (httpd/http*.c), the router, discovery, health,
 * /metrics and the webhook handler with every provider of the table: the
 * embedded one writes a fresh store, the others parse their config and
 * then fail for want of a network client (the env's are dropped), so no
 * input ever
 * leaves the process.
 *
 * One event loop holds the server (demo mode: no authentication) on a
 * loopback port and an OpenSSL client. Each input: connect, write it, run
 * the loop until the server has consumed everything and has nothing left
 * to do (no request in a handler, nothing to write, nothing unread on
 * either side of the socket), then reset the connection and run until
 * the server has freed it. Nothing survives an input but the server's
 * metrics counters. A bounded wait turns a hang into a crash.
 */
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "core/dns.h"
#include "core/http_client.h"
#include "core/log.h"
#include "providers/embedded/embedded.h"
#include "providers/embedded/store.h"
#include "providers/env.h"
#include "httpd/http_int.h"
#include "server/server_int.h"
#include "httpd/tls.h"

/* Past this an input counts as a hang (the server's own timeouts, set
 * well below it, must have ended every connection by then). */
#define INPUT_DEADLINE_MS 3000
#define SERVER_TIMEOUT_MS 300

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct client {
	struct bufferevent *bev;
	int connected; /* handshake done */
	int closed;    /* EOF or error from the server side */
};

static struct event_base *base;
static struct d01_env env;
static struct d01_server *srv;
static SSL_CTX *cctx;
static struct sockaddr_in srv_addr;
static int verbose; /* D01_FUZZ_VERBOSE: server log and replies on stderr */

static void
setup(void)
{
	static const char *const zones[] = {"example.test"};
	struct d01_env_opts eo = {.zones = zones, .nzones = 1};
	struct d01_server_cfg cfg;
	struct d01_error err;
	socklen_t sl = sizeof(srv_addr);
	SSL_CTX *sctx;

	signal(SIGPIPE, SIG_IGN);
	verbose = getenv("D01_FUZZ_VERBOSE") != NULL;
	d01_log_set_level(verbose ? D01_LOG_DEBUG : D01_LOG_ERR);
	memset(&cfg, 0, sizeof(cfg));
	cfg.group = "acme.dns01.demo";
	cfg.no_auth = 1;
	d01_http_limits_default(&cfg.limits);
	/* Small enough for inputs to reach every limit. */
	cfg.limits.max_body = 4096;
	cfg.limits.max_head = 2048;
	cfg.limits.max_line = 1024;
	cfg.limits.idle_timeout_ms = SERVER_TIMEOUT_MS;
	cfg.limits.request_timeout_ms = SERVER_TIMEOUT_MS;
	cfg.limits.write_timeout_ms = SERVER_TIMEOUT_MS;
	if (d01_env_open(&env, &eo, &err) != D01_OK ||
	    (base = env.base) == NULL ||
	    (sctx = d01_tls_demo_ctx(&err)) == NULL ||
	    (cctx = SSL_CTX_new(TLS_client_method())) == NULL)
		abort();
	/* The env without its network clients: the providers that would
	 * use them refuse at start, so no input leaves the process. */
	d01_dns_free(env.dns);
	env.dns = NULL;
	d01_http_free(env.http);
	env.http = NULL;
	if ((srv = d01_server_new(&env, sctx, &cfg, &err)) == NULL ||
	    d01_server_listen(srv, "127.0.0.1", 0, &err) != D01_OK ||
	    getsockname(evconnlistener_get_fd(srv->httpd->lis),
		(struct sockaddr *)&srv_addr, &sl) != 0) {
		fprintf(stderr, "fuzz_http_request: %s\n", err.msg);
		abort();
	}
	SSL_CTX_free(sctx);
}

/* A fresh embedded store per input: what one input presents is not seen
 * by the next. */
static void
reset_store(void)
{
	d01_txtstore_clear(d01_embedded_store(&env));
}

static void
client_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	(void)arg;
	if (verbose)
		fprintf(stderr, "%.*s", (int)evbuffer_get_length(in),
		    (const char *)evbuffer_pullup(in, -1));
	evbuffer_drain(in, evbuffer_get_length(in));
}

static void
client_event(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		c->connected = 1;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		c->closed = 1;
}

/* Nothing unread in the kernel or in OpenSSL on the server's end. */
static int
server_drained(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	int in = 0;

	if (ioctl(bufferevent_getfd(bev), FIONREAD, &in) != 0)
		in = 0; /* closed: nothing to read either */
	return in == 0 && (ssl == NULL || !SSL_has_pending(ssl));
}

/* Everything the client wrote has left it: no plaintext waiting, nothing
 * held back by the kernel. */
static int
client_flushed(const struct client *c)
{
	int unsent = 0;

	if (ioctl(bufferevent_getfd(c->bev), SIOCOUTQNSD, &unsent) != 0)
		unsent = 0;
	return evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
	    unsent == 0;
}

/* The server waits for input that will not come: every connection is
 * reading (not in a handler, not flushing), has nothing to write and
 * nothing unread. */
static int
server_idle(void)
{
	struct d01_httpd *h = srv->httpd;
	struct conn *c;

	if (h->inflight > 0)
		return 0;
	TAILQ_FOREACH(c, &h->conns, link)
	{
		if (c->st == C_HANDLER || c->st == C_CLOSING ||
		    evbuffer_get_length(bufferevent_get_output(c->bev)) > 0 ||
		    !server_drained(c->bev))
			return 0;
	}
	return 1;
}

static int
settled(const struct client *c)
{
	if (event_base_get_num_events(base, EVENT_BASE_COUNT_ACTIVE) > 0)
		return 0;
	if (c->closed)
		return server_idle();
	return c->connected && client_flushed(c) && server_idle() &&
	    srv->httpd->nconns > 0;
}

static int
server_done(const struct client *c)
{
	(void)c;
	return srv->httpd->nconns == 0 && srv->httpd->inflight == 0 &&
	    event_base_get_num_events(base, EVENT_BASE_COUNT_ACTIVE) == 0;
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the loop until cond(c); a hang past the deadline is a crash. */
static void
run_until(int (*cond)(const struct client *), const struct client *c,
    long deadline, const char *what)
{
	while (!cond(c)) {
		if (now_ms() > deadline) {
			fprintf(stderr, "fuzz_http_request: %s: stuck\n", what);
			abort();
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct linger rst = {1, 0};
	static const int one = 1;
	struct client c = {0};
	long deadline = now_ms() + INPUT_DEADLINE_MS;
	SSL *ssl;

	if (base == NULL)
		setup();
	reset_store();
	if ((ssl = SSL_new(cctx)) == NULL ||
	    (c.bev = bufferevent_openssl_socket_new(base, -1, ssl,
		 BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE)) == NULL)
		abort();
	bufferevent_setcb(c.bev, client_read, NULL, client_event, &c);
	bufferevent_enable(c.bev, EV_READ);
	if (bufferevent_socket_connect(
		c.bev, (struct sockaddr *)&srv_addr, sizeof(srv_addr)) != 0 ||
	    bufferevent_write(c.bev, data, size) != 0)
		abort();
	/* No Nagle delay: what the client wrote reaches the server before
	 * the loop can look idle. */
	setsockopt(bufferevent_getfd(c.bev), IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one));
	run_until(settled, &c, deadline, "request");
	/* A reset, not a FIN: no TIME_WAIT left behind per input. */
	setsockopt(
	    bufferevent_getfd(c.bev), SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
	bufferevent_free(c.bev);
	run_until(server_done, &c, deadline, "close");
	return 0;
}
