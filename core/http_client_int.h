/* SPDX-License-Identifier: ISC */
/*
 * Private to core/http_client*.c: the client object, shared by the
 * transfer code (http_client.c) and the memo (http_client_memo.c).
 */
#ifndef D01_HTTP_CLIENT_INT_H
#define D01_HTTP_CLIENT_INT_H

#include <sys/queue.h>
#include <sys/time.h>
#include <time.h>

#include <curl/curl.h>

#include "core/http_client.h"

/* One origin (scheme://host:port) with calls bound to it; freed with
 * the last of them (http_client_host.c). */
struct d01_http_host {
	LIST_ENTRY(d01_http_host) link;
	char *key;
	size_t refs;			     /* calls bound to it */
	size_t active;			     /* attempts holding a slot */
	int mux;			     /* answered over HTTP/2 */
	TAILQ_HEAD(, d01_http_call) waiting; /* for a slot, FIFO */
};

struct d01_http {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	TAILQ_HEAD(, d01_http_call) calls;
	size_t ncalls;
	TAILQ_HEAD(, d01_http_call) starting; /* attempts not yet in multi */
	struct event *kick;		      /* feeds them to libcurl */
	LIST_HEAD(, d01_http_host) hosts;
	size_t max_host;      /* attempts in libcurl per origin */
	struct d01_sfc *memo; /* http_client_memo.c */
};

/* One request with all its attempts; owns one easy handle. */
struct d01_http_call {
	TAILQ_ENTRY(d01_http_call) link;
	TAILQ_ENTRY(d01_http_call) startq;
	int queued; /* on h->starting */
	struct d01_http *h;
	struct d01_http_host *host;
	TAILQ_ENTRY(d01_http_call) hostq;
	int host_waiting; /* on host->waiting (c->wait is its alarm) */
	int has_slot;	  /* from admission until the attempt ends */
	CURL *easy;
	struct curl_slist *headers;
	struct event *wait; /* between attempts */
	char *buf;
	size_t len, cap, max;
	char *hdrs; /* header lines of the current response */
	size_t hlen, hcap;
	int too_big, attempts, max_attempts, in_multi;
	long timeout_ms;     /* per attempt, before the budget cap */
	long retry_after_ms; /* from the last response, -1 if none */
	struct timeval deadline;
	char errbuf[CURL_ERROR_SIZE];
	char method[8];
	d01_http_fn cb;
	void *arg;
	/* Streaming (http_client.h): the receiver, and whether it stopped
	 * the transfer. */
	int (*stream)(void *arg, const char *data, size_t len);
	void *stream_arg;
	int stream_stop;
};

/* Free a call: leaves the multi if inside, wipes its headers. */
void d01_http_call_free(struct d01_http_call *c);

/* Move queued attempts into the multi handle (the kick timer). */
void d01_http_kick(struct d01_http *h);

/* Its attempt ended (called from the info_read loop, handle removed). */
void d01_http_attempt_done(struct d01_http_call *c, CURLcode rc);

/* Queue an admitted attempt for libcurl (the kick timer). */
void d01_http_enqueue(struct d01_http_call *c);

/*
 * Per-host admission (http_client_host.c). bind: attach the call to its
 * URL's origin (0, or -1 unparsable/no memory); unbind: detach, giving
 * back a slot and leaving the wait queue. acquire: take a slot (1) or
 * join the host's FIFO (0; admission then calls d01_http_enqueue).
 * release: the attempt ended; admit the next waiter. learn: the HTTP
 * version a response came in (CURLINFO_HTTP_VERSION).
 */
int d01_http_host_bind(struct d01_http_call *c, const char *url);
void d01_http_host_unbind(struct d01_http_call *c);
int d01_http_host_acquire(struct d01_http_call *c);
void d01_http_host_release(struct d01_http_call *c);
void d01_http_host_learn(struct d01_http_call *c, long httpver);

/* Set up an empty memo (d01_http_new); 0, or -1 without memory. */
int d01_http_memo_init(struct d01_http *h);
/* Release it (d01_http_free); waiters still queued are dropped. */
void d01_http_memo_fini(struct d01_http *h);

#endif
