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

/* One memo entry: the key is kept as its SHA-256 so entries are fixed
 * size and keys of any length (URLs, credential digests) fit. */
struct d01_http_memo_ent {
	unsigned char key[32];
	char value[D01_HTTP_MEMO_VALUE_MAX];
	struct timespec expires; /* CLOCK_MONOTONIC; 0 = empty */
	int pending;		 /* a leader is looking it up */
	struct d01_http_memo_wait *waiters;
};

struct d01_http {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	TAILQ_HEAD(, d01_http_call) calls;
	size_t ncalls;
	TAILQ_HEAD(, d01_http_call) starting; /* attempts not yet in multi */
	struct event *kick;		      /* feeds them to libcurl */
	struct d01_http_memo_ent memo[D01_HTTP_MEMO_SIZE];
	struct d01_http_memo_wait *memo_ready; /* waiters to call back */
	struct event *memo_wake;	       /* calls them, from the loop */
};

/* One request with all its attempts; owns one easy handle. */
struct d01_http_call {
	TAILQ_ENTRY(d01_http_call) link;
	TAILQ_ENTRY(d01_http_call) startq;
	int queued; /* on h->starting */
	struct d01_http *h;
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
};

/* Free a call: leaves the multi if inside, wipes its headers. */
void d01_http_call_free(struct d01_http_call *c);

/* Move queued attempts into the multi handle (the kick timer). */
void d01_http_kick(struct d01_http *h);

/* Its attempt ended (called from the info_read loop, handle removed). */
void d01_http_attempt_done(struct d01_http_call *c, CURLcode rc);

/* Set up an empty memo (d01_http_new); 0, or -1 without memory. */
int d01_http_memo_init(struct d01_http *h);
/* Release it (d01_http_free); waiters still queued are dropped. */
void d01_http_memo_fini(struct d01_http *h);

#endif
