/* SPDX-License-Identifier: ISC */
/* Fixed-size Prometheus counters and histograms; see metrics.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <openssl/x509.h>

#include "kube/authz.h"
#include "kube/kube_store.h"
#include "store/dbstore.h"
#include "server/metrics.h"

#define MAX_PROVIDERS 16
#define NBUCKETS      12

static const double buckets[NBUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25};
static const char *const route_names[D01_ROUTE__MAX] = {
    "health", "discovery", "solver", "metrics", "other"};
/* Status classes keep the series count fixed: 2xx, 4xx, 5xx. */
static const char *const class_names[3] = {"2xx", "4xx", "5xx"};

struct histo {
	uint64_t le[NBUCKETS]; /* cumulative at render time, raw here */
	uint64_t count;
	double sum;
};

struct d01_metrics {
	uint64_t http[D01_ROUTE__MAX][3];
	/* [provider][present][ok] */
	uint64_t calls[MAX_PROVIDERS][2][2];
	struct histo latency[MAX_PROVIDERS][2];
	uint64_t errors[MAX_PROVIDERS][D01_E__MAX];
	double cert_not_after; /* Unix seconds, 0 when unknown */
};

static int
provider_index(const struct d01_provider *p)
{
	int i;

	for (i = 0; i < MAX_PROVIDERS && d01_providers[i] != NULL; i++)
		if (d01_providers[i] == p)
			return i;
	return -1;
}

struct d01_metrics *
d01_metrics_new(void)
{
	return calloc(1, sizeof(struct d01_metrics));
}

void
d01_metrics_free(struct d01_metrics *m)
{
	free(m);
}

void
d01_metrics_http(struct d01_metrics *m, enum d01_route route, int status)
{
	int cls = status >= 500 ? 2 : status >= 400 ? 1 : 0;

	if (m != NULL && (unsigned)route < D01_ROUTE__MAX)
		m->http[route][cls]++;
}

void
d01_metrics_webhook(struct d01_metrics *m, const struct d01_provider *p,
    int present, enum d01_err code, double seconds)
{
	int i = provider_index(p), b;
	struct histo *h;

	if (m == NULL || i < 0)
		return;
	present = present != 0;
	m->calls[i][present][code == D01_OK]++;
	if (code != D01_OK && (unsigned)code < D01_E__MAX)
		m->errors[i][code]++;
	h = &m->latency[i][present];
	for (b = 0; b < NBUCKETS; b++)
		if (seconds <= buckets[b]) {
			h->le[b]++;
			break;
		}
	h->count++;
	h->sum += seconds;
}

void
d01_metrics_set_cert(struct d01_metrics *m, SSL_CTX *ctx)
{
	X509 *x = ctx != NULL ? SSL_CTX_get0_certificate(ctx) : NULL;
	struct tm tm;

	if (m == NULL)
		return;
	m->cert_not_after = 0;
	if (x != NULL && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		m->cert_not_after = (double)timegm(&tm);
}

/* A metric's HELP and TYPE lines. */
static void
head(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(
	    b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
render_calls(const struct d01_metrics *m, struct evbuffer *b)
{
	static const char *const act[2] = {"CleanUp", "Present"};
	int i, a, ok, k;

	head(b, "dns01_webhook_calls_total", "counter",
	    "Present/CleanUp calls by solver, action and result.");
	for (i = 0; i < MAX_PROVIDERS && d01_providers[i] != NULL; i++)
		for (a = 0; a < 2; a++)
			for (ok = 0; ok < 2; ok++)
				evbuffer_add_printf(b,
				    "dns01_webhook_calls_total{solver=\"%s\","
				    "action=\"%s\",result=\"%s\"} %llu\n",
				    d01_providers[i]->name, act[a],
				    ok ? "success" : "failure",
				    (unsigned long long)m->calls[i][a][ok]);
	head(b, "dns01_provider_errors_total", "counter",
	    "Failed provider calls by solver and error kind.");
	for (i = 0; i < MAX_PROVIDERS && d01_providers[i] != NULL; i++)
		for (k = 1; k < D01_E__MAX; k++)
			if (m->errors[i][k] > 0)
				evbuffer_add_printf(b,
				    "dns01_provider_errors_total{solver=\"%s\","
				    "kind=\"%s\"} %llu\n",
				    d01_providers[i]->name, d01_strerror(k),
				    (unsigned long long)m->errors[i][k]);
}

static void
render_latency(const struct d01_metrics *m, struct evbuffer *b)
{
	static const char *const act[2] = {"CleanUp", "Present"};
	const char *name = "dns01_provider_duration_seconds";
	int i, a, k;

	head(b, name, "histogram", "Provider call latency.");
	for (i = 0; i < MAX_PROVIDERS && d01_providers[i] != NULL; i++)
		for (a = 0; a < 2; a++) {
			const struct histo *h = &m->latency[i][a];
			const char *s = d01_providers[i]->name;
			uint64_t cum = 0;

			for (k = 0; k < NBUCKETS; k++) {
				cum += h->le[k];
				evbuffer_add_printf(b,
				    "%s_bucket{solver=\"%s\",action=\"%s\","
				    "le=\"%g\"} %llu\n",
				    name, s, act[a], buckets[k],
				    (unsigned long long)cum);
			}
			evbuffer_add_printf(b,
			    "%s_bucket{solver=\"%s\",action=\"%s\",le=\"+Inf\"}"
			    " %llu\n%s_sum{solver=\"%s\",action=\"%s\"} %.6f\n"
			    "%s_count{solver=\"%s\",action=\"%s\"} %llu\n",
			    name, s, act[a], (unsigned long long)h->count, name,
			    s, act[a], h->sum, name, s, act[a],
			    (unsigned long long)h->count);
		}
}

/* What the shared stores (kubernetes, postgres, sqlite) report under the
 * same names, whichever is plugged in. */
struct store_common {
	size_t records;
	int stale;
	double since_sync_s;
	unsigned long expired, relists;
	const double *buckets; /* nbuckets upper bounds, seconds */
	const unsigned long *le;
	size_t nbuckets;
	unsigned long conv_count;
	double conv_sum_s;
};

static void
render_store_common(const struct store_common *c, struct evbuffer *b)
{
	size_t i;

	head(b, "dns01_embedded_store_records", "gauge",
	    "TXT values held from the shared embedded store");
	evbuffer_add_printf(
	    b, "dns01_embedded_store_records %zu\n", c->records);
	head(b, "dns01_embedded_store_relists_total", "counter",
	    "full loads of the store after the first (410 Gone, reconnects, "
	    "failures)");
	evbuffer_add_printf(
	    b, "dns01_embedded_store_relists_total %lu\n", c->relists);
	head(b, "dns01_embedded_store_stale", "gauge",
	    "1 when the store has not been synced for the stale period");
	evbuffer_add_printf(b, "dns01_embedded_store_stale %d\n", c->stale);
	head(b, "dns01_embedded_store_seconds_since_sync", "gauge",
	    "seconds since the store last synced (0: watching or connected)");
	evbuffer_add_printf(b, "dns01_embedded_store_seconds_since_sync %.3f\n",
	    c->since_sync_s);
	head(b, "dns01_embedded_store_expired_total", "counter",
	    "values this instance deleted for being older than the TTL");
	evbuffer_add_printf(
	    b, "dns01_embedded_store_expired_total %lu\n", c->expired);
	head(b, "dns01_embedded_store_convergence_seconds", "histogram",
	    "from a value's creation (by any instance) to applied here");
	for (i = 0; i < c->nbuckets; i++)
		evbuffer_add_printf(b,
		    "dns01_embedded_store_convergence_seconds_bucket{le=\"%g\"}"
		    " %lu\n",
		    c->buckets[i], c->le[i]);
	evbuffer_add_printf(b,
	    "dns01_embedded_store_convergence_seconds_bucket{le=\"+Inf\"} "
	    "%lu\n"
	    "dns01_embedded_store_convergence_seconds_sum %.6f\n"
	    "dns01_embedded_store_convergence_seconds_count %lu\n",
	    c->conv_count, c->conv_sum_s, c->conv_count);
}

/* The embedded provider's Kubernetes store (kube/kube_store.h). */
static void
render_kstore(const struct d01_kube_store *ks, struct evbuffer *b)
{
	struct d01_kube_store_stats st;
	struct store_common c;

	d01_kube_store_stats(ks, &st);
	c = (struct store_common){.records = st.records,
	    .stale = st.stale,
	    .since_sync_s = st.since_sync_s,
	    .expired = st.expired,
	    .relists = st.relists,
	    .buckets = d01_kstore_buckets,
	    .le = st.conv_le,
	    .nbuckets = D01_KSTORE_NBUCKETS,
	    .conv_count = st.conv_count,
	    .conv_sum_s = st.conv_sum_s};
	render_store_common(&c, b);
	head(b, "dns01_embedded_store_watch_restarts_total", "counter",
	    "watches of the store started again (server timeouts included)");
	evbuffer_add_printf(b,
	    "dns01_embedded_store_watch_restarts_total %lu\n",
	    st.watch_restarts);
}

/* The PostgreSQL or SQLite store (store/dbstore.h). */
static void
render_dbstore(const struct d01_dbstore *ds, struct evbuffer *b)
{
	struct d01_dbstore_stats st;
	struct store_common c;

	d01_dbstore_stats(ds, &st);
	c = (struct store_common){.records = st.records,
	    .stale = st.stale,
	    .since_sync_s = st.since_sync_s,
	    .expired = st.expired,
	    .relists = st.reloads,
	    .buckets = d01_dbstore_buckets,
	    .le = st.conv_le,
	    .nbuckets = D01_DBSTORE_NBUCKETS,
	    .conv_count = st.conv_count,
	    .conv_sum_s = st.conv_sum_s};
	render_store_common(&c, b);
	head(b, "dns01_embedded_store_queued_writes", "gauge",
	    "writes waiting for the database or on the wire");
	evbuffer_add_printf(
	    b, "dns01_embedded_store_queued_writes %zu\n", st.queued);
	head(b, "dns01_embedded_store_reconnects_total", "counter",
	    "connections to the database after the first");
	evbuffer_add_printf(
	    b, "dns01_embedded_store_reconnects_total %lu\n", st.reconnects);
}

static void
render_authz(const struct d01_authz *a, struct evbuffer *b)
{
	struct d01_authz_stats st;

	d01_authz_stats(a, &st);
	head(b, "dns01_authz_reviews_total", "counter",
	    "SubjectAccessReviews sent to the kube-apiserver.");
	evbuffer_add_printf(b, "dns01_authz_reviews_total %lu\n", st.reviews);
	head(b, "dns01_authz_joined_total", "counter",
	    "Checks that waited for an identical review already in flight.");
	evbuffer_add_printf(b, "dns01_authz_joined_total %lu\n", st.joined);
	head(b, "dns01_authz_cache_hits_total", "counter",
	    "Authorization decisions taken from the cache.");
	evbuffer_add_printf(
	    b, "dns01_authz_cache_hits_total %lu\n", st.cache_hits);
	head(b, "dns01_authz_review_results_total", "counter",
	    "SubjectAccessReview outcomes.");
	evbuffer_add_printf(b,
	    "dns01_authz_review_results_total{result=\"allowed\"} %lu\n"
	    "dns01_authz_review_results_total{result=\"denied\"} %lu\n"
	    "dns01_authz_review_results_total{result=\"error\"} %lu\n",
	    st.allowed, st.denied, st.errors);
}

char *
d01_metrics_render(const struct d01_metrics *m,
    const struct d01_metrics_live *live, size_t *len)
{
	struct evbuffer *b = evbuffer_new();
	char *out = NULL;
	int r, c;

	if (b == NULL)
		return NULL;
	head(b, "dns01_http_requests_total", "counter",
	    "HTTP replies by route and status class.");
	for (r = 0; r < D01_ROUTE__MAX; r++)
		for (c = 0; c < 3; c++)
			evbuffer_add_printf(b,
			    "dns01_http_requests_total{route=\"%s\","
			    "code=\"%s\"} %llu\n",
			    route_names[r], class_names[c],
			    (unsigned long long)m->http[r][c]);
	render_calls(m, b);
	render_latency(m, b);
	head(b, "dns01_inflight_requests", "gauge",
	    "Requests being handled right now.");
	evbuffer_add_printf(b, "dns01_inflight_requests %zu\n", live->inflight);
	head(b, "dns01_requestheader_trust_loaded", "gauge",
	    "1 when a front-proxy CA is loaded (requests can authenticate).");
	evbuffer_add_printf(
	    b, "dns01_requestheader_trust_loaded %d\n", live->trust_loaded);
	head(b, "dns01_http_connections", "gauge", "Open HTTPS connections.");
	evbuffer_add_printf(b, "dns01_http_connections %zu\n", live->conns);
	head(b, "dns01_http_body_bytes", "gauge",
	    "Request body bytes buffered (capped by --max-body-bytes-total).");
	evbuffer_add_printf(b, "dns01_http_body_bytes %zu\n", live->body_bytes);
	head(b, "dns01_http_connections_evicted_total", "counter",
	    "Connections closed at --max-connections to make room.");
	evbuffer_add_printf(
	    b, "dns01_http_connections_evicted_total %llu\n", live->evicted);
	head(b, "dns01_http_accept_errors_total", "counter",
	    "accept() failures (out of file descriptors or memory).");
	evbuffer_add_printf(
	    b, "dns01_http_accept_errors_total %llu\n", live->accept_errors);
	if (live->authz != NULL)
		render_authz(live->authz, b);
	if (live->kstore != NULL)
		render_kstore(live->kstore, b);
	if (live->dbstore != NULL)
		render_dbstore(live->dbstore, b);
	head(b, "dns01_serving_cert_not_after_seconds", "gauge",
	    "Expiry of the serving certificate, Unix time.");
	evbuffer_add_printf(b, "dns01_serving_cert_not_after_seconds %.0f\n",
	    m->cert_not_after);
	*len = evbuffer_get_length(b);
	if ((out = malloc(*len + 1)) != NULL) {
		evbuffer_remove(b, out, *len);
		out[*len] = '\0';
	}
	evbuffer_free(b);
	return out;
}
