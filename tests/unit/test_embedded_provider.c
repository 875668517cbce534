/* SPDX-License-Identifier: ISC */
/*
 * The embedded provider through the provider table: the async call shape
 * (callback exactly once, never before start returns, cancel means never)
 * and the multi-value contract.
 */
#include <event2/event.h>

#include "harness.h"
#include "providers/embedded/embedded.h"
#include "providers/embedded/store.h"
#include "providers/env.h"
#include "providers/provider.h"

/* Deadline of every op here: long past each test's own bounds. */
#define OP_TIMEOUT_MS 60000

struct probe {
	int calls;
	int started; /* set once start has returned */
	int early;   /* callback ran before start returned */
	enum d01_err code;
};

static void
probe_done(void *arg, const struct d01_error *err)
{
	struct probe *p = arg;

	p->calls++;
	p->early |= !p->started;
	p->code = err->code;
}

static struct d01_challenge
challenge(const char *key)
{
	struct d01_challenge ch = {.uid = "t",
	    .dns_name = "www.example.test",
	    .fqdn = "_acme-challenge.www.example.test.",
	    .zone = "example.test.",
	    .key = key,
	    .namespace = "default"};
	return ch;
}

static void
t_async_shape(void)
{
	const struct d01_provider *prov = d01_provider_find("embedded");
	const char *zones[] = {"example.test"};
	struct d01_env_opts eo = {.zones = zones, .nzones = 1};
	struct d01_env env = {0};
	struct d01_challenge ch = challenge("K1");
	struct d01_error err;
	struct probe p = {0}, q = {0};
	struct d01_op *op;
	size_t n;

	CHECK(prov != NULL);
	/* The provider's init makes the store from the env's zones. */
	CHECK_INT(d01_env_open(&env, &eo, &err), ==, D01_OK);
	CHECK(d01_embedded_store(&env) != NULL);
	op = d01_provider_start(
	    prov, &env, NULL, &ch, 1, OP_TIMEOUT_MS, probe_done, &p, NULL);
	p.started = 1;
	CHECK(op != NULL);
	CHECK_INT(p.calls, ==, 0);
	event_base_loop(env.base, EVLOOP_NONBLOCK);
	CHECK_INT(p.calls, ==, 1);
	CHECK_INT(p.early, ==, 0);
	CHECK_INT(p.code, ==, D01_OK);
	event_base_loop(env.base, EVLOOP_NONBLOCK);
	CHECK_INT(p.calls, ==, 1);
	/* Cancelled right after start: the callback never runs. */
	ch = challenge("K2");
	op = d01_provider_start(
	    prov, &env, NULL, &ch, 1, OP_TIMEOUT_MS, probe_done, &q, NULL);
	CHECK(op != NULL);
	d01_provider_cancel(op);
	event_base_loop(env.base, EVLOOP_NONBLOCK);
	CHECK_INT(q.calls, ==, 0);
	CHECK(
	    d01_txtstore_values(d01_embedded_store(&env), ch.fqdn, &n) != NULL);
	CHECK_INT(n, ==, 2);
end:
	d01_env_close(&env);
}

static void
t_errors_are_synchronous_and_named(void)
{
	const struct d01_provider *prov = d01_provider_find("embedded");
	const char *zones[] = {"other.test"};
	struct d01_env_opts eo = {.zones = zones, .nzones = 1};
	struct d01_env env = {0};
	struct d01_challenge ch = challenge("K");
	struct d01_error err;
	struct probe p = {0};
	json_t *bad = json_integer(3);

	CHECK(prov != NULL);
	CHECK_INT(d01_env_open(&env, NULL, &err), ==, D01_OK);
	/* No zones configured: refused up front, callback never runs. */
	CHECK(d01_provider_start(prov, &env, NULL, &ch, 1, OP_TIMEOUT_MS,
		  probe_done, &p, &err) == NULL);
	CHECK(strstr(err.msg, "embedded") != NULL);
	CHECK(strstr(err.msg, ch.fqdn) != NULL);
	d01_env_close(&env);
	CHECK_INT(d01_env_open(&env, &eo, &err), ==, D01_OK);
	CHECK(d01_provider_start(prov, &env, NULL, &ch, 0, OP_TIMEOUT_MS,
		  probe_done, &p, &err) != NULL);
	CHECK(d01_provider_start(prov, &env, NULL, &ch, 1, OP_TIMEOUT_MS,
		  probe_done, &p, &err) == NULL);
	CHECK_INT(err.code, ==, D01_E_NOTFOUND);
	CHECK(strstr(err.msg, ch.fqdn) != NULL);
	event_base_loop(env.base, EVLOOP_NONBLOCK);
	CHECK_INT(p.calls, ==, 1); /* only the cleanup */
	CHECK_INT(prov->config_parse(&env, bad, &(void *){NULL}, &err), ==,
	    D01_E_CONFIG);
end:
	json_decref(bad);
	d01_env_close(&env);
}

int
main(void)
{
	RUN(t_async_shape);
	RUN(t_errors_are_synchronous_and_named);
	return harness_done();
}
