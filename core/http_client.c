/* SPDX-License-Identifier: ISC */
/*
 * curl multi on libevent; see http_client.h. A call owns one easy handle
 * for all its attempts; between attempts it waits on its own timer. Easy
 * handles are added and removed only outside libcurl's callbacks (adds
 * from d01_http_start or our timers, removes from the info_read loop), as
 * the multi interface requires.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/rand.h>

#include "core/http_client.h"

#define DEF_TIMEOUT_MS	 10000
#define DEF_BUDGET_MS	 20000
#define DEF_ATTEMPTS	 4
#define DEF_MAX_RESPONSE (1u << 20)
#define BACKOFF_BASE_MS	 200

struct d01_http {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	TAILQ_HEAD(, d01_http_call) calls;
	size_t ncalls;
};

struct d01_http_call {
	TAILQ_ENTRY(d01_http_call) link;
	struct d01_http *h;
	CURL *easy;
	struct curl_slist *headers;
	struct event *wait; /* between attempts */
	char *buf;
	size_t len, cap, max;
	int too_big, attempts, max_attempts, in_multi;
	long timeout_ms;     /* per attempt, before the budget cap */
	long retry_after_ms; /* from the last response, -1 if none */
	struct timeval deadline;
	char errbuf[CURL_ERROR_SIZE];
	d01_http_fn cb;
	void *arg;
};

/* Per-socket state handed to curl_multi_assign. */
struct sock {
	struct event *ev;
	struct d01_http *h;
};

static void check_done(struct d01_http *h);

static void
event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct d01_http *h = arg;
	int running, flags = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(h->multi, fd, flags, &running);
	check_done(h);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct d01_http *h = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
}

/* CURLMOPT_TIMERFUNCTION: only (re)arm our timer, as libcurl asks. */
static int
multi_timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct d01_http *h = arg;
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

	(void)multi;
	if (timeout_ms < 0)
		evtimer_del(h->timer);
	else
		evtimer_add(h->timer, &tv);
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION: one event per socket, kept via assign. */
static int
multi_sock_cb(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct d01_http *h = arg;
	struct sock *s = sockp;
	short kind = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			event_free(s->ev);
			free(s);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return -1;
		s->h = h;
		curl_multi_assign(h->multi, fd, s);
	} else {
		event_free(s->ev);
	}
	if ((s->ev = event_new(h->base, fd, kind, event_cb, h)) == NULL)
		return -1;
	event_add(s->ev, NULL);
	return 0;
}

static size_t
write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct d01_http_call *c = arg;
	size_t len = size * n, ncap;
	char *nb;

	if (c->len + len > c->max) {
		c->too_big = 1;
		return 0; /* makes libcurl fail the transfer */
	}
	if (c->len + len + 1 > c->cap) {
		ncap = c->cap ? c->cap * 2 : 4096;
		while (ncap < c->len + len + 1)
			ncap *= 2;
		if ((nb = realloc(c->buf, ncap)) == NULL)
			return 0;
		c->buf = nb;
		c->cap = ncap;
	}
	memcpy(c->buf + c->len, data, len);
	c->len += len;
	c->buf[c->len] = '\0';
	return len;
}

/* Keep Retry-After (delta-seconds; an HTTP date counts as 1 s). */
static size_t
header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct d01_http_call *c = arg;
	size_t len = size * n;
	char line[128];

	if (len > 12 && len < sizeof(line) &&
	    strncasecmp(data, "Retry-After:", 12) == 0) {
		memcpy(line, data + 12, len - 12);
		line[len - 12] = '\0';
		c->retry_after_ms = strtol(line, NULL, 10) * 1000;
		if (c->retry_after_ms <= 0)
			c->retry_after_ms = 1000;
	}
	return len;
}

static void
call_free(struct d01_http_call *c)
{
	TAILQ_REMOVE(&c->h->calls, c, link);
	c->h->ncalls--;
	if (c->in_multi)
		curl_multi_remove_handle(c->h->multi, c->easy);
	curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->headers);
	if (c->wait != NULL)
		event_free(c->wait);
	free(c->buf);
	free(c);
}

void
d01_http_cancel(struct d01_http_call *c)
{
	if (c != NULL)
		call_free(c);
}

static long
ms_left(const struct d01_http_call *c)
{
	struct timeval now, d;

	event_base_gettimeofday_cached(c->h->base, &now);
	if (!evutil_timercmp(&c->deadline, &now, >))
		return 0;
	evutil_timersub(&c->deadline, &now, &d);
	return d.tv_sec * 1000 + d.tv_usec / 1000;
}

static long ms_left(const struct d01_http_call *c);

static void
attempt(struct d01_http_call *c)
{
	long left = ms_left(c);

	/* No attempt may outlive the call's budget. */
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS,
	    left > 0 && left < c->timeout_ms ? left : c->timeout_ms);
	c->len = 0;
	c->too_big = 0;
	c->retry_after_ms = -1;
	c->errbuf[0] = '\0';
	c->attempts++;
	if (curl_multi_add_handle(c->h->multi, c->easy) == CURLM_OK)
		c->in_multi = 1;
}

static void
wait_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	attempt(arg);
}

/*
 * The next attempt's delay: Retry-After when given, else exponential
 * backoff with full jitter; -1 when it would not fit in the budget.
 */
static long
next_delay(const struct d01_http_call *c)
{
	uint32_t r = 0;
	long d = c->retry_after_ms, cap;

	if (d < 0) {
		cap = BACKOFF_BASE_MS << (c->attempts < 6 ? c->attempts : 6);
		RAND_bytes((unsigned char *)&r, sizeof(r));
		d = (long)(r % (uint32_t)cap) + 1;
	}
	return d < ms_left(c) - 100 ? d : -1;
}

static int
retryable(CURLcode rc, long status)
{
	if (rc == CURLE_OK)
		return status == 429 || status >= 500;
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT ||
	    rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
	    rc == CURLE_GOT_NOTHING || rc == CURLE_COULDNT_RESOLVE_HOST;
}

/* An attempt finished: retry, or deliver and free. */
static void
attempt_done(struct d01_http_call *c, CURLcode rc)
{
	struct d01_http_response resp = {0};
	struct d01_error err;
	struct timeval tv;
	d01_http_fn cb = c->cb;
	void *arg = c->arg;
	long status = 0, delay;
	char *url = NULL, *body;

	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	if (!c->too_big && c->attempts < c->max_attempts &&
	    retryable(rc, status) && (delay = next_delay(c)) >= 0) {
		tv.tv_sec = delay / 1000;
		tv.tv_usec = (delay % 1000) * 1000;
		evtimer_add(c->wait, &tv);
		return;
	}
	d01_error_clear(&err);
	curl_easy_getinfo(c->easy, CURLINFO_EFFECTIVE_URL, &url);
	if (c->too_big) {
		d01_error_set(&err, D01_E_LIMIT,
		    "response from %.200s larger than %zu bytes", url, c->max);
	} else if (rc != CURLE_OK) {
		d01_error_set(&err,
		    rc == CURLE_OPERATION_TIMEDOUT ? D01_E_TIMEOUT
			: rc == CURLE_PEER_FAILED_VERIFICATION ||
			    rc == CURLE_SSL_CONNECT_ERROR
			? D01_E_TLS
			: D01_E_NETWORK,
		    "%.200s: %s (after %d attempt%s)", url,
		    c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc),
		    c->attempts, c->attempts == 1 ? "" : "s");
		err.retryable = 1;
	}
	/* Free the call first (the callback may start another one or tear
	 * the client down); only the body outlives it, until cb returns. */
	body = c->buf;
	c->buf = NULL;
	resp.status = status;
	resp.body = body != NULL ? body : "";
	resp.len = c->len;
	resp.attempts = c->attempts;
	call_free(c);
	cb(arg, &err, err.code == D01_OK ? &resp : NULL);
	free(body);
}

static void
check_done(struct d01_http *h)
{
	struct d01_http_call *c;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
		CURL *easy = m->easy_handle;
		CURLcode rc = m->data.result;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&c);
		/* m is invalid after removing its handle. */
		curl_multi_remove_handle(h->multi, easy);
		c->in_multi = 0;
		attempt_done(c, rc);
	}
}

/* Configure the easy handle for every attempt of `req`. */
static int
setup(struct d01_http_call *c, const struct d01_http_request *req)
{
	CURL *e = c->easy;
	size_t i;
	int bad = 0;

	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		struct curl_slist *n =
		    curl_slist_append(c->headers, req->headers[i]);
		if (n == NULL)
			return -1;
		c->headers = n;
	}
	bad |= curl_easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http") !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, c) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, c) != CURLE_OK;
	bad |=
	    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, c) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
		   req->timeout_ms > 0 ? req->timeout_ms : DEF_TIMEOUT_MS) !=
	    CURLE_OK;
	bad |=
	    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method) != CURLE_OK;
	if (req->body != NULL) {
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
			   (curl_off_t)req->body_len) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body) !=
		    CURLE_OK;
	} else if (strcmp(req->method, "GET") == 0) {
		bad |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
	}
	if (req->ca_bundle != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_bundle) !=
		    CURLE_OK;
	return bad ? -1 : 0;
}

struct d01_http_call *
d01_http_start(struct d01_http *h, const struct d01_http_request *req,
    d01_http_fn cb, void *arg, struct d01_error *err)
{
	struct d01_http_call *c;
	struct timeval now, b;
	long budget = req->budget_ms > 0 ? req->budget_ms : DEF_BUDGET_MS;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	c->h = h;
	c->cb = cb;
	c->arg = arg;
	c->max = req->max_response ? req->max_response : DEF_MAX_RESPONSE;
	c->max_attempts =
	    req->max_attempts > 0 ? req->max_attempts : DEF_ATTEMPTS;
	c->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : DEF_TIMEOUT_MS;
	TAILQ_INSERT_TAIL(&h->calls, c, link);
	h->ncalls++;
	if ((c->easy = curl_easy_init()) == NULL ||
	    (c->wait = evtimer_new(h->base, wait_cb, c)) == NULL ||
	    setup(c, req) != 0) {
		call_free(c);
		d01_error_set(err, D01_E_INVAL, "cannot set up %s %.200s",
		    req->method, req->url);
		return NULL;
	}
	event_base_gettimeofday_cached(h->base, &now);
	b.tv_sec = budget / 1000;
	b.tv_usec = (budget % 1000) * 1000;
	evutil_timeradd(&now, &b, &c->deadline);
	/* Adding only arms the multi timer; the transfer starts from the
	 * loop, so cb cannot run before we return. */
	attempt(c);
	if (!c->in_multi) {
		call_free(c);
		d01_error_set(err, D01_E_INTERNAL, "curl_multi_add_handle");
		return NULL;
	}
	return c;
}

struct d01_http *
d01_http_new(struct event_base *base, struct d01_error *err)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	struct d01_http *h;

	if (!(v->features & CURL_VERSION_ASYNCHDNS)) {
		d01_error_set(err, D01_E_CONFIG,
		    "libcurl %s resolves names synchronously; dns01 needs a "
		    "build with AsynchDNS",
		    v->version);
		return NULL;
	}
	/* Process-wide, idempotent; the event loop is our only thread. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		d01_error_set(err, D01_E_INTERNAL, "curl_global_init failed");
		return NULL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->multi = curl_multi_init()) == NULL ||
	    (h->timer = evtimer_new(base, timer_cb, h)) == NULL) {
		if (h != NULL && h->multi != NULL)
			curl_multi_cleanup(h->multi);
		free(h);
		d01_error_set(err, D01_E_NOMEM, "cannot create HTTP client");
		return NULL;
	}
	h->base = base;
	TAILQ_INIT(&h->calls);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, multi_sock_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	/* Keep-alive: a few idle connections per host are reused. */
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 64L);
	return h;
}

void
d01_http_free(struct d01_http *h)
{
	if (h == NULL)
		return;
	while (!TAILQ_EMPTY(&h->calls))
		call_free(TAILQ_FIRST(&h->calls));
	/* Socket callbacks can still fire here: the timer must exist. */
	curl_multi_cleanup(h->multi);
	event_free(h->timer);
	free(h);
}

size_t
d01_http_inflight(const struct d01_http *h)
{
	return h->ncalls;
}
