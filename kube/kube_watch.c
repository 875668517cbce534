/* SPDX-License-Identifier: ISC */
/*
 * Kubernetes watches (kube.h): one streaming HTTP call (core/http_client.h)
 * whose body is split into lines, each a JSON event. Bounded: one line
 * is at most D01_KUBE_WATCH_LINE_MAX bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "core/http_client.h"
#include "kube/kube_int.h"

struct d01_kube_watch {
	struct d01_kube *k;
	struct d01_http_call *hc;
	struct d01_kube_watch_cbs cbs;
	char *line; /* the partial event line */
	size_t len, cap;
	int too_long;
};

/* One complete line: parse and hand it on; non-zero stops the stream. */
static int
watch_line(struct d01_kube_watch *w, const char *p, size_t n)
{
	json_t *ev;
	int rc;

	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' '))
		n--;
	if (n == 0)
		return 0;
	if ((ev = json_loadb(p, n, 0, NULL)) == NULL || !json_is_object(ev)) {
		json_decref(ev);
		return 0; /* not an event: skipped, the next may be fine */
	}
	rc = w->cbs.on_event(w->cbs.arg, ev);
	json_decref(ev);
	return rc;
}

static int
watch_data(void *arg, const char *data, size_t len)
{
	struct d01_kube_watch *w = arg;
	const char *nl;
	size_t take, ncap;
	char *nb;

	if (data == NULL) {
		if (w->cbs.on_open != NULL)
			w->cbs.on_open(w->cbs.arg);
		return 0;
	}
	while (len > 0) {
		nl = memchr(data, '\n', len);
		take = nl != NULL ? (size_t)(nl - data) : len;
		if (w->len + take > D01_KUBE_WATCH_LINE_MAX) {
			w->too_long = 1;
			return -1;
		}
		if (nl != NULL && w->len == 0) {
			/* The usual case: a whole line in this piece. */
			if (watch_line(w, data, take) != 0)
				return -1;
		} else {
			if (w->len + take + 1 > w->cap) {
				ncap = w->cap ? w->cap : 4096;
				while (ncap < w->len + take + 1)
					ncap *= 2;
				if ((nb = realloc(w->line, ncap)) == NULL)
					return -1;
				w->line = nb;
				w->cap = ncap;
			}
			memcpy(w->line + w->len, data, take);
			w->len += take;
			if (nl != NULL) {
				if (watch_line(w, w->line, w->len) != 0)
					return -1;
				w->len = 0;
			}
		}
		if (nl == NULL)
			break;
		data += take + 1;
		len -= take + 1;
	}
	return 0;
}

static void
watch_free(struct d01_kube_watch *w)
{
	free(w->line);
	free(w);
}

static void
watch_done(void *arg, const struct d01_error *herr,
    const struct d01_http_response *resp)
{
	struct d01_kube_watch *w = arg;
	struct d01_error err;

	w->hc = NULL;
	d01_error_clear(&err);
	if (w->too_long)
		d01_error_set(&err, D01_E_LIMIT,
		    "watch event longer than %d bytes",
		    D01_KUBE_WATCH_LINE_MAX);
	else if (resp == NULL)
		err = *herr;
	else if (resp->status < 200 || resp->status > 299)
		d01_kube_status_error(&err, resp);
	w->cbs.on_end(w->cbs.arg, &err);
	watch_free(w);
}

struct d01_kube_watch *
d01_kube_watch_start(struct d01_kube *k, const char *path, long timeout_ms,
    const struct d01_kube_watch_cbs *cbs, struct d01_error *err)
{
	struct d01_http_request req = {0};
	struct d01_kube_watch *w;
	const char *headers[3];
	char *url = NULL, *auth = NULL;
	size_t n = 0;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	w->k = k;
	w->cbs = *cbs;
	if (d01_kube_prepare(k, path, &req, &url, &auth, err) != 0) {
		watch_free(w);
		return NULL;
	}
	if (auth != NULL)
		headers[n++] = auth;
	headers[n++] = "Accept: application/json";
	headers[n] = NULL;
	req.method = "GET";
	req.headers = headers;
	req.timeout_ms = timeout_ms;
	req.budget_ms = timeout_ms;
	req.max_attempts = 1;
	req.stream = watch_data;
	req.stream_arg = w;
	w->hc = d01_http_start(k->http, &req, watch_done, w, err);
	d01_kube_wipe_free(auth);
	free(url);
	if (w->hc == NULL) {
		watch_free(w);
		return NULL;
	}
	return w;
}

void
d01_kube_watch_cancel(struct d01_kube_watch *w)
{
	if (w == NULL)
		return;
	d01_http_cancel(w->hc);
	watch_free(w);
}
