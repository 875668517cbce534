/* SPDX-License-Identifier: ISC */
/*
 * The webhook server: an aggregated Kubernetes API server for cert-manager's
 * DNS-01 webhook. Routes (webhook-api.md §2, §4.4):
 *   POST /apis/<group>/v1alpha1/<solver>   Present / CleanUp
 *   GET  /apis, /apis/<group>, /apis/<group>/v1alpha1   discovery
 *   GET  /healthz /livez /readyz            health, no authentication
 * Everything but health requires a verified front-proxy identity (unless
 * the server runs in demo mode); every non-2xx reply is a Status object.
 */
#ifndef D01_SERVER_H
#define D01_SERVER_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "core/env.h"
#include "core/err.h"
#include "server/http.h"

struct d01_server_cfg {
	const char *group;	    /* API group, e.g. acme.example.com */
	const char *const *allowed; /* requestheader allowed names */
	size_t nallowed;	    /* 0: any CN signed by the CA */
	int no_auth;		    /* demo only: skip authentication */
	struct d01_http_limits limits;
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

/* New connections use `ctx` (up-referenced); see d01_httpd_set_ssl_ctx. */
void d01_server_set_ssl_ctx(struct d01_server *srv, SSL_CTX *ctx);

/* Graceful stop; see d01_httpd_shutdown(). */
void d01_server_shutdown(
    struct d01_server *srv, int deadline_ms, void (*done)(void *), void *arg);

void d01_server_free(struct d01_server *srv);

#endif
