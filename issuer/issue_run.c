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
#include "issuer/caa_check.h"
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
		d01_caa_check_cancel(grp->caa);
		grp->caa = NULL;
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
		oo.profile = grp->g->o->profile;
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

/* --profile must be one the directory offers: refused before any order,
 * naming those it does offer. */
static enum d01_err
check_profile(struct issue_grp *grp, struct d01_error *err)
{
	const struct d01_acme_dir *d = d01_acme_directory(grp->acme);
	const char *profile = grp->g->o->profile;
	char offered[400];

	if (profile == NULL || d01_acme_dir_profile(d, profile) >= 0)
		return D01_OK;
	d01_acme_dir_profiles_text(d, offered, sizeof(offered));
	return d01_error_set(err, D01_E_CONFIG,
	    "--profile %.64s: the CA does not offer it (offered: %s)", profile,
	    offered);
}

static void
caa_done(void *arg)
{
	struct issue_grp *grp = arg;

	grp->caa = NULL;
	start_orders(grp);
}

/* Before any order: the CAA pre-check (issuer/caa_check.h), unless
 * skipped or the CA names no caaIdentities to check against. */
static void
start_caa(struct issue_grp *grp)
{
	const struct d01_issue_opts *o = grp->g->o;
	const struct d01_acme_dir *d = d01_acme_directory(grp->acme);
	struct d01_caa_check_opts co = {.base = grp->run->base,
	    .dns = grp->run->env.dns,
	    .servers = o->servers,
	    .nservers = o->nservers,
	    .ns_port = o->ns_port,
	    .timeout_ms = 30000,
	    .ids = (const char *const *)d->caa_ids,
	    .nids = d->ncaa_ids,
	    .account = d01_acme_kid(grp->acme)};
	struct d01_error err;

	d01_error_clear(&err);
	if (o->skip_caa || d->ncaa_ids == 0) {
		d01_log(D01_LOG_INFO, "issue", "caa=unchecked reason=%s",
		    o->skip_caa ? "--skip-caa-check"
				: "the-directory-names-no-caaIdentities");
		start_orders(grp);
		return;
	}
	if (o->nservers == 0) {
		if (d01_dns_server_parse(
			o->resolver, 53, &grp->caa_resolver, &err) != D01_OK) {
			grp_fail(grp, &err);
			return;
		}
		co.resolver = &grp->caa_resolver;
	}
	grp->caa = d01_caa_check_start(
	    &co, grp->g->jobs, grp->g->njobs, caa_done, grp, &err);
	if (grp->caa == NULL)
		grp_fail(grp, &err);
}

static void
account_done(void *arg, const struct d01_error *err)
{
	struct issue_grp *grp = arg;
	struct d01_error e;

	grp->acct = NULL;
	if (err->code != D01_OK) {
		grp_fail(grp, err);
		return;
	}
	d01_error_clear(&e);
	if (check_profile(grp, &e) != D01_OK) {
		grp_fail(grp, &e);
		return;
	}
	start_caa(grp);
}

static void
start_account(struct issue_grp *grp)
{
	const struct d01_issue_opts *o = grp->g->o;
	struct d01_acme_account_opts ao = {0};
	struct d01_error err;
	int existed = 0;

	d01_error_clear(&err);
	if (d01_issue_grp_setup(grp, &existed, &err) != D01_OK) {
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
	d01_caa_check_cancel(grp->caa);
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
