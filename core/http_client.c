/* SPDX-License-Identifier: ISC */
/*
 * curl multi on libevent; see http_client.h. This file holds one call's
 * life: setup, attempts, retry decisions and delivery; the loop glue is in
 * http_client_loop.c and the memo in http_client_memo.c. A call owns one
 * easy handle for all its attempts; between attempts it waits on its own
 * timer. Easy handles are added and removed only outside libcurl's
 * callbacks (adds from d01_http_start or our timers, removes from the
 * info_read loop), as the multi interface requires.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/http_client.h"
#include "core/http_client_int.h"
#include "core/log.h"

#define DEF_TIMEOUT_MS	 10000
#define DEF_BUDGET_MS	 20000
#define DEF_ATTEMPTS	 4
#define DEF_MAX_RESPONSE (1u << 20)
#define BACKOFF_BASE_MS	 200
#define CONNECT_MS	 5000
#define START_BATCH	 32

static size_t
write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct d01_http_call *c = arg;
	size_t len = size * n, ncap;
	long status = 0;
	char *nb;

	if (c->stream != NULL) {
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status <= 299) {
			if (c->stream(c->stream_arg, data, len) == 0)
				return len;
			c->stream_stop = 1;
			return 0; /* stops the transfer */
		}
	}
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

/* The head of a response ended: tell a streaming receiver when it is a
 * 2xx one (interim 1xx heads end the same way). */
static int
stream_open(struct d01_http_call *c)
{
	long status = 0;

	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299)
		return 0;
	if (c->stream(c->stream_arg, NULL, 0) == 0)
		return 0;
	c->stream_stop = 1;
	return -1;
}

/* Keep Retry-After: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
static size_t
header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct d01_http_call *c = arg;
	size_t len = size * n;
	char line[128], *v, *end, *nb;
	time_t when;
	long secs;
	size_t ncap;

	/* A status line starts a response (an interim 100, a retry):
	 * keep the lines of the last one only. */
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
		c->hlen = 0;
	if (c->stream != NULL && (len == 2 || len == 1) &&
	    (data[0] == '\r' || data[0] == '\n') && stream_open(c) != 0)
		return 0;
	if (c->hlen + len + 1 <= D01_HTTP_MAX_HEADERS_LEN) {
		if (c->hlen + len + 1 > c->hcap) {
			ncap = c->hcap ? c->hcap * 2 : 1024;
			while (ncap < c->hlen + len + 1)
				ncap *= 2;
			if ((nb = realloc(c->hdrs, ncap)) == NULL)
				return 0; /* aborts the transfer */
			c->hdrs = nb;
			c->hcap = ncap;
		}
		memcpy(c->hdrs + c->hlen, data, len);
		c->hlen += len;
		c->hdrs[c->hlen] = '\0';
	}
	if (len <= 12 || len >= sizeof(line) ||
	    strncasecmp(data, "Retry-After:", 12) != 0)
		return len;
	memcpy(line, data + 12, len - 12);
	line[len - 12] = '\0';
	for (v = line; *v == ' ' || *v == '\t'; v++)
		;
	v[strcspn(v, "\r\n")] = '\0';
	secs = strtol(v, &end, 10);
	if (end == v || *end != '\0') {
		when = curl_getdate(v, NULL);
		secs = when > 0 ? (long)(when - time(NULL)) : 1;
	}
	/* Past dates and 0 still mean "not at once". */
	c->retry_after_ms = secs > 0 && secs < 86400 ? secs * 1000 : 1000;
	return len;
}

/* Free the header list, wiping it first: it carries credentials. */
static void
headers_free(struct curl_slist *l)
{
	struct curl_slist *i;

	for (i = l; i != NULL; i = i->next)
		OPENSSL_cleanse(i->data, strlen(i->data));
	curl_slist_free_all(l);
}

void
d01_http_call_free(struct d01_http_call *c)
{
	TAILQ_REMOVE(&c->h->calls, c, link);
	c->h->ncalls--;
	if (c->in_multi)
		curl_multi_remove_handle(c->h->multi, c->easy);
	if (c->queued)
		TAILQ_REMOVE(&c->h->starting, c, startq);
	d01_http_host_unbind(c); /* may admit another call's attempt */
	curl_easy_cleanup(c->easy);
	headers_free(c->headers);
	if (c->wait != NULL)
		event_free(c->wait);
	free(c->buf);
	if (c->hdrs != NULL)
		OPENSSL_cleanse(c->hdrs, c->hlen);
	free(c->hdrs);
	free(c);
}

int
d01_http_response_header(const struct d01_http_response *r, const char *name,
    char *out, size_t outlen)
{
	const char *p = r->headers, *end = r->headers + r->headers_len, *eol;
	size_t nl = strlen(name), vl;

	for (; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if ((size_t)(eol - p) <= nl || strncasecmp(p, name, nl) != 0 ||
		    p[nl] != ':')
			continue;
		for (p += nl + 1; p < eol && (*p == ' ' || *p == '\t'); p++)
			;
		for (vl = (size_t)(eol - p); vl > 0 &&
		     (p[vl - 1] == '\r' || p[vl - 1] == ' ' ||
			 p[vl - 1] == '\t');
		     vl--)
			;
		if (vl >= outlen)
			return 0;
		memcpy(out, p, vl);
		out[vl] = '\0';
		return 1;
	}
	return 0;
}

void
d01_http_cancel(struct d01_http_call *c)
{
	if (c != NULL)
		d01_http_call_free(c);
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

static void deliver(struct d01_http_call *c, struct d01_error *err);

/*
 * Hand one queued attempt to libcurl with `left` ms of budget (> 0); 0, or
 * -1 when it refuses it. libcurl counts CURLOPT_TIMEOUT_MS from here.
 */
static int
attempt_add(struct d01_http_call *c, long left)
{
	/* No attempt may outlive the call's budget. */
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS,
	    left < c->timeout_ms ? left : c->timeout_ms);
	c->len = 0;
	c->too_big = 0;
	c->retry_after_ms = -1;
	c->errbuf[0] = '\0';
	c->attempts++;
	if (curl_multi_add_handle(c->h->multi, c->easy) != CURLM_OK)
		return -1;
	c->in_multi = 1;
	return 0;
}

/*
 * Admitted attempts wait in a FIFO and enter libcurl at most START_BATCH
 * per loop iteration: libcurl sets up every new transfer (socket, connect,
 * TLS state) in one pass, and a burst of hundreds would hold the loop for
 * tens of milliseconds. A zero timer runs after the next poll for I/O, so
 * other requests (such as /healthz) get their turn in between.
 */
void
d01_http_enqueue(struct d01_http_call *c)
{
	static const struct timeval now = {0, 0};

	TAILQ_INSERT_TAIL(&c->h->starting, c, startq);
	c->queued = 1;
	if (!evtimer_pending(c->h->kick, NULL))
		evtimer_add(c->h->kick, &now);
}

/*
 * The next attempt: it takes a slot of its host (http_client_host.c) or
 * waits for one; meanwhile c->wait is set to go off when the budget is
 * spent, so no call waits past its deadline.
 */
static void
attempt(struct d01_http_call *c)
{
	long left;
	struct timeval tv;

	if (d01_http_host_acquire(c)) {
		d01_http_enqueue(c);
		return;
	}
	left = ms_left(c);
	tv.tv_sec = left / 1000;
	tv.tv_usec = (left % 1000) * 1000;
	evtimer_add(c->wait, &tv);
}

void
d01_http_kick(struct d01_http *h)
{
	static const struct timeval now = {0, 0};
	struct d01_http_call *c;
	struct d01_error err;
	long left;
	int n;

	for (n = 0; n < START_BATCH && !TAILQ_EMPTY(&h->starting); n++) {
		c = TAILQ_FIRST(&h->starting);
		TAILQ_REMOVE(&h->starting, c, startq);
		c->queued = 0;
		/* Never hand libcurl a spent budget: a zero timeout
		 * there means no timeout at all. */
		if ((left = ms_left(c)) <= 0) {
			d01_error_set(&err, D01_E_TIMEOUT,
			    "%s %.200s: out of time before attempt %d",
			    c->method, c->host ? c->host->key : "",
			    c->attempts + 1);
			err.retryable = 1;
			deliver(c, &err);
			continue;
		}
		if (attempt_add(c, left) == 0)
			continue;
		d01_error_set(&err, D01_E_INTERNAL,
		    "%s: cannot start attempt %d (curl_multi_add_handle)",
		    c->method, c->attempts);
		deliver(c, &err);
	}
	if (!TAILQ_EMPTY(&h->starting))
		evtimer_add(h->kick, &now);
}

/* The backoff timer: queue the next attempt. Or, while the call waits
 * for a slot of its host, the budget alarm: it has run out. */
static void
wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct d01_http_call *c = arg;
	struct d01_error err;

	(void)fd;
	(void)what;
	if (!c->host_waiting) {
		attempt(c);
		return;
	}
	d01_error_set(&err, D01_E_TIMEOUT,
	    "%s %.200s: timed out waiting for a connection (at most %zu at "
	    "once to one host; %d attempt%s made)",
	    c->method, c->host->key, c->h->max_host, c->attempts,
	    c->attempts == 1 ? "" : "s");
	err.retryable = 1;
	deliver(c, &err);
}

/*
 * A 429 without Retry-After: when the limit resets, from RateLimit-Reset
 * (DigitalOcean's: a Unix time in seconds; the IETF draft's: seconds
 * from now; told apart by size), in ms; -1 when absent. Only for a 429:
 * some APIs send the header with every reply, where it means nothing
 * about when to retry a 5xx.
 */
static long
ratelimit_reset_ms(const struct d01_http_call *c, long status)
{
	const char *p;
	char *end;
	long long v;

	if (status != 429 || c->hdrs == NULL)
		return -1;
	for (p = c->hdrs; *p != '\0'; p += strcspn(p, "\n"), p += *p == '\n') {
		if (strncasecmp(p, "RateLimit-Reset:", 16) != 0)
			continue;
		p += 16;
		p += strspn(p, " \t");
		v = strtoll(p, &end, 10);
		if (end == p ||
		    (*end != '\r' && *end != '\n' && *end != '\0') || v < 0)
			return -1;
		if (v > 1000000000LL) /* an absolute time */
			v -= (long long)time(NULL);
		/* A reset now or past still means "not at once". */
		return v > 0 && v < 86400 ? (long)v * 1000 : 1000;
	}
	return -1;
}

/*
 * The next attempt's delay: Retry-After when given, else a 429's
 * RateLimit-Reset, else exponential backoff with full jitter; -1 when it
 * would not fit in the budget.
 */
static long
next_delay(const struct d01_http_call *c, long status)
{
	uint32_t r = 0;
	long d = c->retry_after_ms, cap;

	if (d < 0)
		d = ratelimit_reset_ms(c, status);
	if (d < 0) {
		cap = BACKOFF_BASE_MS << (c->attempts < 6 ? c->attempts : 6);
		RAND_bytes((unsigned char *)&r, sizeof(r));
		d = (long)(r % (uint32_t)cap) + 1;
	}
	return d < ms_left(c) - 100 ? d : -1;
}

/* Transient failures worth another attempt; never TLS or size errors. */
static int
retryable(CURLcode rc, long status)
{
	if (rc == CURLE_OK)
		return status == 429 || status >= 500;
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT ||
	    rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
	    rc == CURLE_GOT_NOTHING || rc == CURLE_COULDNT_RESOLVE_HOST ||
	    rc == CURLE_PARTIAL_FILE;
}

static enum d01_err
curl_code(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return D01_E_TIMEOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
		return D01_E_TLS;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return D01_E_INVAL;
	default:
		return D01_E_NETWORK;
	}
}

/*
 * Hand the outcome to the caller and free the call. The call is freed
 * first so the callback may start or cancel other calls; only the body
 * outlives it, until the callback returns.
 */
static void
deliver(struct d01_http_call *c, struct d01_error *err)
{
	struct d01_http_response resp = {0};
	d01_http_fn cb = c->cb;
	void *arg = c->arg;
	char *body = c->buf, *hdrs = c->hdrs;
	size_t hlen = c->hlen;

	c->buf = NULL;
	c->hdrs = NULL;
	resp.headers = hdrs != NULL ? hdrs : "";
	resp.headers_len = hdrs != NULL ? hlen : 0;
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &resp.status);
	resp.body = body != NULL ? body : "";
	resp.len = body != NULL ? c->len : 0;
	resp.attempts = c->attempts;
	d01_http_call_free(c);
	cb(arg, err, err->code == D01_OK ? &resp : NULL);
	if (body != NULL)
		OPENSSL_cleanse(body, resp.len);
	free(body);
	if (hdrs != NULL)
		OPENSSL_cleanse(hdrs, hlen);
	free(hdrs);
}

/* An attempt finished: retry, or deliver and free. */
void
d01_http_attempt_done(struct d01_http_call *c, CURLcode rc)
{
	char qurl[256];
	struct d01_error err;
	struct timeval tv;
	long status = 0, delay, httpver = CURL_HTTP_VERSION_NONE;
	char *url = NULL;

	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c->easy, CURLINFO_EFFECTIVE_URL, &url);
	curl_easy_getinfo(c->easy, CURLINFO_HTTP_VERSION, &httpver);
	d01_http_host_learn(c, httpver);
	d01_http_host_release(c); /* waiters go first, retries queue */
	if (!c->too_big && c->attempts < c->max_attempts &&
	    retryable(rc, status) && (delay = next_delay(c, status)) >= 0) {
		/* URLs never carry credentials (http_client.h). */
		d01_log(D01_LOG_DEBUG, "http_retry",
		    "method=%s url=%s status=%ld curl=%d attempt=%d "
		    "delay_ms=%ld",
		    c->method, d01_log_quote(qurl, sizeof(qurl), url), status,
		    (int)rc, c->attempts, delay);
		tv.tv_sec = delay / 1000;
		tv.tv_usec = (delay % 1000) * 1000;
		evtimer_add(c->wait, &tv);
		return;
	}
	d01_error_clear(&err);
	if (c->stream_stop) {
		d01_error_set(&err, D01_E_CANCELLED,
		    "%.200s: stream stopped by its receiver", url);
	} else if (c->too_big) {
		d01_error_set(&err, D01_E_LIMIT,
		    "response from %.200s larger than %zu bytes", url, c->max);
	} else if (rc != CURLE_OK) {
		d01_error_set(&err, curl_code(rc),
		    "%.200s: %s (after %d attempt%s)", url,
		    c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc),
		    c->attempts, c->attempts == 1 ? "" : "s");
		err.retryable = retryable(rc, 0);
	}
	deliver(c, &err);
}

/* In-memory PEM; libcurl keeps its own copy (CURL_BLOB_COPY). */
static int
set_blob(CURL *e, CURLoption opt, const char *pem)
{
	struct curl_blob blob = {
	    .data = (void *)(uintptr_t)pem,
	    .len = strlen(pem),
	    .flags = CURL_BLOB_COPY,
	};

	return curl_easy_setopt(e, opt, &blob) != CURLE_OK;
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
	bad |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https") !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(
		   e, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_MS) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, "dns01/" D01_VERSION) !=
	    CURLE_OK;
	/*
	 * No CURLOPT_PIPEWAIT: with it, libcurl 7.88 parks every transfer to
	 * a host whose multiplexing is not known yet (plain http included)
	 * until a response tells, and lets parked transfers out one per
	 * finished transfer. A server that closes after each response never
	 * tells (the knowledge goes with its last connection), so a burst
	 * ran one connection at a time and timed out while parked. The
	 * per-host cap (http_client_host.c) bounds connections instead.
	 */
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
	} else if (strcmp(req->method, "HEAD") == 0) {
		bad |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L) != CURLE_OK;
	}
	if (req->ca_bundle != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_bundle) !=
		    CURLE_OK;
	if (req->ca_pem != NULL)
		bad |= set_blob(e, CURLOPT_CAINFO_BLOB, req->ca_pem);
	if (req->client_cert_pem != NULL) {
		bad |= set_blob(e, CURLOPT_SSLCERT_BLOB, req->client_cert_pem);
		bad |=
		    curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM") != CURLE_OK;
	}
	if (req->client_key_pem != NULL) {
		bad |= set_blob(e, CURLOPT_SSLKEY_BLOB, req->client_key_pem);
		bad |=
		    curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM") != CURLE_OK;
	}
	if (req->http1)
		bad |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
			   (long)CURL_HTTP_VERSION_1_1) != CURLE_OK;
	if (req->insecure) {
		bad |=
		    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L) != CURLE_OK;
		bad |=
		    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L) != CURLE_OK;
	}
	return bad ? -1 : 0;
}

struct d01_http_call *
d01_http_start(struct d01_http *h, const struct d01_http_request *req,
    d01_http_fn cb, void *arg, struct d01_error *err)
{
	struct d01_http_call *c;
	struct timeval now, b;
	long budget;

	if (h == NULL || req == NULL || req->method == NULL ||
	    req->url == NULL || cb == NULL) {
		d01_error_set(err, D01_E_INTERNAL, "d01_http_start: bad call");
		return NULL;
	}
	budget = req->budget_ms > 0 ? req->budget_ms : DEF_BUDGET_MS;
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
	if ((c->stream = req->stream) != NULL) {
		c->stream_arg = req->stream_arg;
		c->max_attempts = 1;
	}
	c->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : DEF_TIMEOUT_MS;
	snprintf(c->method, sizeof(c->method), "%s", req->method);
	TAILQ_INSERT_TAIL(&h->calls, c, link);
	h->ncalls++;
	if ((c->easy = curl_easy_init()) == NULL ||
	    (c->wait = evtimer_new(h->base, wait_cb, c)) == NULL ||
	    setup(c, req) != 0 || d01_http_host_bind(c, req->url) != 0) {
		d01_http_call_free(c);
		d01_error_set(err, D01_E_INVAL, "cannot set up %s %.200s",
		    req->method, req->url);
		return NULL;
	}
	event_base_gettimeofday_cached(h->base, &now);
	b.tv_sec = budget / 1000;
	b.tv_usec = (budget % 1000) * 1000;
	evutil_timeradd(&now, &b, &c->deadline);
	/* Queued: the transfer starts from the loop, so cb cannot run
	 * before we return. */
	attempt(c);
	return c;
}
