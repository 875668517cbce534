/* SPDX-License-Identifier: ISC */
/*
 * The `embedded` provider: Present/CleanUp change the in-memory store that
 * this process's own DNS server answers from. The change itself is
 * synchronous: start finishes the op at once, and op.c delivers the
 * outcome from the event loop like every other provider's.
 */
#include <stdlib.h>

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
	struct d01_op op; /* nothing of its own: the change is done at once */
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

static enum d01_err
embedded_start(struct d01_op *op, void *cfg, const struct d01_challenge *ch,
    struct d01_error *err)
{
	struct d01_txtstore *store = d01_embedded_store(op->env);
	enum d01_err rc;

	(void)cfg;
	if (embedded_ready(store, ch, err) != 0)
		return err->code;
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
    .op_size = sizeof(struct embedded_op),
    .start = embedded_start,
    /* no release: the op holds nothing beyond its header */
};
