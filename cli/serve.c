/* SPDX-License-Identifier: ISC */
/*
 * dns01 serve: the Kubernetes API clients, the front-proxy trust, the
 * authorizer, the TLS context, embedded zones and the webhook server,
 * then the event loop until SIGTERM/SIGINT drains it. Flags are in
 * serve_flags.c.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli/cli.h"
#include "cli/serve.h"
#include "core/endpoint.h"
#include "core/http_client.h"
#include "core/log.h"
#include "core/secret.h"
#include "providers/env.h"
#include "providers/provider.h"
#include "server/authz.h"
#include "server/certwatch.h"
#include "server/fp_source.h"
#include "server/http.h"
#include "server/kube.h"
#include "server/kube_secret.h"
#include "server/server.h"
#include "server/tls.h"

#define DRAIN_DEADLINE_MS 25000

/*
 * The demo prints commands a newcomer pastes into another shell. They use
 * only curl (installed by `make run`, scripts/deps.sh) and dns01 itself:
 * a fresh Debian machine has no dig.
 */
static void
print_demo(const struct serve_opts *o)
{
	const char *body = "{\"request\":{\"uid\":\"demo\",\"action\":\"%s\","
			   "\"type\":\"dns-01\",\"dnsName\":\"www.%s\","
			   "\"key\":\"dns01-demo-challenge-value\","
			   "\"resolvedFQDN\":\"_acme-challenge.www.%s.\","
			   "\"resolvedZone\":\"%s.\"}}";
	char zone[256], self[PATH_MAX];
	const char *solver = "";
	ssize_t n;
	size_t zl;
	int i;

	/* The solver that answers from the --embedded-zone zones. */
	for (zl = 0; d01_providers[zl] != NULL; zl++)
		if (d01_providers[zl]->needs_zones && solver[0] == '\0')
			solver = d01_providers[zl]->name;

	snprintf(zone, sizeof(zone), "%s", o->zones[0]);
	zl = strlen(zone);
	if (zl > 0 && zone[zl - 1] == '.')
		zone[zl - 1] = '\0';
	/* The path of this binary, so the printed check runs from any
	 * directory; "dns01" (from PATH) if /proc is not there. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || memchr(self, '\'', (size_t)n) != NULL)
		n = (ssize_t)strlen(strcpy(self, "dns01"));
	self[n] = '\0';
	printf("\ndns01 demo: webhook on https://%s:%ld, DNS for %s. on %s\n",
	    o->bind, o->port, zone, o->dns_listen);
	printf("No client authentication in demo mode. Try, in another "
	       "shell:\n\n");
	for (i = 0; i < 2; i++) {
		const char *action = i == 0 ? "Present" : "CleanUp";

		printf("# %s the TXT record, then see that the DNS server %s "
		       "it:\n",
		    action, i == 0 ? "serves" : "no longer serves");
		printf("curl -sk -X POST -H 'Content-Type: application/json' "
		       "https://%s:%ld/apis/%s/v1alpha1/%s -d '",
		    o->bind, o->port, o->group, solver);
		printf(body, action, zone, zone, zone);
		printf("'\n");
		printf("'%s' check --nameserver %s --timeout 5s%s "
		       "_acme-challenge.www.%s dns01-demo-challenge-value\n\n",
		    self, o->dns_listen, i == 0 ? "" : " --absent", zone);
	}
	fflush(stdout);
}

struct serve_run {
	struct event_base *base;
	struct d01_server *srv;
	struct serve_opts *o;
	int stopping;
	int listening;
	int rc; /* exit code when the loop ends */
};

static void
drained(void *arg)
{
	struct serve_run *run = arg;

	d01_log(D01_LOG_INFO, "stopped", "reason=drained");
	event_base_loopexit(run->base, NULL);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct serve_run *run = arg;

	(void)what;
	if (run->stopping++) { /* second signal: stop now */
		d01_log(D01_LOG_WARN, "stopped", "reason=second_signal");
		event_base_loopbreak(run->base);
		return;
	}
	d01_log(D01_LOG_INFO, "stopping", "signal=%d deadline_ms=%d", (int)sig,
	    DRAIN_DEADLINE_MS);
	d01_server_shutdown(run->srv, DRAIN_DEADLINE_MS, drained, run);
}

static void
reload_ctx(SSL_CTX *ctx, void *arg)
{
	d01_server_set_ssl_ctx(arg, ctx);
}

/* Listen on the HTTPS (and metrics) ports; 0, or -1 with err. */
static int
start_listening(struct serve_run *run, struct d01_error *err)
{
	char qgroup[300];
	struct serve_opts *o = run->o;

	if (d01_server_listen(run->srv, o->bind, (int)o->port, err) != D01_OK)
		return -1;
	if (o->metrics_port != 0 &&
	    d01_server_listen_metrics(
		run->srv, o->metrics_bind, (int)o->metrics_port, err) != D01_OK)
		return -1;
	run->listening = 1;
	d01_log(D01_LOG_INFO, "ready",
	    "version=%s addr=%s port=%ld group=%s auth=%s zones=%zu dns=%s "
	    "metrics_port=%ld",
	    D01_VERSION, o->bind, o->port,
	    d01_log_quote(qgroup, sizeof(qgroup), o->group),
	    o->demo ? "none" : "front-proxy", o->nzones,
	    o->dns_listen ? o->dns_listen : "-", o->metrics_port);
	return 0;
}

/*
 * A front-proxy trust arrived, or reading one failed. The first outcome
 * decides start-up: serve, or exit like the Go webhook does unless
 * --authentication-tolerate-lookup-failure; later ones swap or keep.
 */
static void
on_trust(void *arg, struct d01_fp_trust *t, const struct d01_error *err)
{
	char qmsg[600];
	struct serve_run *run = arg;
	struct d01_error lerr;

	if (t != NULL)
		d01_server_set_trust(run->srv, t);
	else if (run->listening || run->o->tolerate_lookup_failure)
		d01_log(D01_LOG_WARN, "requestheader_lookup_failed",
		    "reason=%s action=%s",
		    d01_log_quote(qmsg, sizeof(qmsg), err->msg),
		    run->listening ? "keep_old" : "start_without");
	if (run->listening)
		return;
	if (t == NULL && !run->o->tolerate_lookup_failure) {
		fprintf(stderr, "dns01 serve: %s\n", err->msg);
		run->rc = D01_EXIT_FAIL;
		event_base_loopexit(run->base, NULL);
		return;
	}
	d01_error_clear(&lerr);
	if (start_listening(run, &lerr) != 0) {
		fprintf(stderr, "dns01 serve: %s\n", lerr.msg);
		run->rc = D01_EXIT_FAIL;
		event_base_loopexit(run->base, NULL);
	}
}

/* The Kubernetes clients, each NULL when there is no API to talk to. */
struct kube_set {
	struct d01_kube *core, *authn, *authz;
};

static int
kube_one(struct d01_http *http, const char *kubeconfig, const char *sa_dir,
    struct d01_kube **out, struct d01_error *err)
{
	*out = d01_kube_new(http, kubeconfig, sa_dir, err);
	if (*out != NULL)
		return 0;
	if (err->code == D01_E_NOTFOUND) {
		d01_error_clear(err);
		return 0;
	}
	return -1;
}

static int
kube_setup(struct serve_opts *o, struct d01_http *http, struct kube_set *ks,
    struct d01_error *err)
{
	char qn[300], qs[300];
	if (o->demo)
		return 0;
	if (kube_one(http, o->kubeconfig, o->sa_dir, &ks->core, err) != 0)
		return -1;
	ks->authn = ks->authz = ks->core;
	if (o->authn_kubeconfig != NULL &&
	    kube_one(http, o->authn_kubeconfig, NULL, &ks->authn, err) != 0)
		return -1;
	if (o->authz_kubeconfig != NULL &&
	    kube_one(http, o->authz_kubeconfig, NULL, &ks->authz, err) != 0)
		return -1;
	if (ks->core != NULL)
		d01_log(D01_LOG_INFO, "kube_api", "server=%s namespace=%s",
		    d01_log_quote(qs, sizeof(qs), d01_kube_server(ks->core)),
		    d01_log_quote(
			qn, sizeof(qn), d01_kube_namespace(ks->core)));
	return 0;
}

static void
kube_free(struct kube_set *ks)
{
	if (ks->authn != ks->core)
		d01_kube_free(ks->authn);
	if (ks->authz != ks->core)
		d01_kube_free(ks->authz);
	d01_kube_free(ks->core);
}

/* The front-proxy trust source; NULL in demo mode. */
static struct d01_fp_source *
trust_setup(struct serve_run *run, struct kube_set *ks, struct d01_error *err)
{
	struct serve_opts *o = run->o;
	struct d01_fp_flags fl = {o->allowed_csv, o->user_hdrs, o->group_hdrs,
	    o->extra_prefixes, o->uid_hdrs};

	if (o->client_ca != NULL)
		return d01_fp_source_file(run->base, o->client_ca, &fl,
		    (int)o->reload_ms, on_trust, run, err);
	return d01_fp_source_configmap(
	    run->base, ks->authn, (int)o->trust_refresh_ms, on_trust, run, err);
}

static struct d01_authz *
authz_setup(struct serve_opts *o, struct kube_set *ks, const char **groups,
    int ngroups, struct d01_error *err)
{
	struct d01_authz_cfg acfg = {0};

	if (o->demo)
		return NULL;
	if (ks->authz == NULL) {
		d01_log(D01_LOG_WARN, "authz_off",
		    "msg=\"no Kubernetes API: no SubjectAccessReviews; every "
		    "verified front-proxy identity may call the solvers\"");
		return NULL;
	}
	acfg.ttl_allow_ms = o->authz_ttl_allow_ms;
	acfg.ttl_deny_ms = o->authz_ttl_deny_ms;
	if (ngroups >= 0) {
		acfg.always_groups = groups;
		acfg.nalways = (size_t)ngroups;
	}
	return d01_authz_new(ks->authz, &acfg, err);
}

/* Lists from comma-separated flags, split once for the whole run. */
struct serve_lists {
	char *paths_csv, *groups_csv;
	const char *paths[D01_SERVE_MAX_LIST], *groups[D01_SERVE_MAX_LIST];
	int npaths, ngroups; /* -1: flag not given */
};

static int
lists_setup(struct serve_opts *o, struct serve_lists *l)
{
	l->npaths = l->ngroups = -1;
	if (o->allow_paths_csv != NULL &&
	    ((l->paths_csv = strdup(o->allow_paths_csv)) == NULL ||
		(l->npaths = d01_serve_split(
		     l->paths_csv, l->paths, D01_SERVE_MAX_LIST)) < 0))
		return -1;
	if (o->allow_groups_csv != NULL &&
	    ((l->groups_csv = strdup(o->allow_groups_csv)) == NULL ||
		(l->ngroups = d01_serve_split(
		     l->groups_csv, l->groups, D01_SERVE_MAX_LIST)) < 0))
		return -1;
	return 0;
}

/*
 * Every connection is a file descriptor: take the hard limit rather than
 * the (often 1024) soft one, so --max-connections is not cut short by
 * accept() failing first.
 */
static void
raise_nofile(const struct serve_opts *o)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t want = rl.rlim_max;

		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	d01_log(D01_LOG_INFO, "nofile_limit", "soft=%llu hard=%llu",
	    (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
	if (rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)o->max_conns + 64)
		d01_log(D01_LOG_WARN, "nofile_limit_low",
		    "msg=\"fewer file descriptors than --max-connections "
		    "needs; accept() will fail first (and back off)\" "
		    "soft=%llu max_connections=%ld",
		    (unsigned long long)rl.rlim_cur, o->max_conns);
}

/* The endpoint policy of --allow-provider-endpoint (core/endpoint.h). */
static struct d01_endpoints *
endpoints_setup(const struct serve_opts *o, struct d01_error *err)
{
	struct d01_endpoints *p = d01_endpoints_new();
	size_t i;

	if (p == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	for (i = 0; i < o->nendpoints; i++)
		if (d01_endpoints_add(p, o->endpoints[i], err) != 0) {
			d01_endpoints_free(p);
			return NULL;
		}
	return p;
}

static int
serve_run(struct serve_opts *o)
{
	struct serve_run run = {0};
	struct d01_server_cfg cfg = {0};
	struct d01_env env = {0};
	struct d01_env_opts eo = {.dns_max_inflight = 4096,
	    .secrets_dir = o->secrets_dir,
	    .zones = o->zones,
	    .nzones = o->nzones,
	    .dns_listen = o->dns_listen};
	struct d01_error err;
	struct d01_certwatch *watch = NULL;
	struct d01_fp_source *trust = NULL;
	struct d01_authz *authz = NULL;
	struct d01_kube_secrets *ksec = NULL;
	struct d01_secret_backend be;
	struct kube_set ks = {0};
	struct serve_lists lists = {0};
	struct event *sigterm = NULL, *sigint = NULL;
	SSL_CTX *ctx = NULL;
	struct d01_endpoints *endpoints = NULL;

	run.o = o;
	run.rc = D01_EXIT_OK;
	d01_error_clear(&err);
	if (lists_setup(o, &lists) != 0) {
		d01_error_set(&err, D01_E_CONFIG,
		    "too many --authorization-always-allow-* entries");
		goto out;
	}
	if ((endpoints = endpoints_setup(o, &err)) == NULL)
		goto out;
	/* Loop, clients, secrets (--secrets-dir), and every provider's
	 * state: the embedded zones and their DNS listener among them. */
	eo.endpoints = endpoints;
	if (d01_env_open(&env, &eo, &err) != D01_OK)
		goto out;
	run.base = env.base;
	d01_http_set_max_host_connections(env.http, o->max_upstream);
	if (kube_setup(o, env.http, &ks, &err) != 0)
		goto out;
	if (!o->demo && o->client_ca == NULL && ks.authn == NULL) {
		d01_error_set(&err, D01_E_CONFIG,
		    "no --requestheader-client-ca-file, and no Kubernetes API "
		    "to read kube-system/extension-apiserver-authentication "
		    "from (not in a cluster, no --kubeconfig); use --demo for "
		    "a local trial");
		goto out;
	}
	/* As in the Go webhook: the ConfigMap, when read, says it all. */
	if (!o->demo && o->client_ca == NULL &&
	    (o->allowed_csv || o->user_hdrs || o->group_hdrs ||
		o->extra_prefixes || o->uid_hdrs))
		d01_log(D01_LOG_WARN, "flags_ignored",
		    "msg=\"--requestheader-* names apply only with "
		    "--requestheader-client-ca-file; the ConfigMap's apply\"");
	if (o->secrets_dir == NULL && ks.core != NULL) {
		if ((ksec = d01_kube_secrets_new(
			 run.base, ks.core, env.clock)) == NULL) {
			d01_error_set(&err, D01_E_NOMEM, "out of memory");
			goto out;
		}
		d01_kube_secrets_backend(ksec, &be);
		d01_secrets_set_backend(env.secrets, &be);
	}
	ctx = o->cert != NULL
	    ? d01_tls_server_ctx(o->cert, o->key, !o->demo, &err)
	    : d01_tls_demo_ctx(&err);
	if (ctx == NULL)
		goto out;
	if (!o->demo &&
	    (authz = authz_setup(o, &ks, lists.groups, lists.ngroups, &err)) ==
		NULL &&
	    err.code != D01_OK)
		goto out;
	cfg.group = o->group;
	cfg.no_auth = o->demo;
	cfg.authz = authz;
	if (lists.npaths >= 0) {
		cfg.allow_paths = lists.paths;
		cfg.nallow_paths = (size_t)lists.npaths;
	}
	d01_http_limits_default(&cfg.limits);
	cfg.limits.request_timeout_ms = (int)o->request_ms;
	cfg.limits.idle_timeout_ms = (int)o->idle_ms;
	cfg.limits.max_inflight = (size_t)o->max_inflight;
	cfg.limits.max_conns = (size_t)o->max_conns;
	cfg.limits.max_body_total = (size_t)o->max_body_total;
	cfg.limits.head_timeout_ms = (int)o->head_ms;
	cfg.op_timeout_ms = o->provider_ms;
	if ((run.srv = d01_server_new(&env, ctx, &cfg, &err)) == NULL)
		goto out;
	if (o->cert != NULL &&
	    (watch = d01_certwatch_new(run.base, o->cert, o->key, !o->demo,
		 (int)o->reload_ms, reload_ctx, run.srv, &err)) == NULL)
		goto out;
	sigterm = evsignal_new(run.base, SIGTERM, on_signal, &run);
	sigint = evsignal_new(run.base, SIGINT, on_signal, &run);
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) ||
	    evsignal_add(sigint, NULL)) {
		d01_error_set(&err, D01_E_INTERNAL, "cannot handle signals");
		goto out;
	}
	/* After every start-up check, so a refusal stays one line. */
	if (!o->demo && o->secrets_dir == NULL && ks.core == NULL)
		/* --authentication/authorization-kubeconfig reach an API, but
		 * only --kubeconfig (or the pod's) is used for Secrets. */
		d01_log(D01_LOG_WARN, "secrets_off",
		    "msg=\"no source for Secret references: no --secrets-dir "
		    "and no Kubernetes API for Secrets (not in a cluster, no "
		    "--kubeconfig); providers that need credentials will "
		    "fail\"");
	/* on_trust starts listening once the first trust is there: at once
	 * from a CA file, from the loop when read from the ConfigMap. */
	if (!o->demo && (trust = trust_setup(&run, &ks, &err)) == NULL)
		goto out;
	if (o->demo) {
		d01_log(D01_LOG_WARN, "demo_mode",
		    "msg=\"client authentication is OFF; loopback only\"");
		if (start_listening(&run, &err) != 0)
			goto out;
		print_demo(o);
	}
	/* Here, once the configuration has been accepted: a usage error
	 * stays a single line. */
	raise_nofile(o);
	event_base_dispatch(run.base);
out:
	if (err.code != D01_OK) {
		fprintf(stderr, "dns01 serve: %s\n", err.msg);
		run.rc =
		    err.code == D01_E_CONFIG ? D01_EXIT_USAGE : D01_EXIT_FAIL;
	}
	if (sigterm != NULL)
		event_free(sigterm);
	if (sigint != NULL)
		event_free(sigint);
	d01_fp_source_free(trust);
	d01_certwatch_free(watch);
	d01_server_free(run.srv);
	d01_authz_free(authz);
	/* Every op and Secret lookup went with the server. The Secrets
	 * cache keeps events on the env's loop, and the Kubernetes clients
	 * use its HTTP client: both go before the env (the secret store
	 * holds the backend's pointer but never follows it when freed). */
	d01_kube_secrets_free(ksec);
	kube_free(&ks);
	d01_env_close(&env);
	SSL_CTX_free(ctx);
	free(lists.paths_csv);
	free(lists.groups_csv);
	d01_endpoints_free(endpoints);
	return run.rc;
}

int
d01_cmd_serve(int argc, char **argv)
{
	struct serve_opts o = {.port = 8443,
	    .reload_ms = 10000,
	    .trust_refresh_ms = 60000,
	    .request_ms = 30000,
	    .idle_ms = 60000,
	    .max_inflight = 512,
	    .max_conns = 1024,
	    .max_upstream = D01_HTTP_MAX_HOST_CONNS,
	    .provider_ms = D01_OP_TIMEOUT_WEBHOOK_MS,
	    .max_body_total = 64L << 20,
	    .head_ms = 10000};
	int rc;

	/* Before any libevent call: libevent must allocate through it. */
	d01_http_watch_allocations();
	if ((rc = d01_serve_parse(&o, argc, argv)) >= 0)
		return rc;
	if (d01_serve_check(&o) != 0)
		return D01_EXIT_USAGE;
	return serve_run(&o);
}
