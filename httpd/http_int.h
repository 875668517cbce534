/* SPDX-License-Identifier: ISC */
/* Private to httpd/http*.c: connection and request state. */
#ifndef D01_HTTP_INT_H
#define D01_HTTP_INT_H

#include <sys/queue.h>
#include <sys/time.h>
#include <time.h>

#include <event2/util.h>

#include "httpd/http.h"

struct bufferevent;
struct evconnlistener;

/* At most one line a second for events an attacker can repeat at will;
 * the next line says how many were left out. */
struct d01_ratelog {
	time_t last;
	unsigned long suppressed;
};
/* Returns 1 when a line may be written now (*suppressed then holds the
 * number left out since the previous one). */
int d01_ratelog_ok(struct d01_ratelog *rl, unsigned long *suppressed);

#define LINGER_MS    2000	/* drain after an error reply ... */
#define LINGER_BYTES (4u << 20) /* ... at most this much */
#define CHUNK_LINE   1024
/* Most a TLS connection's read takes in at once (libevent 2.1 asks for
 * 4096): the room http_nomem.c makes for it. */
#define TLS_READ_MAX 4096
#define EXTRA_MAX    1024

enum conn_state {
	C_HEAD,	      /* waiting for / reading a request head */
	C_BODY,	      /* Content-Length body */
	C_CHUNK_SIZE, /* chunked: size line */
	C_CHUNK_DATA,
	C_CHUNK_END, /* CRLF after chunk data */
	C_TRAILER,
	C_HANDLER, /* request with the handler; not reading */
	C_CLOSING, /* flushing the last reply */
	C_LINGER,  /* reply sent; discarding what the client still sends */
};

struct conn {
	TAILQ_ENTRY(conn) link;
	struct d01_httpd *srv;
	struct bufferevent *bev;
	struct event *timer; /* request deadline, linger deadline */
	enum conn_state st;
	struct d01_req *req; /* request being read or handled */
	int linger;	     /* drain input after the last reply */
	size_t lingered;     /* bytes drained so far */
	int trusted;	     /* d01_req_trust_conn(): never evicted */
	unsigned served;     /* requests that reached a reply */
	char peer[INET6_ADDRSTRLEN + 8];
};

struct d01_req {
	struct d01_httpd *srv;
	struct conn *conn; /* NULL once the client went away */
	char *headbuf;
	struct d01_http_head head;
	struct evbuffer *body;
	int64_t remaining;
	size_t reserved;   /* counted in srv->body_bytes until freed */
	struct timeval t0; /* first byte of the head */
	size_t trailer_bytes;
	char extra[EXTRA_MAX];
	size_t extralen;
	void (*abort_fn)(void *);
	void *abort_arg;
	TAILQ_ENTRY(d01_req) active; /* while in the handler */
	int tag;		     /* for the observer */
	int in_handler;
	int body_done;	  /* body complete and NUL-terminated */
	int close_linger; /* error reply: close, then drain the client */
};

struct d01_httpd {
	struct event_base *base;
	SSL_CTX *ctx;
	struct evconnlistener *lis;
	struct d01_http_limits lim;
	d01_req_handler handler;
	d01_req_error_fn error_fn;
	d01_req_observe_fn observe;
	d01_req_head_fn head_fn;
	void *arg;
	TAILQ_HEAD(, conn) conns;
	TAILQ_HEAD(, d01_req) active;
	size_t nconns;
	size_t inflight;
	size_t body_bytes; /* reserved by bodies (max_body_total) */
	size_t body_peak;  /* since memory was last handed back */
	uint64_t evicted, accept_errors;
	/* accept() failures: the listener pauses, backing off (timer made
	 * by d01_httpd_listen). */
	struct event *accept_timer;
	int accept_backoff_ms;
	struct d01_ratelog accept_log, cap_log;
	/* http_nomem.c: sweep after a failed libevent allocation. */
	struct event *nomem_ev;
	struct d01_httpd *nomem_next;
	int nomem_sweeping;
	struct d01_ratelog nomem_log;
	int stopping;
	int stop_flushing; /* deadline passed; last replies leaving */
	struct event *stop_timer;
	void (*stop_done)(void *);
	void *stop_arg;
};

/* http_conn.c: reading requests off a connection. */
void d01_http_tv_ms(struct timeval *tv, int ms);
struct d01_req *d01_http_req_new(struct conn *c);
void d01_http_req_free(struct d01_req *r);
/* Parse what has arrived; may dispatch to the handler. */
void d01_http_conn_process(struct conn *c);
/* Reject the current request with `status` via the server's error_fn. */
void d01_http_conn_error_reply(struct conn *c, int status, const char *why);

/* http.c: connection and server lifetime. */
/* Set up a connection on accepted socket `fd` (`peer` is "ip:port") and
 * start reading. Returns 0, or -1 out of memory (`fd` is then the
 * caller's to close). */
int d01_http_conn_start(
    struct d01_httpd *srv, evutil_socket_t fd, const char *peer);
void d01_http_conn_free(struct conn *c);
/* Call the shutdown callback once nothing is left. */
void d01_http_check_stopped(struct d01_httpd *srv);

/* http_nomem.c: connections a failed allocation left unable to read.
 * Watch `srv` (0, or -1 out of memory) / stop watching (idempotent). */
int d01_http_nomem_watch(struct d01_httpd *srv);
void d01_http_nomem_unwatch(struct d01_httpd *srv);

/* http_listen.c: accepting connections. */
/* Close the listener and stop retrying accept(); idempotent. */
void d01_http_listen_close(struct d01_httpd *srv);

#endif
