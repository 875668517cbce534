/* SPDX-License-Identifier: ISC */
/*
 * Per-host admission for the HTTP client: at most max_host attempts to one
 * origin (scheme, host, port) are inside libcurl at a time; the others
 * wait here, in FIFO order, for a slot.
 *
 * Why our own queue rather than only CURLMOPT_MAX_HOST_CONNECTIONS: a
 * transfer libcurl parks for want of a connection (MSTATE_PENDING) keeps
 * the clock of its CURLOPT_TIMEOUT_MS running from the moment it was
 * added (libcurl 7.88: t_startop is set in MSTATE_INIT), the timeout is not
 * even checked while it is parked, and when it is let out after longer than
 * its timeout it fails at once, in the resolver ("Failed to resolve host
 * ... with timeout after 0 ms"). Waiting here, an attempt's timeout starts
 * when it is handed to libcurl, and the wait itself is bounded by the
 * call's budget (wait_cb in http_client.c). libcurl's own limit is set to
 * the same number, as a backstop only.
 *
 * A slot is a transfer, which on HTTP/1.x is a connection. Once a host has
 * answered over HTTP/2 its transfers share connections as streams, so it
 * gets MUX_STREAMS slots per connection allowed.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "core/http_client_int.h"

#define MUX_STREAMS 100 /* libcurl's default streams per connection */

static size_t
host_limit(const struct d01_http *h, const struct d01_http_host *o)
{
	return o->mux ? h->max_host * MUX_STREAMS : h->max_host;
}

/* The origin of url as "scheme://host:port", lowercase; NULL without
 * memory. URLs without one (libcurl refuses them when the attempt starts,
 * with a clear error) share the origin "-". */
static char *
origin_of(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *key = NULL, *p;
	size_t n;

	if (u == NULL)
		goto out;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
		CURLUE_OK) {
		key = strdup("-");
		goto out;
	}
	n = strlen(scheme) + strlen(host) + strlen(port) + 5;
	if ((key = malloc(n)) == NULL)
		goto out;
	snprintf(key, n, "%s://%s:%s", scheme, host, port);
	for (p = key; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return key;
}

int
d01_http_host_bind(struct d01_http_call *c, const char *url)
{
	struct d01_http *h = c->h;
	struct d01_http_host *o;
	char *key;

	if ((key = origin_of(url)) == NULL)
		return -1;
	LIST_FOREACH(o, &h->hosts, link)
	{
		if (strcmp(o->key, key) == 0)
			break;
	}
	if (o == NULL) {
		if ((o = calloc(1, sizeof(*o))) == NULL) {
			free(key);
			return -1;
		}
		o->key = key;
		key = NULL;
		TAILQ_INIT(&o->waiting);
		LIST_INSERT_HEAD(&h->hosts, o, link);
	}
	free(key);
	o->refs++;
	c->host = o;
	return 0;
}

void
d01_http_host_unbind(struct d01_http_call *c)
{
	struct d01_http_host *o = c->host;

	if (o == NULL)
		return;
	if (c->host_waiting) {
		TAILQ_REMOVE(&o->waiting, c, hostq);
		c->host_waiting = 0;
	}
	d01_http_host_release(c);
	c->host = NULL;
	if (--o->refs > 0)
		return;
	LIST_REMOVE(o, link);
	free(o->key);
	free(o);
}

/* Hand slots to waiting calls while the host has some free. */
static void
admit(struct d01_http *h, struct d01_http_host *o)
{
	struct d01_http_call *c;

	while (o->active < host_limit(h, o) &&
	    (c = TAILQ_FIRST(&o->waiting)) != NULL) {
		TAILQ_REMOVE(&o->waiting, c, hostq);
		c->host_waiting = 0;
		evtimer_del(c->wait); /* its budget alarm */
		o->active++;
		c->has_slot = 1;
		d01_http_enqueue(c);
	}
}

int
d01_http_host_acquire(struct d01_http_call *c)
{
	struct d01_http_host *o = c->host;

	if (o->active < host_limit(c->h, o) && TAILQ_EMPTY(&o->waiting)) {
		o->active++;
		c->has_slot = 1;
		return 1;
	}
	TAILQ_INSERT_TAIL(&o->waiting, c, hostq);
	c->host_waiting = 1;
	return 0;
}

void
d01_http_host_release(struct d01_http_call *c)
{
	struct d01_http_host *o = c->host;

	if (o == NULL || !c->has_slot)
		return;
	c->has_slot = 0;
	o->active--;
	admit(c->h, o);
}

void
d01_http_host_learn(struct d01_http_call *c, long httpver)
{
	if (c->host == NULL || httpver == CURL_HTTP_VERSION_NONE)
		return;
	c->host->mux = httpver >= CURL_HTTP_VERSION_2_0;
}

void
d01_http_set_max_host_connections(struct d01_http *h, long n)
{
	struct d01_http_host *o;

	h->max_host = n > 0 ? (size_t)n : D01_HTTP_MAX_HOST_CONNS;
	curl_multi_setopt(
	    h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)h->max_host);
	LIST_FOREACH(o, &h->hosts, link)
	admit(h, o);
}
