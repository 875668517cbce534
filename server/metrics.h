/* SPDX-License-Identifier: ISC */
/*
 * Prometheus metrics of the webhook server, in the text exposition format.
 * Every label takes its values from a fixed set (provider table, two
 * actions, error codes, route classes), so memory is fixed at start-up and
 * no request can create a new series.
 */
#ifndef D01_METRICS_H
#define D01_METRICS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "core/err.h"
#include "providers/provider.h"

struct d01_authz;
struct d01_kube_store;
struct d01_dbstore;

enum d01_route {
	D01_ROUTE_HEALTH,
	D01_ROUTE_DISCOVERY,
	D01_ROUTE_SOLVER,
	D01_ROUTE_METRICS,
	D01_ROUTE_OTHER,
	D01_ROUTE__MAX
};

struct d01_metrics;

struct d01_metrics *d01_metrics_new(void);
void d01_metrics_free(struct d01_metrics *m);

/* One HTTP reply on `route` with `status`. */
void d01_metrics_http(struct d01_metrics *m, enum d01_route route, int status);

/* One finished Present/CleanUp: outcome `code` after `seconds`. */
void d01_metrics_webhook(struct d01_metrics *m, const struct d01_provider *p,
    int present, enum d01_err code, double seconds);

/* Record the notAfter of the serving certificate in `ctx`. */
void d01_metrics_set_cert(struct d01_metrics *m, SSL_CTX *ctx);

/* What is read at scrape time from other parts of the server. */
struct d01_metrics_live {
	size_t inflight;	       /* requests in handlers */
	int trust_loaded;	       /* a front-proxy trust is in place */
	const struct d01_authz *authz; /* NULL: no delegated authz */
	size_t conns;		       /* open HTTPS connections */
	size_t body_bytes;	       /* request bodies buffered */
	unsigned long long evicted;    /* closed at the connection cap */
	unsigned long long accept_errors;
	const struct d01_kube_store *kstore; /* NULL: memory store */
	const struct d01_dbstore *dbstore;   /* NULL: not a database */
};

/*
 * Render everything plus the live values. Returns a malloc'ed,
 * NUL-terminated text the caller frees, or NULL when out of memory.
 */
char *d01_metrics_render(const struct d01_metrics *m,
    const struct d01_metrics_live *live, size_t *len);

#endif
