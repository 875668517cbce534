/* SPDX-License-Identifier: ISC */
/*
 * route53 Present/CleanUp as a state machine on the async HTTP client:
 *   KEYID, SECRET  resolve the secret references (or take ambient keys)
 *   ZONE           ListHostedZonesByName, longest public suffix
 *   LIST           ListResourceRecordSets at the name, TXT
 *   CHANGE         the compare-and-swap batch (r53_xml.c); a lost race
 *                  (InvalidChangeBatch) goes back to LIST, at most 5 times
 * Every request is SigV4-signed (core/sigv4.c) for route53/us-east-1,
 * within what is left of the op's deadline (providers/op.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/clock.h"
#include "core/dname.h"
#include "core/endpoint.h"
#include "core/http_client.h"
#include "core/redact.h"
#include "core/secret.h"
#include "core/sigv4.h"
#include "providers/env.h"
#include "providers/route53/r53_int.h"

#define ZONE_MEMO_MS (5 * 60 * 1000)
#define MAX_CAS	     12

static void step(struct r53_op *o);
static void sts_step(struct r53_op *o);

/* op.c's release hook: whichever way the op ended, nothing calls back. */
static void
r53_release(struct d01_op *op)
{
	struct r53_op *o = (struct r53_op *)op;

	d01_secret_cancel(o->sreq);
	d01_http_cancel(o->call);
	if (o->retry != NULL)
		event_free(o->retry);
	d01_gate_leave(&o->lock);
	r53_sts_cancel(o->sts);
	r53_wipe(&o->akid);
	r53_wipe(&o->secret);
	r53_wipe(&o->token);
	r53_wipe(&o->web_token);
	free(o->web_role);
}

/* Finish with err (NULL: success), scrubbed, then op.c. */
static void
finish(struct r53_op *o, struct d01_error *err)
{
	char *p;

	if (err != NULL && err->code != D01_OK) {
		/* Whatever an endpoint said reaches the caller and the log:
		 * no port-scan oracle, no credential, no control bytes. */
		if (o->cfg->custom_endpoint || o->cfg->custom_sts)
			d01_endpoint_hide_transport(err, "route53", o->fqdn);
		d01_endpoints_ca_explain(
		    o->env->endpoints, o->ambient, o->cfg->ca_pem, err);
		d01_redact(err->msg, sizeof(err->msg), o->secret);
		d01_redact(err->msg, sizeof(err->msg), o->token);
		for (p = err->msg; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
	}
	d01_op_finish(&o->op, err);
}

void
r53_wipe(char **p)
{
	if (*p != NULL) {
		OPENSSL_cleanse(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

static void http_done(void *arg, const struct d01_error *err,
    const struct d01_http_response *resp);

/* Sign and send one API request. */
static void
api(struct r53_op *o, const char *method, const char *path, const char *query,
    const char *body)
{
	const struct d01_sigv4_header sh[2] = {
	    {"Host", o->cfg->host}, {"Content-Type", "text/xml"}};
	struct d01_sigv4_input in = {0};
	struct d01_sigv4_output out = {0};
	struct d01_http_request req = {0};
	struct d01_error err;
	char url[1024], date[64], auth[600], tok[2200];
	const char *hdrs[5];
	size_t n = 0;

	d01_error_clear(&err);
	in.method = method;
	in.path = path;
	in.query = query;
	in.headers = sh;
	in.nheaders = body ? 2 : 1;
	in.payload = (const uint8_t *)(body ? body : "");
	in.payload_len = body ? strlen(body) : 0;
	in.region = o->cfg->region;
	in.service = "route53";
	in.access_key = o->akid;
	in.secret_key = o->secret;
	in.session_token = o->token;
	in.when = (time_t)d01_clock_wall_s(o->env->clock); /* the env's */
	in.normalize = 1;
	if (d01_sigv4_sign(&in, &out, &err) != D01_OK) {
		finish(o, &err);
		return;
	}
	snprintf(url, sizeof(url), "%s%s%s%s", o->cfg->endpoint, path,
	    query[0] ? "?" : "", query);
	snprintf(date, sizeof(date), "X-Amz-Date: %s", out.amz_date);
	snprintf(auth, sizeof(auth), "Authorization: %s", out.authorization);
	hdrs[n++] = date;
	hdrs[n++] = auth;
	if (o->token != NULL) {
		snprintf(
		    tok, sizeof(tok), "X-Amz-Security-Token: %s", o->token);
		hdrs[n++] = tok;
	}
	if (body != NULL)
		hdrs[n++] = "Content-Type: text/xml";
	hdrs[n] = NULL;
	req.method = method;
	req.url = url;
	req.headers = hdrs;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	/* Signed with the pod's keys, or a session bought with them, when
	 * ambient: then only the operator's trust verifies the endpoint. */
	req.ca_pem =
	    d01_endpoints_ca(o->env->endpoints, o->ambient, o->cfg->ca_pem);
	req.budget_ms = d01_op_budget_ms(&o->op);
	req.timeout_ms = req.budget_ms < 10000 ? req.budget_ms : 10000;
	d01_sigv4_output_clear(&out);
	if (req.budget_ms <= 0)
		d01_error_set(&err, D01_E_TIMEOUT, "out of time");
	else
		o->call =
		    d01_http_start(o->env->http, &req, http_done, o, &err);
	OPENSSL_cleanse(tok, sizeof(tok));
	if (o->call == NULL)
		finish(o, &err);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	step(arg);
}

/* o->retry is made at start, so resuming cannot fail half way. */
void
r53_resume(struct r53_op *o)
{
	struct timeval tv = {0, 0};

	evtimer_add(o->retry, &tv);
}

static void
pause_then_step(struct r53_op *o)
{
	uint8_t r = 0;
	struct timeval tv;
	long ms;

	RAND_bytes(&r, 1);
	ms = 20 + (long)r * (o->cas < 4 ? o->cas : 4);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(o->retry, &tv);
}

/* Zone IDs are remembered per endpoint, name and credential: the whole
 * credential (a digest of key ID, secret and token, see r53_cred_tag), so
 * a caller with someone else's key ID but not the secret never skips the
 * zone lookup with an ID found for the owner. */
static void
zone_memo_key(const struct r53_op *o, char *key, size_t len)
{
	char tag[2 * R53_DIGEST_LEN + 1];

	/* Without a tag: a key no one else can have. */
	if (r53_cred_tag(o, tag) != 0)
		snprintf(tag, sizeof(tag), "none-%llu", ++o->state->never);
	snprintf(key, len, "route53|%s|%s|%s", o->cfg->endpoint, tag,
	    o->zone[0] ? o->zone : o->fqdn);
}

/* GetChange again in 2 s (cert-manager and lego poll every 4 s). */
static void
sync_later(struct r53_op *o)
{
	struct timeval tv = {2, 0};

	evtimer_add(o->retry, &tv);
}

static void
http_done(
    void *arg, const struct d01_error *e, const struct d01_http_response *resp)
{
	struct r53_op *o = arg;
	struct d01_error err = *e;
	char key[600];
	int icb;

	o->call = NULL;
	if (err.code == D01_OK && resp->status == 404) {
		/* NoSuchHostedZone: a remembered ID went stale. */
		zone_memo_key(o, key, sizeof(key));
		d01_http_memo_forget(o->env->http, key);
	}
	if (err.code == D01_OK && resp->status >= 300) {
		icb =
		    r53_parse_error(resp->body, resp->len, resp->status, &err);
		if (icb != 0 && ++o->cas < MAX_CAS) {
			/* A lost race (re-read the set) or throttling (same
			 * request again): after a random pause, so that
			 * writers racing for one name spread out. */
			if (icb == 1 && o->st == R_CHANGE)
				o->st = R_LIST;
			if (icb == 2 || o->st == R_LIST) {
				pause_then_step(o);
				return;
			}
		}
	} else if (err.code == D01_OK && o->st == R_ZONE) {
		if (r53_parse_zones(resp->body, resp->len, o->fqdn, o->zone_id,
			sizeof(o->zone_id), &err) == 0) {
			zone_memo_key(o, key, sizeof(key));
			d01_http_memo_put(
			    o->env->http, key, o->zone_id, ZONE_MEMO_MS);
			o->st = R_LIST;
		}
	} else if (err.code == D01_OK && o->st == R_LIST) {
		o->nsets = r53_parse_sets(
		    resp->body, resp->len, o->fqdn, o->sets, 8, &err);
		if (o->nsets >= 0)
			o->st = R_CHANGE;
	} else if (err.code == D01_OK &&
	    (o->st == R_CHANGE || o->st == R_SYNC)) {
		/* Accepted (PENDING). Unless asked to, do not wait for INSYNC:
		 * cert-manager and `dns01 check` verify propagation, and a
		 * webhook must answer long before Route 53's ~60 s. */
		int insync = 0;

		if (!o->cfg->wait_sync) {
			finish(o, NULL);
			return;
		}
		if (r53_parse_change(resp->body, resp->len, o->change_id,
			sizeof(o->change_id), &insync) != 0) {
			d01_error_set(
			    &err, D01_E_PROTOCOL, "no ChangeInfo in the reply");
		} else if (insync) {
			finish(o, NULL);
			return;
		} else if (d01_op_remaining_ms(&o->op) < 2500) {
			d01_error_set(&err, D01_E_TIMEOUT,
			    "change %s still PENDING", o->change_id);
		} else {
			o->st = R_SYNC;
			sync_later(o);
			return;
		}
	}
	if (err.code != D01_OK) {
		finish(o, &err);
		return;
	}
	step(o);
}

static void
secret_done(void *arg, const struct d01_error *e, const char *value, size_t len)
{
	struct r53_op *o = arg;
	struct d01_error err = *e;
	char **dst = o->st == R_KEYID ? &o->akid : &o->secret;

	(void)len;
	o->sreq = NULL;
	if (err.code == D01_OK && (*dst = strdup(value)) == NULL)
		d01_error_set(&err, D01_E_NOMEM, "out of memory");
	if (err.code != D01_OK) {
		finish(o, &err);
		return;
	}
	o->st = o->st == R_KEYID ? R_SECRET : o->cfg->role ? R_STS : R_ZONE;
	step(o);
}

static void
sts_done(void *arg, const struct d01_error *e, const struct r53_keys *k)
{
	struct r53_op *o = arg;
	struct d01_error err = *e;

	o->sts = NULL;
	if (err.code != D01_OK) {
		finish(o, &err);
		return;
	}
	r53_wipe(&o->akid);
	r53_wipe(&o->secret);
	r53_wipe(&o->token);
	o->akid = strdup(k->akid);
	o->secret = strdup(k->secret);
	o->token = k->token ? strdup(k->token) : NULL;
	if (o->akid == NULL || o->secret == NULL) {
		d01_error_set(&err, D01_E_NOMEM, "out of memory");
		finish(o, &err);
		return;
	}
	/* Web identity first; a configured role is then assumed with it. */
	if (o->web_token != NULL) {
		r53_wipe(&o->web_token);
		o->st = o->cfg->role ? R_STS : R_ZONE;
	} else {
		o->st = R_ZONE;
	}
	step(o);
}

static void
sts_step(struct r53_op *o)
{
	struct r53_keys base = {o->akid, o->secret, o->token};
	struct r53_sts_req req = {o->cfg->sts_endpoint,
	    d01_endpoints_ca(o->env->endpoints, o->ambient, o->cfg->ca_pem),
	    o->web_token ? o->web_role : o->cfg->role, o->web_token, &base,
	    o->ambient};
	struct d01_error err;

	d01_error_clear(&err);
	if ((o->sts = r53_sts_get(o->env, &req, sts_done, o, &err)) == NULL)
		finish(o, &err);
}

static void
lock_taken(void *arg)
{
	step(arg);
}

/* Hold the name's lock (kept across compare-and-swap retries): 1 go on,
 * 0 queued. A full queue or table lets the op through: the
 * compare-and-swap still keeps the values right, only less politely. */
static int
lock_name(struct r53_op *o)
{
	char key[400];

	if (o->lock.state != D01_GATE_OUT)
		return 1;
	snprintf(key, sizeof(key), "%s|%s", o->zone_id, o->fqdn);
	return d01_gate_enter(o->state->locks, &o->lock, key, strlen(key),
		   lock_taken, o) != D01_GATE_QUEUED;
}

static void
step(struct r53_op *o)
{
	struct d01_secret_ref ref;
	struct d01_error err;
	char path[300], query[600], key[600], *body;
	int noop;

	d01_error_clear(&err);
	switch (o->st) {
	case R_KEYID:
	case R_SECRET:
		d01_op_step(&o->op, "reading the %s",
		    o->st == R_KEYID ? "access key ID" : "secret access key");
		ref.name = o->st == R_KEYID ? o->cfg->key_id_name
					    : o->cfg->secret_name;
		ref.key =
		    o->st == R_KEYID ? o->cfg->key_id_key : o->cfg->secret_key;
		o->sreq = d01_secret_get(
		    o->env->secrets, o->ns, &ref, secret_done, o, &err);
		if (o->sreq == NULL)
			finish(o, &err);
		return;
	case R_STS:
		d01_op_step(&o->op, "getting credentials from STS");
		sts_step(o);
		return;
	case R_ZONE:
		if (o->cfg->zone_id != NULL) {
			snprintf(o->zone_id, sizeof(o->zone_id), "%s",
			    o->cfg->zone_id);
			o->st = R_LIST;
			step(o);
			return;
		}
		zone_memo_key(o, key, sizeof(key));
		if (d01_http_memo_get(o->env->http, key, o->zone_id,
			sizeof(o->zone_id)) == 0) {
			o->st = R_LIST;
			step(o);
			return;
		}
		d01_op_step(&o->op, "looking up the hosted zone");
		snprintf(query, sizeof(query), "dnsname=%s&maxitems=100",
		    o->zone[0] ? o->zone : o->fqdn);
		api(o, "GET", "/2013-04-01/hostedzonesbyname", query, NULL);
		return;
	case R_LIST:
		if (!lock_name(o)) {
			/* lock_taken() runs, from the loop */
			d01_op_step(&o->op, "waiting for the write lock");
			return;
		}
		d01_op_step(&o->op, "listing the TXT record set");
		snprintf(path, sizeof(path), "/2013-04-01/hostedzone/%s/rrset",
		    o->zone_id);
		snprintf(query, sizeof(query), "name=%s&type=TXT&maxitems=100",
		    o->fqdn);
		api(o, "GET", path, query, NULL);
		return;
	case R_SYNC:
		d01_op_step(
		    &o->op, "waiting for change %s to be INSYNC", o->change_id);
		snprintf(
		    path, sizeof(path), "/2013-04-01/change/%s", o->change_id);
		api(o, "GET", path, "", NULL);
		return;
	case R_CHANGE:
		body = r53_change_batch(o->fqdn, o->sets, o->nsets, o->value,
		    o->op.present, o->cfg->ttl, &noop);
		if (body == NULL) {
			if (!noop)
				d01_error_set(&err, D01_E_LIMIT,
				    "cannot build the change batch");
			finish(o, noop ? NULL : &err);
			return;
		}
		d01_op_step(&o->op, "changing the TXT record set");
		snprintf(path, sizeof(path), "/2013-04-01/hostedzone/%s/rrset/",
		    o->zone_id);
		api(o, "POST", path, "", body);
		free(body);
		return;
	}
}

static enum d01_err
start(struct d01_op *op, void *cfg, const struct d01_challenge *ch,
    struct d01_error *err)
{
	struct r53_op *o = (struct r53_op *)op;

	o->env = op->env;
	o->state = r53_state_of(op->env);
	o->cfg = cfg;
	if (op->env->http == NULL || o->state == NULL ||
	    (o->retry = evtimer_new(op->env->base, retry_cb, o)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "route53: cannot start");
	snprintf(o->fqdn, sizeof(o->fqdn), "%s", ch->fqdn);
	snprintf(o->zone, sizeof(o->zone), "%s", ch->zone ? ch->zone : "");
	snprintf(o->value, sizeof(o->value), "%s", ch->key);
	snprintf(o->ns, sizeof(o->ns), "%s", ch->namespace);
	/* The pod's own credentials go to AWS or the operator's endpoints
	 * only, never to one a tenant named, allowed or not. */
	if (o->cfg->secret_name == NULL && ch->allow_ambient &&
	    (o->cfg->custom_endpoint || o->cfg->custom_sts) &&
	    !d01_endpoints_ambient_anywhere(op->env->endpoints))
		d01_error_set(err, D01_E_CONFIG,
		    "ambient credentials are never sent to a custom %s: give "
		    "accessKeyID(SecretRef) and secretAccessKeySecretRef, or "
		    "leave endpoint and stsEndpoint to the defaults",
		    o->cfg->custom_endpoint ? "endpoint" : "stsEndpoint");
	if (err->code != D01_OK || r53_credentials(o, ch, err) != 0) {
		if (err->code == D01_OK) /* strdup failed */
			d01_error_set(err, D01_E_NOMEM, "out of memory");
		d01_error_prefix(err, "route53: ");
		return err->code;
	}
	step(o);
	return D01_OK;
}

struct r53_state *
r53_state_of(const struct d01_env *env)
{
	return d01_env_provider_state(env, &d01_provider_route53);
}

static void
r53_fini(struct d01_env *env, void *state)
{
	struct r53_state *st = state;

	(void)env;
	if (st == NULL)
		return;
	r53_sts_free(st->sts);
	d01_gate_free(st->locks);
	free(st);
}

/* STS sessions and write locks, shared by every op of the env. */
static enum d01_err
r53_init(struct d01_env *env, const struct d01_env_opts *opts, void **state,
    struct d01_error *err)
{
	const struct d01_gate_cfg one = {1, 4096, 64};
	struct r53_state *st = calloc(1, sizeof(*st));

	(void)opts;
	if (st == NULL || (st->sts = r53_sts_new(env)) == NULL ||
	    (st->locks = d01_gate_new(env->base, &one)) == NULL) {
		r53_fini(env, st);
		return d01_error_set(
		    err, D01_E_NOMEM, "route53: out of memory");
	}
	*state = st;
	return D01_OK;
}

const struct d01_provider d01_provider_route53 = {
    .name = "route53",
    .summary = "AWS Route 53 (SigV4), values kept by compare-and-swap",
    .envvars = r53_envvars,
    .init = r53_init,
    .fini = r53_fini,
    .config_parse = r53_config_parse,
    .config_free = r53_config_free,
    .op_size = sizeof(struct r53_op),
    .start = start,
    .release = r53_release,
};
