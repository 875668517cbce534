/* SPDX-License-Identifier: ISC */
/*
 * The issuance driver (issue.h), a group's set-up before its account is
 * asked for: the account key (loaded, or made and saved at once), the
 * provider's config (--config or its environment variables), where the
 * TXT checker asks, the certificate keys, the ACME session.
 * Synchronous; runs from the loop once the group's plan is known.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/log.h"
#include "issuer/acme.h"
#include "issuer/issue_run.h"
#include "issuer/key.h"
#include "providers/env.h"
#include "providers/provider.h"

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

enum d01_err
d01_issue_grp_setup(struct issue_grp *grp, int *existed, struct d01_error *err)
{
	struct d01_issue_job *job;
	size_t i;

	if (account_key(grp, existed, err) != D01_OK ||
	    setup_dns(grp, err) != D01_OK || setup_check(grp, err) != D01_OK)
		return err->code;
	for (i = 0; i < grp->g->njobs; i++) {
		job = &grp->g->jobs[i];
		if (job->due == 1 && !job->finished &&
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
