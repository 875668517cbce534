/* SPDX-License-Identifier: ISC */
/*
 * The webhook server: an aggregated Kubernetes API server for cert-manager's
 * DNS-01 webhook. Routes (cert-manager's webhook API and the aggregator's
 * discovery):
 *   POST /apis/<group>/v1alpha1/<solver>   Present / CleanUp
 *   GET  /apis, /apis/<group>, /apis/<group>/v1alpha1   discovery
 *   GET  /healthz /livez /readyz            health, no authentication
 * Everything but health requires a verified front-proxy identity (unless
 * the server runs in demo mode) and, when an authorizer is set, its
 * SubjectAccessReview's consent; every non-2xx reply is a Status object.
 */
#ifndef D01_SERVER_H
#define D01_SERVER_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "core/env.h"
#include "core/err.h"
#include "httpd/http.h"

struct d01_authz;
struct d01_fp_trust;
struct d01_dbstore;

struct d01_server_cfg {
	const char *group;	 /* API group, e.g. acme.example.com */
	int no_auth;		 /* demo only: skip authentication */
	struct d01_authz *authz; /* borrowed; NULL: no delegated authz */
	/* The embedded provider's Kubernetes store, for /metrics; borrowed,
	 * NULL: none. */
	const struct d01_kube_store *kstore;
	/* The PostgreSQL/SQLite store, for /metrics; borrowed, NULL: none. */
	const struct d01_dbstore *dbstore;
	const char *const *allow_paths; /* no authn/authz; NULL: health */
	size_t nallow_paths;
	struct d01_http_limits limits;
	/* Deadline of each provider op (0: D01_OP_TIMEOUT_WEBHOOK_MS); a
	 * request's ?timeout= may shorten it. */
	long op_timeout_ms;
	/* --acmedns-domain when the acme-dns API runs, else NULL: its names
	 * belong to the API's accounts, so the `embedded` solver refuses
	 * them (whoever may create an Issuer must not write, or delete,
	 * a value at another party's acme-dns subdomain). */
	const char *acmedns_domain;
};

struct d01_server;

/*
 * Create the server over `ctx` (up-referenced). `env` and `cfg` strings are
 * borrowed and must outlive the server.
 */
struct d01_server *d01_server_new(struct d01_env *env, SSL_CTX *ctx,
    const struct d01_server_cfg *cfg, struct d01_error *err);

enum d01_err d01_server_listen(
    struct d01_server *srv, const char *addr, int port, struct d01_error *err);

/* Also serve GET /metrics, and nothing else, over plain HTTP on `port`,
 * without authentication: for Prometheus, which cannot present the
 * front-proxy certificate. */
enum d01_err d01_server_listen_metrics(
    struct d01_server *srv, const char *addr, int port, struct d01_error *err);

/* New connections use `ctx` (up-referenced); see d01_httpd_set_ssl_ctx. */
void d01_server_set_ssl_ctx(struct d01_server *srv, SSL_CTX *ctx);

/* Authenticate front proxies with `t` from now on (owned by the server;
 * NULL: nobody until a trust is set). */
void d01_server_set_trust(struct d01_server *srv, struct d01_fp_trust *t);

/* Graceful stop; see d01_httpd_shutdown(). */
void d01_server_shutdown(
    struct d01_server *srv, int deadline_ms, void (*done)(void *), void *arg);

void d01_server_free(struct d01_server *srv);

#endif
