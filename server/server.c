/* SPDX-License-Identifier: ISC */
/*
 * The webhook server's router: health without authentication, then the
 * front-proxy check, then discovery and the solver endpoints. Routing is a
 * walk over at most four path segments; there is no table to search
 * because the URL space is that small and fixed (webhook-api.md §4.4).
 */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "server/server_int.h"
#include "server/status.h"
#include "server/tls.h"

static int
is_health(const char *path)
{
	static const char *const paths[] = {"/healthz", "/livez", "/readyz"};
	size_t i, n;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		n = strlen(paths[i]);
		if (strncmp(path, paths[i], n) == 0 &&
		    (path[n] == '\0' || path[n] == '/'))
			return 1;
	}
	return 0;
}

static int
method_is(const struct d01_req *req, const char *m)
{
	return strcmp(d01_req_method(req), m) == 0;
}

static void
reply_405(struct d01_req *req, const char *allow)
{
	d01_req_add_header(req, "Allow", allow);
	d01_status_reply(req, 405, "method not allowed");
}

/*
 * A front-proxy identity: a verified client certificate plus a non-empty
 * X-Remote-User. Identity headers from any other connection are ignored.
 */
static int
authenticate(struct d01_server *srv, struct d01_req *req)
{
	const char *why = NULL, *user;
	char cn[256];

	if (srv->cfg.no_auth)
		return 0;
	if (d01_tls_peer_front_proxy(d01_req_ssl(req), srv->cfg.allowed,
		srv->cfg.nallowed, cn, sizeof(cn), &why) != 0) {
		d01_log(D01_LOG_DEBUG, "auth_failed", "peer=%s reason=\"%s\"",
		    d01_req_peer(req), why);
		return -1;
	}
	user = d01_req_header(req, "X-Remote-User");
	if (user == NULL || *user == '\0') {
		d01_log(D01_LOG_DEBUG, "auth_failed",
		    "peer=%s reason=\"no X-Remote-User\"", d01_req_peer(req));
		return -1;
	}
	return 0;
}

/* Path after "/apis/<group>", or NULL when the group does not match. */
static const char *
after_group(const struct d01_server *srv, const char *path)
{
	size_t gl = strlen(srv->cfg.group);

	if (strncmp(path, "/apis/", 6) != 0 ||
	    strncmp(path + 6, srv->cfg.group, gl) != 0)
		return NULL;
	path += 6 + gl;
	return (*path == '\0' || *path == '/') ? path : NULL;
}

static void
route_apis(struct d01_server *srv, struct d01_req *req, const char *rest)
{
	const struct d01_provider *prov;
	int get = method_is(req, "GET") || method_is(req, "HEAD");

	d01_req_set_tag(req, D01_ROUTE_DISCOVERY);
	if (*rest == '\0') { /* /apis/<group> */
		if (!get) {
			reply_405(req, "GET, HEAD");
			return;
		}
		d01_discovery_reply(req, srv->doc_group);
		return;
	}
	if (strcmp(rest, "/v1alpha1") == 0) {
		if (!get) {
			reply_405(req, "GET, HEAD");
			return;
		}
		d01_discovery_reply(req, srv->doc_resources);
		return;
	}
	if (strncmp(rest, "/v1alpha1/", 10) != 0 ||
	    (prov = d01_provider_find(rest + 10)) == NULL) {
		d01_status_reply(req, 404,
		    "the server could not find the "
		    "requested resource");
		return;
	}
	d01_req_set_tag(req, D01_ROUTE_SOLVER);
	if (!method_is(req, "POST")) {
		reply_405(req, "POST");
		return;
	}
	d01_webhook_handle(srv, req, prov);
}

static void
reply_metrics(struct d01_server *srv, struct d01_req *req)
{
	char *text;
	size_t len;

	if (!method_is(req, "GET") && !method_is(req, "HEAD")) {
		reply_405(req, "GET, HEAD");
		return;
	}
	text = d01_metrics_render(
	    srv->metrics, d01_httpd_inflight(srv->httpd), &len);
	if (text == NULL) {
		d01_status_reply(req, 500, "out of memory");
		return;
	}
	d01_req_reply(
	    req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}

static void
route(struct d01_req *req, void *arg)
{
	struct d01_server *srv = arg;
	const char *path = d01_req_path(req), *rest;

	if (is_health(path)) {
		d01_req_set_tag(req, D01_ROUTE_HEALTH);
		if (!method_is(req, "GET") && !method_is(req, "HEAD")) {
			reply_405(req, "GET, HEAD");
			return;
		}
		d01_req_reply(req, 200, "text/plain; charset=utf-8", "ok", 2);
		return;
	}
	if (authenticate(srv, req) != 0) {
		d01_status_reply(req, 401, "Unauthorized");
		return;
	}
	if (strcmp(path, "/metrics") == 0) {
		d01_req_set_tag(req, D01_ROUTE_METRICS);
		reply_metrics(srv, req);
		return;
	}
	if (strcmp(path, "/apis") == 0) {
		d01_req_set_tag(req, D01_ROUTE_DISCOVERY);
		if (!method_is(req, "GET") && !method_is(req, "HEAD")) {
			reply_405(req, "GET, HEAD");
			return;
		}
		d01_discovery_reply(req, srv->doc_groups);
		return;
	}
	if ((rest = after_group(srv, path)) != NULL) {
		route_apis(srv, req, rest);
		return;
	}
	d01_status_reply(req, 404,
	    "the server could not find the requested "
	    "resource");
}

static void
observe(int tag, int status, void *arg)
{
	struct d01_server *srv = arg;

	d01_metrics_http(srv->metrics,
	    tag < 0 ? D01_ROUTE_OTHER : (enum d01_route)tag, status);
}

static void
http_error(struct d01_req *req, int status, const char *why, void *arg)
{
	(void)arg;
	d01_status_reply(req, status, why);
}

struct d01_server *
d01_server_new(struct d01_env *env, SSL_CTX *ctx,
    const struct d01_server_cfg *cfg, struct d01_error *err)
{
	struct d01_server *srv;

	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	srv->env = env;
	srv->cfg = *cfg;
	if ((srv->metrics = d01_metrics_new()) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto fail;
	}
	d01_metrics_set_cert(srv->metrics, ctx);
	if (d01_discovery_init(srv, err) != D01_OK)
		goto fail;
	srv->httpd = d01_httpd_new(
	    env->base, ctx, &cfg->limits, route, http_error, srv, err);
	if (srv->httpd == NULL)
		goto fail;
	d01_httpd_set_observer(srv->httpd, observe);
	return srv;
fail:
	d01_server_free(srv);
	return NULL;
}

enum d01_err
d01_server_listen(
    struct d01_server *srv, const char *addr, int port, struct d01_error *err)
{
	return d01_httpd_listen(srv->httpd, addr, port, err);
}

void
d01_server_set_ssl_ctx(struct d01_server *srv, SSL_CTX *ctx)
{
	d01_httpd_set_ssl_ctx(srv->httpd, ctx);
	d01_metrics_set_cert(srv->metrics, ctx);
}

void
d01_server_shutdown(
    struct d01_server *srv, int deadline_ms, void (*done)(void *), void *arg)
{
	d01_httpd_shutdown(srv->httpd, deadline_ms, done, arg);
}

void
d01_server_free(struct d01_server *srv)
{
	if (srv == NULL)
		return;
	d01_httpd_free(srv->httpd);
	d01_metrics_free(srv->metrics);
	free(srv->doc_resources);
	free(srv->doc_group);
	free(srv->doc_groups);
	free(srv);
}
