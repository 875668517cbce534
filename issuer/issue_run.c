/* SPDX-License-Identifier: ISC */
/*
 * The issuance driver (issue.h), the event-loop part: renewalInfo look-ups for
 * jobs whose verdict waits on ARI, then the account, then every due order in
 * parallel on one session; each finished order writes its set. A
 * deadline and SIGINT/SIGTERM abort the orders, which still clean up.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "issuer/issue.h"
#include "core/endpoint.h"
#include "core/log.h"
#include "issuer/account.h"
#include "issuer/acme.h"
#include "issuer/acme_http.h"
#include "issuer/caa_check.h"
#include "issuer/order.h"
#include "providers/env.h"
#include "providers/provider.h"

/* Time allowed for cleanups after an abort before the loop is left. */
#define ABORT_GRACE_S 30

struct issue_run {
	const struct d01_issue_opts *o;
	struct d01_issue_job *jobs;
	size_t njobs;
	struct event_base *base;
	struct d01_env env; /* with the embedded zones and listener */
	const struct d01_provider *prov;
	void *cfg;
	struct d01_acme_http *http;
	struct d01_acme *acme;
	EVP_PKEY *account_key;
	struct d01_acme_account_op *acct;
	struct d01_caa_check *caa;
	struct d01_dns_server caa_resolver;
	struct d01_acme_xfer *ari[D01_ISSUE_MAX_JOBS];
	size_t ari_pending, orders_pending;
	struct d01_dns_server resolver, listen_srv;
	struct d01_solve_ctx solve;
	struct event *deadline, *sigint, *sigterm;
	struct d01_error err; /* a failure of the whole run */
	int aborted;
};

static void start_account(struct issue_run *run);

static void
run_fail(struct issue_run *run, const struct d01_error *err)
{
	if (run->err.code == D01_OK)
		run->err = *err;
	event_base_loopexit(run->base, NULL);
}

/* Deadline or signal: stop what is running; orders clean up first. */
static void
abort_all(struct issue_run *run, const char *why)
{
	struct timeval grace = {ABORT_GRACE_S, 0};
	struct d01_error err;
	size_t i;

	if (run->aborted++)
		return;
	d01_error_set(&err, D01_E_TIMEOUT, "%s", why);
	if (run->err.code == D01_OK)
		run->err = err;
	for (i = 0; i < run->njobs; i++) {
		d01_acme_http_cancel(run->ari[i]);
		run->ari[i] = NULL;
		if (run->jobs[i].op != NULL)
			d01_acme_order_abort(run->jobs[i].op);
	}
	d01_acme_account_cancel(run->acct);
	run->acct = NULL;
	d01_caa_check_cancel(run->caa);
	run->caa = NULL;
	if (run->orders_pending == 0)
		event_base_loopexit(run->base, NULL);
	else
		evtimer_add(run->deadline, &grace); /* then give up */
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct issue_run *run = arg;
	char why[64];

	(void)fd;
	(void)what;
	if (run->aborted) {
		event_base_loopexit(run->base, NULL);
		return;
	}
	snprintf(why, sizeof(why), "timed out after %ld s",
	    run->o->timeout_ms / 1000);
	abort_all(run, why);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	abort_all(arg, sig == SIGINT ? "interrupted" : "terminated");
}

static void
order_done(void *arg, const struct d01_error *err, const char *pem, size_t len)
{
	char qm[600], qo[300];
	struct d01_issue_job *job = arg;
	struct issue_run *run = job->run;
	const struct d01_acme_dir *d = d01_acme_directory(run->acme);
	struct d01_error e = *err;

	job->op = NULL;
	job->finished = 1;
	if (e.code == D01_OK)
		d01_issue_write(run->o, job, d->renewal_info, pem, len, &e);
	job->result = e;
	if (e.code == D01_OK)
		printf("%s: issued for %s (%s)\n", job->out, job->names[0],
		    d01_renew_why_text(job->why));
	d01_log(e.code ? D01_LOG_ERR : D01_LOG_INFO, "issue",
	    "out=%s result=%s", d01_log_quote(qo, sizeof(qo), job->out),
	    d01_log_quote(qm, sizeof(qm), e.code ? e.msg : "issued"));
	if (--run->orders_pending == 0)
		event_base_loopexit(run->base, NULL);
}

static void
start_orders(struct issue_run *run)
{
	struct d01_acme_order_opts oo = {0};
	struct d01_issue_job *job;
	size_t i;

	for (i = 0; i < run->njobs; i++) {
		job = &run->jobs[i];
		if (job->due != 1 || job->result.code != D01_OK)
			continue; /* not due, or refused by the CAA check */
		oo.names = (const char *const *)job->names;
		oo.nnames = job->nnames;
		oo.cert_key = job->cert_key;
		oo.replaces = job->replaces[0] &&
			d01_acme_directory(run->acme)->renewal_info
		    ? job->replaces
		    : NULL;
		oo.profile = run->o->profile;
		oo.poll_timeout_ms = 120000;
		oo.solve = &run->solve;
		job->run = run;
		job->op = d01_acme_order_start(
		    run->acme, &oo, order_done, job, &job->result);
		if (job->op == NULL)
			job->finished = 1;
		else
			run->orders_pending++;
	}
	if (run->orders_pending == 0)
		event_base_loopexit(run->base, NULL);
}

/* --profile must be one the directory offers: refused before any order,
 * naming those it does offer. */
static enum d01_err
check_profile(struct issue_run *run, struct d01_error *err)
{
	const struct d01_acme_dir *d = d01_acme_directory(run->acme);
	char offered[400];

	if (run->o->profile == NULL ||
	    d01_acme_dir_profile(d, run->o->profile) >= 0)
		return D01_OK;
	d01_acme_dir_profiles_text(d, offered, sizeof(offered));
	return d01_error_set(err, D01_E_CONFIG,
	    "--profile %.64s: the CA does not offer it (offered: %s)",
	    run->o->profile, offered);
}

static void
caa_done(void *arg)
{
	struct issue_run *run = arg;

	run->caa = NULL;
	start_orders(run);
}

/* Before any order: the CAA pre-check (issuer/caa_check.h), unless
 * skipped or the CA names no caaIdentities to check against. */
static void
start_caa(struct issue_run *run)
{
	const struct d01_issue_opts *o = run->o;
	const struct d01_acme_dir *d = d01_acme_directory(run->acme);
	struct d01_caa_check_opts co = {.base = run->base,
	    .dns = run->env.dns,
	    .servers = o->servers,
	    .nservers = o->nservers,
	    .ns_port = o->ns_port,
	    .timeout_ms = 30000,
	    .ids = (const char *const *)d->caa_ids,
	    .nids = d->ncaa_ids,
	    .account = d01_acme_kid(run->acme)};
	struct d01_error err;

	d01_error_clear(&err);
	if (o->skip_caa || d->ncaa_ids == 0) {
		d01_log(D01_LOG_INFO, "issue", "caa=unchecked reason=%s",
		    o->skip_caa ? "--skip-caa-check"
				: "the-directory-names-no-caaIdentities");
		start_orders(run);
		return;
	}
	if (o->nservers == 0) {
		if (d01_dns_server_parse(
			o->resolver, 53, &run->caa_resolver, &err) != D01_OK) {
			run_fail(run, &err);
			return;
		}
		co.resolver = &run->caa_resolver;
	}
	run->caa = d01_caa_check_start(
	    &co, run->jobs, run->njobs, caa_done, run, &err);
	if (run->caa == NULL)
		run_fail(run, &err);
}

static void
account_done(void *arg, const struct d01_error *err)
{
	struct issue_run *run = arg;
	struct d01_error e;

	run->acct = NULL;
	if (err->code != D01_OK) {
		run_fail(run, err);
		return;
	}
	d01_error_clear(&e);
	if (check_profile(run, &e) != D01_OK) {
		run_fail(run, &e);
		return;
	}
	start_caa(run);
}

/* The account key: loaded, or made (EC P-256) and saved 0600 at once so
 * that an account created at the CA is never orphaned. */
static enum d01_err
account_key(struct issue_run *run, int *existed, struct d01_error *err)
{
	char path[1100];

	if (run->o->account_key != NULL)
		snprintf(path, sizeof(path), "%s", run->o->account_key);
	else
		snprintf(
		    path, sizeof(path), "%s/account.key", run->jobs[0].out);
	*existed = 1;
	if ((run->account_key = d01_key_load(path, err)) != NULL)
		return D01_OK;
	if (err->code != D01_E_NOTFOUND)
		return err->code;
	*existed = 0;
	d01_error_clear(err);
	if ((run->account_key = d01_key_generate(D01_KEY_EC256, err)) == NULL)
		return err->code;
	return d01_key_save(path, run->account_key, err);
}

/* --config FILE, or the provider's environment variables (their secrets
 * in the in-memory store, under D01_ENVVAR_NS). */
static json_t *
provider_config(struct issue_run *run, struct d01_error *err)
{
	const struct d01_issue_opts *o = run->o;
	json_error_t jerr;
	json_t *c;

	if (o->config == NULL) {
		run->solve.namespace = D01_ENVVAR_NS;
		if (o->getenv == NULL)
			return NULL; /* as a provider without variables */
		c = d01_provider_env_config(
		    run->prov, o->getenv, run->env.secrets, err);
		if (c == NULL && err->code != D01_OK)
			d01_error_prefix(err, "no --config and ");
		return c;
	}
	if ((c = json_load_file(o->config, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL)
		d01_error_set(err, D01_E_CONFIG, "%s: %s (line %d)", o->config,
		    jerr.text, jerr.line);
	return c;
}

/* The provider's config, parsed (the env is open since issue_run). */
static enum d01_err
setup_dns(struct issue_run *run, struct d01_error *err)
{
	json_t *cfg;

	run->solve.namespace = run->o->ns;
	cfg = provider_config(run, err);
	if (cfg == NULL && err->code != D01_OK)
		return err->code;
	if (d01_provider_config_ca_file(cfg, err) != 0) {
		json_decref(cfg);
		return err->code;
	}
	run->prov->config_parse(&run->env, cfg, &run->cfg, err);
	json_decref(cfg);
	return err->code;
}

/* What the TXT checker asks: --nameserver, the embedded server, or the
 * zone's own authoritative servers found through a resolver. */
static enum d01_err
setup_check(struct issue_run *run, struct d01_error *err)
{
	const struct d01_issue_opts *o = run->o;
	struct d01_txtcheck_opts *c = &run->solve.check;

	c->timeout_ms = (int)o->propagation_ms;
	c->interval_ms = 250;
	if (o->nservers > 0) {
		c->servers = o->servers;
		c->nservers = o->nservers;
	} else if (o->dns_listen != NULL) {
		if (d01_dns_server_parse(
			o->dns_listen, 53, &run->listen_srv, err) != D01_OK)
			return err->code;
		c->servers = &run->listen_srv;
		c->nservers = 1;
	} else {
		if (d01_dns_server_parse(
			o->resolver, 53, &run->resolver, err) != D01_OK)
			return err->code;
		c->resolver = &run->resolver;
		c->ns_port = o->ns_port;
	}
	return D01_OK;
}

static enum d01_err
setup_issuing(struct issue_run *run, int *existed, struct d01_error *err)
{
	size_t i;

	if (account_key(run, existed, err) != D01_OK ||
	    setup_dns(run, err) != D01_OK || setup_check(run, err) != D01_OK)
		return err->code;
	for (i = 0; i < run->njobs; i++)
		if (run->jobs[i].due == 1 &&
		    (run->jobs[i].cert_key =
			    d01_key_generate(run->o->key_type, err)) == NULL)
			return err->code;
	if ((run->acme = d01_acme_new(
		 run->base, run->http, run->account_key, err)) == NULL)
		return err->code;
	run->solve.acme = run->acme;
	run->solve.env = &run->env;
	run->solve.provider = run->prov;
	run->solve.provider_cfg = run->cfg;
	/* The user's own credentials (AWS_*, files), as in present. */
	run->solve.allow_ambient = 1;
	run->solve.poll_timeout_ms = 120000;
	/* As present/cleanup's default --timeout. */
	run->solve.op_timeout_ms = 60000;
	return D01_OK;
}

static void
start_account(struct issue_run *run)
{
	const struct d01_issue_opts *o = run->o;
	struct d01_acme_account_opts ao = {0};
	struct d01_error err;
	int existed = 0;

	d01_error_clear(&err);
	if (setup_issuing(run, &existed, &err) != D01_OK) {
		run_fail(run, &err);
		return;
	}
	ao.directory = o->directory;
	ao.email = o->email;
	ao.key_existed = existed;
	if (o->eab_kid != NULL) {
		ao.eab_kid = o->eab_kid;
		ao.eab_key = o->eab_key;
		ao.eab_len = o->eab_len;
	}
	run->acct =
	    d01_acme_account_start(run->acme, &ao, account_done, run, &err);
	if (run->acct == NULL)
		run_fail(run, &err);
}

/* Every verdict is known: report what is not due, issue the rest. */
static void
after_plan(struct issue_run *run)
{
	size_t i, due = 0;

	for (i = 0; i < run->njobs; i++) {
		if (run->jobs[i].due == 1)
			due++;
		else
			d01_issue_print_not_due(&run->jobs[i]);
	}
	if (due == 0)
		event_base_loopexit(run->base, NULL);
	else
		start_account(run);
}

static void
ari_done(void *arg, const struct d01_error *err, const struct d01_acme_reply *r)
{
	char qo[300];
	struct d01_issue_job *job = arg;
	struct issue_run *run = job->run;
	struct d01_ari_window w;
	struct d01_error e;

	run->ari[job - run->jobs] = NULL;
	if (err->code == D01_OK && r->status == 200 &&
	    d01_ari_parse(r->body, r->len, &w, &e) == D01_OK) {
		d01_issue_plan_ari(run->o, job, &w);
	} else {
		/* No window: fall back to --renew-before. */
		d01_log(D01_LOG_WARN, "issue",
		    "out=%s renewalInfo=unavailable status=%ld",
		    d01_log_quote(qo, sizeof(qo), job->out),
		    r ? r->status : 0L);
		d01_issue_plan_ari(run->o, job, NULL);
	}
	if (--run->ari_pending == 0)
		after_plan(run);
}

/* Ask the CA's renewalInfo for every job whose verdict waits on it. */
static void
start_ari(struct issue_run *run)
{
	struct d01_error err;
	size_t i;

	for (i = 0; i < run->njobs; i++) {
		if (run->jobs[i].due != -1)
			continue;
		run->jobs[i].run = run;
		run->ari[i] =
		    d01_acme_http_start(run->http, "GET", run->jobs[i].ari_url,
			NULL, 0, ari_done, &run->jobs[i], &err);
		if (run->ari[i] != NULL)
			run->ari_pending++;
		else
			d01_issue_plan_ari(run->o, &run->jobs[i], NULL);
	}
	if (run->ari_pending == 0)
		after_plan(run);
}

static void
teardown(struct issue_run *run)
{
	size_t i;

	for (i = 0; i < run->njobs; i++) {
		d01_acme_http_cancel(run->ari[i]);
		d01_acme_order_cancel(run->jobs[i].op);
		run->jobs[i].op = NULL;
	}
	d01_acme_account_cancel(run->acct);
	d01_caa_check_cancel(run->caa);
	d01_acme_free(run->acme);
	if (run->cfg != NULL)
		run->prov->config_free(run->cfg);
	d01_acme_http_free(run->http);
	EVP_PKEY_free(run->account_key);
	if (run->deadline != NULL)
		event_free(run->deadline);
	if (run->sigint != NULL)
		event_free(run->sigint);
	if (run->sigterm != NULL)
		event_free(run->sigterm);
	d01_env_close(&run->env); /* the loop too: after its events */
}

/* The outcome: one line per failed job. */
static enum d01_issue_status
report(struct issue_run *run)
{
	size_t i;
	enum d01_issue_status rc = D01_ISSUE_DONE;

	if (run->err.code != D01_OK) {
		fprintf(stderr, "dns01 issue: %s\n", run->err.msg);
		rc = run->err.code == D01_E_CONFIG ? D01_ISSUE_BADCONF
						   : D01_ISSUE_FAILED;
	}
	for (i = 0; i < run->njobs; i++) {
		if (run->jobs[i].due != 1 || run->jobs[i].result.code == D01_OK)
			continue;
		if (run->jobs[i].result.code != D01_E_CANCELLED ||
		    run->err.code == D01_OK)
			fprintf(stderr, "dns01 issue: %s%s%s\n",
			    run->njobs > 1 ? run->jobs[i].out : "",
			    run->njobs > 1 ? ": " : "",
			    run->jobs[i].result.msg[0] ? run->jobs[i].result.msg
						       : "not issued");
		rc = D01_ISSUE_FAILED;
	}
	return rc;
}

static enum d01_issue_status
issue_run(
    const struct d01_issue_opts *o, struct d01_issue_job *jobs, size_t njobs)
{
	struct issue_run run = {.o = o, .jobs = jobs, .njobs = njobs};
	enum d01_issue_status rc;
	struct timeval tv = {
	    o->timeout_ms / 1000, (o->timeout_ms % 1000) * 1000};
	/* Before the CA is asked anything: a zone, --dns-listen or
	 * --secrets-dir that cannot work fails the run at once. */
	struct d01_env_opts eo = {.dns_max_inflight = 1024,
	    .secrets_dir = o->secrets_dir,
	    .endpoints = &d01_endpoints_any, /* the user's own choice */
	    .zones = o->zones,
	    .nzones = o->nzones,
	    .dns_listen = o->dns_listen};

	d01_error_clear(&run.err);
	run.prov = d01_provider_find(o->provider);
	if (d01_env_open(&run.env, &eo, &run.err) != D01_OK)
		goto out;
	run.base = run.env.base;
	if ((run.deadline = evtimer_new(run.base, on_deadline, &run)) == NULL ||
	    (run.sigint = evsignal_new(run.base, SIGINT, on_signal, &run)) ==
		NULL ||
	    (run.sigterm = evsignal_new(run.base, SIGTERM, on_signal, &run)) ==
		NULL ||
	    evsignal_add(run.sigint, NULL) != 0 ||
	    evsignal_add(run.sigterm, NULL) != 0) {
		d01_error_set(&run.err, D01_E_NOMEM, "cannot set up the loop");
		goto out;
	}
	if ((run.http = d01_acme_http_new(run.base, o->ca_bundle, &run.err)) ==
	    NULL)
		goto out;
	evtimer_add(run.deadline, &tv);
	start_ari(&run);
	if (run.err.code == D01_OK)
		event_base_dispatch(run.base);
	d01_log(D01_LOG_DEBUG, "issue", "acme_requests=%lu",
	    d01_acme_http_count(run.http));
out:
	rc = report(&run);
	teardown(&run);
	return rc;
}

enum d01_issue_status
d01_issue(
    const struct d01_issue_opts *o, struct d01_issue_job *jobs, size_t njobs)
{
	struct d01_error err;
	size_t i;

	for (i = 0; i < njobs; i++) {
		if (d01_issue_plan(o, &jobs[i], &err) != D01_OK) {
			fprintf(stderr, "dns01 issue: %s\n", err.msg);
			return D01_ISSUE_FAILED;
		}
	}
	return issue_run(o, jobs, njobs);
}
