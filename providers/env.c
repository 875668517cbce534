/* SPDX-License-Identifier: ISC */
/* Opening and closing the environment; see providers/env.h. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/dns.h"
#include "core/http_client.h"
#include "core/secret.h"
#include "providers/env.h"
#include "providers/provider.h"

/* The core parts: loop, DNS and HTTP clients, secret store. */
static enum d01_err
core_open(
    struct d01_env *env, const struct d01_env_opts *o, struct d01_error *err)
{
	env->endpoints = o->endpoints;
	env->clock = o->clock != NULL ? o->clock : d01_clock_real();
	if ((env->base = event_base_new()) == NULL ||
	    (env->dns = d01_dns_new(env->base,
		 o->dns_max_inflight ? o->dns_max_inflight : 64)) == NULL ||
	    (env->secrets = d01_secrets_new(env->base)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	if ((env->http = d01_http_new(env->base, err)) == NULL)
		return err->code != D01_OK
		    ? err->code
		    : d01_error_set(err, D01_E_NOMEM, "out of memory");
	if (d01_http_set_clock(env->http, env->clock) != 0)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	if (o->secrets_dir != NULL)
		return d01_secrets_set_dir(env->secrets, o->secrets_dir, err);
	return D01_OK;
}

/* Every provider's init, in table order; stops at the first failure. */
static enum d01_err
providers_open(
    struct d01_env *env, const struct d01_env_opts *o, struct d01_error *err)
{
	const struct d01_provider *p;
	size_t n = 0;

	env->providers = o->providers != NULL ? o->providers : d01_providers;
	while (env->providers[n] != NULL)
		n++;
	if (n > 0 && (env->pstate = calloc(n, sizeof(void *))) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	env->nproviders = n;
	for (env->ninited = 0; env->ninited < n; env->ninited++) {
		p = env->providers[env->ninited];
		if (p->init != NULL &&
		    p->init(env, o, &env->pstate[env->ninited], err) != D01_OK)
			return err->code != D01_OK
			    ? err->code
			    : d01_error_set(err, D01_E_INTERNAL,
				  "%s: init failed", p->name);
	}
	return D01_OK;
}

enum d01_err
d01_env_open(
    struct d01_env *env, const struct d01_env_opts *o, struct d01_error *err)
{
	struct d01_env_opts none = {0};

	memset(env, 0, sizeof(*env));
	d01_error_clear(err);
	if (o == NULL)
		o = &none;
	if (core_open(env, o, err) != D01_OK ||
	    providers_open(env, o, err) != D01_OK) {
		d01_env_close(env);
		return err->code;
	}
	return D01_OK;
}

void
d01_env_close(struct d01_env *env)
{
	const struct d01_provider *p;

	/* Providers first, in reverse: their state may use the clients. */
	while (env->ninited > 0) {
		p = env->providers[--env->ninited];
		if (p->fini != NULL)
			p->fini(env, env->pstate[env->ninited]);
	}
	free(env->pstate);
	d01_dns_free(env->dns);
	d01_http_free(env->http);
	d01_secrets_free(env->secrets);
	if (env->base != NULL)
		event_base_free(env->base);
	memset(env, 0, sizeof(*env));
}

void *
d01_env_provider_state(const struct d01_env *env, const struct d01_provider *p)
{
	size_t i;

	for (i = 0; i < env->ninited; i++)
		if (env->providers[i] == p)
			return env->pstate[i];
	return NULL;
}
