/* SPDX-License-Identifier: ISC */
/*
 * The `embedded` provider: Present/CleanUp change the in-memory store that
 * this process's own DNS server answers from. Without a back end
 * (`--embedded-store memory`) the change is synchronous: start finishes
 * the op at once, and op.c delivers the outcome from the event loop like
 * every other provider's. With one (core/recstore.h: the Kubernetes API,
 * plugged in by the daemon) the op waits for the back end's write, which
 * also puts the value into the local store before it answers.
 */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/recstore.h"
#include "providers/embedded/accounts.h"
#include "providers/embedded/dnsd.h"
#include "providers/embedded/dnsd_update.h"
#include "providers/embedded/embedded.h"
#include "providers/embedded/notify.h"
#include "providers/embedded/store.h"
#include "providers/embedded/tsigkeys.h"
#include "providers/embedded/xfr.h"
#include "providers/env.h"

/* One listener per --dns-listen address: each has its own sockets and
 * TCP clients; they share the store and the transfer bound. */
#define MAX_LISTEN 16

/* The provider's state in the env: the zones and their DNS server. */
struct embedded_state {
	struct d01_txtstore *store;	   /* NULL: no --embedded-zone */
	struct d01_acctab *accounts;	   /* with store: acme-dns accounts */
	struct d01_dnsd *dnsd[MAX_LISTEN]; /* none: no --dns-listen */
	size_t ndnsd;
	struct d01_xfr *xfr;		/* with store: AXFR/IXFR ACL */
	struct d01_notify *notify;	/* NULL: no --notify */
	struct d01_keyring *keys;	/* NULL: no --tsig-keyfile */
	struct d01_updater *updater;	/* with keys and a dnsd: UPDATE */
	struct d01_recstore_backend be; /* be.start NULL: memory only */
};

struct embedded_op {
	struct d01_op op;
	void *write; /* the back end's write in flight, or NULL */
	const struct d01_recstore_backend *be;
};

static enum d01_err
embedded_config_parse(struct d01_env *env, const json_t *config, void **cfg,
    struct d01_error *err)
{
	(void)env;
	/* No settings: any object (or none) is fine, other JSON is a typo. */
	if (config != NULL && !json_is_object(config) && !json_is_null(config))
		return d01_error_set(err, D01_E_CONFIG,
		    "embedded: config must be an object when given");
	*cfg = NULL;
	return D01_OK;
}

static void
embedded_config_free(void *cfg)
{
	(void)cfg;
}

struct d01_txtstore *
d01_embedded_store(const struct d01_env *env)
{
	struct embedded_state *st =
	    d01_env_provider_state(env, &d01_provider_embedded);

	return st != NULL ? st->store : NULL;
}

static int
embedded_ready(struct d01_txtstore *store, const struct d01_challenge *ch,
    struct d01_error *err)
{
	if (store == NULL || d01_txtstore_zone_count(store) == 0) {
		d01_error_set(err, D01_E_CONFIG,
		    "embedded: this server has no --embedded-zone, so it "
		    "cannot "
		    "serve %s",
		    ch->fqdn);
		return -1;
	}
	return 0;
}

static void
embedded_written(void *arg, const struct d01_error *err)
{
	struct embedded_op *eo = arg;

	eo->write = NULL;
	d01_op_finish(&eo->op, err->code == D01_OK ? NULL : err);
}

/* Through the back end: checked here first, so that nothing the local
 * store would refuse is ever written to the shared one. */
static enum d01_err
embedded_start_backend(struct embedded_op *eo, struct embedded_state *st,
    const struct d01_challenge *ch, struct d01_error *err)
{
	const struct d01_txtzone *z =
	    d01_txtstore_find_zone(st->store, ch->fqdn);
	size_t vlen = strlen(ch->key);

	if (z == NULL)
		return d01_error_set(err, D01_E_NOTFOUND,
		    "embedded: %.255s is not inside any embedded zone",
		    ch->fqdn);
	if (vlen == 0 || vlen > D01_STORE_MAX_VALUE_LEN)
		return d01_error_set(err, D01_E_INVAL,
		    "embedded: TXT value must be 1 to %d bytes, got %zu",
		    D01_STORE_MAX_VALUE_LEN, vlen);
	d01_op_step(&eo->op, "writing to the shared store");
	eo->be = &st->be;
	eo->write = st->be.start(st->be.ctx, eo->op.present, z->name, ch->fqdn,
	    ch->key, d01_op_budget_ms(&eo->op), embedded_written, eo, err);
	return eo->write != NULL ? D01_OK : err->code;
}

static void
embedded_release(struct d01_op *op)
{
	struct embedded_op *eo = (struct embedded_op *)op;

	if (eo->write != NULL)
		eo->be->cancel(eo->write);
	eo->write = NULL;
}

static enum d01_err
embedded_start(struct d01_op *op, void *cfg, const struct d01_challenge *ch,
    struct d01_error *err)
{
	struct embedded_state *st =
	    d01_env_provider_state(op->env, &d01_provider_embedded);
	struct d01_txtstore *store = st != NULL ? st->store : NULL;
	enum d01_err rc;

	(void)cfg;
	if (embedded_ready(store, ch, err) != 0)
		return err->code;
	if (st->be.start != NULL)
		return embedded_start_backend(
		    (struct embedded_op *)op, st, ch, err);
	rc = op->present ? d01_txtstore_add(store, ch->fqdn, ch->key, err)
			 : d01_txtstore_remove(store, ch->fqdn, ch->key, err);
	if (rc != D01_OK) {
		d01_error_prefix(err,
		    "embedded: %s %s: ", op->present ? "present" : "cleanup",
		    ch->fqdn);
		return rc;
	}
	d01_op_finish(op, NULL);
	return D01_OK;
}

static void
embedded_fini(struct d01_env *env, void *state)
{
	struct embedded_state *st = state;

	(void)env;
	if (st == NULL)
		return;
	while (st->ndnsd > 0) /* first: they answer from the store */
		d01_dnsd_free(st->dnsd[--st->ndnsd]);
	d01_updater_free(st->updater);
	d01_keyring_free(st->keys);
	d01_xfr_free(st->xfr);
	d01_notify_free(st->notify); /* d01_txtstore_free does not call it */
	d01_txtstore_free(st->store);
	d01_acctab_free(st->accounts);
	free(st);
}

/* The listeners (dns_listen, then dns_listens), transfers and NOTIFY. */
static int
secondaries_init(struct d01_env *env, struct embedded_state *st,
    const struct d01_env_opts *opts, struct d01_error *err)
{
	const char *addr;
	size_t i;

	if ((st->xfr = d01_xfr_new(
		 opts->allow_transfer, opts->nallow_transfer, err)) == NULL)
		return -1;
	if (opts->nnotify > 0) {
		if ((st->notify = d01_notify_new(env->base, env->clock,
			 st->store, opts->notify, opts->nnotify, err)) == NULL)
			return -1;
		d01_txtstore_on_change(
		    st->store, d01_notify_changed, st->notify);
	}
	for (i = 0; i < opts->ndns_listens + 1; i++) {
		addr = i == 0 ? opts->dns_listen : opts->dns_listens[i - 1];
		if (addr == NULL)
			continue;
		if (st->ndnsd == MAX_LISTEN)
			return d01_error_set(err, D01_E_CONFIG,
			    "more than %d --dns-listen addresses", MAX_LISTEN);
		if ((st->dnsd[st->ndnsd] = d01_dnsd_new(
			 env->base, st->store, addr, err)) == NULL)
			return -1;
		d01_dnsd_set_xfr(st->dnsd[st->ndnsd++], st->xfr);
	}
	return 0;
}

/* The TSIG keys and grants of opts (read now: the operator's files, at
 * start-up) and the updater taking UPDATEs on the DNS server. */
static enum d01_err
keys_init(struct d01_env *env, struct embedded_state *st,
    const struct d01_env_opts *opts, struct d01_error *err)
{
	size_t i;

	if (opts->ntsig_keyfiles == 0) {
		if (opts->nupdate_policies > 0)
			return d01_error_set(err, D01_E_CONFIG,
			    "--update-policy needs --tsig-keyfile");
		return D01_OK;
	}
	if (st->store == NULL)
		return d01_error_set(
		    err, D01_E_CONFIG, "--tsig-keyfile needs --embedded-zone");
	if ((st->keys = d01_keyring_new()) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	for (i = 0; i < opts->ntsig_keyfiles; i++)
		if (d01_keyring_load(st->keys, opts->tsig_keyfiles[i], err) !=
		    D01_OK)
			return err->code;
	for (i = 0; i < opts->nupdate_policies; i++)
		if (d01_keyring_grant(
			st->keys, opts->update_policies[i], err) != D01_OK)
			return err->code;
	if (st->ndnsd > 0) {
		if ((st->updater = d01_updater_new(env, st->store, st->keys)) ==
		    NULL)
			return d01_error_set(err, D01_E_NOMEM, "out of memory");
		for (i = 0; i < st->ndnsd; i++)
			d01_dnsd_set_updater(st->dnsd[i], st->updater);
	}
	d01_log(D01_LOG_INFO, "dns_update_keys", "keys=%zu grants=%zu",
	    d01_keyring_count(st->keys), opts->nupdate_policies);
	return D01_OK;
}

/* The zones of opts and, when asked, the DNS server answering them. A
 * failed init frees what it made (its fini is not called). */
static enum d01_err
embedded_init(struct d01_env *env, const struct d01_env_opts *opts,
    void **state, struct d01_error *err)
{
	struct embedded_state *st = calloc(1, sizeof(*st));
	size_t i;

	if (st == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	if (opts->nzones > 0 &&
	    ((st->store = d01_txtstore_new()) == NULL ||
		(st->accounts = d01_acctab_new()) == NULL)) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto fail;
	}
	if (opts->nzones > 0)
		d01_txtstore_set_clock(st->store, env->clock);
	for (i = 0; i < opts->nzones; i++)
		if (d01_txtstore_add_zone(
			st->store, opts->zones[i], NULL, err) != D01_OK)
			goto fail;
	if (opts->nzones > 0 && secondaries_init(env, st, opts, err) != 0)
		goto fail;
	if (keys_init(env, st, opts, err) != D01_OK)
		goto fail;
	/* After the keys: --allow-transfer key:NAME must name one. */
	if (st->xfr != NULL &&
	    d01_xfr_set_keys(st->xfr, st->keys, env->clock, err) != D01_OK)
		goto fail;
	*state = st;
	return D01_OK;
fail:
	embedded_fini(env, st);
	return err->code;
}

const struct d01_provider d01_provider_embedded = {
    .name = "embedded",
    .summary = "TXT records served by this process's own authoritative DNS",
    .needs_zones = 1,
    .init = embedded_init,
    .fini = embedded_fini,
    .config_parse = embedded_config_parse,
    .config_free = embedded_config_free,
    .op_size = sizeof(struct embedded_op),
    .start = embedded_start,
    .release = embedded_release,
};

/* The sink (core/recstore.h) over the provider's store and accounts;
 * ctx is the provider's state. */
static enum d01_err
sink_add(void *ctx, const char *fqdn, const char *value,
    struct d01_recstore_held *held, struct d01_error *err)
{
	struct embedded_state *st = ctx;

	if (held == NULL)
		return d01_txtstore_add(st->store, fqdn, value, err);
	return d01_txtstore_add_ref(
	    st->store, fqdn, value, &held->fqdn, &held->value, err);
}

static enum d01_err
sink_remove(
    void *ctx, const char *fqdn, const char *value, struct d01_error *err)
{
	return d01_txtstore_remove(
	    ((struct embedded_state *)ctx)->store, fqdn, value, err);
}

static void
sink_clear(void *ctx)
{
	struct embedded_state *st = ctx;

	d01_txtstore_clear(st->store);
	d01_acctab_clear(st->accounts);
}

static enum d01_err
sink_acct_put(
    void *ctx, const struct d01_recstore_acct *a, struct d01_error *err)
{
	return d01_acctab_put(((struct embedded_state *)ctx)->accounts, a, err);
}

static void
sink_acct_remove(void *ctx, const char *username)
{
	d01_acctab_remove(((struct embedded_state *)ctx)->accounts, username);
}

static const char *
sink_zone_of(void *ctx, const char *fqdn)
{
	const struct d01_txtzone *z =
	    d01_txtstore_find_zone(((struct embedded_state *)ctx)->store, fqdn);

	return z != NULL ? z->name : NULL;
}

static int
sink_has(void *ctx, const char *fqdn, const char *value)
{
	const char *const *v;
	size_t n, i;

	v = d01_txtstore_values(
	    ((struct embedded_state *)ctx)->store, fqdn, &n);
	for (i = 0; i < n; i++)
		if (strcmp(v[i], value) == 0)
			return 1;
	return 0;
}

int
d01_embedded_sink(const struct d01_env *env, struct d01_recstore_sink *sink)
{
	struct embedded_state *st =
	    d01_env_provider_state(env, &d01_provider_embedded);

	if (st == NULL || st->store == NULL)
		return -1;
	sink->add = sink_add;
	sink->remove = sink_remove;
	sink->clear = sink_clear;
	sink->acct_put = sink_acct_put;
	sink->acct_remove = sink_acct_remove;
	sink->zone_of = sink_zone_of;
	sink->has = sink_has;
	sink->ctx = st;
	return 0;
}

int
d01_embedded_set_backend(
    const struct d01_env *env, const struct d01_recstore_backend *be)
{
	struct embedded_state *st =
	    d01_env_provider_state(env, &d01_provider_embedded);

	if (st == NULL || st->store == NULL)
		return -1;
	if (be != NULL)
		st->be = *be;
	else
		memset(&st->be, 0, sizeof(st->be));
	return 0;
}

struct d01_acctab *
d01_embedded_accounts(const struct d01_env *env)
{
	struct embedded_state *st =
	    d01_env_provider_state(env, &d01_provider_embedded);

	return st != NULL ? st->accounts : NULL;
}

const struct d01_recstore_backend *
d01_embedded_backend(const struct d01_env *env)
{
	struct embedded_state *st =
	    d01_env_provider_state(env, &d01_provider_embedded);

	return st != NULL && st->be.start != NULL ? &st->be : NULL;
}

const struct d01_keyring *
d01_embedded_keyring(const struct d01_env *env)
{
	struct embedded_state *st =
	    d01_env_provider_state(env, &d01_provider_embedded);

	return st != NULL ? st->keys : NULL;
}
