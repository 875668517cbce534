/* SPDX-License-Identifier: ISC */
/*
 * digitalocean Present/CleanUp as a state machine on the async HTTP
 * client:
 *   SECRET  resolve the token (tokenSecretRef in resourceNamespace)
 *   LIST    GET /v2/domains/{zone}/records?type=TXT&name={fqdn}, then
 *           each links.pages.next on the same origin, collecting the
 *           records whose data is exactly the value
 *   CREATE  POST one record (Present, when absent)
 *   DELETE  DELETE each record of ours by id (CleanUp); 404 = gone
 * The zone is resolvedZone. The op's deadline is the caller's
 * (providers/op.h); every HTTP call's budget is what is left of it.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/endpoint.h"
#include "core/redact.h"
#include "providers/digitalocean/do_int.h"

#define MAX_PAGES 50

static void
do_release(struct d01_op *op)
{
	struct do_op *o = (struct do_op *)op;

	d01_secret_cancel(o->sreq);
	d01_http_cancel(o->call);
	if (o->secret != NULL) {
		OPENSSL_cleanse(o->secret, strlen(o->secret));
		free(o->secret);
	}
}

/* Finish with err (NULL: success), scrubbed of the token. */
static void
do_finish(struct do_op *o, struct d01_error *err)
{
	if (err != NULL && err->code != D01_OK)
		d01_redact(err->msg, sizeof(err->msg), o->secret);
	d01_op_finish(&o->op, err);
}

static void do_step(struct do_op *o);

static void
secret_done(void *arg, const struct d01_error *e, const char *value, size_t len)
{
	struct do_op *o = arg;
	struct d01_error err = *e;
	size_t i;

	o->sreq = NULL;
	for (i = 0; err.code == D01_OK && i < len; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			d01_error_set(&err, D01_E_CONFIG,
			    "the token in secret %s/%s key %s contains a "
			    "control character (a newline?)",
			    o->ns, o->cfg->secret_name, o->cfg->secret_key);
	if (err.code == D01_OK && (len == 0 || len > DO_SECRET_MAX))
		d01_error_set(&err, D01_E_CONFIG,
		    "the token in secret %s/%s key %s is empty or longer than "
		    "%d bytes",
		    o->ns, o->cfg->secret_name, o->cfg->secret_key,
		    DO_SECRET_MAX);
	if (err.code == D01_OK && (o->secret = strdup(value)) == NULL)
		d01_error_set(&err, D01_E_NOMEM, "out of memory");
	if (err.code != D01_OK) {
		do_finish(o, &err);
		return;
	}
	o->st = DO_LIST;
	do_step(o);
}

/* The first listing page: filtered by type and by the full name (the
 * API's filter wants the fully qualified name; replies carry the name
 * relative to the zone). */
static void
first_page(struct do_op *o)
{
	char qz[3 * D01_DNAME_BUF], qn[3 * D01_DNAME_BUF];

	d01_url_escape(qz, sizeof(qz), o->zone);
	d01_url_escape(qn, sizeof(qn), o->fqdn);
	snprintf(o->next, sizeof(o->next),
	    "%s/v2/domains/%s/records?type=TXT&name=%s&per_page=200",
	    o->cfg->base_url, qz, qn);
	o->page = 1;
	o->nids = 0;
	o->truncated = 0;
}

static void
list_reply(struct do_op *o, const json_t *root, struct d01_error *err)
{
	int hits, more;

	hits = do_records_match(
	    root, o->rel, o->value, o->ids, DO_MAX_IDS, &o->nids);
	if (hits < 0) {
		d01_error_set(err, D01_E_PROTOCOL,
		    "the reply has no domain_records list");
		return;
	}
	o->found |= hits > 0;
	o->truncated |= o->nids == DO_MAX_IDS;
	if (o->op.present && o->found) {
		o->st = DO_CREATE; /* finishes: ours is there */
		return;
	}
	more = do_next_link(root, o->cfg->base_url, o->next, sizeof(o->next));
	if (more < 0) {
		d01_error_set(err, D01_E_PROTOCOL,
		    "links.pages.next leaves %s (not followed)",
		    o->cfg->base_url);
		return;
	}
	if (more > 0 && !(o->truncated && !o->op.present)) {
		if (o->page++ >= MAX_PAGES)
			d01_error_set(err, D01_E_LIMIT,
			    "more than %d pages of TXT records", MAX_PAGES);
		return; /* st stays DO_LIST */
	}
	o->st = o->op.present ? DO_CREATE : DO_DELETE;
}

static void
http_done(
    void *arg, const struct d01_error *e, const struct d01_http_response *resp)
{
	struct do_op *o = arg;
	struct d01_error err = *e;
	enum do_step was = o->st; /* list_reply moves on */
	json_t *root = NULL;

	o->call = NULL;
	if (err.code != D01_OK && o->cfg->hide) /* no port-scan oracle */
		d01_endpoint_hide_transport(&err, "digitalocean", o->uid);
	if (err.code == D01_OK && o->st == DO_DELETE && resp->status == 404) {
		/* Gone meanwhile: what CleanUp wanted. */
	} else if (err.code == D01_OK &&
	    (resp->status < 200 || resp->status > 299)) {
		do_reply_error(resp->status, resp->body, resp->len, &err);
	} else if (err.code == D01_OK && o->st == DO_LIST) {
		root = json_loadb(
		    resp->body, resp->len, JSON_REJECT_DUPLICATES, NULL);
		list_reply(o, root, &err);
	}
	json_decref(root);
	if (err.code != D01_OK) {
		d01_error_prefix(&err, "%s: ", o->op.step);
		do_finish(o, &err);
		return;
	}
	if (was == DO_CREATE) {
		o->found = 1;
	} else if (was == DO_DELETE) {
		o->nids--;
		if (o->nids == 0 && o->truncated) { /* more of ours: list */
			first_page(o);
			o->st = DO_LIST;
		}
	}
	do_step(o);
}

static void
request(struct do_op *o, const char *method, const char *url, const char *body)
{
	struct d01_error err;

	d01_error_clear(&err);
	o->call = do_api_start(o, method, url, body, http_done, &err);
	if (o->call == NULL)
		do_finish(o, &err);
}

static void
step_create(struct do_op *o)
{
	struct d01_error err;
	char url[DO_URL_MAX], qz[3 * D01_DNAME_BUF], *body;
	json_t *j;

	d01_op_step(&o->op, "creating the record in %s", o->zone);
	j = json_pack("{s:s, s:s, s:s, s:i}", "type", "TXT", "name", o->rel,
	    "data", o->value, "ttl", (int)o->cfg->ttl);
	body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (body == NULL) {
		d01_error_set(&err, D01_E_NOMEM, "out of memory");
		do_finish(o, &err);
		return;
	}
	d01_url_escape(qz, sizeof(qz), o->zone);
	snprintf(
	    url, sizeof(url), "%s/v2/domains/%s/records", o->cfg->base_url, qz);
	request(o, "POST", url, body);
	free(body);
}

static void
do_step(struct do_op *o)
{
	struct d01_secret_ref ref = {o->cfg->secret_name, o->cfg->secret_key};
	struct d01_error err;
	char url[DO_URL_MAX], qz[3 * D01_DNAME_BUF];

	switch (o->st) {
	case DO_SECRET:
		d01_op_step(&o->op, "reading the token %s/%s", o->ns,
		    o->cfg->secret_name);
		d01_error_clear(&err);
		o->sreq = d01_secret_get(
		    o->op.env->secrets, o->ns, &ref, secret_done, o, &err);
		if (o->sreq == NULL)
			do_finish(o, &err);
		return;
	case DO_LIST:
		d01_op_step(&o->op, "listing TXT records in %s (page %d)",
		    o->zone, o->page);
		request(o, "GET", o->next, NULL);
		return;
	case DO_CREATE:
		if (o->found)
			do_finish(o, NULL); /* idempotent Present */
		else
			step_create(o);
		return;
	case DO_DELETE:
		if (o->nids == 0) {
			do_finish(o, NULL); /* nothing (left) of ours */
			return;
		}
		d01_op_step(&o->op, "deleting record %lld in %s",
		    o->ids[o->nids - 1], o->zone);
		d01_url_escape(qz, sizeof(qz), o->zone);
		snprintf(url, sizeof(url), "%s/v2/domains/%s/records/%lld",
		    o->cfg->base_url, qz, o->ids[o->nids - 1]);
		request(o, "DELETE", url, NULL);
		return;
	}
}

/* Copy a name without its trailing dot; NULL: "". */
static void
undot(char *dst, size_t n, const char *src)
{
	size_t len;

	snprintf(dst, n, "%s", src ? src : "");
	if ((len = strlen(dst)) > 0 && dst[len - 1] == '.')
		dst[len - 1] = '\0';
}

static enum d01_err
start(struct d01_op *op, void *cfg, const struct d01_challenge *ch,
    struct d01_error *err)
{
	struct do_op *o = (struct do_op *)op;
	size_t fl, zl;

	if (op->env->http == NULL)
		return d01_error_set(
		    err, D01_E_INTERNAL, "digitalocean: no HTTP client");
	if (strlen(ch->key) == 0 || strlen(ch->key) > 253)
		return d01_error_set(err, D01_E_INVAL,
		    "digitalocean: the TXT value must be 1-253 bytes");
	if (ch->zone == NULL || ch->zone[0] == '\0' ||
	    strcmp(ch->zone, ".") == 0 ||
	    !d01_dname_in_zone(ch->fqdn, ch->zone))
		return d01_error_set(err, D01_E_INVAL,
		    "digitalocean: the zone (resolvedZone, or --zone) is "
		    "needed and must hold %s",
		    ch->fqdn);
	o->cfg = cfg;
	snprintf(o->uid, sizeof(o->uid), "%s", ch->uid ? ch->uid : "");
	undot(o->fqdn, sizeof(o->fqdn), ch->fqdn);
	undot(o->zone, sizeof(o->zone), ch->zone);
	fl = strlen(o->fqdn);
	zl = strlen(o->zone);
	if (fl == zl)
		snprintf(o->rel, sizeof(o->rel), "@");
	else
		snprintf(o->rel, sizeof(o->rel), "%.*s", (int)(fl - zl - 1),
		    o->fqdn);
	snprintf(o->value, sizeof(o->value), "%s", ch->key);
	snprintf(o->ns, sizeof(o->ns), "%s", ch->namespace);
	d01_op_subject(op, "%s (zone %s)", o->fqdn, o->zone);
	first_page(o);
	o->st = DO_SECRET;
	do_step(o);
	return D01_OK;
}

/* lego's names; DO_API_URL (lego's too) reaches a private endpoint or a
 * test's fake, DO_CA_BUNDLE (ours) trusts its certificate. */
static const struct d01_envvar do_envvars[] = {
    {"DO_AUTH_TOKEN", NULL, "tokenSecretRef", D01_ENVVAR_SECRET, 1},
    {"DO_TTL", NULL, "ttl", D01_ENVVAR_INT, 0},
    {"DO_API_URL", NULL, "baseURL", D01_ENVVAR_STRING, 0},
    {"DO_CA_BUNDLE", NULL, "caBundle", D01_ENVVAR_STRING, 0},
    {NULL, NULL, NULL, D01_ENVVAR_STRING, 0},
};

const struct d01_provider d01_provider_digitalocean = {
    .name = "digitalocean",
    .summary = "DigitalOcean Domains API v2, one TXT record per value",
    .envvars = do_envvars,
    .env_fixup = do_env_fixup,
    .config_parse = do_config_parse,
    .config_free = do_config_free,
    .op_size = sizeof(struct do_op),
    .start = start,
    .release = do_release,
};
