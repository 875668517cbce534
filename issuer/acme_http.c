/* SPDX-License-Identifier: ISC */
/*
 * curl multi on libevent for the ACME client (see acme_http.h). Easy
 * handles are added from d01_acme_http_start and removed only from the
 * curl_multi_info_read loop or by cancel, never inside a libcurl
 * callback; the timer callback only re-arms our timer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "issuer/acme_http.h"

#define XFER_TIMEOUT_MS	   30000
#define CONNECT_TIMEOUT_MS 10000
#define MAX_RESPONSE	   (1u << 20)

struct d01_acme_http {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	char *ca_bundle;
	TAILQ_HEAD(, d01_acme_xfer) xfers;
	unsigned long count;
};

struct d01_acme_xfer {
	TAILQ_ENTRY(d01_acme_xfer) link;
	struct d01_acme_http *h;
	CURL *easy;
	struct curl_slist *headers;
	char *buf;
	size_t len, cap;
	int too_big;
	char nonce[160], location[2100], ctype[128];
	long retry_after;
	char errbuf[CURL_ERROR_SIZE];
	d01_acme_http_fn cb;
	void *arg;
};

struct sock {
	struct event *ev;
};

static void check_done(struct d01_acme_http *h);

static void
event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct d01_acme_http *h = arg;
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
	struct d01_acme_http *h = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
}

static int
multi_timer_cb(CURLM *multi, long ms, void *arg)
{
	struct d01_acme_http *h = arg;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	(void)multi;
	if (ms < 0)
		evtimer_del(h->timer);
	else
		evtimer_add(h->timer, &tv);
	return 0;
}

static int
multi_sock_cb(CURL *e, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct d01_acme_http *h = arg;
	struct sock *s = sockp;
	short kind = EV_PERSIST;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			event_free(s->ev);
			free(s);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return 0;
	}
	kind |= (what & CURL_POLL_IN) ? EV_READ : 0;
	kind |= (what & CURL_POLL_OUT) ? EV_WRITE : 0;
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return -1;
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
	struct d01_acme_xfer *x = arg;
	size_t len = size * n, ncap;
	char *nb;

	if (x->len + len + 1 > MAX_RESPONSE) {
		x->too_big = 1;
		return 0; /* aborts the transfer */
	}
	if (x->len + len + 1 > x->cap) {
		ncap = x->cap ? x->cap * 2 : 4096;
		while (ncap < x->len + len + 1)
			ncap *= 2;
		if ((nb = realloc(x->buf, ncap)) == NULL)
			return 0;
		x->buf = nb;
		x->cap = ncap;
	}
	memcpy(x->buf + x->len, data, len);
	x->len += len;
	x->buf[x->len] = '\0';
	return len;
}

/* Copy the value of header line `line` (name `name`, trimmed) to dst. */
static int
header_value(
    const char *line, size_t len, const char *name, char *dst, size_t cap)
{
	size_t nl = strlen(name);

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return 0;
	line += nl + 1;
	len -= nl + 1;
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	while (len > 0 &&
	    (line[len - 1] == '\r' || line[len - 1] == '\n' ||
		line[len - 1] == ' '))
		len--;
	if (len >= cap)
		len = 0; /* too long to be genuine: treat as absent */
	memcpy(dst, line, len);
	dst[len] = '\0';
	return 1;
}

static size_t
header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct d01_acme_xfer *x = arg;
	size_t len = size * n;
	char ra[64];
	time_t when;

	if (header_value(data, len, "Replay-Nonce", x->nonce, sizeof(x->nonce)))
		return len;
	if (header_value(
		data, len, "Location", x->location, sizeof(x->location)))
		return len;
	if (header_value(data, len, "Content-Type", x->ctype, sizeof(x->ctype)))
		return len;
	if (header_value(data, len, "Retry-After", ra, sizeof(ra))) {
		/* delta-seconds or an HTTP-date (RFC 9110 §10.2.3) */
		if (ra[0] >= '0' && ra[0] <= '9')
			x->retry_after = strtol(ra, NULL, 10);
		else if ((when = curl_getdate(ra, NULL)) > 0)
			x->retry_after =
			    when > time(NULL) ? (long)(when - time(NULL)) : 0;
	}
	return len;
}

static void
xfer_free(struct d01_acme_xfer *x)
{
	if (x == NULL)
		return;
	TAILQ_REMOVE(&x->h->xfers, x, link);
	if (x->easy != NULL) {
		curl_multi_remove_handle(x->h->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	curl_slist_free_all(x->headers);
	free(x->buf);
	free(x);
}

/* Deliver one finished transfer. */
static void
finish(struct d01_acme_xfer *x, CURLcode rc)
{
	struct d01_acme_reply r = {0};
	struct d01_error err;
	d01_acme_http_fn cb = x->cb;
	void *arg = x->arg;
	char url[256] = "";
	char *eu = NULL;

	d01_error_clear(&err);
	curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &eu);
	snprintf(url, sizeof(url), "%s", eu ? eu : "");
	if (rc != CURLE_OK) {
		d01_error_set(&err,
		    x->too_big
			? D01_E_LIMIT
			: (rc == CURLE_OPERATION_TIMEDOUT ? D01_E_TIMEOUT
							  : D01_E_NETWORK),
		    "%s: %s", url,
		    x->too_big
			? "response larger than 1 MiB"
			: (x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc)));
		err.retryable = !x->too_big;
		xfer_free(x);
		cb(arg, &err, NULL);
		return;
	}
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r.status);
	r.body = x->buf ? x->buf : "";
	r.len = x->len;
	r.nonce = x->nonce;
	r.location = x->location;
	r.content_type = x->ctype;
	r.retry_after = x->retry_after;
	/* The reply borrows x's buffers: free x after the callback. */
	curl_multi_remove_handle(x->h->multi, x->easy);
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
	x->cb = NULL;
	cb(arg, &err, &r);
	xfer_free(x);
}

static void
check_done(struct d01_acme_http *h)
{
	struct d01_acme_xfer *x;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		x = NULL;
		curl_easy_getinfo(
		    m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x != NULL)
			finish(x, m->data.result);
	}
}

struct d01_acme_http *
d01_acme_http_new(
    struct event_base *base, const char *ca_bundle, struct d01_error *err)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	struct d01_acme_http *h;

	if (!(v->features & CURL_VERSION_ASYNCHDNS)) {
		d01_error_set(err, D01_E_CONFIG,
		    "libcurl resolves names synchronously; refusing to block "
		    "the event loop");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (h = calloc(1, sizeof(*h))) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	TAILQ_INIT(&h->xfers);
	h->base = base;
	if ((h->multi = curl_multi_init()) == NULL ||
	    (h->timer = evtimer_new(base, timer_cb, h)) == NULL ||
	    (ca_bundle != NULL && (h->ca_bundle = strdup(ca_bundle)) == NULL)) {
		d01_acme_http_free(h);
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, multi_sock_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return h;
}

void
d01_acme_http_free(struct d01_acme_http *h)
{
	if (h == NULL)
		return;
	while (!TAILQ_EMPTY(&h->xfers))
		xfer_free(TAILQ_FIRST(&h->xfers));
	/* Socket callbacks may still fire during cleanup: the timer and
	 * base must outlive it. */
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	if (h->timer != NULL)
		event_free(h->timer);
	free(h->ca_bundle);
	free(h);
}

/* Options of one easy handle; returns 0 or -1. */
static int
setup_easy(struct d01_acme_xfer *x, const char *method, const char *url,
    const char *body, size_t len)
{
	CURL *e = x->easy;
	int bad = 0;

	bad |= curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)XFER_TIMEOUT_MS);
	bad |= curl_easy_setopt(
	    e, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, x) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, "dns01/" D01_VERSION);
	bad |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	if (x->h->ca_bundle != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_CAINFO, x->h->ca_bundle);
	if (strcmp(method, "HEAD") == 0) {
		bad |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "POST") == 0) {
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
		bad |= curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
		x->headers = curl_slist_append(
		    NULL, "Content-Type: application/jose+json");
		if (x->headers == NULL)
			return -1;
		bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	}
	return bad ? -1 : 0;
}

struct d01_acme_xfer *
d01_acme_http_start(struct d01_acme_http *h, const char *method,
    const char *url, const char *body, size_t len, d01_acme_http_fn cb,
    void *arg, struct d01_error *err)
{
	struct d01_acme_xfer *x;

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	x->h = h;
	x->cb = cb;
	x->arg = arg;
	x->retry_after = -1;
	TAILQ_INSERT_TAIL(&h->xfers, x, link);
	if ((x->easy = curl_easy_init()) == NULL ||
	    setup_easy(x, method, url, body ? body : "", body ? len : 0) != 0) {
		xfer_free(x);
		d01_error_set(
		    err, D01_E_INTERNAL, "%s %s: cannot set up", method, url);
		return NULL;
	}
	/* The multi's timer callback starts the transfer from the loop, so
	 * cb cannot run before this returns. */
	if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK) {
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
		xfer_free(x);
		d01_error_set(err, D01_E_INTERNAL, "%s: cannot start", url);
		return NULL;
	}
	h->count++;
	return x;
}

void
d01_acme_http_cancel(struct d01_acme_xfer *x)
{
	xfer_free(x);
}

unsigned long
d01_acme_http_count(const struct d01_acme_http *h)
{
	return h->count;
}
