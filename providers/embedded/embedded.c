/* SPDX-License-Identifier: ISC */
/*
 * The `embedded` provider: Present/CleanUp change the in-memory store that
 * this process's own DNS server answers from. The change itself is
 * synchronous; completion is still delivered from the event loop so callers
 * see the same async shape as every other provider.
 */
#include <stdlib.h>

#include <event2/event.h>

#include "core/log.h"
#include "providers/embedded/dnsd.h"
#include "providers/embedded/embedded.h"
#include "providers/embedded/store.h"
#include "providers/env.h"

/* The provider's state in the env: the zones and their DNS server. */
struct embedded_state {
	struct d01_txtstore *store; /* NULL: no --embedded-zone */
	struct d01_dnsd *dnsd;	    /* NULL: no --dns-listen */
};

struct embedded_op {
	struct d01_op op; /* first: d01_provider_cancel() casts back */
	struct event *ev;
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

static void
embedded_op_fire(evutil_socket_t fd, short what, void *arg)
{
	struct embedded_op *o = arg;
	struct d01_error ok;

	(void)fd;
	(void)what;
	d01_error_clear(&ok);
	o->op.cb(o->op.arg, &ok);
	event_free(o->ev);
	free(o);
}

/* An op that completes successfully on the next loop iteration. */
static struct d01_op *
embedded_op_new(struct d01_env *env, int present, d01_done_fn cb, void *arg,
    struct d01_error *err)
{
	struct embedded_op *o;

	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (o->ev = event_new(env->base, -1, 0, embedded_op_fire, o)) ==
		NULL) {
		free(o);
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	d01_op_init(&o->op, &d01_provider_embedded, present, cb, arg);
	event_active(o->ev, 0, 0);
	return &o->op;
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

static struct d01_op *
embedded_start(struct d01_env *env, void *cfg, const struct d01_challenge *ch,
    int present, d01_done_fn cb, void *arg, struct d01_error *err)
{
	struct d01_txtstore *store = d01_embedded_store(env);
	enum d01_err rc;

	(void)cfg;
	if (embedded_ready(store, ch, err) != 0)
		return NULL;
	rc = present ? d01_txtstore_add(store, ch->fqdn, ch->key, err)
		     : d01_txtstore_remove(store, ch->fqdn, ch->key, err);
	if (rc != D01_OK) {
		d01_error_prefix(err,
		    "embedded: %s %s: ", present ? "present" : "cleanup",
		    ch->fqdn);
		return NULL;
	}
	return embedded_op_new(env, present, cb, arg, err);
}

static void
embedded_cancel(struct d01_op *op)
{
	struct embedded_op *o = (struct embedded_op *)op;

	event_free(o->ev);
	free(o);
}

static void
embedded_fini(struct d01_env *env, void *state)
{
	struct embedded_state *st = state;

	(void)env;
	if (st == NULL)
		return;
	d01_dnsd_free(st->dnsd); /* first: it answers from the store */
	d01_txtstore_free(st->store);
	free(st);
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
	if (opts->nzones > 0 && (st->store = d01_txtstore_new()) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < opts->nzones; i++)
		if (d01_txtstore_add_zone(
			st->store, opts->zones[i], NULL, err) != D01_OK)
			goto fail;
	if (opts->nzones > 0 && opts->dns_listen != NULL &&
	    (st->dnsd = d01_dnsd_new(
		 env->base, st->store, opts->dns_listen, err)) == NULL)
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
    .start = embedded_start,
    .cancel = embedded_cancel,
};
