/* SPDX-License-Identifier: ISC */
/*
 * azuredns Present/CleanUp as a state machine on the async HTTP client:
 *   SECRET  read the client secret (service principal only)
 *   TOKEN   an ARM access token from the cache or its identity path
 *           (az_token.c)
 *   GATE    one write at a time per record set in this process
 *           (core/gate.h), so a burst at one name queues instead of
 *           losing compare-and-swap races to itself
 *   GET     the TXT record set and its etag; 404 = absent
 *   WRITE   PUT it back with If-Match: <etag> (a new set with
 *           If-None-Match: *), or DELETE it with If-Match when the last
 *           value goes; 412 = someone else wrote meanwhile: GET again
 * A 401 from ARM (the token expired or was revoked early) drops the
 * cached token and fetches one new token, once. Every HTTP call's budget
 * is what is left of the op's deadline (providers/op.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/secret.h"
#include "core/endpoint.h"
#include "core/redact.h"
#include "providers/azuredns/az_int.h"
#include "providers/env.h"

#define PER_CALL_MS 10000 /* one ARM attempt; the op's budget caps it */
#define MAX_TRIES   25	  /* writes lost to another writer (412) */
#define MAX_IDLE    64	  /* tokens kept with nobody waiting (LRU) */
#define MAX_ASKERS  256	  /* ops waiting on one token exchange */

static void step(struct az_op *o);

static void
az_release(struct d01_op *op)
{
	struct az_op *o = (struct az_op *)op;

	d01_secret_cancel(o->sreq);
	az_token_cancel(o->tok);
	d01_http_cancel(o->call);
	d01_gate_leave(&o->gate);
	if (o->retry != NULL)
		event_free(o->retry);
	az_rrset_clear(&o->rs);
	d01_secret_wipe(&o->secret);
	d01_secret_wipe(&o->token);
}

/* The trust for o's requests: with an ambient identity (workload
 * identity, IMDS) every request carries the pod's assertion or a token
 * bought with it, so only the operator's CAs verify it. */
static int
ambient(const struct az_op *o)
{
	return o->path != AZ_PATH_SECRET;
}

/* Finish with err (NULL: success): no port-scan oracle for a tenant's
 * endpoint, no credential, no control bytes. */
static void
finish(struct az_op *o, struct d01_error *err)
{
	char *p;

	if (err != NULL && err->code != D01_OK) {
		if (o->cfg->hide)
			d01_endpoint_hide_transport(err, "azuredns", o->uid);
		d01_endpoints_ca_explain(
		    o->op.env->endpoints, ambient(o), o->cfg->ca_pem, err);
		d01_redact(err->msg, sizeof(err->msg), o->secret);
		d01_redact(err->msg, sizeof(err->msg), o->token);
		for (p = err->msg; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
	}
	d01_op_finish(&o->op, err);
}

static void
token_req(const struct az_op *o, struct az_token_req *r)
{
	r->path = o->path;
	r->url = o->tokurl;
	r->ca_pem =
	    d01_endpoints_ca(o->op.env->endpoints, ambient(o), o->cfg->ca_pem);
	r->client_id = o->client_id[0] ? o->client_id : NULL;
	r->secret = o->secret;
	r->scope = o->scope;
}

static void
secret_done(void *arg, const struct d01_error *e, const char *value, size_t len)
{
	struct az_op *o = arg;
	struct d01_error err = *e;
	size_t i;

	o->sreq = NULL;
	for (i = 0; err.code == D01_OK && i < len; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			d01_error_set(&err, D01_E_CONFIG,
			    "the client secret in secret %s/%s key %s contains "
			    "a control character (a newline?)",
			    o->ns, o->cfg->secret_name, o->cfg->secret_key);
	if (err.code == D01_OK && (len == 0 || len > AZ_SECRET_MAX))
		d01_error_set(&err, D01_E_CONFIG,
		    "the client secret in secret %s/%s key %s is empty or "
		    "longer than %d bytes",
		    o->ns, o->cfg->secret_name, o->cfg->secret_key,
		    AZ_SECRET_MAX);
	if (err.code == D01_OK && (o->secret = strdup(value)) == NULL)
		d01_error_set(&err, D01_E_NOMEM, "out of memory");
	if (err.code != D01_OK) {
		finish(o, &err);
		return;
	}
	o->st = AZ_TOKEN;
	step(o);
}

static void
token_done(void *arg, const struct d01_error *e, const char *token)
{
	struct az_op *o = arg;
	struct d01_error err = *e;

	o->tok = NULL;
	if (err.code == D01_OK && (o->token = strdup(token)) == NULL)
		d01_error_set(&err, D01_E_NOMEM, "out of memory");
	if (err.code != D01_OK) {
		d01_error_prefix(&err,
		    "%s token request to %s: ", az_path_name(o->path),
		    o->tokurl);
		finish(o, &err);
		return;
	}
	o->st = AZ_GATE;
	step(o);
}

static void
gate_open(void *arg)
{
	struct az_op *o = arg;

	o->st = AZ_GET;
	step(o);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	step(arg);
}

/* Another writer won: GET again after a short random pause. */
static void
pause_then_get(struct az_op *o)
{
	uint8_t r = 0;
	struct timeval tv;
	long ms;

	RAND_bytes(&r, 1);
	ms = 10 + (long)r * (o->tries < 4 ? o->tries : 4) / 4;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	o->st = AZ_GET;
	evtimer_add(o->retry, &tv);
}

/* The record set as read: decide what to write. */
static void
decide(struct az_op *o, struct d01_error *err)
{
	char *body = NULL;
	int ch;

	ch = az_rrset_change(
	    &o->rs, o->value, o->op.present, o->cfg->private_zone, &body, err);
	free(body); /* rebuilt when sent: the set is kept in o->rs */
	if (ch < 0)
		return;
	o->change = (enum az_change)ch;
	o->st = AZ_WRITE;
}

static void
http_done(
    void *arg, const struct d01_error *e, const struct d01_http_response *resp)
{
	struct az_op *o = arg;
	struct d01_error err = *e;
	struct az_token_req r;
	long s = resp != NULL ? resp->status : 0;

	o->call = NULL;
	if (err.code == D01_OK && s == 401 && !o->refreshed) {
		/* The token ran out (or was revoked) early: one new one. */
		o->refreshed = 1;
		token_req(o, &r);
		az_token_forget(o->op.env, &r, o->token);
		d01_secret_wipe(&o->token);
		o->st = AZ_TOKEN;
		step(o);
		return;
	}
	if (err.code == D01_OK && s == 412 && o->st == AZ_WRITE) {
		if (++o->tries < MAX_TRIES) {
			pause_then_get(o);
			return;
		}
		d01_error_set(&err, D01_E_CONFLICT,
		    "the record set changed under every one of %d writes "
		    "(HTTP 412)",
		    MAX_TRIES);
	} else if (err.code == D01_OK && s == 404 && o->st == AZ_GET) {
		az_rrset_clear(&o->rs); /* absent */
		decide(o, &err);
	} else if (err.code == D01_OK && s == 404 && o->st == AZ_WRITE &&
	    o->change == AZ_DELETE) {
		o->change = AZ_NOOP; /* gone meanwhile: what CleanUp wants */
	} else if (err.code == D01_OK && (s < 200 || s > 299)) {
		az_arm_error(s, resp->body, resp->len, &err);
	} else if (err.code == D01_OK && o->st == AZ_GET) {
		az_rrset_clear(&o->rs);
		if (az_rrset_parse(resp->body, resp->len, o->cfg->private_zone,
			&o->rs, &err) == 0)
			decide(o, &err);
	} else if (err.code == D01_OK) {
		o->change = AZ_NOOP; /* written */
	}
	if (err.code != D01_OK) {
		d01_error_prefix(&err, "%s: ", o->op.step);
		finish(o, &err);
		return;
	}
	step(o);
}

/* One ARM request with the bearer token, within the op's budget. */
static void
arm(struct az_op *o, const char *method, const char *cond, const char *body)
{
	struct d01_http_request req = {0};
	struct d01_error err;
	const char *hdrs[5];
	char *auth;
	size_t n = 0, alen = strlen(o->token) + 32;

	d01_error_clear(&err);
	if ((auth = malloc(alen)) == NULL) {
		d01_error_set(&err, D01_E_NOMEM, "out of memory");
		finish(o, &err);
		return;
	}
	snprintf(auth, alen, "Authorization: Bearer %s", o->token);
	hdrs[n++] = auth;
	hdrs[n++] = "Accept: application/json";
	if (cond != NULL)
		hdrs[n++] = cond;
	if (body != NULL)
		hdrs[n++] = "Content-Type: application/json";
	hdrs[n] = NULL;
	req.method = method;
	req.url = o->rrurl;
	req.headers = hdrs;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.ca_pem =
	    d01_endpoints_ca(o->op.env->endpoints, ambient(o), o->cfg->ca_pem);
	req.budget_ms = d01_op_budget_ms(&o->op);
	req.timeout_ms =
	    req.budget_ms < PER_CALL_MS ? req.budget_ms : PER_CALL_MS;
	if (req.budget_ms <= 0)
		d01_error_set(&err, D01_E_TIMEOUT, "out of time");
	else
		o->call =
		    d01_http_start(o->op.env->http, &req, http_done, o, &err);
	OPENSSL_cleanse(auth, alen);
	free(auth);
	if (o->call == NULL) {
		d01_error_prefix(&err, "%s: ", o->op.step);
		finish(o, &err);
	}
}

static void
step_write(struct az_op *o)
{
	struct d01_error err;
	char cond[AZ_ETAG_MAX + 16], *body = NULL;

	d01_error_clear(&err);
	if (o->change == AZ_NOOP) {
		finish(o, NULL);
		return;
	}
	if (o->rs.exists)
		snprintf(cond, sizeof(cond), "If-Match: %s", o->rs.etag);
	else
		snprintf(cond, sizeof(cond), "If-None-Match: *");
	if (o->change == AZ_DELETE) {
		d01_op_step(&o->op, "deleting the TXT record set %s", o->rel);
		arm(o, "DELETE", cond, NULL);
		return;
	}
	if (az_rrset_change(&o->rs, o->value, o->op.present,
		o->cfg->private_zone, &body, &err) != AZ_PUT) {
		if (err.code == D01_OK)
			d01_error_set(&err, D01_E_INTERNAL, "no change");
		finish(o, &err);
		return;
	}
	d01_op_step(&o->op, "%s the TXT record set %s",
	    o->rs.exists ? "writing" : "creating", o->rel);
	arm(o, "PUT", cond, body);
	free(body);
}

static void
step(struct az_op *o)
{
	struct d01_secret_ref ref = {o->cfg->secret_name, o->cfg->secret_key};
	struct az_token_req r;
	struct d01_error err;

	d01_error_clear(&err);
	switch (o->st) {
	case AZ_SECRET:
		d01_op_step(&o->op, "reading the client secret %s/%s", o->ns,
		    o->cfg->secret_name);
		o->sreq = d01_secret_get(
		    o->op.env->secrets, o->ns, &ref, secret_done, o, &err);
		if (o->sreq == NULL)
			finish(o, &err);
		return;
	case AZ_TOKEN:
		d01_op_step(
		    &o->op, "getting a token (%s)", az_path_name(o->path));
		token_req(o, &r);
		o->tok = az_token_get(o->op.env, &r, token_done, o, &err);
		if (o->tok == NULL)
			finish(o, &err);
		return;
	case AZ_GATE:
		if (o->gate.state == D01_GATE_OUT) {
			d01_op_step(&o->op,
			    "waiting for the other writes at %s", o->rel);
			/* FULL (4096 queued) or untracked: go anyway; the
			 * etag still keeps every value. */
			if (d01_gate_enter(o->state->names, &o->gate, o->rrurl,
				strlen(o->rrurl), gate_open,
				o) == D01_GATE_QUEUED)
				return;
		}
		o->st = AZ_GET;
		/* fall through */
	case AZ_GET:
		d01_op_step(&o->op, "reading the TXT record set %s", o->rel);
		arm(o, "GET", NULL, NULL);
		return;
	case AZ_WRITE:
		step_write(o);
		return;
	}
}

/* Copy a name without its trailing dot, lower-case; NULL: "". */
static void
undot(char *dst, size_t n, const char *src)
{
	size_t len, i;

	snprintf(dst, n, "%s", src ? src : "");
	for (i = 0; dst[i] != '\0'; i++)
		dst[i] = (char)tolower((unsigned char)dst[i]);
	if ((len = strlen(dst)) > 0 && dst[len - 1] == '.')
		dst[len - 1] = '\0';
}

/* The record set's URL: every part escaped, api-version required. */
static int
record_url(struct az_op *o)
{
	char sub[200], grp[300], zone[3 * D01_DNAME_BUF],
	    rel[3 * D01_DNAME_BUF];
	int n;

	if (d01_url_escape(sub, sizeof(sub), o->cfg->subscription) != 0 ||
	    d01_url_escape(grp, sizeof(grp), o->cfg->group) != 0 ||
	    d01_url_escape(zone, sizeof(zone), o->zone) != 0 ||
	    d01_url_escape(rel, sizeof(rel), o->rel) != 0)
		return -1;
	n = snprintf(o->rrurl, sizeof(o->rrurl),
	    "%s/subscriptions/%s/resourceGroups/%s/providers/"
	    "Microsoft.Network/%s/%s/TXT/%s?api-version=%s",
	    o->cfg->arm, sub, grp,
	    o->cfg->private_zone ? "privateDnsZones" : "dnsZones", zone, rel,
	    o->cfg->private_zone ? AZ_API_PRIVATE : AZ_API_PUBLIC);
	return n > 0 && (size_t)n < sizeof(o->rrurl) ? 0 : -1;
}

static enum d01_err
start(struct d01_op *op, void *cfg, const struct d01_challenge *ch,
    struct d01_error *err)
{
	struct az_op *o = (struct az_op *)op;
	size_t fl, zl;

	o->cfg = cfg;
	o->state = az_state_of(op->env);
	if (op->env->http == NULL || o->state == NULL ||
	    (o->retry = evtimer_new(op->env->base, retry_cb, o)) == NULL)
		return d01_error_set(
		    err, D01_E_INTERNAL, "azuredns: cannot start");
	if (strlen(ch->key) == 0 || strlen(ch->key) > 255)
		return d01_error_set(err, D01_E_INVAL,
		    "azuredns: the TXT value must be 1-255 bytes");
	snprintf(o->uid, sizeof(o->uid), "%s", ch->uid ? ch->uid : "");
	snprintf(o->ns, sizeof(o->ns), "%s", ch->namespace);
	snprintf(o->value, sizeof(o->value), "%s", ch->key);
	undot(o->fqdn, sizeof(o->fqdn), ch->fqdn);
	undot(o->zone, sizeof(o->zone), o->cfg->zone ? o->cfg->zone : ch->zone);
	fl = strlen(o->fqdn);
	zl = strlen(o->zone);
	if (zl == 0 || fl < zl || strcmp(o->fqdn + fl - zl, o->zone) != 0 ||
	    (fl > zl && o->fqdn[fl - zl - 1] != '.'))
		return d01_error_set(err, D01_E_INVAL,
		    "azuredns: the zone (hostedZoneName, resolvedZone or "
		    "--zone) is needed and must hold %s",
		    ch->fqdn);
	if (fl == zl)
		snprintf(o->rel, sizeof(o->rel), "@");
	else
		snprintf(o->rel, sizeof(o->rel), "%.*s", (int)(fl - zl - 1),
		    o->fqdn);
	if (record_url(o) != 0)
		return d01_error_set(err, D01_E_INVAL,
		    "azuredns: the record set URL is too long");
	d01_op_subject(op, "%s (zone %s)", o->fqdn, o->zone);
	if (az_credentials(o, ch, err) != 0) {
		if (err->code == D01_OK)
			d01_error_set(err, D01_E_NOMEM, "out of memory");
		d01_error_prefix(err, "azuredns: ");
		return err->code;
	}
	step(o);
	return D01_OK;
}

struct az_state *
az_state_of(const struct d01_env *env)
{
	return d01_env_provider_state(env, &d01_provider_azuredns);
}

static void
az_fini(struct d01_env *env, void *state)
{
	struct az_state *st = state;

	(void)env;
	if (st == NULL)
		return;
	d01_sfc_free(st->tokens);
	d01_gate_free(st->names);
	OPENSSL_cleanse(st->mac_key, sizeof(st->mac_key));
	free(st);
}

/* The token cache and the per-record-set gate, shared by every op. */
static enum d01_err
az_init(struct d01_env *env, const struct d01_env_opts *opts, void **state,
    struct d01_error *err)
{
	const struct d01_sfc_cfg tc = {MAX_IDLE, MAX_ASKERS, 1};
	const struct d01_gate_cfg one = {1, 4096, 64};
	struct az_state *st = calloc(1, sizeof(*st));

	(void)opts;
	if (st == NULL || RAND_bytes(st->mac_key, sizeof(st->mac_key)) != 1 ||
	    (st->tokens = d01_sfc_new(env->base, env->clock, &tc)) == NULL ||
	    (st->names = d01_gate_new(env->base, &one)) == NULL) {
		az_fini(env, st);
		return d01_error_set(
		    err, D01_E_NOMEM, "azuredns: out of memory");
	}
	*state = st;
	return D01_OK;
}

const struct d01_provider d01_provider_azuredns = {
    .name = "azuredns",
    .summary = "Azure DNS (ARM), public and private zones, etag writes",
    .envvars = az_envvars,
    .env_fixup = az_env_fixup,
    .init = az_init,
    .fini = az_fini,
    .config_parse = az_config_parse,
    .config_free = az_config_free,
    .op_size = sizeof(struct az_op),
    .start = start,
    .release = az_release,
};
