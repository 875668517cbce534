/* SPDX-License-Identifier: ISC */
/*
 * The webhook daemon (daemon.h): the Kubernetes API clients, the
 * front-proxy trust, the authorizer, the TLS context, the env with the
 * embedded zones and the webhook server, then the event loop until
 * SIGTERM/SIGINT drains it. Start-up is a row of steps, each making one
 * part from the options and the parts before it; daemon_free undoes them
 * in the order the loop's events need.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdio.h>

#include <event2/event.h>

#include "core/endpoint.h"
#include "core/http_client.h"
#include "core/log.h"
#include "core/secret.h"
#include "httpd/certwatch.h"
#include "httpd/http.h"
#include "httpd/tls.h"
#include "kube/authz.h"
#include "kube/fp_source.h"
#include "kube/kube.h"
#include "kube/kube_secret.h"
#include "kube/kube_store.h"
#include "providers/embedded/embedded.h"
#include "providers/env.h"
#include "server/acmedns_api.h"
#include "server/daemon.h"
#include "server/daemon_int.h"
#include "server/server.h"
#include "store/dbstore.h"

#define DRAIN_DEADLINE_MS 25000

static void
drained(void *arg)
{
	struct d01_daemon *d = arg;

	if (--d->draining > 0)
		return;
	d01_log(D01_LOG_INFO, "stopped", "reason=drained");
	event_base_loopexit(d->env.base, NULL);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct d01_daemon *d = arg;

	(void)what;
	if (d->stopping++) { /* second signal: stop now */
		d01_log(D01_LOG_WARN, "stopped", "reason=second_signal");
		event_base_loopbreak(d->env.base);
		return;
	}
	d01_log(D01_LOG_INFO, "stopping", "signal=%d deadline_ms=%d", (int)sig,
	    DRAIN_DEADLINE_MS);
	/* The webhook and the acme-dns API drain side by side; +1 so that
	 * neither can end the loop while the other is being started. */
	d->draining = 1 + (d->srv != NULL) + (d->adns != NULL);
	if (d->srv != NULL)
		d01_server_shutdown(d->srv, DRAIN_DEADLINE_MS, drained, d);
	if (d->adns != NULL)
		d01_acmedns_api_shutdown(
		    d->adns, DRAIN_DEADLINE_MS, drained, d);
	drained(d);
}

static void
reload_ctx(SSL_CTX *ctx, void *arg)
{
	d01_server_set_ssl_ctx(arg, ctx);
}

/* Listen on the HTTPS (and metrics) ports; 0, or -1 with err. */
static int
start_listening(struct d01_daemon *d, struct d01_error *err)
{
	char qgroup[300];
	const struct d01_daemon_opts *o = d->o;

	if (d01_server_listen(d->srv, o->bind, (int)o->port, err) != D01_OK)
		return -1;
	if (o->metrics_port != 0 &&
	    d01_server_listen_metrics(
		d->srv, o->metrics_bind, (int)o->metrics_port, err) != D01_OK)
		return -1;
	d->listening = 1;
	d01_log(D01_LOG_INFO, "ready",
	    "version=%s addr=%s port=%ld group=%s auth=%s zones=%zu dns=%s "
	    "metrics_port=%ld",
	    D01_VERSION, o->bind, o->port,
	    d01_log_quote(qgroup, sizeof(qgroup), o->group),
	    o->demo ? "none" : "front-proxy", o->nzones,
	    o->dns_listen.n > 0 ? o->dns_listen.v[0] : "-", o->metrics_port);
	return 0;
}

/* The loop ends with `err` as the daemon's outcome. */
static void
stop_with(struct d01_daemon *d, const struct d01_error *err)
{
	d->err = *err;
	event_base_loopexit(d->env.base, NULL);
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
	struct d01_daemon *d = arg;
	struct d01_error lerr;

	if (t != NULL)
		d01_server_set_trust(d->srv, t);
	else if (d->listening || d->o->tolerate_lookup_failure)
		d01_log(D01_LOG_WARN, "requestheader_lookup_failed",
		    "reason=%s action=%s",
		    d01_log_quote(qmsg, sizeof(qmsg), err->msg),
		    d->listening ? "keep_old" : "start_without");
	if (d->listening)
		return;
	if (t == NULL && !d->o->tolerate_lookup_failure) {
		stop_with(d, err);
		return;
	}
	d01_error_clear(&lerr);
	if (start_listening(d, &lerr) != 0)
		stop_with(d, &lerr);
}

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
kube_setup(struct d01_daemon *d, struct d01_error *err)
{
	const struct d01_daemon_opts *o = d->o;
	struct kube_set *ks = &d->ks;
	char qn[300], qs[300];

	if (o->demo)
		return 0;
	if (kube_one(d->env.http, o->kubeconfig, o->sa_dir, &ks->core, err) !=
	    0)
		return -1;
	ks->authn = ks->authz = ks->core;
	if (o->authn_kubeconfig != NULL &&
	    kube_one(d->env.http, o->authn_kubeconfig, NULL, &ks->authn, err) !=
		0)
		return -1;
	if (o->authz_kubeconfig != NULL &&
	    kube_one(d->env.http, o->authz_kubeconfig, NULL, &ks->authz, err) !=
		0)
		return -1;
	if (ks->core != NULL)
		d01_log(D01_LOG_INFO, "kube_api", "server=%s namespace=%s",
		    d01_log_quote(qs, sizeof(qs), d01_kube_server(ks->core)),
		    d01_log_quote(
			qn, sizeof(qn), d01_kube_namespace(ks->core)));
	if (!o->demo && o->port != 0 && o->client_ca == NULL &&
	    ks->authn == NULL) {
		d01_error_set(err, D01_E_CONFIG,
		    "no --requestheader-client-ca-file, and no Kubernetes API "
		    "to read kube-system/extension-apiserver-authentication "
		    "from (not in a cluster, no --kubeconfig); use --demo for "
		    "a local trial");
		return -1;
	}
	/* As in the Go webhook: the ConfigMap, when read, says it all. */
	if (!o->demo && o->client_ca == NULL &&
	    (o->allowed_csv || o->user_hdrs || o->group_hdrs ||
		o->extra_prefixes || o->uid_hdrs))
		d01_log(D01_LOG_WARN, "flags_ignored",
		    "msg=\"--requestheader-* names apply only with "
		    "--requestheader-client-ca-file; the ConfigMap's apply\"");
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

/* Secret references through the Kubernetes API, unless --secrets-dir
 * (which the env already uses) or there is no API. */
static int
secrets_setup(struct d01_daemon *d, struct d01_error *err)
{
	struct d01_secret_backend be;

	if (d->o->secrets_dir != NULL || d->ks.core == NULL)
		return 0;
	if ((d->ksec = d01_kube_secrets_new(
		 d->env.base, d->ks.core, d->env.clock)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return -1;
	}
	d01_kube_secrets_backend(d->ksec, &be);
	d01_secrets_set_backend(d->env.secrets, &be);
	return 0;
}

/* The front-proxy trust source; none in demo mode. */
static int
trust_setup(struct d01_daemon *d, struct d01_error *err)
{
	const struct d01_daemon_opts *o = d->o;
	struct d01_fp_flags fl = {o->allowed_csv, o->user_hdrs, o->group_hdrs,
	    o->extra_prefixes, o->uid_hdrs};

	if (o->demo || o->port == 0)
		return 0;
	if (o->client_ca != NULL)
		d->trust = d01_fp_source_file(d->env.base, o->client_ca, &fl,
		    (int)o->reload_ms, on_trust, d, err);
	else
		d->trust = d01_fp_source_configmap(d->env.base, d->ks.authn,
		    (int)o->trust_refresh_ms, on_trust, d, err);
	return d->trust != NULL ? 0 : -1;
}

static int
authz_setup(struct d01_daemon *d, struct d01_error *err)
{
	const struct d01_daemon_opts *o = d->o;
	struct d01_authz_cfg acfg = {0};

	if (o->demo || o->port == 0)
		return 0;
	if (d->ks.authz == NULL) {
		d01_log(D01_LOG_WARN, "authz_off",
		    "msg=\"no Kubernetes API: no SubjectAccessReviews; every "
		    "verified front-proxy identity may call the solvers\"");
		return 0;
	}
	acfg.ttl_allow_ms = o->authz_ttl_allow_ms;
	acfg.ttl_deny_ms = o->authz_ttl_deny_ms;
	if (d->lists.ngroups >= 0) {
		acfg.always_groups = d->lists.groups;
		acfg.nalways = (size_t)d->lists.ngroups;
	}
	d->authz = d01_authz_new(d->ks.authz, &acfg, err);
	return d->authz != NULL ? 0 : -1;
}

static int
lists_setup(struct d01_daemon *d, struct d01_error *err)
{
	const struct d01_daemon_opts *o = d->o;
	struct lists *l = &d->lists;

	l->npaths = l->ngroups = -1;
	if (o->allow_paths_csv != NULL &&
	    ((l->paths_csv = strdup(o->allow_paths_csv)) == NULL ||
		(l->npaths = d01_daemon_split(
		     l->paths_csv, l->paths, D01_STRLIST_MAX)) < 0))
		goto fail;
	if (o->allow_groups_csv != NULL &&
	    ((l->groups_csv = strdup(o->allow_groups_csv)) == NULL ||
		(l->ngroups = d01_daemon_split(
		     l->groups_csv, l->groups, D01_STRLIST_MAX)) < 0))
		goto fail;
	return 0;
fail:
	d01_error_set(err, D01_E_CONFIG,
	    "too many --authorization-always-allow-* entries");
	return -1;
}

/* The endpoint policy of --allow-provider-endpoint and the trust of
 * --provider-ca-file (core/endpoint.h). */
static int
endpoints_setup(struct d01_daemon *d, struct d01_error *err)
{
	size_t i;

	if ((d->endpoints = d01_endpoints_new()) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return -1;
	}
	for (i = 0; i < d->o->nendpoints; i++)
		if (d01_endpoints_add(d->endpoints, d->o->endpoints[i], err) !=
		    0)
			return -1;
	if (d->o->provider_ca_file != NULL &&
	    d01_endpoints_set_provider_ca(
		d->endpoints, d->o->provider_ca_file, err) != 0)
		return -1;
	return 0;
}

/* Loop, clients, secrets (--secrets-dir), and every provider's state:
 * the embedded zones and their DNS listener among them. */
static int
env_setup(struct d01_daemon *d, struct d01_error *err)
{
	const struct d01_daemon_opts *o = d->o;
	struct d01_env_opts eo = {.dns_max_inflight = 4096,
	    .secrets_dir = o->secrets_dir,
	    .zones = o->zones,
	    .nzones = o->nzones,
	    .dns_listens = o->dns_listen.v,
	    .ndns_listens = o->dns_listen.n,
	    .allow_transfer = o->allow_transfer.v,
	    .nallow_transfer = o->allow_transfer.n,
	    .notify = o->notify.v,
	    .nnotify = o->notify.n,
	    .tsig_keyfiles = o->tsig_keyfiles,
	    .ntsig_keyfiles = o->ntsig_keyfiles,
	    .update_policies = o->update_policies,
	    .nupdate_policies = o->nupdate_policies,
	    .endpoints = d->endpoints};

	if (d01_env_open(&d->env, &eo, err) != D01_OK)
		return -1;
	d->env_open = 1;
	d01_http_set_max_host_connections(d->env.http, o->max_upstream);
	return 0;
}

/* The webhook server, and the reload of its certificate. */
static int
server_setup(struct d01_daemon *d, struct d01_error *err)
{
	const struct d01_daemon_opts *o = d->o;
	struct d01_server_cfg cfg = {0};

	if (o->port == 0) /* no webhook: the acme-dns API alone */
		return 0;
	d->ctx = o->cert != NULL
	    ? d01_tls_server_ctx(o->cert, o->key, !o->demo, err)
	    : d01_tls_demo_ctx(err);
	if (d->ctx == NULL)
		return -1;
	cfg.group = o->group;
	cfg.no_auth = o->demo;
	cfg.authz = d->authz;
	cfg.kstore = d->kstore;
	cfg.dbstore = d->dbstore;
	cfg.acmedns_domain = o->acmedns.listen.n > 0 ? o->acmedns.domain : NULL;
	if (d->lists.npaths >= 0) {
		cfg.allow_paths = d->lists.paths;
		cfg.nallow_paths = (size_t)d->lists.npaths;
	}
	d01_http_limits_default(&cfg.limits);
	cfg.limits.request_timeout_ms = (int)o->request_ms;
	cfg.limits.idle_timeout_ms = (int)o->idle_ms;
	cfg.limits.max_inflight = (size_t)o->max_inflight;
	cfg.limits.max_conns = (size_t)o->max_conns;
	cfg.limits.max_body_total = (size_t)o->max_body_total;
	cfg.limits.head_timeout_ms = (int)o->head_ms;
	cfg.op_timeout_ms = o->provider_ms;
	if ((d->srv = d01_server_new(&d->env, d->ctx, &cfg, err)) == NULL)
		return -1;
	if (o->cert != NULL &&
	    (d->watch = d01_certwatch_new(d->env.base, o->cert, o->key,
		 !o->demo, (int)o->reload_ms, reload_ctx, d->srv, err)) == NULL)
		return -1;
	return 0;
}

/* The acme-dns API, once the store's back end is plugged in (accounts
 * go through it). */
static int
acmedns_setup(struct d01_daemon *d, struct d01_error *err)
{
	if (d->o->acmedns.listen.n == 0)
		return 0;
	d->adns = d01_acmedns_api_new(&d->env, &d->o->acmedns, err);
	return d->adns != NULL ? 0 : -1;
}

static int
signals_setup(struct d01_daemon *d, struct d01_error *err)
{
	d->sigterm = evsignal_new(d->env.base, SIGTERM, on_signal, d);
	d->sigint = evsignal_new(d->env.base, SIGINT, on_signal, d);
	if (d->sigterm == NULL || d->sigint == NULL ||
	    evsignal_add(d->sigterm, NULL) || evsignal_add(d->sigint, NULL)) {
		d01_error_set(err, D01_E_INTERNAL, "cannot handle signals");
		return -1;
	}
	return 0;
}

struct d01_daemon *
d01_daemon_new(const struct d01_daemon_opts *o, struct d01_error *err)
{
	struct d01_daemon *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	d->o = o;
	d01_error_clear(&d->err);
	if (lists_setup(d, err) != 0 || endpoints_setup(d, err) != 0 ||
	    env_setup(d, err) != 0 || kube_setup(d, err) != 0 ||
	    secrets_setup(d, err) != 0 || d01_daemon_store_setup(d, err) != 0 ||
	    authz_setup(d, err) != 0 || server_setup(d, err) != 0 ||
	    acmedns_setup(d, err) != 0 || signals_setup(d, err) != 0)
		goto fail;
	/* After every start-up check, so a refusal stays one line. */
	if (!o->demo && o->port != 0 && o->secrets_dir == NULL &&
	    d->ks.core == NULL)
		/* --authentication/authorization-kubeconfig reach an API, but
		 * only --kubeconfig (or the pod's) is used for Secrets. */
		d01_log(D01_LOG_WARN, "secrets_off",
		    "msg=\"no source for Secret references: no --secrets-dir "
		    "and no Kubernetes API for Secrets (not in a cluster, no "
		    "--kubeconfig); providers that need credentials will "
		    "fail\"");
	/* on_trust starts listening once the first trust is there: at once
	 * from a CA file, from the loop when read from the ConfigMap. */
	if (trust_setup(d, err) != 0)
		goto fail;
	if (d->err.code != D01_OK) { /* the CA file's trust was refused */
		*err = d->err;
		goto fail;
	}
	if (o->demo) {
		d01_log(D01_LOG_WARN, "demo_mode",
		    "msg=\"client authentication is OFF; loopback only\"");
		if (start_listening(d, err) != 0)
			goto fail;
	}
	return d;
fail:
	d01_daemon_free(d);
	return NULL;
}

/*
 * Every connection is a file descriptor: take the hard limit rather than
 * the (often 1024) soft one, so --max-connections is not cut short by
 * accept() failing first.
 */
static void
raise_nofile(const struct d01_daemon_opts *o)
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

enum d01_err
d01_daemon_run(struct d01_daemon *d, struct d01_error *err)
{
	/* Here, once the configuration has been accepted: a usage error
	 * stays a single line. */
	raise_nofile(d->o);
	event_base_dispatch(d->env.base);
	*err = d->err;
	return err->code;
}

void
d01_daemon_free(struct d01_daemon *d)
{
	if (d == NULL)
		return;
	if (d->sigterm != NULL)
		event_free(d->sigterm);
	if (d->sigint != NULL)
		event_free(d->sigint);
	d01_fp_source_free(d->trust);
	d01_certwatch_free(d->watch);
	d01_server_free(d->srv);
	d01_acmedns_api_free(d->adns);
	d01_authz_free(d->authz);
	/* Every op and Secret lookup went with the server. The Secrets
	 * cache keeps events on the env's loop, and the Kubernetes clients
	 * use its HTTP client: both go before the env (the secret store
	 * holds the backend's pointer but never follows it when freed). */
	d01_kube_secrets_free(d->ksec);
	if (d->kstore != NULL && d->env_open)
		d01_embedded_set_backend(&d->env, NULL);
	d01_kube_store_free(d->kstore);
	if (d->dbstore != NULL && d->env_open)
		d01_embedded_set_backend(&d->env, NULL);
	d01_dbstore_free(d->dbstore);
	kube_free(&d->ks);
	if (d->env_open)
		d01_env_close(&d->env);
	SSL_CTX_free(d->ctx);
	free(d->lists.paths_csv);
	free(d->lists.groups_csv);
	d01_endpoints_free(d->endpoints);
	free(d);
}

int
d01_daemon_split(char *csv, const char **out, size_t max)
{
	size_t n = 0;
	char *tok, *save = NULL;

	for (tok = strtok_r(csv, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (*tok == '\0')
			continue;
		if (n == max)
			return -1;
		out[n++] = tok;
	}
	return (int)n;
}
