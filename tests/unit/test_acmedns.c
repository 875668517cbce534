/* SPDX-License-Identifier: ISC */
/*
 * acmedns: the accounts JSON lookup and its checks, the TXT and subdomain
 * shapes acme-dns accepts, its error replies, the config (host through
 * the endpoint policy, required: acme-dns has no public default) and the
 * CLI's variables (ACME_DNS_STORAGE_PATH read into the secret store).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/endpoint.h"
#include "core/secret.h"
#include "providers/acmedns/acmedns.h"
#include "providers/acmedns/acmedns_int.h"
#include "providers/env.h"
#include "../harness.h"

#define ACCT(u, p, s)                                                          \
	"{\"username\":\"" u "\",\"password\":\"" p "\",\"subdomain\":\"" s    \
	"\",\"fulldomain\":\"" s ".auth.example.org\",\"allowfrom\":[]}"

static const char accounts[] = "{\"example.com\":" ACCT("u1", "p1",
    "d420c923-bbd7-4056-ab64-c3ca54c9b3cf") ",\"WWW.example.com\":" ACCT("u2",
    "p2", "sub2") "}";

static enum d01_err
find(const char *json, const char *name, struct adns_account *a,
    struct d01_error *err)
{
	d01_error_clear(err);
	return adns_account_find(json, strlen(json), name, a, err);
}

static void
t_lookup(void)
{
	struct adns_account a;
	struct d01_error err;

	CHECK_INT(find(accounts, "example.com", &a, &err), ==, D01_OK);
	CHECK_STR(a.username, "u1");
	CHECK_STR(a.password, "p1");
	CHECK_STR(a.subdomain, "d420c923-bbd7-4056-ab64-c3ca54c9b3cf");
	/* Without "*.", any case, a trailing dot. */
	CHECK_INT(find(accounts, "*.example.com", &a, &err), ==, D01_OK);
	CHECK_STR(a.username, "u1");
	CHECK_INT(find(accounts, "www.example.com.", &a, &err), ==, D01_OK);
	CHECK_STR(a.username, "u2");
	CHECK_INT(find(accounts, "*.www.example.com", &a, &err), ==, D01_OK);
	CHECK_STR(a.subdomain, "sub2");
	CHECK_INT(find(accounts, "*.other.com", &a, &err), ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "no entry for *.other.com nor other.com"));
	CHECK_INT(find(accounts, "", &a, &err), ==, D01_E_INVAL);
end:;
}

static void
t_checks(void)
{
	static const char *const bad[] = {
	    "[]",
	    "{\"example.com\": 1}",
	    "{\"example.com\":" ACCT("", "p", "s") "}",
	    "{\"example.com\":" ACCT("u u", "p", "s") "}",
	    "{\"example.com\":" ACCT("u", "p\\r\\nX: y", "s") "}",
	    "{\"example.com\":" ACCT("u", "p\\u0000q", "s") "}",
	    "{\"example.com\":" ACCT("u", "p", "Upper") "}",
	    "{\"example.com\":" ACCT("u", "p", "-s") "}",
	    "{\"example.com\":" ACCT("u", "p", "a.b") "}",
	    "{\"example.com\":{\"username\":\"u\",\"password\":\"p\"}}",
	    "{\"example.com\":" ACCT(
		"u", "secretpass", "s") ",\"example.com\":1}",
	    ("{\"example.com\": {\"username\": \"u\", \"password\": "
	     "\"secretpass\""),
	};
	struct adns_account a;
	struct d01_error err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(
		    find(bad[i], "example.com", &a, &err), ==, D01_E_CONFIG);
		CHECK(err.msg[0] != '\0');
		/* Never a value from the file. */
		CHECK(strstr(err.msg, "secretpass") == NULL);
	}
	CHECK(adns_subdomain_valid("d420c923-bbd7-4056-ab64-c3ca54c9b3cf"));
	CHECK(adns_subdomain_valid("a"));
	CHECK(!adns_subdomain_valid(""));
	CHECK(!adns_subdomain_valid("a-"));
	CHECK(!adns_subdomain_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				    "aaaaaaaaaaaaaaaaaaaaaa"));
	CHECK(adns_txt_valid("LPsIwTo7o8BoG0-vjCyGQGBWSVIPxI-i_X336eUOQZo"));
	CHECK(!adns_txt_valid("LPsIwTo7o8BoG0+vjCyGQGBWSVIPxI/i_X336eUOQZo"));
	CHECK(!adns_txt_valid("LPsIwTo7o8BoG0-vjCyGQGBWSVIPxI-i_X336eUOQZ"));
	CHECK(!adns_txt_valid("LPsIwTo7o8BoG0-vjCyGQGBWSVIPxI-i_X336eUOQZo="));
end:;
}

static void
t_reply_error(void)
{
	struct d01_error err;
	const char *b = "{\"error\":\"forbidden\\n\"}";

	d01_error_clear(&err);
	CHECK_INT(adns_reply_error(401, b, strlen(b), &err), ==, D01_E_AUTH);
	CHECK_STR(err.msg, "HTTP 401: forbidden ");
	CHECK(!err.retryable);
	b = "<html>bad gateway</html>";
	CHECK_INT(
	    adns_reply_error(502, b, strlen(b), &err), ==, D01_E_UPSTREAM);
	CHECK_STR(err.msg, "HTTP 502: not a JSON reply");
	CHECK(err.retryable);
	CHECK_INT(adns_reply_error(429, "{}", 2, &err), ==, D01_E_RATELIMIT);
end:;
}

static enum d01_err
parse(struct d01_env *env, const char *json, void **cfg, struct d01_error *err)
{
	json_t *c = json_loads(json, 0, NULL);
	enum d01_err rc;

	d01_error_clear(err);
	*cfg = NULL;
	rc = d01_provider_acmedns.config_parse(env, c, cfg, err);
	json_decref(c);
	return rc;
}

static void
t_config(void)
{
	struct d01_env env = {0};
	struct d01_endpoints *p = d01_endpoints_new();
	struct d01_error err;
	void *cfg = NULL;

	CHECK(p != NULL);
	CHECK_INT(d01_endpoints_add(p, "acme-dns.example.net", &err), ==, 0);
	env.endpoints = p;
	CHECK_INT(parse(&env,
		      "{\"host\":\"https://acme-dns.example.net/\","
		      "\"accountSecretRef\":{\"name\":\"a\",\"key\":\"k\"}}",
		      &cfg, &err),
	    ==, D01_OK);
	d01_provider_acmedns.config_free(cfg);
	cfg = NULL;
	/* No public default: a host nobody listed is refused. */
	CHECK_INT(parse(&env,
		      "{\"host\":\"https://auth.acme-dns.io\","
		      "\"accountSecretRef\":{\"name\":\"a\",\"key\":\"k\"}}",
		      &cfg, &err),
	    ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "--allow-provider-endpoint") != NULL);
	CHECK_INT(
	    parse(&env, "{\"accountSecretRef\":{\"name\":\"a\",\"key\":\"k\"}}",
		&cfg, &err),
	    ==, D01_E_CONFIG);
	CHECK_INT(parse(&env, "{\"host\":\"https://acme-dns.example.net\"}",
		      &cfg, &err),
	    ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "accountSecretRef") != NULL);
	CHECK_INT(parse(&env,
		      "{\"host\":\"https://acme-dns.example.net/x y\","
		      "\"accountSecretRef\":{\"name\":\"a\",\"key\":\"k\"}}",
		      &cfg, &err),
	    ==, D01_E_CONFIG);
	CHECK_INT(parse(&env, "null", &cfg, &err), ==, D01_E_CONFIG);
end:
	d01_provider_acmedns.config_free(cfg);
	d01_endpoints_free(p);
}

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

struct got {
	char val[1024];
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

/* ACME_DNS_STORAGE_PATH names a file: its text goes to the secret store,
 * the config only refers to it. */
static void
t_env(void)
{
	char path[] = "/tmp/d01-acmedns-XXXXXX", vpath[64];
	const char *v1[] = {"ACME_DNS_API_BASE=https://a.example", vpath, NULL};
	const char *v2[] = {"ACME_DNS_API_BASE=https://a.example", NULL};
	const char *v3[] = {"ACME_DNS_API_BASE=https://a.example",
	    "ACME_DNS_STORAGE_PATH=/nonexistent/accounts.json", NULL};
	struct d01_secret_ref ref = {"env", "ACME_DNS_STORAGE_PATH"};
	struct d01_env env = {0};
	struct d01_error err;
	struct got g = {{0}, 0};
	json_t *c = NULL, *r;
	int fd = mkstemp(path), opened = 0;

	CHECK(fd >= 0);
	CHECK(
	    write(fd, accounts, strlen(accounts)) == (ssize_t)strlen(accounts));
	close(fd);
	snprintf(vpath, sizeof(vpath), "ACME_DNS_STORAGE_PATH=%s", path);
	CHECK_INT(d01_env_open(&env, NULL, &err), ==, D01_OK);
	opened = 1;
	fake_vars = v1;
	CHECK((c = d01_provider_env_config(&d01_provider_acmedns, fake_getenv,
		   env.secrets, &err)) != NULL);
	CHECK_STR(
	    json_string_value(json_object_get(c, "host")), "https://a.example");
	r = json_object_get(c, "accountSecretRef");
	CHECK_STR(json_string_value(json_object_get(r, "name")), "env");
	CHECK_STR(json_string_value(json_object_get(r, "key")),
	    "ACME_DNS_STORAGE_PATH");
	CHECK(d01_secret_get(
		  env.secrets, D01_ENVVAR_NS, &ref, got_cb, &g, &err) != NULL);
	while (g.calls == 0)
		event_base_loop(env.base, EVLOOP_ONCE);
	CHECK_STR(g.val, accounts);
	fake_vars = v2;
	CHECK(d01_provider_env_config(&d01_provider_acmedns, fake_getenv,
		  env.secrets, &err) == NULL);
	CHECK(strstr(err.msg, "ACME_DNS_STORAGE_PATH is not set") != NULL);
	fake_vars = v3;
	CHECK(d01_provider_env_config(&d01_provider_acmedns, fake_getenv,
		  env.secrets, &err) == NULL);
	CHECK(strstr(err.msg, "ACME_DNS_STORAGE_PATH: ") == err.msg);
end:
	json_decref(c);
	if (opened)
		d01_env_close(&env);
	unlink(path);
}

int
main(void)
{
	RUN(t_lookup);
	RUN(t_checks);
	RUN(t_reply_error);
	RUN(t_config);
	RUN(t_env);
	return harness_done();
}
