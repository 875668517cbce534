/* SPDX-License-Identifier: ISC */
/*
 * d01_env_open()/d01_env_close() (providers/env.h): every provider's init
 * runs once at open and its fini once at close, in reverse, with the state
 * the init made; a failing init undoes the ones before it; two envs never
 * share provider state. And d01_provider_env_config(): the declarative
 * environment-variable tables of the real providers, read through a fake
 * getenv.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/secret.h"
#include "harness.h"
#include "providers/env.h"
#include "providers/provider.h"

/* A counting provider: records the order of init/fini calls. */
static char trace[64];
static int fail_b; /* provider "b" refuses to start */

static void
note(const char *s)
{
	strncat(trace, s, sizeof(trace) - strlen(trace) - 1);
}

static enum d01_err
init_a(struct d01_env *env, const struct d01_env_opts *o, void **state,
    struct d01_error *err)
{
	(void)env;
	(void)o;
	(void)err;
	note("+a");
	*state = trace; /* any pointer the fini must get back */
	return D01_OK;
}

static void
fini_a(struct d01_env *env, void *state)
{
	(void)env;
	note(state == trace ? "-a" : "-a?");
}

static enum d01_err
init_b(struct d01_env *env, const struct d01_env_opts *o, void **state,
    struct d01_error *err)
{
	(void)env;
	note("+b");
	if (fail_b)
		return d01_error_set(err, D01_E_CONFIG, "b: no");
	*state = (void *)o->dns_listen; /* proves opts reach the init */
	return D01_OK;
}

static void
fini_b(struct d01_env *env, void *state)
{
	(void)env;
	(void)state;
	note("-b");
}

static const struct d01_provider prov_a = {
    .name = "a", .init = init_a, .fini = fini_a};
static const struct d01_provider prov_b = {
    .name = "b", .init = init_b, .fini = fini_b};
static const struct d01_provider prov_c = {.name = "c"}; /* no init */
static const struct d01_provider *const table[] = {
    &prov_a, &prov_c, &prov_b, NULL};

static void
t_init_fini_once_each(void)
{
	struct d01_env_opts o = {.providers = table, .dns_listen = "x:1"};
	struct d01_env env;
	struct d01_error err;

	trace[0] = '\0';
	fail_b = 0;
	CHECK_INT(d01_env_open(&env, &o, &err), ==, D01_OK);
	CHECK_STR(trace, "+a+b");
	CHECK(env.base != NULL && env.dns != NULL && env.http != NULL &&
	    env.secrets != NULL);
	CHECK(d01_env_provider_state(&env, &prov_a) == trace);
	CHECK(d01_env_provider_state(&env, &prov_b) == o.dns_listen);
	CHECK(d01_env_provider_state(&env, &prov_c) == NULL);
	/* Not in this env's table: no state, whatever the real table has. */
	CHECK(d01_env_provider_state(&env, d01_providers[0]) == NULL);
	d01_env_close(&env);
	CHECK_STR(trace, "+a+b-b-a");
	d01_env_close(&env); /* closed: a no-op */
	CHECK_STR(trace, "+a+b-b-a");
end:;
}

static void
t_failed_init_undoes(void)
{
	struct d01_env_opts o = {.providers = table};
	struct d01_env env;
	struct d01_error err;

	trace[0] = '\0';
	fail_b = 1;
	CHECK_INT(d01_env_open(&env, &o, &err), ==, D01_E_CONFIG);
	CHECK_STR(err.msg, "b: no");
	CHECK_STR(trace, "+a+b-a"); /* b's fini never: its init failed */
	CHECK(env.base == NULL && env.pstate == NULL);
	d01_env_close(&env);
	CHECK_STR(trace, "+a+b-a");
	/* Core options are checked too: a missing --secrets-dir. */
	o.secrets_dir = "/nonexistent/dns01-secrets";
	fail_b = 0;
	trace[0] = '\0';
	CHECK_INT(d01_env_open(&env, &o, &err), ==, D01_E_CONFIG);
	CHECK_STR(trace, "");
end:
	fail_b = 0;
}

/* The real table: every provider gets state of its own per env. */
static void
t_real_providers_per_env(void)
{
	const char *zones[] = {"example.test"};
	struct d01_env_opts o = {.zones = zones, .nzones = 1};
	struct d01_env one = {0}, two = {0};
	struct d01_error err;
	size_t i;

	CHECK_INT(d01_env_open(&one, &o, &err), ==, D01_OK);
	CHECK_INT(d01_env_open(&two, NULL, &err), ==, D01_OK);
	for (i = 0; d01_providers[i] != NULL; i++) {
		void *s1 = d01_env_provider_state(&one, d01_providers[i]);

		if (d01_providers[i]->init == NULL)
			continue;
		CHECK(s1 != NULL);
		CHECK(s1 != d01_env_provider_state(&two, d01_providers[i]));
	}
	/* A zone that is no name fails the open, naming it. */
	d01_env_close(&two);
	zones[0] = "bad..name";
	CHECK_INT(d01_env_open(&two, &o, &err), !=, D01_OK);
end:
	d01_env_close(&one);
	d01_env_close(&two);
}

/* A fake environment: NAME=value pairs. */
static const char *const *fake_vars;

static const char *
fake_getenv(const char *name)
{
	size_t n = strlen(name), i;

	for (i = 0; fake_vars[i] != NULL; i++)
		if (strncmp(fake_vars[i], name, n) == 0 &&
		    fake_vars[i][n] == '=')
			return fake_vars[i] + n + 1;
	return NULL;
}

static json_t *
env_config(const char *name, const char *const *vars, struct d01_env *env,
    struct d01_error *err)
{
	fake_vars = vars;
	return d01_provider_env_config(
	    d01_provider_find(name), fake_getenv, env->secrets, err);
}

struct got {
	char val[64];
	int calls;
};

static void
got_cb(void *arg, const struct d01_error *err, const char *value, size_t len)
{
	struct got *g = arg;

	(void)len;
	g->calls++;
	if (err->code == D01_OK)
		snprintf(g->val, sizeof(g->val), "%s", value);
}

/* The value stored for env/<key> under D01_ENVVAR_NS, or "" when none. */
static void
secret_value(struct d01_env *env, const char *key, char *out, size_t len)
{
	struct d01_secret_ref ref = {"env", key};
	struct d01_error err;
	struct got g = {{0}, 0};

	if (d01_secret_get(
		env->secrets, D01_ENVVAR_NS, &ref, got_cb, &g, &err) != NULL)
		while (g.calls == 0)
			event_base_loop(env->base, EVLOOP_ONCE);
	snprintf(out, len, "%s", g.val);
}

static void
t_envvar_tables(void)
{
	const char *r1[] = {"RFC2136_NAMESERVER=192.0.2.1:53",
	    "RFC2136_TSIG_KEY=k.", "RFC2136_TSIG_SECRET=c2VjcmV0",
	    "RFC2136_TTL=120", NULL};
	const char *r2[] = {"RFC2136_TSIG_KEY=k.", NULL};
	const char *r3[] = {
	    "RFC2136_NAMESERVER=ns", "RFC2136_TSIG_KEY=k.", NULL};
	const char *r4[] = {"RFC2136_NAMESERVER=ns", "RFC2136_TTL=soon", NULL};
	const char *r5[] = {
	    "RFC2136_NAMESERVER=ns", "RFC2136_TSIG_SECRET=lone", NULL};
	const char *c1[] = {"CLOUDFLARE_DNS_API_TOKEN=tok", "CF_API_KEY=key",
	    "CF_API_EMAIL=a@b", "CLOUDFLARE_TTL=300", NULL};
	const char *c2[] = {"CF_API_EMAIL=a@b", NULL};
	const char *c3[] = {"CF_API_EMAIL=a@b", "CLOUDFLARE_API_KEY=key", NULL};
	const char *a1[] = {
	    "AWS_HOSTED_ZONE_ID=Z1", "AWS_ACCESS_KEY_ID=AK", NULL};
	struct d01_env env = {0};
	struct d01_error err;
	char val[64], *dump = NULL;
	json_t *c = NULL;

	CHECK_INT(d01_env_open(&env, NULL, &err), ==, D01_OK);
	/* rfc2136: the secret goes to the store, never into the config. */
	CHECK((c = env_config("rfc2136", r1, &env, &err)) != NULL);
	CHECK_STR(json_string_value(json_object_get(c, "nameserver")),
	    "192.0.2.1:53");
	CHECK_STR(json_string_value(json_object_get(c, "tsigAlgorithm")),
	    "hmac-sha1.");
	CHECK_INT(json_integer_value(json_object_get(c, "ttl")), ==, 120);
	CHECK_STR(json_string_value(json_object_get(
		      json_object_get(c, "tsigSecretSecretRef"), "key")),
	    "RFC2136_TSIG_SECRET");
	dump = json_dumps(c, 0);
	CHECK(dump != NULL && strstr(dump, "c2VjcmV0") == NULL);
	secret_value(&env, "RFC2136_TSIG_SECRET", val, sizeof(val));
	CHECK_STR(val, "c2VjcmV0");
	json_decref(c);
	c = NULL;
	CHECK(env_config("rfc2136", r2, &env, &err) == NULL);
	CHECK_STR(err.msg, "RFC2136_NAMESERVER is not set");
	CHECK(env_config("rfc2136", r3, &env, &err) == NULL);
	CHECK_STR(err.msg, "RFC2136_TSIG_KEY needs RFC2136_TSIG_SECRET");
	CHECK(env_config("rfc2136", r4, &env, &err) == NULL);
	CHECK(strstr(err.msg, "RFC2136_TTL") != NULL);
	d01_env_close(&env);
	/* A secret without its key is dropped, and not stored. */
	CHECK_INT(d01_env_open(&env, NULL, &err), ==, D01_OK);
	CHECK((c = env_config("rfc2136", r5, &env, &err)) != NULL);
	CHECK(json_object_get(c, "tsigSecretSecretRef") == NULL);
	secret_value(&env, "RFC2136_TSIG_SECRET", val, sizeof(val));
	CHECK_STR(val, "");
	json_decref(c);
	/* cloudflare: the alternative names; the token wins. */
	CHECK((c = env_config("cloudflare", c1, &env, &err)) != NULL);
	CHECK(json_object_get(c, "apiTokenSecretRef") != NULL);
	CHECK(json_object_get(c, "apiKeySecretRef") == NULL);
	CHECK(json_object_get(c, "email") == NULL);
	CHECK_INT(json_integer_value(json_object_get(c, "ttl")), ==, 300);
	secret_value(&env, "CF_DNS_API_TOKEN", val, sizeof(val));
	CHECK_STR(val, "tok");
	secret_value(&env, "CF_API_KEY", val, sizeof(val));
	CHECK_STR(val, "");
	json_decref(c);
	CHECK(env_config("cloudflare", c2, &env, &err) == NULL);
	CHECK(strstr(err.msg, "CF_DNS_API_TOKEN") != NULL);
	CHECK((c = env_config("cloudflare", c3, &env, &err)) != NULL);
	CHECK_STR(json_string_value(json_object_get(c, "email")), "a@b");
	secret_value(&env, "CF_API_KEY", val, sizeof(val));
	CHECK_STR(val, "key");
	json_decref(c);
	/* route53: plain copies; the key chain stays the provider's own. */
	CHECK((c = env_config("route53", a1, &env, &err)) != NULL);
	CHECK_STR(json_string_value(json_object_get(c, "hostedZoneID")), "Z1");
	CHECK_INT(json_object_size(c), ==, 1);
	json_decref(c);
	c = NULL;
	/* embedded declares none: no config, no error. */
	CHECK(env_config("embedded", a1, &env, &err) == NULL);
	CHECK_INT(err.code, ==, D01_OK);
end:
	free(dump);
	json_decref(c);
	d01_env_close(&env);
}

int
main(void)
{
	RUN(t_init_fini_once_each);
	RUN(t_failed_init_undoes);
	RUN(t_real_providers_per_env);
	RUN(t_envvar_tables);
	return harness_done();
}
