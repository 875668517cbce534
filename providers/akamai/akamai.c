/* SPDX-License-Identifier: ISC */
/*
 * akamai Present/CleanUp as a state machine on the async HTTP client:
 *   SECRET  the three credentials (secret refs in resourceNamespace),
 *           then the .edgerc Secret for whatever is missing
 *   ZONE    resolvedZone, else GET /config-dns/v2/zones/{zone} for the
 *           FQDN and each parent
 *   GATE    one writer per record set at a time in this process (a keyed
 *           gate, core/gate.h): a burst at one name queues instead of
 *           overwriting each other's sets and starting over
 *   READ    GET .../zones/{zone}/names/{name}/types/TXT (404: no set)
 *   WRITE   POST (create), PUT (the whole set) or DELETE (the last value
 *           went); then READ again to see that it held
 * The API has no conditional writes: another writer (another dns01
 * replica, a person) can put back a set read before ours. So every write
 * is checked by a fresh read, and a change that did not hold, a 409 or a
 * 412 starts the round again from that read, at most AK_MAX_TRIES times
 * and while the op's deadline leaves time for it.
 *
 * Requests are signed per send (EdgeGrid forbids reusing a nonce), so
 * resends after 429, 5xx or a dropped connection are made here, not by
 * the HTTP client.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/endpoint.h"
#include "core/log.h"
#include "core/redact.h"
#include "providers/akamai/ak_int.h"
#include "providers/env.h"

#define MIN_ROUND_MS 1000 /* time a read-modify-write round needs */

static void send_current(struct ak_op *o);

static void
wipe_free(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* op.c's release hook: whichever way the op ended, nothing calls back. */
static void
ak_release(struct d01_op *op)
{
	struct ak_op *o = (struct ak_op *)op;
	int i;

	d01_secret_cancel(o->sreq);
	d01_http_cancel(o->call);
	d01_gate_leave(&o->gate);
	if (o->timer != NULL)
		event_free(o->timer);
	for (i = 0; i < AK_NCREDS; i++)
		wipe_free(o->cred[i]);
	free(o->body);
	json_decref(o->set.rdata);
}

static void
subject(struct ak_op *o)
{
	d01_op_subject(&o->op, "%s%s%s%s", o->name, o->zone[0] ? " (zone " : "",
	    o->zone, o->zone[0] ? ")" : "");
}

void
ak_finish(struct ak_op *o, struct d01_error *err)
{
	int i;

	if (err != NULL && err->code != D01_OK) {
		if (o->custom) /* no port-scan oracle */
			d01_endpoint_hide_transport(err, "akamai", o->uid);
		for (i = 0; i < AK_NCREDS; i++)
			d01_redact(err->msg, sizeof(err->msg), o->cred[i]);
	}
	subject(o);
	d01_op_finish(&o->op, err);
}

/* The next zone candidate: the FQDN and each parent, no TLD. 0, or -1. */
static int
next_candidate(struct ak_op *o)
{
	const char *c, *dot;

	while (o->walk < strlen(o->name)) {
		c = o->name + o->walk;
		dot = strchr(c, '.');
		o->walk = dot ? (size_t)(dot - o->name) + 1 : strlen(o->name);
		if (dot == NULL)
			continue;
		snprintf(o->candidate, sizeof(o->candidate), "%s", c);
		return 0;
	}
	return -1;
}

static void
gate_go(void *arg)
{
	struct ak_op *o = arg;

	o->st = AK_READ;
	ak_step(o);
}

/* Set up the current request; the body (may be NULL) is taken over. */
static void
request(struct ak_op *o, const char *method, char *body, const char *fmt,
    const char *a, const char *b)
{
	snprintf(o->method, sizeof(o->method), "%s", method);
	snprintf(o->path, sizeof(o->path), fmt, a, b);
	free(o->body);
	o->body = body;
	o->attempts = 0;
	send_current(o);
}

#define SET_PATH "/config-dns/v2/zones/%s/names/%s/types/TXT"

/* After a fresh read: done, or the write that gets us there. */
static void
decide(struct ak_op *o)
{
	struct d01_error err;
	json_t *rd = NULL;
	char *body = NULL;
	int has = o->set.exists && ak_rdata_has(o->set.rdata, o->value);
	char qn[300];

	d01_error_clear(&err);
	if (o->op.present ? has : !has) {
		ak_finish(o, NULL);
		return;
	}
	if (o->verifying) {
		/* Our write did not hold: another writer put back a set it
		 * had read before. Start again from this read. */
		o->verifying = 0;
		d01_log(D01_LOG_INFO, "akamai_retry",
		    "uid=%s name=%s round=%d cause=changed-set",
		    d01_log_quote(qn, sizeof(qn), o->uid), o->name,
		    o->tries + 1);
		if (++o->tries >= AK_MAX_TRIES ||
		    d01_op_remaining_ms(&o->op) < MIN_ROUND_MS) {
			d01_error_set(&err, D01_E_CONFLICT,
			    "the TXT record set kept changing under us "
			    "(another writer?) in %d rounds",
			    o->tries);
			ak_finish(o, &err);
			return;
		}
	}
	o->st = AK_WRITE;
	if (o->op.present) {
		rd = ak_rdata_with(o->set.rdata, o->value);
		if (rd != NULL)
			body = ak_rrset_body(o->name,
			    o->set.exists ? o->set.ttl : (long)o->cfg->ttl, rd);
		if (json_array_size(rd) > AK_MAX_RDATA) {
			json_decref(rd);
			free(body);
			d01_error_set(&err, D01_E_LIMIT,
			    "the TXT record set has %d values already",
			    AK_MAX_RDATA);
			ak_finish(o, &err);
			return;
		}
	} else {
		rd = ak_rdata_without(o->set.rdata, o->value);
		if (rd != NULL && json_array_size(rd) > 0)
			body = ak_rrset_body(o->name, o->set.ttl, rd);
	}
	if (rd == NULL || (body == NULL && json_array_size(rd) > 0)) {
		json_decref(rd);
		d01_error_set(&err, D01_E_NOMEM, "out of memory");
		ak_finish(o, &err);
		return;
	}
	d01_op_step(&o->op, "%s the TXT record set",
	    !o->set.exists	      ? "creating"
		: json_array_size(rd) ? "replacing"
				      : "deleting");
	request(o,
	    !o->set.exists	      ? "POST"
		: json_array_size(rd) ? "PUT"
				      : "DELETE",
	    body, SET_PATH, o->zone, o->name);
	json_decref(rd);
}

static void
timer_fired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	send_current(arg);
}

/* Send the current request again in `ms`; 0, or -1 with err set. */
static int
later(struct ak_op *o, long ms, struct d01_error *err)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	if (o->timer == NULL &&
	    (o->timer = evtimer_new(o->env->base, timer_fired, o)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return -1;
	}
	evtimer_add(o->timer, &tv);
	return 0;
}

/* A write met a conflict (409, 412, a set gone meanwhile): read again
 * after a short random pause, or give up naming why. */
static void
conflict(struct ak_op *o, struct d01_error *err)
{
	unsigned char r = 0;
	char qn[80];

	d01_log(D01_LOG_INFO, "akamai_retry",
	    "uid=%s name=%s round=%d cause=status-%ld",
	    d01_log_quote(qn, sizeof(qn), o->uid), o->name, o->tries + 1,
	    err->status);
	if (++o->tries >= AK_MAX_TRIES ||
	    d01_op_remaining_ms(&o->op) < MIN_ROUND_MS) {
		d01_error_prefix(
		    err, "%s: gave up after %d rounds: ", o->op.step, o->tries);
		ak_finish(o, err);
		return;
	}
	o->verifying = 0;
	o->st = AK_READ;
	d01_op_step(&o->op, "reading the TXT record set");
	snprintf(o->method, sizeof(o->method), "GET");
	snprintf(o->path, sizeof(o->path), SET_PATH, o->zone, o->name);
	free(o->body);
	o->body = NULL;
	o->attempts = 0;
	/* A short random pause, longer each round, so two writers in
	 * different processes stop meeting head-on. */
	RAND_bytes(&r, 1);
	d01_error_clear(err);
	if (later(o, (20 + r % 80) * (o->tries < 5 ? o->tries : 5), err) != 0)
		ak_finish(o, err);
}

/* A reply to a READ. */
static void
read_reply(struct ak_op *o, const struct d01_http_response *resp,
    struct d01_error *err)
{
	json_decref(o->set.rdata);
	memset(&o->set, 0, sizeof(o->set));
	if (resp->status == 404)
		return;
	if (resp->status != 200) {
		ak_problem(resp->status, resp->body, resp->len, err);
		return;
	}
	ak_rrset_parse(resp->body, resp->len, o->name, &o->set, err);
}

/* Resend after 429, 5xx or a failed transfer, when there is time to:
 * 1 resent (later), 0 not (err stays the op's error). */
static int
resend(struct ak_op *o, const struct d01_http_response *resp,
    struct d01_error *err)
{
	char ra[32];
	long ms = 250L << (o->attempts < 4 ? o->attempts : 4), s;
	unsigned char r = 0;
	struct d01_error e2;

	if (!err->retryable || ++o->attempts >= AK_MAX_ATTEMPTS)
		return 0;
	if (resp != NULL &&
	    d01_http_response_header(resp, "Retry-After", ra, sizeof(ra)) &&
	    (s = strtol(ra, NULL, 10)) >= 0 && s <= 3600)
		ms = s * 1000;
	else {
		RAND_bytes(&r, 1);
		ms = ms / 2 + (ms / 2) * r / 255;
	}
	if (ms + MIN_ROUND_MS / 2 > d01_op_budget_ms(&o->op)) {
		d01_error_prefix(err,
		    "%s: no time left to wait %ld ms for a "
		    "retry: ",
		    o->op.step, ms);
		return 0;
	}
	d01_error_clear(&e2);
	return later(o, ms, &e2) == 0;
}

static void
http_done(
    void *arg, const struct d01_error *e, const struct d01_http_response *resp)
{
	struct ak_op *o = arg;
	struct d01_error err = *e;
	long st = resp != NULL ? resp->status : 0;

	o->call = NULL;
	if (err.code == D01_OK && (st == 429 || st >= 500))
		ak_problem(st, resp->body, resp->len, &err);
	if (err.code != D01_OK) {
		if (resend(o, resp, &err))
			return;
		if (strncmp(err.msg, o->op.step, strlen(o->op.step)) != 0)
			d01_error_prefix(&err, "%s: ", o->op.step);
		ak_finish(o, &err);
		return;
	}
	switch (o->st) {
	case AK_ZONE:
		if (st == 200) {
			snprintf(o->zone, sizeof(o->zone), "%s", o->candidate);
			o->st = AK_GATE;
		} else if (st != 404) {
			ak_problem(st, resp->body, resp->len, &err);
		}
		break;
	case AK_READ:
		read_reply(o, resp, &err);
		if (err.code == D01_OK) {
			decide(o);
			return;
		}
		break;
	case AK_WRITE:
		if (st >= 200 && st < 300) {
			o->verifying = 1;
			o->st = AK_READ;
			break;
		}
		ak_problem(st, resp->body, resp->len, &err);
		if (st == 409 || st == 412 || st == 404) {
			conflict(o, &err);
			return;
		}
		break;
	default:
		break;
	}
	if (err.code != D01_OK) {
		d01_error_prefix(&err, "%s: ", o->op.step);
		ak_finish(o, &err);
		return;
	}
	ak_step(o);
}

/* Sign and send the current request (again). */
static void
send_current(struct ak_op *o)
{
	struct d01_error err;

	subject(o);
	d01_error_clear(&err);
	if ((o->call = ak_api_send(o, http_done, &err)) == NULL)
		ak_finish(o, &err);
}

void
ak_step(struct ak_op *o)
{
	struct d01_error err;
	char key[AK_HOST_MAX + D01_DNAME_BUF + 2];

	d01_error_clear(&err);
	switch (o->st) {
	case AK_SECRET:
		ak_creds_next(o);
		return;
	case AK_ZONE:
		if (o->zone[0] != '\0') {
			o->st = AK_GATE;
			ak_step(o);
			return;
		}
		if (next_candidate(o) != 0) {
			d01_error_set(&err, D01_E_NOTFOUND,
			    "no Edge DNS zone holds %s (asked for every "
			    "parent)",
			    o->name);
			ak_finish(o, &err);
			return;
		}
		d01_op_step(&o->op, "looking up zone %s", o->candidate);
		request(o, "GET", NULL, "/config-dns/v2/zones/%s%s",
		    o->candidate, "");
		return;
	case AK_GATE:
		d01_op_step(&o->op, "waiting for another change at the name");
		subject(o);
		snprintf(key, sizeof(key), "%s|%s", o->host, o->name);
		/* A full gate lets the op through: the re-read after each
		 * write still keeps the values right, only less politely. */
		if (o->state == NULL ||
		    d01_gate_enter(o->state->gate, &o->gate, key, strlen(key),
			gate_go, o) != D01_GATE_QUEUED)
			gate_go(o);
		return;
	case AK_READ:
		d01_op_step(&o->op, "%s the TXT record set",
		    o->verifying ? "re-reading" : "reading");
		request(o, "GET", NULL, SET_PATH, o->zone, o->name);
		return;
	case AK_WRITE:
		return; /* decide() sends writes */
	}
}

static enum d01_err
start(struct d01_op *op, void *cfg, const struct d01_challenge *ch,
    struct d01_error *err)
{
	struct ak_op *o = (struct ak_op *)op;
	size_t n;

	if (op->env->http == NULL)
		return d01_error_set(
		    err, D01_E_INTERNAL, "akamai: no HTTP client");
	if (strlen(ch->key) == 0 || strlen(ch->key) > 253 ||
	    strpbrk(ch->key, "\"\\") != NULL)
		return d01_error_set(err, D01_E_INVAL,
		    "akamai: the TXT value must be 1-253 bytes without "
		    "quotes or backslashes");
	o->env = op->env;
	o->cfg = cfg;
	o->state = d01_env_provider_state(op->env, &d01_provider_akamai);
	snprintf(o->uid, sizeof(o->uid), "%s", ch->uid ? ch->uid : "");
	snprintf(o->name, sizeof(o->name), "%s", ch->fqdn);
	if ((n = strlen(o->name)) > 0 && o->name[n - 1] == '.')
		o->name[n - 1] = '\0';
	/* Names go into URL paths: only what a host name may hold. */
	if (n < 2 ||
	    strspn(o->name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") !=
		strlen(o->name))
		return d01_error_set(err, D01_E_INVAL,
		    "akamai: the name must be lower-case letters, digits, "
		    "'-', '_' and dots");
	if (ch->zone != NULL && ch->zone[0] != '\0' &&
	    d01_dname_in_zone(ch->fqdn, ch->zone)) {
		snprintf(o->zone, sizeof(o->zone), "%s", ch->zone);
		if ((n = strlen(o->zone)) > 0 && o->zone[n - 1] == '.')
			o->zone[n - 1] = '\0';
		if (strspn(
			o->zone, "abcdefghijklmnopqrstuvwxyz0123456789-_.") !=
			strlen(o->zone) ||
		    o->zone[0] == '\0')
			o->zone[0] = '\0'; /* not a hint worth following */
	}
	snprintf(o->value, sizeof(o->value), "%s", ch->key);
	snprintf(
	    o->ns, sizeof(o->ns), "%s", ch->namespace ? ch->namespace : "");
	subject(o);
	o->st = AK_SECRET;
	ak_step(o);
	return D01_OK;
}

static void
ak_fini(struct d01_env *env, void *state)
{
	struct ak_state *st = state;

	(void)env;
	if (st == NULL)
		return;
	d01_gate_free(st->gate);
	free(st);
}

/* One writer per record set at a time, shared by every op of the env. */
static enum d01_err
ak_init(struct d01_env *env, const struct d01_env_opts *opts, void **state,
    struct d01_error *err)
{
	const struct d01_gate_cfg one = {1, 4096, 64};
	struct ak_state *st = calloc(1, sizeof(*st));

	(void)opts;
	if (st == NULL || (st->gate = d01_gate_new(env->base, &one)) == NULL) {
		ak_fini(env, st);
		return d01_error_set(err, D01_E_NOMEM, "akamai: out of memory");
	}
	*state = st;
	return D01_OK;
}

/* lego's names; AKAMAI_EDGERC names a file, read into the in-memory
 * secret store like the credentials. AKAMAI_CA_BUNDLE reaches a private
 * endpoint or a test's fake. */
static const struct d01_envvar ak_envvars[] = {
    {"AKAMAI_HOST", NULL, "serviceConsumerDomain", D01_ENVVAR_STRING, 0},
    {"AKAMAI_CLIENT_TOKEN", NULL, "clientTokenSecretRef", D01_ENVVAR_SECRET, 0},
    {"AKAMAI_CLIENT_SECRET", NULL, "clientSecretSecretRef", D01_ENVVAR_SECRET,
	0},
    {"AKAMAI_ACCESS_TOKEN", NULL, "accessTokenSecretRef", D01_ENVVAR_SECRET, 0},
    {"AKAMAI_EDGERC", NULL, "edgercSecretRef", D01_ENVVAR_SECRET_FILE, 0},
    {"AKAMAI_EDGERC_SECTION", NULL, "edgercSection", D01_ENVVAR_STRING, 0},
    {"AKAMAI_TTL", NULL, "ttl", D01_ENVVAR_INT, 0},
    {"AKAMAI_CA_BUNDLE", NULL, "caBundle", D01_ENVVAR_STRING, 0},
    {NULL, NULL, NULL, D01_ENVVAR_STRING, 0},
};

const struct d01_provider d01_provider_akamai = {
    .name = "akamai",
    .summary = "Akamai Edge DNS (config-dns v2, EdgeGrid), one TXT record "
	       "set per name",
    .envvars = ak_envvars,
    .env_fixup = ak_env_fixup,
    .init = ak_init,
    .fini = ak_fini,
    .config_parse = ak_config_parse,
    .config_free = ak_config_free,
    .op_size = sizeof(struct ak_op),
    .start = start,
    .release = ak_release,
};
