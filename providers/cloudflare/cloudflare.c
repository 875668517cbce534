/* SPDX-License-Identifier: ISC */
/*
 * cloudflare Present/CleanUp as a state machine on the async HTTP client:
 *   SECRET  resolve the token or key (secret ref in resourceNamespace)
 *   ZONE    pinned zoneID, the client's memo, or GET /zones?name= for
 *           resolvedZone first, then each parent of the FQDN
 *   LIST    GET the TXT records at the name holding the value, by page
 *   CREATE  POST one record with the value (Present, when absent)
 *   DELETE  DELETE each record holding the value (CleanUp)
 * The op's deadline is the caller's (providers/op.h); every HTTP call's
 * budget is what is left of it.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/endpoint.h"
#include "core/redact.h"
#include "providers/cloudflare/cf_int.h"

#define MAX_PAGES 50

/* op.c's release hook: whichever way the op ended, nothing calls back. */
static void
cf_release(struct d01_op *op)
{
	struct cf_op *o = (struct cf_op *)op;

	cf_zone_release(o);
	d01_secret_cancel(o->sreq);
	d01_http_cancel(o->call);
	if (o->secret != NULL) {
		OPENSSL_cleanse(o->secret, strlen(o->secret));
		free(o->secret);
	}
}

/* Messages name the record and, once known, the zone. */
static void
cf_subject(struct cf_op *o)
{
	d01_op_subject(&o->op, "%s%s%s%s", o->name,
	    o->candidate[0] ? " (zone " : "", o->candidate,
	    o->candidate[0] ? ")" : "");
}

/* Finish with err (NULL: success): scrubbed of the secret, then op.c. */
void
cf_finish(struct cf_op *o, struct d01_error *err)
{
	/* Upstream messages may echo what we sent: never the secret, in
	 * any encoding. */
	if (err != NULL && err->code != D01_OK)
		d01_redact(err->msg, sizeof(err->msg), o->secret);
	cf_subject(o);
	d01_op_finish(&o->op, err);
}

static void
secret_done(void *arg, const struct d01_error *e, const char *value, size_t len)
{
	struct cf_op *o = arg;
	struct d01_error err = *e;
	const char *what = o->cfg->use_token ? "token" : "key";
	size_t i;

	o->sreq = NULL;
	for (i = 0; err.code == D01_OK && i < len; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			d01_error_set(&err, D01_E_CONFIG,
			    "the API %s in secret %s/%s key %s contains a "
			    "control character (a newline?)",
			    what, o->ns, o->cfg->secret_name,
			    o->cfg->secret_key);
	if (err.code == D01_OK && (len == 0 || len > CF_SECRET_MAX))
		d01_error_set(&err, D01_E_CONFIG,
		    "the API %s in secret %s/%s key %s is empty or longer "
		    "than %d bytes",
		    what, o->ns, o->cfg->secret_name, o->cfg->secret_key,
		    CF_SECRET_MAX);
	if (err.code == D01_OK && (o->secret = strdup(value)) == NULL)
		d01_error_set(&err, D01_E_NOMEM, "out of memory");
	if (err.code != D01_OK) {
		cf_finish(o, &err);
		return;
	}
	cf_cred_tag(o->cfg->email, o->secret, o->cred_tag);
	o->st = CF_ZONE;
	cf_step(o);
}

static void
list_reply(struct cf_op *o, json_t *res, int pages, struct d01_error *err)
{
	int hits;

	if (res == NULL)
		return;
	hits = cf_records_match(
	    res, o->name, o->value, o->ids, CF_MAX_IDS, &o->nids);
	o->found |= hits > 0;
	o->truncated |= o->nids == CF_MAX_IDS;
	if (!(o->op.present && o->found) && json_array_size(res) > 0 &&
	    o->page < pages) {
		if (o->page++ >= MAX_PAGES)
			d01_error_set(err, D01_E_LIMIT,
			    "more than %d pages of TXT records", MAX_PAGES);
		return; /* st stays CF_LIST */
	}
	o->st = o->op.present ? CF_CREATE : CF_DELETE;
}

/* POST answered: created, or 81058 (identical record: ours is there);
 * 81057 (a record exists) is only trusted after listing once more. */
static void
create_reply(struct cf_op *o, json_t *res, int code, struct d01_error *err)
{
	if (res != NULL || code == 81058) {
		o->found = 1;
		return;
	}
	if (code == 81057 && !o->relisted) {
		o->relisted = 1;
		d01_error_clear(err);
		o->st = CF_LIST;
		o->page = 1;
	}
}

static void
delete_reply(struct cf_op *o, json_t *res, int code, struct d01_error *err)
{
	/* 81044 (record does not exist): deleted meanwhile, which is what
	 * we wanted. Any other 404 (7000 no route, 7003 bad identifier)
	 * says nothing about the record, which may well still be there. */
	if (res != NULL || code == 81044) {
		d01_error_clear(err);
		o->nids--;
		if (o->nids == 0 && o->truncated) { /* more of ours: list */
			o->truncated = 0;
			o->st = CF_LIST;
			o->page = 1;
		}
	}
}

static void
http_done(
    void *arg, const struct d01_error *e, const struct d01_http_response *resp)
{
	struct cf_op *o = arg;
	struct d01_error err = *e;
	json_t *root = NULL, *res = NULL;
	int code = 0, pages = 0;

	o->call = NULL;
	if (err.code != D01_OK && o->cfg->custom) /* no port-scan oracle */
		d01_endpoint_hide_transport(&err, "cloudflare", o->uid);
	if (err.code == D01_OK)
		res = cf_envelope(resp->status, resp->body, resp->len, &root,
		    &pages, &code, &err);
	if (err.code != D01_OK && cf_zone_stale(o, err.status, code)) {
		d01_error_clear(&err);
	} else if (resp != NULL) {
		switch (o->st) {
		case CF_ZONE:
			cf_zone_reply(o, res, &err);
			break;
		case CF_LIST:
			list_reply(o, res, pages, &err);
			break;
		case CF_CREATE:
			create_reply(o, res, code, &err);
			break;
		case CF_DELETE:
			delete_reply(o, res, code, &err);
			break;
		default:
			break;
		}
	}
	json_decref(root);
	if (o->leading) /* the lookup failed: waiters ask for themselves */
		cf_zone_release(o);
	if (err.code != D01_OK) {
		d01_error_prefix(&err, "%s: ", o->op.step);
		cf_finish(o, &err);
		return;
	}
	cf_step(o);
}

/* Issue the API request of the current step. */
void
cf_request(
    struct cf_op *o, const char *method, const char *path, const char *body)
{
	struct d01_error err;

	d01_op_step(&o->op, "%s",
	    o->st == CF_ZONE	     ? "looking up the zone"
		: o->st == CF_LIST   ? "listing TXT records"
		: o->st == CF_CREATE ? "creating the record"
				     : "deleting a record");
	cf_subject(o);
	d01_error_clear(&err);
	o->call = cf_api_start(o, method, path, body, http_done, &err);
	if (o->call == NULL)
		cf_finish(o, &err);
}

/* List by name and by value: the value filter keeps the listing to our
 * own records however many others share the name (case-insensitive and
 * by substring, so quoted and bare values both come back). */
static void
step_list(struct cf_op *o)
{
	char qn[3 * D01_DNAME_BUF], qv[3 * 256], path[2048];

	if (o->page == 1) {
		o->nids = 0;
		o->truncated = 0;
	}
	d01_url_escape(qn, sizeof(qn), o->name);
	d01_url_escape(qv, sizeof(qv), o->value);
	snprintf(path, sizeof(path),
	    "/zones/%s/dns_records?type=TXT&name=%s&content.contains=%s"
	    "&per_page=100&page=%d",
	    o->zone_id, qn, qv, o->page);
	cf_request(o, "GET", path, NULL);
}

static void
step_create(struct cf_op *o)
{
	struct d01_error err;
	char quoted[260], path[256], *body;
	json_t *j;

	/* Quoted, as Cloudflare's API documentation for TXT records asks;
	 * matching accepts both forms. */
	snprintf(quoted, sizeof(quoted), "\"%s\"", o->value);
	j = json_pack("{s:s, s:s, s:s, s:i}", "type", "TXT", "name", o->name,
	    "content", quoted, "ttl", (int)o->cfg->ttl);
	body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (body == NULL) {
		d01_error_set(&err, D01_E_NOMEM, "out of memory");
		cf_finish(o, &err);
		return;
	}
	snprintf(path, sizeof(path), "/zones/%s/dns_records", o->zone_id);
	cf_request(o, "POST", path, body);
	free(body);
}

void
cf_step(struct cf_op *o)
{
	struct d01_secret_ref ref = {o->cfg->secret_name, o->cfg->secret_key};
	struct d01_error err;
	char path[256];

	switch (o->st) {
	case CF_SECRET:
		d01_op_step(&o->op, "reading the API %s %s/%s",
		    o->cfg->use_token ? "token" : "key", o->ns,
		    o->cfg->secret_name);
		d01_error_clear(&err);
		o->sreq = d01_secret_get(
		    o->env->secrets, o->ns, &ref, secret_done, o, &err);
		if (o->sreq == NULL)
			cf_finish(o, &err);
		return;
	case CF_ZONE:
		cf_zone_step(o);
		return;
	case CF_LIST:
		step_list(o);
		return;
	case CF_CREATE:
		if (o->found)
			cf_finish(o, NULL); /* idempotent Present */
		else
			step_create(o);
		return;
	case CF_DELETE:
		if (o->nids == 0) {
			cf_finish(o, NULL); /* nothing (left) of ours */
			return;
		}
		snprintf(path, sizeof(path), "/zones/%s/dns_records/%s",
		    o->zone_id, o->ids[o->nids - 1]);
		cf_request(o, "DELETE", path, NULL);
		return;
	}
}

static enum d01_err
start(struct d01_op *op, void *cfg, const struct d01_challenge *ch,
    struct d01_error *err)
{
	struct cf_op *o = (struct cf_op *)op;

	if (op->env->http == NULL)
		return d01_error_set(
		    err, D01_E_INTERNAL, "cloudflare: no HTTP client");
	if (strlen(ch->key) == 0 || strlen(ch->key) > 253)
		return d01_error_set(err, D01_E_INVAL,
		    "cloudflare: the TXT value must be 1-253 bytes");
	o->env = op->env;
	o->cfg = cfg;
	snprintf(o->uid, sizeof(o->uid), "%s", ch->uid ? ch->uid : "");
	cf_undot(o->name, sizeof(o->name), ch->fqdn);
	cf_undot(o->zone, sizeof(o->zone), ch->zone);
	if (o->zone[0] != '\0' && !d01_dname_in_zone(ch->fqdn, ch->zone))
		o->zone[0] = '\0'; /* not a hint worth following */
	snprintf(o->value, sizeof(o->value), "%s", ch->key);
	snprintf(o->ns, sizeof(o->ns), "%s", ch->namespace);
	cf_zone_first(o);
	cf_subject(o);
	o->st = CF_SECRET;
	cf_step(o);
	return D01_OK;
}

/* lego's names (CF_*), with the CLOUDFLARE_* spellings it accepts too;
 * BASE_URL and CA_BUNDLE reach a private endpoint or a test's fake. */
static const struct d01_envvar cf_envvars[] = {
    {"CF_DNS_API_TOKEN", "CLOUDFLARE_DNS_API_TOKEN", "apiTokenSecretRef",
	D01_ENVVAR_SECRET, 0},
    {"CF_API_EMAIL", "CLOUDFLARE_EMAIL", "email", D01_ENVVAR_STRING, 0},
    {"CF_API_KEY", "CLOUDFLARE_API_KEY", "apiKeySecretRef", D01_ENVVAR_SECRET,
	0},
    {"CF_ZONE_ID", "CLOUDFLARE_ZONE_ID", "zoneID", D01_ENVVAR_STRING, 0},
    {"CLOUDFLARE_TTL", NULL, "ttl", D01_ENVVAR_INT, 0},
    {"CLOUDFLARE_BASE_URL", NULL, "baseURL", D01_ENVVAR_STRING, 0},
    {"CLOUDFLARE_CA_BUNDLE", NULL, "caBundle", D01_ENVVAR_STRING, 0},
    {NULL, NULL, NULL, D01_ENVVAR_STRING, 0},
};

const struct d01_provider d01_provider_cloudflare = {
    .name = "cloudflare",
    .summary = "Cloudflare API v4, one TXT record per value",
    .envvars = cf_envvars,
    .env_fixup = cf_env_fixup,
    .config_parse = cf_config_parse,
    .config_free = cf_config_free,
    .op_size = sizeof(struct cf_op),
    .start = start,
    .release = cf_release,
};
