/* SPDX-License-Identifier: ISC */
/*
 * clouddns Present/CleanUp as a state machine on the async HTTP client:
 *   SECRET  read the service-account key (serviceAccountSecretRef in
 *           resourceNamespace), or take the server's own credentials when
 *           the request allows ambient ones
 *   TOKEN   an access token (gcp_token.c: cached, one flight)
 *   ZONE    hostedZoneName, or the public managed zone whose dnsName is
 *           the longest suffix of the name (all pages of the listing)
 *   LOCK    one change at a time per name in this process (core/gate.h),
 *           held across retries, so concurrent Presents queue instead of
 *           failing each other's preconditions
 *   READ    GET rrsets?name=&type=TXT
 *   CHANGE  POST changes {deletions: [the set as read], additions: [it
 *           with ours added or removed]}; 412/409 (someone else changed
 *           it) goes back to READ after a short random pause
 * A 401 from the API drops the token and fetches one more, once. Every
 * HTTP call's budget is what is left of the op's deadline (providers/op.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/secret.h"
#include "core/endpoint.h"
#include "core/redact.h"
#include "providers/clouddns/gcp_int.h"
#include "providers/env.h"

#define PER_CALL_MS  10000
#define MAX_PAGES    50
#define MAX_CAS	     20
#define ZONE_MEMO_MS (5 * 60 * 1000)
#define SET_MEMO_MS  30000

static void step(struct gcp_op *o);

static void
gcp_release(struct d01_op *op)
{
	struct gcp_op *o = (struct gcp_op *)op;

	d01_secret_cancel(o->sreq);
	d01_http_cancel(o->call);
	gcp_token_cancel(o->tw);
	if (o->retry != NULL)
		event_free(o->retry);
	d01_gate_leave(&o->lock);
	json_decref(o->old);
	free(o->sent);
	d01_secret_wipe(&o->token);
	gcp_cred_free(&o->cred);
}

/* The trust for o's requests: with ambient credentials each one (token
 * URI, STS, IAM, the API) carries the pod's assertion, subject token or
 * a token bought with them, so only the operator's CAs verify it. */
static const char *
trust(const struct gcp_op *o)
{
	return d01_endpoints_ca(
	    o->op.env->endpoints, o->cred.ambient, o->cfg->ca_pem);
}

/* Finish with err (NULL: success), scrubbed of every credential. */
static void
finish(struct gcp_op *o, struct d01_error *err)
{
	char *p;

	if (err != NULL && err->code != D01_OK) {
		if (o->cfg->hide)
			d01_endpoint_hide_transport(err, "clouddns", o->uid);
		d01_endpoints_ca_explain(
		    o->op.env->endpoints, o->cred.ambient, o->cfg->ca_pem, err);
		d01_redact(err->msg, sizeof(err->msg), o->token);
		d01_redact(err->msg, sizeof(err->msg), o->cred.key_pem);
		for (p = err->msg; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
	}
	d01_op_finish(&o->op, err);
}

static void http_done(
    void *arg, const struct d01_error *e, const struct d01_http_response *r);

/* One API request (path under /dns/v1/projects/{project}) with the
 * bearer token, within the op's budget. */
static void
api(struct gcp_op *o, const char *method, const char *path, const char *body)
{
	char auth[GCP_TOKEN_MAX + 32], url[GCP_URL_MAX];
	const char *hdrs[4];
	struct d01_http_request req = {0};
	struct d01_error err;
	size_t n = 0;

	d01_error_clear(&err);
	snprintf(url, sizeof(url), "%s/dns/v1/projects/%s%s", o->cfg->endpoint,
	    o->project, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->token);
	hdrs[n++] = auth;
	hdrs[n++] = "Accept: application/json";
	if (body != NULL)
		hdrs[n++] = "Content-Type: application/json";
	hdrs[n] = NULL;
	req.method = method;
	req.url = url;
	req.headers = hdrs;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.ca_pem = trust(o);
	req.budget_ms = d01_op_budget_ms(&o->op);
	req.timeout_ms =
	    req.budget_ms < PER_CALL_MS ? req.budget_ms : PER_CALL_MS;
	if (req.budget_ms <= 0)
		d01_error_set(&err, D01_E_TIMEOUT, "out of time");
	else
		o->call =
		    d01_http_start(o->op.env->http, &req, http_done, o, &err);
	OPENSSL_cleanse(auth, sizeof(auth));
	if (o->call == NULL) {
		d01_error_prefix(&err, "%s: ", o->op.step);
		finish(o, &err);
	}
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	step(arg);
}

/* Step again after 10-265 ms, so racing writers spread out. */
static void
pause_then_step(struct gcp_op *o)
{
	unsigned char r = 0;
	struct timeval tv = {0, 0};

	RAND_bytes(&r, 1);
	tv.tv_usec = (10 + (long)r) * 1000;
	evtimer_add(o->retry, &tv);
}

/* Zone names remembered per endpoint, project, credential and name. */
static void
memo_key(struct gcp_op *o, char *key, size_t n)
{
	unsigned char k[D01_SFC_KEY];
	char tag[33];
	int i;

	if (gcp_token_key(o->state, &o->cred, trust(o), k) != 0)
		snprintf(tag, sizeof(tag), "none-%llu", ++o->state->never);
	else
		for (i = 0; i < 16; i++)
			snprintf(tag + 2 * i, 3, "%02x", k[i]);
	OPENSSL_cleanse(k, sizeof(k));
	snprintf(key, n, "clouddns|%s|%s|%s|%s", o->cfg->endpoint, o->project,
	    tag, o->fqdn);
}

/* The key of the name's last known rrset: endpoint, project, zone, name
 * and the credential (another tenant's writes never feed ours). */
static int
set_key(struct gcp_op *o, unsigned char key[D01_SFC_KEY])
{
	char s[800];

	memo_key(o, s, sizeof(s));
	snprintf(s + strlen(s), sizeof(s) - strlen(s), "|%s", o->zone);
	return d01_sfc_key_str(s, key);
}

/* After a change went through: what the name holds now. */
static void
remember_set(struct gcp_op *o)
{
	unsigned char key[D01_SFC_KEY];
	json_t *body = json_loads(o->sent, 0, NULL);
	json_t *add = json_array_get(json_object_get(body, "additions"), 0);
	char *text = add ? json_dumps(add, JSON_COMPACT) : strdup("null");

	if (text != NULL && set_key(o, key) == 0)
		d01_sfc_set(
		    o->state->sets, key, text, strlen(text) + 1, SET_MEMO_MS);
	free(text);
	json_decref(body);
}

/* The name's last known rrset into o->old: 1, or 0 when none is known. */
static int
known_set(struct gcp_op *o)
{
	unsigned char key[D01_SFC_KEY];
	const char *v;
	size_t len = 0;

	if (o->cas > 0 || set_key(o, key) != 0 ||
	    (v = d01_sfc_peek(o->state->sets, key, &len)) == NULL || len == 0 ||
	    v[len - 1] != '\0')
		return 0;
	json_decref(o->old);
	o->old = json_loads(v, 0, NULL);
	if (o->old != NULL && !json_is_object(o->old)) {
		json_decref(o->old); /* "null": deleted */
		o->old = NULL;
	}
	return 1;
}

static void
zone_reply(struct gcp_op *o, const json_t *root, struct d01_error *err)
{
	char key[800];

	if (gcp_zones_pick(root, o->fqdn, o->zone, sizeof(o->zone),
		&o->best_len, o->page_token, sizeof(o->page_token)) != 0) {
		d01_error_set(err, D01_E_PROTOCOL,
		    "the reply is not a managedZones listing");
		return;
	}
	if (o->page_token[0] != '\0') {
		if (++o->page > MAX_PAGES)
			d01_error_set(err, D01_E_LIMIT,
			    "more than %d pages of managed zones", MAX_PAGES);
		return; /* st stays G_ZONE */
	}
	if (o->zone[0] == '\0') {
		d01_error_set(err, D01_E_NOTFOUND,
		    "no public managed zone in project %s holds %s", o->project,
		    o->fqdn);
		return;
	}
	memo_key(o, key, sizeof(key));
	d01_http_memo_put(o->op.env->http, key, o->zone, ZONE_MEMO_MS);
	d01_op_subject(&o->op, "%s (zone %s)", o->fqdn, o->zone);
	o->st = G_LOCK;
}

static void
http_done(
    void *arg, const struct d01_error *e, const struct d01_http_response *r)
{
	struct gcp_op *o = arg;
	struct d01_error err = *e;
	json_t *root = NULL;
	int bad = 0;

	o->call = NULL;
	if (err.code == D01_OK && r->status == 401 && !o->refreshed) {
		/* Revoked or expired early: one fresh token, same step. */
		o->refreshed = 1;
		gcp_token_forget(o->state, &o->cred, trust(o), o->token);
		d01_secret_wipe(&o->token);
		o->resume = o->st;
		o->st = G_TOKEN;
		step(o);
		return;
	}
	if (err.code == D01_OK && o->st == G_CHANGE &&
	    (r->status == 412 || r->status == 409) && ++o->cas < MAX_CAS) {
		/* The set changed since we read it (another writer). */
		unsigned char key[D01_SFC_KEY];

		if (set_key(o, key) == 0)
			d01_sfc_forget(o->state->sets, key);
		json_decref(o->old);
		o->old = NULL;
		o->st = G_READ;
		pause_then_step(o);
		return;
	}
	if (err.code == D01_OK && (r->status < 200 || r->status > 299)) {
		gcp_reply_error(r->status, r->body, r->len, &err);
	} else if (err.code == D01_OK && o->st != G_CHANGE) {
		root = json_loadb(r->body, r->len, 0, NULL);
		if (o->st == G_ZONE) {
			zone_reply(o, root, &err);
		} else {
			json_decref(o->old);
			o->old = gcp_rrset_find(root, o->fqdn, &bad);
			if (bad)
				d01_error_set(&err, D01_E_PROTOCOL,
				    "the reply is not an rrsets listing");
			o->st = G_CHANGE;
		}
	} else if (err.code == D01_OK) {
		remember_set(o);
		finish(o, NULL); /* accepted; propagation is checked apart */
		return;
	}
	json_decref(root);
	if (err.code != D01_OK) {
		if (err.code == D01_E_CONFLICT)
			d01_error_prefix(&err, "after %d tries, ", o->cas + 1);
		d01_error_prefix(&err, "%s: ", o->op.step);
		finish(o, &err);
		return;
	}
	step(o);
}

static void
token_done(void *arg, const struct d01_error *e, const char *token)
{
	struct gcp_op *o = arg;
	struct d01_error err = *e;

	o->tw = NULL;
	if (err.code == D01_OK && (o->token = strdup(token)) == NULL)
		d01_error_set(&err, D01_E_NOMEM, "out of memory");
	if (err.code != D01_OK) {
		finish(o, &err);
		return;
	}
	o->st = o->resume;
	step(o);
}

/* The key from the secret: parsed, its token_uri allowed. */
static void
secret_done(void *arg, const struct d01_error *e, const char *value, size_t len)
{
	struct gcp_op *o = arg;
	struct d01_error err = *e;
	int custom = 0;

	o->sreq = NULL;
	if (err.code == D01_OK &&
	    gcp_cred_parse(value, len, &o->cred, &err) != D01_OK)
		d01_error_prefix(&err, "secret %s/%s key %s: ", o->ns,
		    o->cfg->secret_name, o->cfg->secret_key);
	if (err.code == D01_OK)
		gcp_check_token_uri(
		    o->op.env, o->cred.token_uri, &custom, &err);
	if (err.code == D01_OK && o->project[0] == '\0') {
		if (o->cred.project_id == NULL)
			d01_error_set(&err, D01_E_CONFIG,
			    "no project in the config nor the key");
		else
			snprintf(o->project, sizeof(o->project), "%s",
			    o->cred.project_id);
	}
	if (err.code != D01_OK) {
		finish(o, &err);
		return;
	}
	o->st = G_TOKEN;
	step(o);
}

static void
lock_taken(void *arg)
{
	step(arg);
}

static void
step(struct gcp_op *o)
{
	struct d01_secret_ref ref = {o->cfg->secret_name, o->cfg->secret_key};
	struct d01_error err;
	char path[GCP_URL_MAX], key[800], *body;
	int noop;

	d01_error_clear(&err);
	switch (o->st) {
	case G_SECRET:
		d01_op_step(&o->op, "reading the service account key %s/%s",
		    o->ns, o->cfg->secret_name);
		o->sreq = d01_secret_get(
		    o->op.env->secrets, o->ns, &ref, secret_done, o, &err);
		if (o->sreq == NULL)
			finish(o, &err);
		return;
	case G_TOKEN:
		d01_op_step(&o->op, "getting an access token");
		o->tw = gcp_token_get(o->op.env, o->state, &o->cred, trust(o),
		    token_done, o, &err);
		if (o->tw == NULL)
			finish(o, &err);
		return;
	case G_ZONE:
		if (o->zone[0] == '\0' && o->page == 0) {
			memo_key(o, key, sizeof(key));
			if (d01_http_memo_get(o->op.env->http, key, o->zone,
				sizeof(o->zone)) == 0) {
				d01_op_subject(
				    &o->op, "%s (zone %s)", o->fqdn, o->zone);
				o->st = G_LOCK;
				step(o);
				return;
			}
			o->page = 1;
		}
		d01_op_step(
		    &o->op, "listing the managed zones (page %d)", o->page);
		snprintf(path, sizeof(path), "/managedZones?maxResults=100%s%s",
		    o->page_token[0] ? "&pageToken=" : "", o->page_token);
		api(o, "GET", path, NULL);
		return;
	case G_LOCK:
		o->st = G_READ;
		snprintf(key, sizeof(key), "%s|%s|%s|%s", o->cfg->endpoint,
		    o->project, o->zone, o->fqdn);
		if (d01_gate_enter(o->state->locks, &o->lock, key, strlen(key),
			lock_taken, o) == D01_GATE_QUEUED) {
			d01_op_step(&o->op, "waiting for the name's lock");
			return; /* lock_taken() runs, from the loop */
		}
		/* FULL or untracked: go on; the preconditions still keep
		 * every value, only less politely. */
		step(o);
		return;
	case G_READ:
		if (known_set(o)) {
			o->st = G_CHANGE;
			step(o);
			return;
		}
		d01_op_step(&o->op, "reading the TXT rrset");
		snprintf(path, sizeof(path),
		    "/managedZones/%s/rrsets?name=%s&type=TXT", o->zone,
		    o->fqdn);
		api(o, "GET", path, NULL);
		return;
	case G_CHANGE:
		body = gcp_change_body(o->old, o->fqdn, o->value, o->op.present,
		    o->cfg->ttl, &noop, &err);
		if (body == NULL) {
			finish(o, noop ? NULL : &err);
			return;
		}
		d01_op_step(&o->op, "changing the TXT rrset");
		snprintf(
		    path, sizeof(path), "/managedZones/%s/changes", o->zone);
		free(o->sent); /* kept: what the name holds if it passes */
		o->sent = body;
		api(o, "POST", path, body);
		return;
	}
}

static enum d01_err
start(struct d01_op *op, void *cfg, const struct d01_challenge *ch,
    struct d01_error *err)
{
	struct gcp_op *o = (struct gcp_op *)op;
	size_t l;

	o->cfg = cfg;
	o->state = d01_env_provider_state(op->env, &d01_provider_clouddns);
	if (op->env->http == NULL || o->state == NULL ||
	    (o->retry = evtimer_new(op->env->base, retry_cb, o)) == NULL)
		return d01_error_set(
		    err, D01_E_NOMEM, "clouddns: cannot start");
	if (strlen(ch->key) == 0 || strlen(ch->key) > 253 ||
	    strpbrk(ch->key, "\"\\") != NULL)
		return d01_error_set(err, D01_E_INVAL,
		    "clouddns: the TXT value must be 1-253 bytes without "
		    "quotes or backslashes");
	snprintf(o->uid, sizeof(o->uid), "%s", ch->uid ? ch->uid : "");
	snprintf(o->ns, sizeof(o->ns), "%s", ch->namespace);
	snprintf(o->value, sizeof(o->value), "%s", ch->key);
	snprintf(o->fqdn, sizeof(o->fqdn), "%s", ch->fqdn);
	if ((l = strlen(o->fqdn)) == 0 || o->fqdn[l - 1] != '.')
		snprintf(o->fqdn + l, sizeof(o->fqdn) - l, ".");
	snprintf(o->project, sizeof(o->project), "%s",
	    o->cfg->project ? o->cfg->project : "");
	snprintf(o->zone, sizeof(o->zone), "%s",
	    o->cfg->zone_name ? o->cfg->zone_name : "");
	o->resume = o->cfg->zone_name ? G_LOCK : G_ZONE;
	if (o->cfg->secret_name != NULL) {
		o->st = G_SECRET;
		step(o);
		return D01_OK;
	}
	if (!ch->allow_ambient)
		return d01_error_set(err, D01_E_CONFIG,
		    "clouddns: no serviceAccountSecretRef in the config, and "
		    "ambient credentials are not allowed for this issuer "
		    "(allowAmbientCredentials is false)");
	/* The pod's own token goes to Google or the operator's endpoint
	 * only, never to one a tenant named, allowed or not. */
	if (o->cfg->custom &&
	    !d01_endpoints_ambient_anywhere(op->env->endpoints))
		return d01_error_set(err, D01_E_CONFIG,
		    "clouddns: ambient credentials are never sent to a custom "
		    "endpoint: give serviceAccountSecretRef, or leave "
		    "endpoint to the default");
	if (gcp_cred_ambient(&o->cred, err) != D01_OK) {
		d01_error_prefix(err, "clouddns: ambient credentials: ");
		return err->code;
	}
	if (o->project[0] == '\0' && o->cred.project_id != NULL)
		snprintf(
		    o->project, sizeof(o->project), "%s", o->cred.project_id);
	if (o->project[0] == '\0')
		return d01_error_set(err, D01_E_CONFIG,
		    "clouddns: project is required with ambient credentials");
	o->st = G_TOKEN;
	step(o);
	return D01_OK;
}

static void
gcp_fini(struct d01_env *env, void *state)
{
	struct gcp_state *st = state;

	(void)env;
	if (st == NULL)
		return;
	d01_sfc_free(st->tokens);
	d01_sfc_free(st->sets);
	d01_gate_free(st->locks);
	OPENSSL_cleanse(st->mac_key, sizeof(st->mac_key));
	free(st);
}

/* Access tokens (64 idle, LRU; 1024 askers a credential) and the
 * per-name locks (one change a name, 4096 queued, 64 names tracked). */
static enum d01_err
gcp_init(struct d01_env *env, const struct d01_env_opts *opts, void **state,
    struct d01_error *err)
{
	const struct d01_sfc_cfg tc = {64, 1024, 1}, sc = {64, 1, 0};
	const struct d01_gate_cfg one = {1, 4096, 64};
	struct gcp_state *st = calloc(1, sizeof(*st));

	(void)opts;
	if (st == NULL || RAND_bytes(st->mac_key, sizeof(st->mac_key)) != 1 ||
	    (st->tokens = d01_sfc_new(env->base, env->clock, &tc)) == NULL ||
	    (st->sets = d01_sfc_new(env->base, env->clock, &sc)) == NULL ||
	    (st->locks = d01_gate_new(env->base, &one)) == NULL) {
		gcp_fini(env, st);
		return d01_error_set(
		    err, D01_E_NOMEM, "clouddns: out of memory");
	}
	*state = st;
	return D01_OK;
}

const struct d01_provider d01_provider_clouddns = {
    .name = "clouddns",
    .summary = "Google Cloud DNS v1, values kept in one rrset by exact-match "
	       "changes",
    .envvars = gcp_envvars,
    .env_fixup = gcp_env_fixup,
    .init = gcp_init,
    .fini = gcp_fini,
    .config_parse = gcp_config_parse,
    .config_free = gcp_config_free,
    .op_size = sizeof(struct gcp_op),
    .start = start,
    .release = gcp_release,
};
