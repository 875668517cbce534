/* SPDX-License-Identifier: ISC */
/*
 * digitalocean: the records scan (exact data only), the next-link check
 * (same origin only), error replies, the config (ttl, baseURL through the
 * endpoint policy) and the CLI's variables (lego's DO_TTL default).
 */
#include <stdio.h>
#include <string.h>

#include "core/endpoint.h"
#include "providers/digitalocean/do_int.h"
#include "../harness.h"

static void
t_records(void)
{
	const char *j =
	    "{\"domain_records\":["
	    "{\"id\":1,\"type\":\"TXT\",\"name\":\"_acme-challenge\",\"data\":"
	    "\"v\"},"
	    "{\"id\":2,\"type\":\"TXT\",\"name\":\"_ACME-Challenge\",\"data\":"
	    "\"v\"},"
	    "{\"id\":3,\"type\":\"TXT\",\"name\":\"_acme-challenge\",\"data\":"
	    "\"V\"},"
	    "{\"id\":4,\"type\":\"TXT\",\"name\":\"_acme-challenge\",\"data\":"
	    "\"\\\"v\\\"\"},"
	    "{\"id\":5,\"type\":\"A\",\"name\":\"_acme-challenge\",\"data\":"
	    "\"v\"},"
	    "{\"id\":\"6\",\"type\":\"TXT\",\"name\":\"_acme-challenge\","
	    "\"data\":\"v\"},"
	    "{\"id\":0,\"type\":\"TXT\",\"name\":\"_acme-challenge\",\"data\":"
	    "\"v\"},"
	    "{\"id\":8,\"type\":\"TXT\",\"name\":\"x\",\"data\":\"v\"}]}";
	json_t *root = json_loads(j, 0, NULL);
	long long ids[1];
	long long all[DO_MAX_IDS];
	int n = 0;

	CHECK(root != NULL);
	CHECK_INT(
	    do_records_match(root, "_acme-challenge", "v", all, DO_MAX_IDS, &n),
	    ==, 2);
	CHECK_INT(n, ==, 2);
	CHECK_INT(all[0], ==, 1);
	CHECK_INT(all[1], ==, 2);
	n = 0;
	CHECK_INT(
	    do_records_match(root, "_acme-challenge", "v", ids, 1, &n), ==, 2);
	CHECK_INT(n, ==, 1);
	json_decref(root);
	root = json_loads("{\"domain_records\":{}}", 0, NULL);
	n = 0;
	CHECK_INT(
	    do_records_match(root, "a", "v", all, DO_MAX_IDS, &n), ==, -1);
end:
	json_decref(root);
}

static int
next_of(const char *next, const char *base, char *out, size_t n)
{
	char j[512];
	json_t *root;
	int rc;

	snprintf(
	    j, sizeof(j), "{\"links\":{\"pages\":{\"next\":\"%s\"}}}", next);
	root = json_loads(j, 0, NULL);
	rc = do_next_link(root, base, out, n);
	json_decref(root);
	return rc;
}

static void
t_next(void)
{
	const char *b = "https://api.digitalocean.com";
	char out[DO_URL_MAX];
	json_t *root = json_loads("{\"links\":{}}", 0, NULL);

	CHECK_INT(do_next_link(root, b, out, sizeof(out)), ==, 0);
	CHECK_INT(next_of("https://api.digitalocean.com/v2/domains/e/"
			  "records?page=2",
		      b, out, sizeof(out)),
	    ==, 1);
	CHECK_STR(
	    out, "https://api.digitalocean.com/v2/domains/e/records?page=2");
	CHECK_INT(
	    next_of("https://evil.example/v2/x", b, out, sizeof(out)), ==, -1);
	CHECK_INT(next_of("https://api.digitalocean.com.evil.example/v2", b,
		      out, sizeof(out)),
	    ==, -1);
	CHECK_INT(next_of("https://api.digitalocean.com@evil.example/v2", b,
		      out, sizeof(out)),
	    ==, -1);
	CHECK_INT(
	    next_of("http://api.digitalocean.com/v2", b, out, sizeof(out)), ==,
	    -1);
	CHECK_INT(next_of("https://api.digitalocean.com:8443/v2", b, out,
		      sizeof(out)),
	    ==, -1);
	CHECK_INT(
	    next_of("https://api.digitalocean.com/v2 x", b, out, sizeof(out)),
	    ==, -1);
	CHECK_INT(next_of("/v2/relative", b, out, sizeof(out)), ==, -1);
	CHECK_INT(next_of("https://api.digitalocean.com/v2/long", b, out, 20),
	    ==, -1);
end:
	json_decref(root);
}

static void
t_errors(void)
{
	struct d01_error err;
	const char *b = "{\"id\":\"not_found\",\"message\":\"The resource "
			"you were accessing could not be found.\"}";

	d01_error_clear(&err);
	CHECK_INT(do_reply_error(404, b, strlen(b), &err), ==, D01_E_NOTFOUND);
	CHECK_STR(err.msg,
	    "HTTP 404: not_found: The resource you were "
	    "accessing could not be found.");
	CHECK_INT(do_reply_error(429, "{}", 2, &err), ==, D01_E_RATELIMIT);
	CHECK(err.retryable);
	CHECK_INT(do_reply_error(502, "<html>", 6, &err), ==, D01_E_UPSTREAM);
	CHECK_STR(err.msg, "HTTP 502: not a JSON reply");
end:;
}

static enum d01_err
parse(struct d01_env *env, const char *json, void **cfg, struct d01_error *err)
{
	json_t *c = json_loads(json, 0, NULL);
	enum d01_err rc;

	d01_error_clear(err);
	*cfg = NULL;
	rc = do_config_parse(env, c, cfg, err);
	json_decref(c);
	return rc;
}

static void
t_config(void)
{
	struct d01_env env = {0};
	struct d01_error err;
	struct do_cfg *c = NULL;
	json_t *e = json_object();

	CHECK_INT(
	    parse(&env, "{\"tokenSecretRef\":{\"name\":\"a\",\"key\":\"k\"}}",
		(void **)&c, &err),
	    ==, D01_OK);
	CHECK_STR(c->base_url, DO_DEFAULT_BASE);
	CHECK_INT(c->ttl, ==, 60);
	CHECK_INT(c->hide, ==, 0);
	do_config_free(c);
	c = NULL;
	CHECK_INT(parse(&env,
		      "{\"tokenSecretRef\":{\"name\":\"a\",\"key\":\"k\"},"
		      "\"ttl\":29}",
		      (void **)&c, &err),
	    ==, D01_E_CONFIG);
	CHECK_INT(parse(&env,
		      "{\"tokenSecretRef\":{\"name\":\"a\",\"key\":\"k\"},"
		      "\"baseURL\":\"https://do.internal.example\"}",
		      (void **)&c, &err),
	    ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "--allow-provider-endpoint") != NULL);
	CHECK_INT(
	    parse(&env, "{\"ttl\":30}", (void **)&c, &err), ==, D01_E_CONFIG);
	/* The CLI: lego's DO_TTL default is 30. */
	CHECK_INT(do_env_fixup(e, &err), ==, D01_OK);
	CHECK_INT(json_integer_value(json_object_get(e, "ttl")), ==, 30);
end:
	json_decref(e);
	do_config_free(c);
}

int
main(void)
{
	RUN(t_records);
	RUN(t_next);
	RUN(t_errors);
	RUN(t_config);
	return harness_done();
}
