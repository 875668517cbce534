/* SPDX-License-Identifier: ISC */
/*
 * rfc2136 Present/CleanUp as a small state machine:
 *   RESOLVE the nameserver's address (a host name goes to the system's
 *           resolver off the loop; an IP literal comes back at once)
 *   SECRET  resolve tsigSecretSecretRef (when a key is configured)
 *   ZONE    find the zone by SOA walk against the nameserver (when the
 *           request carries no resolvedZone: the standalone CLI)
 *   UPDATE  send the signed UPDATE, judge the RCODE
 * Every step is async; each completion calls step() again.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "core/dname.h"
#include "core/log.h"
#include "core/gate.h"
#include "core/secret.h"
#include "providers/env.h"
#include "providers/rfc2136/rfc2136.h"

/*
 * At most GATE_INFLIGHT UPDATEs in flight per nameserver; the rest wait
 * in FIFO order (core/gate.h). A server applies the updates of a zone one
 * at a time anyway, and past a point it stops answering: BIND drops every
 * UPDATE beyond its update-quota (100 at once) by design, and under 128
 * concurrent webhook calls BIND 9.18 left some UPDATEs without any reply
 * to three tries (failed challenges after 6 s) with nothing in its log or
 * the kernel's UDP drop counters. With the gate: no failures, same
 * throughput (bench/results/2026-11-29.md). The gate is the provider's
 * state in the env (init/fini).
 */
#define GATE_INFLIGHT 32
#define GATE_QUEUE    4096 /* waiting per server before refusing */
#define GATE_SERVERS  64   /* tracked at once; beyond, UPDATEs just go */

enum step { ST_RESOLVE, ST_SECRET, ST_ZONE, ST_UPDATE };

struct rfc2136_op {
	struct d01_op op;	/* first: op.c allocates and frees the whole */
	struct d01_gate *gates; /* the provider's state in env */
	const struct rfc2136_cfg *cfg;
	enum step st;
	char fqdn[D01_DNAME_BUF], zone[D01_DNAME_BUF], walk[D01_DNAME_BUF];
	char key[256], ns[254];
	struct d01_tsig_key tsig;
	struct d01_dns_server srv; /* the nameserver, once resolved */
	struct d01_dns_resolve *rreq;
	struct d01_secret_req *sreq;
	struct d01_dns_req *dreq;
	struct d01_gate_wait gate; /* the nameserver's UPDATE gate */
};

static void step(struct rfc2136_op *o);
static void gate_open(void *arg);

/* op.c's release hook: whichever way the op ended, nothing calls back. */
static void
rfc2136_release(struct d01_op *op)
{
	struct rfc2136_op *o = (struct rfc2136_op *)op;

	d01_dns_resolve_cancel(o->rreq);
	d01_secret_cancel(o->sreq);
	d01_dns_cancel(o->dreq);
	d01_gate_leave(&o->gate);
	d01_tsig_key_clear(&o->tsig);
}

/* Where the key (if any) or else the zone comes next. */
static enum step
after_secret(const struct rfc2136_op *o)
{
	return o->zone[0] ? ST_UPDATE : ST_ZONE;
}

static void
resolved(void *arg, const struct d01_error *e, const struct d01_dns_server *srv)
{
	struct rfc2136_op *o = arg;
	struct d01_error err = *e;

	o->rreq = NULL;
	if (err.code != D01_OK) {
		d01_op_finish(&o->op, &err);
		return;
	}
	o->srv = *srv;
	o->st = o->cfg->key_name[0] ? ST_SECRET : after_secret(o);
	step(o);
}

static void
secret_done(void *arg, const struct d01_error *e, const char *value, size_t len)
{
	struct rfc2136_op *o = arg;
	struct d01_error err = *e;

	(void)len;
	o->sreq = NULL;
	if (err.code == D01_OK &&
	    d01_tsig_key_init(&o->tsig, o->cfg->key_name, o->cfg->algorithm,
		value, &err) == D01_OK) {
		o->st = after_secret(o);
		step(o);
		return;
	}
	d01_op_finish(&o->op, &err);
}

/* SOA walk: is `o->walk` the apex? Else climb one label. */
static void
zone_reply(void *arg, const struct d01_error *e, ldns_pkt *reply)
{
	struct rfc2136_op *o = arg;
	struct d01_error err = *e;
	ldns_rr_list *soa;
	const char *dot;
	char *owner;
	int apex = 0;

	o->dreq = NULL;
	if (err.code != D01_OK) {
		d01_op_finish(&o->op, &err);
		return;
	}
	soa = ldns_pkt_rr_list_by_type(
	    reply, LDNS_RR_TYPE_SOA, LDNS_SECTION_ANSWER);
	if (soa != NULL && ldns_rr_list_rr_count(soa) > 0 &&
	    (owner = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(soa, 0)))) !=
		NULL) {
		char norm[D01_DNAME_BUF];

		apex = d01_dname_normalise(norm, sizeof(norm), owner) == 0 &&
		    strcmp(norm, o->walk) == 0;
		LDNS_FREE(owner);
	}
	ldns_rr_list_deep_free(soa);
	if (apex) {
		memcpy(o->zone, o->walk, sizeof(o->zone));
		o->st = ST_UPDATE;
	} else if ((dot = strchr(o->walk, '.')) != NULL && dot[1] != '\0') {
		memmove(o->walk, dot + 1, strlen(dot + 1) + 1);
	} else {
		d01_error_set(&err, D01_E_NOTFOUND,
		    "%s has no zone (SOA) for this name", o->srv.label);
		d01_op_finish(&o->op, &err);
		return;
	}
	step(o);
}

static void
update_reply(void *arg, const struct d01_error *e, ldns_pkt *reply)
{
	struct rfc2136_op *o = arg;
	struct d01_error err = *e;
	ldns_pkt_rcode rc;

	o->dreq = NULL;
	d01_gate_leave(&o->gate); /* the next UPDATE may go */
	if (err.code == D01_OK &&
	    (rc = ldns_pkt_get_rcode(reply)) != LDNS_RCODE_NOERROR) {
		d01_error_set(&err,
		    rc == LDNS_RCODE_NOTAUTH || rc == LDNS_RCODE_REFUSED
			? D01_E_AUTH
			: D01_E_UPSTREAM,
		    "%s answered %s for zone %s", o->srv.label,
		    d01_rcode_name(rc), o->zone);
		err.status = rc;
		err.retryable = rc == LDNS_RCODE_SERVFAIL;
	}
	d01_op_finish(&o->op, err.code == D01_OK ? NULL : &err);
}

/* The UPDATE: add one TXT RR, or delete exactly it (class NONE, TTL 0). */
static ldns_pkt *
build_update(const struct rfc2136_op *o)
{
	ldns_rr *rr = ldns_rr_new();
	ldns_rr_list *up = ldns_rr_list_new();
	ldns_rdf *zone = ldns_dname_new_frm_str(o->zone);
	ldns_pkt *p = NULL;
	uint8_t data[256];
	size_t n = strlen(o->key);

	if (rr == NULL || up == NULL || zone == NULL || n > 255)
		goto out;
	data[0] = (uint8_t)n;
	memcpy(data + 1, o->key, n);
	ldns_rr_set_owner(rr, ldns_dname_new_frm_str(o->fqdn));
	ldns_rr_set_type(rr, LDNS_RR_TYPE_TXT);
	ldns_rr_set_class(
	    rr, o->op.present ? LDNS_RR_CLASS_IN : LDNS_RR_CLASS_NONE);
	ldns_rr_set_ttl(rr, o->op.present ? o->cfg->ttl : 0);
	ldns_rr_push_rdf(
	    rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, n + 1, data));
	if (ldns_rr_owner(rr) == NULL || ldns_rr_rd_count(rr) != 1 ||
	    !ldns_rr_list_push_rr(up, rr))
		goto out;
	rr = NULL; /* the list owns it */
	/* Takes zone; clones the lists. */
	if ((p = ldns_update_pkt_new(zone, LDNS_RR_CLASS_IN, NULL, up, NULL)))
		ldns_pkt_set_rd(p, false);
	zone = NULL;
out:
	ldns_rr_free(rr);
	ldns_rr_list_deep_free(up);
	ldns_rdf_deep_free(zone);
	return p;
}

/* Send `q` to the configured server; on failure finish with the error. */
static void
op_send(struct rfc2136_op *o, ldns_pkt *q, d01_dns_fn cb)
{
	struct d01_dns_opts opts;
	struct d01_error err;

	if (cb == update_reply)
		d01_op_step(&o->op, "sending the UPDATE to %s", o->srv.label);
	d01_dns_opts_default(&opts);
	opts.tcp = o->cfg->tcp;
	d01_error_clear(&err);
	if (q == NULL)
		d01_error_set(&err, D01_E_NOMEM, "cannot build DNS message");
	else
		o->dreq = d01_dns_send(o->op.env->dns, q, &o->srv,
		    o->tsig.secret ? &o->tsig : NULL, &opts, cb, o, &err);
	ldns_pkt_free(q);
	if (o->dreq == NULL)
		d01_op_finish(&o->op, &err);
}

static void
step(struct rfc2136_op *o)
{
	struct d01_secret_ref ref = {o->cfg->secret_name, o->cfg->secret_key};
	struct d01_error err;
	ldns_pkt *q = NULL;

	switch (o->st) {
	case ST_RESOLVE:
		d01_op_step(
		    &o->op, "resolving the nameserver %s", o->cfg->nameserver);
		d01_error_clear(&err);
		o->rreq = d01_dns_resolve(
		    o->op.env->base, o->cfg->nameserver, 53, resolved, o, &err);
		if (o->rreq == NULL)
			d01_op_finish(&o->op, &err);
		break;
	case ST_SECRET:
		d01_op_step(&o->op, "reading the TSIG secret %s/%s", o->ns,
		    o->cfg->secret_name);
		d01_error_clear(&err);
		o->sreq = d01_secret_get(
		    o->op.env->secrets, o->ns, &ref, secret_done, o, &err);
		if (o->sreq == NULL)
			d01_op_finish(&o->op, &err);
		break;
	case ST_ZONE:
		/* Queries without RD: the server must answer from its own
		 * zones (certbot checks for AA the same way). */
		d01_op_step(&o->op, "looking up the zone (SOA %s) at %s",
		    o->walk, o->srv.label);
		ldns_pkt_query_new_frm_str(
		    &q, o->walk, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0);
		op_send(o, q, zone_reply);
		break;
	case ST_UPDATE:
		switch (d01_gate_enter(o->gates, &o->gate, o->srv.label,
		    strlen(o->srv.label), gate_open, o)) {
		case D01_GATE_GO:
			op_send(o, build_update(o), update_reply);
			break;
		case D01_GATE_QUEUED: /* gate_open() runs, from the loop */
			d01_op_step(&o->op,
			    "waiting for a turn to UPDATE %s (at most %d at "
			    "once)",
			    o->srv.label, GATE_INFLIGHT);
			break;
		default:
			d01_error_clear(&err);
			d01_error_set(&err, D01_E_LIMIT,
			    "more than %d UPDATEs queued for %s", GATE_QUEUE,
			    o->srv.label);
			err.retryable = 1;
			d01_op_finish(&o->op, &err);
		}
		break;
	}
}

/* Our turn at the gate: from the loop, never inside another op's end. */
static void
gate_open(void *arg)
{
	struct rfc2136_op *o = arg;

	op_send(o, build_update(o), update_reply);
}

static enum d01_err
start(struct d01_op *op, void *cfg, const struct d01_challenge *ch,
    struct d01_error *err)
{
	struct rfc2136_op *o = (struct rfc2136_op *)op;

	o->gates = d01_env_provider_state(op->env, &d01_provider_rfc2136);
	if (op->env->dns == NULL || o->gates == NULL)
		return d01_error_set(err, D01_E_INTERNAL,
		    "rfc2136: no DNS client or no state (env not opened)");
	o->cfg = cfg;
	snprintf(o->fqdn, sizeof(o->fqdn), "%s", ch->fqdn);
	snprintf(o->walk, sizeof(o->walk), "%s", ch->fqdn);
	snprintf(o->zone, sizeof(o->zone), "%s", ch->zone ? ch->zone : "");
	snprintf(o->key, sizeof(o->key), "%s", ch->key);
	snprintf(o->ns, sizeof(o->ns), "%s", ch->namespace);
	o->st = ST_RESOLVE;
	step(o);
	return D01_OK;
}

/* The UPDATE gates of every nameserver this env talks to. */
static enum d01_err
rfc2136_init(struct d01_env *env, const struct d01_env_opts *opts, void **state,
    struct d01_error *err)
{
	const struct d01_gate_cfg gc = {
	    GATE_INFLIGHT, GATE_QUEUE, GATE_SERVERS};

	(void)opts;
	if ((*state = d01_gate_new(env->base, &gc)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	return D01_OK;
}

static void
rfc2136_fini(struct d01_env *env, void *state)
{
	(void)env;
	d01_gate_free(state);
}

/* lego's RFC2136_* variables; the secret never enters the config. */
static const struct d01_envvar rfc2136_envvars[] = {
    {"RFC2136_NAMESERVER", NULL, "nameserver", D01_ENVVAR_STRING, 1},
    {"RFC2136_TSIG_KEY", NULL, "tsigKeyName", D01_ENVVAR_STRING, 0},
    {"RFC2136_TSIG_SECRET", NULL, "tsigSecretSecretRef", D01_ENVVAR_SECRET, 0},
    {"RFC2136_TSIG_ALGORITHM", NULL, "tsigAlgorithm", D01_ENVVAR_STRING, 0},
    {"RFC2136_TTL", NULL, "ttl", D01_ENVVAR_INT, 0},
    {NULL, NULL, NULL, D01_ENVVAR_STRING, 0},
};

const struct d01_provider d01_provider_rfc2136 = {
    .name = "rfc2136",
    .summary = "DNS UPDATE (RFC 2136) with TSIG to an authoritative server",
    .envvars = rfc2136_envvars,
    .env_fixup = rfc2136_env_fixup,
    .init = rfc2136_init,
    .fini = rfc2136_fini,
    .config_parse = rfc2136_config_parse,
    .config_free = rfc2136_config_free,
    .op_size = sizeof(struct rfc2136_op),
    .start = start,
    .release = rfc2136_release,
};
