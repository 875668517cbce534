/* SPDX-License-Identifier: ISC */
/*
 * The issuance driver (issue.h), the event-loop part: one env and loop for
 * every group; per group, renewalInfo look-ups for jobs whose verdict waits
 * on ARI, then the account, then every due order in parallel on the
 * group's session; each finished order writes its set and starts its
 * deploy hook (issue_done.c). A deadline and SIGINT/SIGTERM abort the
 * orders, which still clean up.
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
#include "issuer/hook.h"
#include "issuer/issue_run.h"
#include "issuer/order.h"
#include "providers/env.h"
#include "providers/provider.h"

/* Time allowed for cleanups after an abort before the loop is left. */
#define ABORT_GRACE_S 30
/* Embedded zones one run serves, all groups together. */
#define RUN_MAX_ZONES 64

static void start_account(struct issue_grp *grp);

/* The loop ends when no group is active and no hook runs any more. */
void
d01_issue_run_maybe_done(struct issue_run *run)
{
	if (run->active == 0 && d01_hooks_running(run->hooks) == 0)
		event_base_loopexit(run->base, NULL);
}

static void
grp_done(struct issue_grp *grp)
{
	if (grp->done++)
		return;
	grp->run->active--;
	d01_issue_run_maybe_done(grp->run);
}

static void
grp_fail(struct issue_grp *grp, const struct d01_error *err)
{
	if (grp->g->err.code == D01_OK)
		grp->g->err = *err;
	if (grp->orders_pending == 0)
		grp_done(grp);
}

/* Deadline or signal: stop what is running; orders clean up first. */
static void
abort_all(struct issue_run *run, const char *why)
{
	struct timeval grace = {ABORT_GRACE_S, 0};
	struct issue_grp *grp;
	struct d01_error err;
	size_t i, k;

	if (run->aborted++)
		return;
	d01_error_set(&err, D01_E_TIMEOUT, "%s", why);
	for (k = 0; k < run->ngrps; k++) {
		grp = &run->grps[k];
		for (i = 0; i < grp->g->njobs; i++) {
			d01_acme_http_cancel(grp->g->jobs[i].ari);
			grp->g->jobs[i].ari = NULL;
			if (grp->g->jobs[i].op != NULL)
				d01_acme_order_abort(grp->g->jobs[i].op);
		}
		d01_acme_account_cancel(grp->acct);
		grp->acct = NULL;
		if (!grp->done)
			grp_fail(grp, &err);
	}
	evtimer_add(run->deadline, &grace); /* then give up */
	d01_issue_run_maybe_done(run);
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
	snprintf(
	    why, sizeof(why), "timed out after %ld s", run->timeout_ms / 1000);
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
	struct d01_issue_job *job = arg;
	struct issue_grp *grp = job->grp;

	job->op = NULL;
	job->finished = 1;
	d01_issue_job_done(grp, job, err, pem, len);
	if (--grp->orders_pending == 0)
		grp_done(grp);
}

static int
wants_order(const struct d01_issue_job *job)
{
	return job->due == 1 && !job->finished;
}

static void
start_orders(struct issue_grp *grp)
{
	struct d01_acme_order_opts oo = {0};
	struct d01_issue_job *job;
	size_t i;

	for (i = 0; i < grp->g->njobs; i++) {
		job = &grp->g->jobs[i];
		if (!wants_order(job))
			continue;
		oo.names = (const char *const *)job->names;
		oo.nnames = job->nnames;
		oo.cert_key = job->cert_key;
		oo.replaces = job->replaces[0] &&
			d01_acme_directory(grp->acme)->renewal_info
		    ? job->replaces
		    : NULL;
		oo.poll_timeout_ms = 120000;
		oo.solve = &grp->solve;
		job->grp = grp;
		job->op = d01_acme_order_start(
		    grp->acme, &oo, order_done, job, &job->result);
		if (job->op == NULL)
			job->finished = 1;
		else
			grp->orders_pending++;
	}
	if (grp->orders_pending == 0)
		grp_done(grp);
}

static void
account_done(void *arg, const struct d01_error *err)
{
	struct issue_grp *grp = arg;

	grp->acct = NULL;
	if (err->code != D01_OK) {
		grp_fail(grp, err);
		return;
	}
	start_orders(grp);
}

/* The account key: loaded, or made (EC P-256) and saved 0600 at once so
 * that an account created at the CA is never orphaned. */
static enum d01_err
account_key(struct issue_grp *grp, int *existed, struct d01_error *err)
{
	char path[1100];
	size_t i;

	if (grp->g->o->account_key != NULL) {
		snprintf(path, sizeof(path), "%s", grp->g->o->account_key);
	} else {
		for (i = 0; i + 1 < grp->g->njobs && grp->g->jobs[i].finished;
		     i++)
			;
		snprintf(
		    path, sizeof(path), "%s/account.key", grp->g->jobs[i].out);
	}
	*existed = 1;
	if ((grp->account_key = d01_key_load(path, err)) != NULL)
		return D01_OK;
	if (err->code != D01_E_NOTFOUND)
		return err->code;
	*existed = 0;
	d01_error_clear(err);
	if ((grp->account_key = d01_key_generate(D01_KEY_EC256, err)) == NULL)
		return err->code;
	return d01_key_save(path, grp->account_key, err);
}

/* --config FILE, or the provider's environment variables (their secrets
 * in the in-memory store, under D01_ENVVAR_NS and the group's name). */
static json_t *
provider_config(struct issue_grp *grp, struct d01_error *err)
{
	const struct d01_issue_opts *o = grp->g->o;
	json_error_t jerr;
	json_t *c;

	if (o->config == NULL) {
		grp->solve.namespace = D01_ENVVAR_NS;
		if (o->envsrc == NULL)
			return NULL; /* as a provider without variables */
		grp->envsrc = *o->envsrc;
		grp->envsrc.secret = grp->secret;
		c = d01_provider_envsrc_config(
		    grp->prov, &grp->envsrc, grp->run->env.secrets, err);
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

/* The provider's config, parsed (the env is open). */
static enum d01_err
setup_dns(struct issue_grp *grp, struct d01_error *err)
{
	json_t *cfg;

	grp->solve.namespace = grp->g->o->ns;
	cfg = provider_config(grp, err);
	if (cfg == NULL && err->code != D01_OK)
		return err->code;
	if (d01_provider_config_ca_file(cfg, err) != 0) {
		json_decref(cfg);
		return err->code;
	}
	grp->prov->config_parse(&grp->run->env, cfg, &grp->cfg, err);
	json_decref(cfg);
	return err->code;
}

/* What the TXT checker asks: --nameserver, the embedded server, or the
 * zone's own authoritative servers found through a resolver. */
static enum d01_err
setup_check(struct issue_grp *grp, struct d01_error *err)
{
	const struct d01_issue_opts *o = grp->g->o;
	struct d01_txtcheck_opts *c = &grp->solve.check;

	c->timeout_ms = (int)o->propagation_ms;
	c->interval_ms = 250;
	if (o->nservers > 0) {
		c->servers = o->servers;
		c->nservers = o->nservers;
	} else if (o->dns_listen != NULL) {
		if (d01_dns_server_parse(
			o->dns_listen, 53, &grp->listen_srv, err) != D01_OK)
			return err->code;
		c->servers = &grp->listen_srv;
		c->nservers = 1;
	} else {
		if (d01_dns_server_parse(
			o->resolver, 53, &grp->resolver, err) != D01_OK)
			return err->code;
		c->resolver = &grp->resolver;
		c->ns_port = o->ns_port;
	}
	return D01_OK;
}

static enum d01_err
setup_issuing(struct issue_grp *grp, int *existed, struct d01_error *err)
{
	struct d01_issue_job *job;
	size_t i;

	if (account_key(grp, existed, err) != D01_OK ||
	    setup_dns(grp, err) != D01_OK || setup_check(grp, err) != D01_OK)
		return err->code;
	for (i = 0; i < grp->g->njobs; i++) {
		job = &grp->g->jobs[i];
		if (wants_order(job) &&
		    (job->cert_key =
			    d01_key_generate(grp->g->o->key_type, err)) == NULL)
			return err->code;
	}
	if ((grp->acme = d01_acme_new(
		 grp->run->base, grp->http, grp->account_key, err)) == NULL)
		return err->code;
	grp->solve.acme = grp->acme;
	grp->solve.env = &grp->run->env;
	grp->solve.provider = grp->prov;
	grp->solve.provider_cfg = grp->cfg;
	/* The user's own credentials (AWS_*, files), as in present. */
	grp->solve.allow_ambient = 1;
	grp->solve.poll_timeout_ms = 120000;
	/* As present/cleanup's default --timeout. */
	grp->solve.op_timeout_ms = 60000;
	return D01_OK;
}

static void
start_account(struct issue_grp *grp)
{
	const struct d01_issue_opts *o = grp->g->o;
	struct d01_acme_account_opts ao = {0};
	struct d01_error err;
	int existed = 0;

	d01_error_clear(&err);
	if (setup_issuing(grp, &existed, &err) != D01_OK) {
		grp_fail(grp, &err);
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
	grp->acct =
	    d01_acme_account_start(grp->acme, &ao, account_done, grp, &err);
	if (grp->acct == NULL)
		grp_fail(grp, &err);
}

/* Every verdict of the group is known: report what is not due (or, in a
 * dry run, everything), issue the rest. */
static void
after_plan(struct issue_grp *grp)
{
	struct d01_issue_job *job;
	size_t i, due = 0;

	for (i = 0; i < grp->g->njobs; i++) {
		job = &grp->g->jobs[i];
		if (job->finished)
			continue; /* failed in the plan */
		if (job->due != 1)
			d01_issue_print_not_due(job);
		else if (grp->run->dry_run)
			printf("%s: would renew (%s)\n", job->out,
			    d01_renew_why_text(job->why));
		else
			due++;
	}
	if (due == 0)
		grp_done(grp);
	else
		start_account(grp);
}

static void
ari_done(void *arg, const struct d01_error *err, const struct d01_acme_reply *r)
{
	char qo[300];
	struct d01_issue_job *job = arg;
	struct issue_grp *grp = job->grp;
	struct d01_ari_window w;
	struct d01_error e;

	job->ari = NULL;
	if (err->code == D01_OK && r->status == 200 &&
	    d01_ari_parse(r->body, r->len, &w, &e) == D01_OK) {
		d01_issue_plan_ari(grp->g->o, job, &w);
	} else {
		/* No window: fall back to --renew-before. */
		d01_log(D01_LOG_WARN, "issue",
		    "out=%s renewalInfo=unavailable status=%ld",
		    d01_log_quote(qo, sizeof(qo), job->out),
		    r ? r->status : 0L);
		d01_issue_plan_ari(grp->g->o, job, NULL);
	}
	if (--grp->ari_pending == 0)
		after_plan(grp);
}

/* Ask the CA's renewalInfo for every job whose verdict waits on it. */
static void
start_ari(struct issue_grp *grp)
{
	struct d01_issue_job *job;
	struct d01_error err;
	size_t i;

	for (i = 0; i < grp->g->njobs; i++) {
		job = &grp->g->jobs[i];
		if (job->due != -1 || job->finished)
			continue;
		job->grp = grp;
		job->ari = d01_acme_http_start(grp->http, "GET", job->ari_url,
		    NULL, 0, ari_done, job, &err);
		if (job->ari != NULL)
			grp->ari_pending++;
		else
			d01_issue_plan_ari(grp->g->o, job, NULL);
	}
	if (grp->ari_pending == 0)
		after_plan(grp);
}

static void
grp_teardown(struct issue_grp *grp)
{
	size_t i;

	for (i = 0; i < grp->g->njobs; i++) {
		d01_acme_http_cancel(grp->g->jobs[i].ari);
		grp->g->jobs[i].ari = NULL;
		d01_acme_order_cancel(grp->g->jobs[i].op);
		grp->g->jobs[i].op = NULL;
	}
	d01_acme_account_cancel(grp->acct);
	d01_acme_free(grp->acme);
	if (grp->cfg != NULL)
		grp->prov->config_free(grp->cfg);
	d01_acme_http_free(grp->http);
	EVP_PKEY_free(grp->account_key);
}

static void
teardown(struct issue_run *run)
{
	size_t i;

	for (i = 0; i < run->ngrps; i++)
		grp_teardown(&run->grps[i]);
	d01_hooks_free(run->hooks); /* kills what still runs */
	if (run->deadline != NULL)
		event_free(run->deadline);
	if (run->sigint != NULL)
		event_free(run->sigint);
	if (run->sigterm != NULL)
		event_free(run->sigterm);
	d01_env_close(&run->env); /* the loop too: after its events */
}

/* The env serves what every group needs: zones add up, one listener and
 * one secrets directory (a group wanting another fails alone). */
static void
env_opts(struct issue_run *run, struct d01_env_opts *eo, const char **zones)
{
	const struct d01_issue_opts *o;
	struct d01_error err;
	size_t i, k;

	for (k = 0; k < run->ngrps; k++) {
		o = run->grps[k].g->o;
		d01_error_clear(&err);
		if (o->dns_listen != NULL && eo->dns_listen != NULL &&
		    strcmp(o->dns_listen, eo->dns_listen) != 0)
			d01_error_set(&err, D01_E_CONFIG,
			    "dns_listen %s: this run already listens on %s",
			    o->dns_listen, eo->dns_listen);
		else if (o->secrets_dir != NULL && eo->secrets_dir != NULL &&
		    strcmp(o->secrets_dir, eo->secrets_dir) != 0)
			d01_error_set(&err, D01_E_CONFIG,
			    "secrets_dir %s: this run already reads %s",
			    o->secrets_dir, eo->secrets_dir);
		else if (eo->nzones + o->nzones > RUN_MAX_ZONES)
			d01_error_set(&err, D01_E_CONFIG,
			    "more than %d embedded zones in one run",
			    RUN_MAX_ZONES);
		if (err.code != D01_OK) {
			grp_fail(&run->grps[k], &err);
			continue;
		}
		if (o->dns_listen != NULL)
			eo->dns_listen = o->dns_listen;
		if (o->secrets_dir != NULL)
			eo->secrets_dir = o->secrets_dir;
		for (i = 0; i < o->nzones; i++)
			zones[eo->nzones++] = o->zones[i];
		if (o->timeout_ms > run->timeout_ms)
			run->timeout_ms = o->timeout_ms;
	}
}

static enum d01_err
open_loop(struct issue_run *run, struct d01_error *err)
{
	struct timeval tv;
	const char *zones[RUN_MAX_ZONES];
	/* Before the CA is asked anything: a zone, --dns-listen or
	 * --secrets-dir that cannot work fails the run at once. */
	struct d01_env_opts eo = {.dns_max_inflight = 1024,
	    .endpoints = &d01_endpoints_any, /* the user's own choice */
	    .zones = zones};

	env_opts(run, &eo, zones);
	if (d01_env_open(&run->env, &eo, err) != D01_OK)
		return err->code;
	run->base = run->env.base;
	if ((run->deadline = evtimer_new(run->base, on_deadline, run)) ==
		NULL ||
	    (run->sigint = evsignal_new(run->base, SIGINT, on_signal, run)) ==
		NULL ||
	    (run->sigterm = evsignal_new(run->base, SIGTERM, on_signal, run)) ==
		NULL ||
	    evsignal_add(run->sigint, NULL) != 0 ||
	    evsignal_add(run->sigterm, NULL) != 0)
		return d01_error_set(
		    err, D01_E_NOMEM, "cannot set up the loop");
	if ((run->hooks = d01_hooks_new(run->base, err)) == NULL)
		return err->code;
	tv.tv_sec = run->timeout_ms / 1000;
	tv.tv_usec = (run->timeout_ms % 1000) * 1000;
	evtimer_add(run->deadline, &tv);
	return D01_OK;
}

/* Plan every job (a job that cannot be planned fails alone), then make
 * each group's ACME transport. */
static void
plan_all(struct issue_run *run)
{
	struct issue_grp *grp;
	struct d01_issue_job *job;
	struct d01_error err;
	size_t i, k;

	for (k = 0; k < run->ngrps; k++) {
		grp = &run->grps[k];
		for (i = 0; i < grp->g->njobs; i++) {
			job = &grp->g->jobs[i];
			job->grp = grp;
			if (d01_issue_plan(grp->g->o, job, &err) != D01_OK) {
				job->due = 1;
				job->finished = 1;
				job->result = err;
			}
		}
		grp->prov = d01_provider_find(grp->g->o->provider);
		if (k > 0)
			snprintf(
			    grp->secret, sizeof(grp->secret), "env-%zu", k);
		else
			snprintf(grp->secret, sizeof(grp->secret), "env");
	}
}

enum d01_issue_status
d01_issue_groups(struct d01_issue_group *groups, size_t ngroups, int dry_run,
    const char *prog)
{
	struct issue_run run = {.dry_run = dry_run, .prog = prog};
	struct issue_grp *grp;
	enum d01_issue_status rc;
	size_t k;

	d01_error_clear(&run.err);
	if ((run.grps = calloc(ngroups ? ngroups : 1, sizeof(*run.grps))) ==
	    NULL) {
		fprintf(stderr, "dns01: out of memory\n");
		return D01_ISSUE_FAILED;
	}
	run.ngrps = run.active = ngroups;
	for (k = 0; k < ngroups; k++) {
		run.grps[k].run = &run;
		run.grps[k].g = &groups[k];
		d01_error_clear(&groups[k].err);
	}
	plan_all(&run);
	if (open_loop(&run, &run.err) != D01_OK)
		goto out;
	for (k = 0; k < ngroups; k++) {
		grp = &run.grps[k];
		if (grp->done)
			continue;
		if ((grp->http = d01_acme_http_new(
			 run.base, grp->g->o->ca_bundle, &grp->g->err)) == NULL)
			grp_done(grp);
		else
			start_ari(grp);
	}
	if (run.active > 0 || d01_hooks_running(run.hooks) > 0)
		event_base_dispatch(run.base);
out:
	rc = d01_issue_report(&run);
	teardown(&run);
	free(run.grps);
	return rc;
}

enum d01_issue_status
d01_issue(
    const struct d01_issue_opts *o, struct d01_issue_job *jobs, size_t njobs)
{
	struct d01_issue_group g = {.o = o, .jobs = jobs, .njobs = njobs};

	return d01_issue_groups(&g, 1, 0, "dns01 issue");
}
