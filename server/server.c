/* SPDX-License-Identifier: ISC */
/*
 * The webhook server's router: health without authentication, then the
 * front-proxy check, then discovery and the solver endpoints. Routing is a
 * walk over at most four path segments; there is no table to search
 * because the URL space is that small and fixed (discovery, the solver
 * routes, health and metrics).
 */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "server/server_int.h"
#include "server/status.h"
#include "kube/authz.h"
#include "kube/frontproxy.h"

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

/* --authorization-always-allow-paths: exact, or a prefix ending in '*'. */
static int
always_allowed(const struct d01_server *srv, const char *path)
{
	size_t i, n;

	if (srv->cfg.allow_paths == NULL)
		return is_health(path);
	for (i = 0; i < srv->cfg.nallow_paths; i++) {
		const char *p = srv->cfg.allow_paths[i];

		n = strlen(p);
		if (n > 0 && p[n - 1] == '*' ? strncmp(path, p, n - 1) == 0
					     : strcmp(path, p) == 0)
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
	struct d01_metrics_live live = {d01_httpd_inflight(srv->httpd),
	    srv->trust != NULL || srv->cfg.no_auth, srv->cfg.authz, 0, 0, 0, 0,
	    NULL, NULL};
	struct d01_httpd_stats st;
	char *text;
	size_t len;

	d01_httpd_stats(srv->httpd, &st);
	live.conns = st.conns;
	live.body_bytes = st.body_bytes;
	live.evicted = st.evicted;
	live.accept_errors = st.accept_errors;
	live.kstore = srv->cfg.kstore;
	live.dbstore = srv->cfg.dbstore;

	if (!method_is(req, "GET") && !method_is(req, "HEAD")) {
		reply_405(req, "GET, HEAD");
		return;
	}
	text = d01_metrics_render(srv->metrics, &live, &len);
	if (text == NULL) {
		d01_status_reply(req, 500, "out of memory");
		return;
	}
	d01_req_reply(
	    req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}

/* Everything after authentication and authorization. */
static void
dispatch(struct d01_server *srv, struct d01_req *req)
{
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

/* A request waiting for its SubjectAccessReview. */
struct pending {
	struct d01_server *srv;
	struct d01_req *req;
	struct d01_authz_call *call;
	struct d01_authz_attrs at;
	char user[512];
	char buf[1024]; /* the strings `at` points into */
};

static void
pending_abort(void *arg)
{
	struct pending *p = arg;

	d01_authz_cancel(p->call);
	free(p);
}

/* 403 as the kube-apiserver words it for a denied request. */
static void
forbid(struct d01_req *req, const char *user, const struct d01_authz_attrs *at,
    const char *reason)
{
	char msg[1536], named[300] = "", qu[256], qv[32], qw[256];
	json_t *details = NULL;
	int n;

	if (at->resource_req) {
		if (at->name != NULL)
			snprintf(named, sizeof(named), " \"%s\"", at->name);
		n = snprintf(msg, sizeof(msg),
		    "%s.%s%s is forbidden: User \"%s\" cannot %s resource "
		    "\"%s\" in API group \"%s\" at the cluster scope",
		    at->resource, at->group, named, user, at->verb,
		    at->resource, at->group);
		details = json_pack("{s:s, s:s, s:s}", "name",
		    at->name ? at->name : "", "group", at->group, "kind",
		    at->resource);
		if (details != NULL && at->name == NULL)
			json_object_del(details, "name");
	} else {
		n = snprintf(msg, sizeof(msg),
		    "forbidden: User \"%s\" cannot %s path \"%s\"", user,
		    at->verb, at->path);
	}
	if (reason != NULL && *reason != '\0' && n > 0 &&
	    (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", reason);
	/* Every value here comes from the request: quoted, so a user name
	 * like `" level=error event=x` stays inside its field. */
	d01_log(D01_LOG_INFO, "forbidden", "user=%s verb=%s what=%s",
	    d01_log_quote(qu, sizeof(qu), user),
	    d01_log_quote(qv, sizeof(qv), at->verb),
	    d01_log_quote(
		qw, sizeof(qw), at->resource_req ? at->resource : at->path));
	d01_status_reply_details(req, 403, msg, details);
}

/* The caller learns that the check failed, not where the API server is
 * or what it said: that is for the operator, in the log. */
static void
review_error(struct d01_req *req, const struct d01_error *err)
{
	char q[D01_ERROR_MSG_MAX * 2];

	d01_log(D01_LOG_WARN, "authz_failed", "peer=%s msg=%s",
	    d01_req_peer(req), d01_log_quote(q, sizeof(q), err->msg));
	d01_status_reply(req, 500,
	    "Internal error occurred: authorization check failed; see the "
	    "webhook's log");
}

static void
reviewed(
    void *arg, int allowed, const char *reason, const struct d01_error *err)
{
	struct pending *p = arg;
	struct d01_req *req = p->req;

	d01_req_on_abort(req, NULL, NULL);
	if (err != NULL)
		review_error(req, err);
	else if (allowed)
		dispatch(p->srv, req);
	else
		forbid(req, p->user, &p->at, reason);
	free(p);
}

static const char *
verb_for(const char *method, int resource, int named)
{
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
		return resource && !named ? "list" : "get";
	if (strcmp(method, "POST") == 0)
		return resource ? "create" : "post";
	if (strcmp(method, "PUT") == 0)
		return resource ? "update" : "put";
	if (strcmp(method, "PATCH") == 0)
		return "patch";
	if (strcmp(method, "DELETE") == 0)
		return resource && !named ? "deletecollection" : "delete";
	return "unknown";
}

/*
 * The request's attributes as the apiserver's RequestInfo sees them:
 * /apis/<group>/<version>/<resource>[/<name>...] is a resource request,
 * everything else a non-resource path. Strings are written into buf.
 */
static void
attributes(
    struct d01_req *req, struct d01_authz_attrs *at, char *buf, size_t len)
{
	const char *path = d01_req_path(req), *seg[4];
	size_t segl[4], n = 0, off = 0;
	const char *p;

	memset(at, 0, sizeof(*at));
	if (strncmp(path, "/apis/", 6) == 0) {
		for (p = path + 6; n < 4 && *p != '\0'; n++) {
			seg[n] = p;
			segl[n] = strcspn(p, "/");
			p += segl[n];
			if (*p == '/')
				p++;
		}
	}
	if (n >= 3 && segl[0] && segl[1] && segl[2] &&
	    segl[0] + segl[1] + segl[2] + (n > 3 ? segl[3] : 0) + 4 < len) {
		const char **dst[4] = {
		    &at->group, &at->version, &at->resource, &at->name};
		size_t i;

		for (i = 0; i < n && i < 4; i++) {
			memcpy(buf + off, seg[i], segl[i]);
			buf[off + segl[i]] = '\0';
			*dst[i] = buf + off;
			off += segl[i] + 1;
		}
		if (at->name != NULL && *at->name == '\0')
			at->name = NULL;
		at->verb = verb_for(d01_req_method(req), 1, at->name != NULL);
		at->resource_req = 1;
		return;
	}
	at->path = path;
	at->verb = verb_for(d01_req_method(req), 0, 0);
}

static void
route(struct d01_req *req, void *arg)
{
	struct d01_server *srv = arg;
	struct d01_identity id;
	struct d01_authz_attrs at;
	struct d01_error err;
	struct pending *p;
	const char *why = NULL;
	char reason[256], buf[1024];

	if (srv->cfg.no_auth || always_allowed(srv, d01_req_path(req))) {
		dispatch(srv, req);
		return;
	}
	/* Authenticated from the head already (head_check); again here
	 * because the trust may have changed while the body arrived. */
	if (d01_fp_authenticate(srv->trust, req, &id, &why) != 0) {
		d01_log(D01_LOG_DEBUG, "auth_failed", "peer=%s reason=\"%s\"",
		    d01_req_peer(req), why);
		d01_status_reply(req, 401, "Unauthorized");
		return;
	}
	if (srv->cfg.authz == NULL) {
		d01_identity_clear(&id);
		dispatch(srv, req);
		return;
	}
	attributes(req, &at, buf, sizeof(buf));
	d01_error_clear(&err);
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		d01_identity_clear(&id);
		d01_status_reply(req, 500, "out of memory");
		return;
	}
	switch (d01_authz_check(srv->cfg.authz, &id, &at, reason,
	    sizeof(reason), reviewed, p, &p->call, &err)) {
	case D01_AUTHZ_ALLOW:
		free(p);
		dispatch(srv, req);
		break;
	case D01_AUTHZ_DENY:
		free(p);
		forbid(req, id.user, &at, reason);
		break;
	case D01_AUTHZ_ERROR:
		free(p);
		review_error(req, &err);
		break;
	case D01_AUTHZ_PENDING:
		/* `at` points into buf, which goes away: rebase it. */
		p->srv = srv;
		p->req = req;
		memcpy(p->buf, buf, sizeof(buf));
		p->at = at;
		if (at.resource_req) {
			p->at.group = p->buf + (at.group - buf);
			p->at.version = p->buf + (at.version - buf);
			p->at.resource = p->buf + (at.resource - buf);
			if (at.name != NULL)
				p->at.name = p->buf + (at.name - buf);
		}
		snprintf(p->user, sizeof(p->user), "%s", id.user);
		d01_req_on_abort(req, pending_abort, p);
		break;
	}
	d01_identity_clear(&id);
}

/*
 * Before any byte of a body is read (and before a 100 Continue): a caller
 * that cannot authenticate gets its 401 from the head alone, so it never
 * makes us buffer a body. Authenticated connections are kept at the
 * connection cap.
 */
static int
head_check(struct d01_req *req, void *arg)
{
	struct d01_server *srv = arg;
	struct d01_identity id;
	const char *why = NULL;

	if (srv->cfg.no_auth) {
		d01_req_trust_conn(req);
		return 0;
	}
	if (always_allowed(srv, d01_req_path(req)))
		return 0;
	if (d01_fp_authenticate(srv->trust, req, &id, &why) != 0) {
		d01_log(D01_LOG_DEBUG, "auth_failed", "peer=%s reason=\"%s\"",
		    d01_req_peer(req), why);
		return 401;
	}
	d01_identity_clear(&id);
	d01_req_trust_conn(req);
	return 0;
}

static void
route_metrics_port(struct d01_req *req, void *arg)
{
	struct d01_server *srv = arg;

	if (strcmp(d01_req_path(req), "/metrics") != 0) {
		d01_status_reply(req, 404,
		    "the server could not find the requested resource");
		return;
	}
	reply_metrics(srv, req);
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
	if (cfg->acmedns_domain != NULL &&
	    d01_dname_normalise(srv->acmedns_domain,
		sizeof(srv->acmedns_domain), cfg->acmedns_domain) != 0) {
		d01_error_set(err, D01_E_CONFIG, "bad --acmedns-domain");
		goto fail;
	}
	if (d01_fp_init() != 0) {
		d01_error_set(err, D01_E_INTERNAL, "no SSL ex_data slot");
		goto fail;
	}
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
	d01_httpd_set_head_check(srv->httpd, head_check);
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

enum d01_err
d01_server_listen_metrics(
    struct d01_server *srv, const char *addr, int port, struct d01_error *err)
{
	if (srv->metrics_httpd == NULL &&
	    (srv->metrics_httpd = d01_httpd_new(srv->env->base, NULL,
		 &srv->cfg.limits, route_metrics_port, http_error, srv, err)) ==
		NULL)
		return err->code;
	return d01_httpd_listen(srv->metrics_httpd, addr, port, err);
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
	/* Scrapes are answered at once: nothing to drain there. */
	d01_httpd_free(srv->metrics_httpd);
	srv->metrics_httpd = NULL;
	d01_httpd_shutdown(srv->httpd, deadline_ms, done, arg);
}

void
d01_server_set_trust(struct d01_server *srv, struct d01_fp_trust *t)
{
	d01_fp_trust_free(srv->trust);
	srv->trust = t;
}

void
d01_server_free(struct d01_server *srv)
{
	if (srv == NULL)
		return;
	d01_fp_trust_free(srv->trust);
	d01_httpd_free(srv->metrics_httpd);
	d01_httpd_free(srv->httpd);
	d01_metrics_free(srv->metrics);
	free(srv->doc_resources);
	free(srv->doc_group);
	free(srv->doc_groups);
	free(srv);
}
