/* SPDX-License-Identifier: ISC */
/*
 * The akamai provider's pure parts: record set replies, rdata edits and
 * problem details (ak_api.c), the .edgerc reader (ak_edgerc.c), the
 * config with its endpoint policy (ak_config.c) and the environment
 * variables' rules, plus EdgeGrid's timestamp, nonce and refusals
 * (edgegrid.c; the signing vectors are in test_akamai_edgegrid.c).
 */
#include <stdlib.h>
#include <string.h>

#include "core/endpoint.h"
#include "core/secret.h"
#include "harness.h"
#include "providers/akamai/ak_int.h"
#include "providers/akamai/edgegrid.h"

#define NAME "_acme-challenge.www.example.test"

static enum d01_err
parse(const char *body, struct ak_rrset *s, struct d01_error *err)
{
	return ak_rrset_parse(body, strlen(body), NAME, s, err);
}

static void
t_rrset(void)
{
	struct ak_rrset s = {0};
	struct d01_error err;
	json_t *with = NULL, *without = NULL;
	char *body = NULL;
	static const char *const bad[] = {"", "[]", "{}", "not json",
	    "{\"name\":\"other.example.test\",\"type\":\"TXT\",\"ttl\":1,"
	    "\"rdata\":[\"\\\"a\\\"\"]}",
	    "{\"name\":\"" NAME
	    "\",\"type\":\"A\",\"ttl\":1,\"rdata\":[\"a\"]}",
	    "{\"name\":\"" NAME
	    "\",\"type\":\"TXT\",\"ttl\":-1,\"rdata\":[\"a\"]}",
	    "{\"name\":\"" NAME "\",\"type\":\"TXT\",\"ttl\":\"60\","
	    "\"rdata\":[\"a\"]}",
	    "{\"name\":\"" NAME "\",\"type\":\"TXT\",\"ttl\":60,\"rdata\":[]}",
	    "{\"name\":\"" NAME "\",\"type\":\"TXT\",\"ttl\":60,\"rdata\":[1]}",
	    "{\"name\":\"" NAME "\",\"type\":\"TXT\",\"ttl\":60,"
	    "\"rdata\":[\"a\\nb\"]}",
	    "{\"name\":\"" NAME "\",\"type\":\"TXT\",\"ttl\":60,"
	    "\"rdata\":[\"a\\u0000b\"]}",
	    "{\"name\":\"" NAME "\",\"name\":\"" NAME "\",\"type\":\"TXT\","
	    "\"ttl\":60,\"rdata\":[\"a\"]}",
	    NULL};
	size_t i;

	for (i = 0; bad[i] != NULL; i++) {
		if (parse(bad[i], &s, &err) != D01_E_PROTOCOL)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		CHECK_INT(parse(bad[i], &s, &err), ==, D01_E_PROTOCOL);
		CHECK(s.rdata == NULL && !s.exists);
		CHECK(strstr(err.msg, "record set") != NULL);
	}
	/* Names compare without case and with an optional trailing dot. */
	CHECK_INT(parse("{\"name\":\"_ACME-challenge.www.example.test.\","
			"\"type\":\"TXT\",\"ttl\":900,\"rdata\":[\"\\\"v=spf1 "
			"-all\\\"\",\"\\\"K1\\\"\",\"bare\"]}",
		      &s, &err),
	    ==, D01_OK);
	CHECK(s.exists);
	CHECK_INT(s.ttl, ==, 900);
	CHECK_INT(json_array_size(s.rdata), ==, 3);
	CHECK(ak_rdata_has(s.rdata, "K1"));
	CHECK(ak_rdata_has(s.rdata, "bare")); /* stored unquoted by others */
	CHECK(!ak_rdata_has(s.rdata, "k1"));  /* values are case-sensitive */
	CHECK(!ak_rdata_has(s.rdata, "K"));
	CHECK((with = ak_rdata_with(s.rdata, "K2")) != NULL);
	CHECK_INT(json_array_size(with), ==, 4);
	CHECK_STR(json_string_value(json_array_get(with, 3)), "\"K2\"");
	CHECK((without = ak_rdata_without(with, "K1")) != NULL);
	CHECK_INT(json_array_size(without), ==, 3);
	CHECK(!ak_rdata_has(without, "K1"));
	CHECK(ak_rdata_has(without, "v=spf1 -all"));
	json_decref(without);
	CHECK((without = ak_rdata_without(with, "bare")) != NULL);
	CHECK_INT(json_array_size(without), ==, 3);
	CHECK((body = ak_rrset_body(NAME, 900, without)) != NULL);
	CHECK_STR(body,
	    "{\"name\":\"" NAME "\",\"type\":\"TXT\",\"ttl\":900,\"rdata\":"
	    "[\"\\\"v=spf1 -all\\\"\",\"\\\"K1\\\"\",\"\\\"K2\\\"\"]}");
end:
	free(body);
	json_decref(with);
	json_decref(without);
	json_decref(s.rdata);
}

static void
t_problem(void)
{
	struct d01_error err;
	const char *p = "{\"type\":\"https://problems.luna.akamaiapis.net/x\","
			"\"title\":\"Conflict\",\"status\":409,\"detail\":"
			"\"record set\\nalready exists\"}";

	ak_problem(409, p, strlen(p), &err);
	CHECK_INT(err.code, ==, D01_E_CONFLICT);
	CHECK_INT(err.status, ==, 409);
	CHECK(!err.retryable);
	CHECK_STR(err.msg, "HTTP 409: Conflict: record set already exists");
	ak_problem(503, "<html>secret</html>", 19, &err);
	CHECK_STR(err.msg, "HTTP 503: not a JSON reply");
	CHECK(err.retryable);
	ak_problem(401, "{}", 2, &err);
	CHECK_INT(err.code, ==, D01_E_AUTH);
	CHECK_STR(err.msg, "HTTP 401: request failed");
	ak_problem(429, "{\"title\":\"Too Many\"}", 20, &err);
	CHECK_INT(err.code, ==, D01_E_RATELIMIT);
	CHECK(err.retryable);
end:;
}

static enum d01_err
rc(const char *text, const char *section, struct ak_edgerc *e,
    struct d01_error *err)
{
	return ak_edgerc_parse(text, strlen(text), section, e, err);
}

static void
t_edgerc(void)
{
	struct ak_edgerc e = {0};
	struct d01_error err;
	const char *good =
	    "# comment\r\n[default]\r\nhost = akab-1.luna.akamaiapis.net\r\n"
	    "client_token = akab-ct\r\n\r\n"
	    "[dns]\n  ; indented comment\nclient_secret=abc/def+ghi==\n"
	    "host: akab-2.luna.akamaiapis.net\naccess_token = \"akab-at\"\n"
	    "client_token = akab-ct2\nmax-body = 131072\n";

	CHECK_INT(rc(good, "default", &e, &err), ==, D01_OK);
	CHECK_STR(e.host, "akab-1.luna.akamaiapis.net");
	CHECK_STR(e.cred[AK_CLIENT_TOKEN], "akab-ct");
	CHECK(e.cred[AK_CLIENT_SECRET] == NULL);
	ak_edgerc_free(&e);
	CHECK_INT(rc(good, "dns", &e, &err), ==, D01_OK);
	CHECK_STR(e.host, "akab-2.luna.akamaiapis.net");
	CHECK_STR(e.cred[AK_CLIENT_SECRET], "abc/def+ghi==");
	CHECK_STR(e.cred[AK_ACCESS_TOKEN], "akab-at");
	CHECK_STR(e.cred[AK_CLIENT_TOKEN], "akab-ct2");
	ak_edgerc_free(&e);
	CHECK_INT(rc(good, "nosuch", &e, &err), ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "[nosuch]") != NULL);
	/* Errors name the line, never its text (it may be a secret). */
	CHECK_INT(
	    rc("[default]\nclient_secret SECRETVALUE\n", "default", &e, &err),
	    ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "line 2") != NULL);
	CHECK(strstr(err.msg, "SECRETVALUE") == NULL);
	CHECK_INT(
	    rc("[default\nhost = x\n", "default", &e, &err), ==, D01_E_CONFIG);
	CHECK_INT(rc("[default]\nhost = a\nhost = b\n", "default", &e, &err),
	    ==, D01_E_CONFIG);
	CHECK_INT(rc("[default]\nhost = a\n[default]\n", "default", &e, &err),
	    ==, D01_E_CONFIG);
	CHECK_INT(rc("[default]\nhost = a\x01z\n", "default", &e, &err), ==,
	    D01_E_CONFIG);
	CHECK_INT(ak_edgerc_parse("[default]\0", 10, "default", &e, &err), ==,
	    D01_E_CONFIG);
	CHECK(e.host == NULL);
end:
	ak_edgerc_free(&e);
}

static json_t *
cfg_with(const char *host)
{
	return json_pack("{s:s, s:{s:s,s:s}, s:{s:s,s:s}, s:{s:s,s:s}}",
	    "serviceConsumerDomain", host, "clientTokenSecretRef", "name", "a",
	    "key", "ct", "clientSecretSecretRef", "name", "a", "key", "cs",
	    "accessTokenSecretRef", "name", "a", "key", "at");
}

static void
t_config_policy(void)
{
	struct d01_env env = {0}; /* endpoints NULL: defaults only (serve) */
	struct d01_error err;
	struct ak_cfg *c = NULL;
	json_t *j = NULL;

	/* Akamai's own API hosts are allowed by default. */
	j = cfg_with("https://akab-abc-123.luna.akamaiapis.net/");
	CHECK_INT(ak_config_parse(&env, j, (void **)&c, &err), ==, D01_OK);
	CHECK_STR(c->host, "akab-abc-123.luna.akamaiapis.net");
	CHECK_INT(c->custom, ==, 0);
	CHECK_INT(c->ttl, ==, AK_DEFAULT_TTL);
	CHECK_STR(c->section, "default");
	ak_config_free(c);
	c = NULL;
	json_decref(j);
	/* Anything else only when the operator allows it. */
	j = cfg_with("evil.example.net");
	CHECK_INT(
	    ak_config_parse(&env, j, (void **)&c, &err), ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "--allow-provider-endpoint") != NULL);
	json_decref(j);
	j = cfg_with("a.b.luna.akamaiapis.net"); /* one label only */
	CHECK_INT(
	    ak_config_parse(&env, j, (void **)&c, &err), ==, D01_E_CONFIG);
	json_decref(j);
	j = cfg_with("x.luna.akamaiapis.net/path");
	CHECK_INT(
	    ak_config_parse(&env, j, (void **)&c, &err), ==, D01_E_CONFIG);
	json_decref(j);
	j = cfg_with("evil.example.net:8443");
	env.endpoints = &d01_endpoints_any; /* the CLI */
	CHECK_INT(ak_config_parse(&env, j, (void **)&c, &err), ==, D01_OK);
	CHECK_INT(c->custom, ==, 1);
	ak_config_free(c);
	c = NULL;
	json_object_set_new(j, "ttl", json_integer(29));
	CHECK_INT(
	    ak_config_parse(&env, j, (void **)&c, &err), ==, D01_E_CONFIG);
	json_object_del(j, "ttl");
	json_object_del(j, "accessTokenSecretRef");
	CHECK_INT(
	    ak_config_parse(&env, j, (void **)&c, &err), ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "accessTokenSecretRef") != NULL);
	/* With an .edgerc, what is missing comes from it. */
	json_object_del(j, "serviceConsumerDomain");
	json_object_set_new(j, "edgercSecretRef",
	    json_pack("{s:s,s:s}", "name", "rc", "key", "edgerc"));
	CHECK_INT(ak_config_parse(&env, j, (void **)&c, &err), ==, D01_OK);
	CHECK(c->host == NULL && c->ref_name[AK_ACCESS_TOKEN] == NULL);
	CHECK_STR(c->edgerc_name, "rc");
end:
	ak_config_free(c);
	json_decref(j);
}

static void
t_env_fixup(void)
{
	struct d01_error err;
	json_t *j = cfg_with("h.luna.akamaiapis.net");

	json_object_set_new(j, "edgercSecretRef", json_object());
	json_object_set_new(j, "edgercSection", json_string("x"));
	CHECK_INT(ak_env_fixup(j, &err), ==, D01_OK);
	CHECK(json_object_get(j, "edgercSecretRef") == NULL);
	CHECK(json_object_get(j, "edgercSection") == NULL);
	json_object_del(j, "clientTokenSecretRef");
	CHECK_INT(ak_env_fixup(j, &err), ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "AKAMAI_EDGERC") != NULL);
	json_object_set_new(j, "edgercSecretRef", json_object());
	CHECK_INT(ak_env_fixup(j, &err), ==, D01_OK);
end:
	json_decref(j);
}

static void
t_timestamp_nonce_refusals(void)
{
	char ts[EG_TIMESTAMP_LEN], n1[37], n2[37], auth[512];
	struct eg_creds cr = {"akab-ct", "secret=", "akab-at"};
	struct eg_request r = {.method = "GET",
	    .scheme = "https",
	    .host = "h.luna.akamaiapis.net",
	    .path = "/"};
	struct d01_error err;
	const char *hdr[] = {"X-A: a\r\nX-Evil: 1", NULL},
		   *sign[] = {"X-A", NULL};

	eg_timestamp(1395430461, ts);
	CHECK_STR(ts, "20140321T19:34:21+0000");
	CHECK_INT(eg_nonce(n1), ==, 0);
	CHECK_INT(eg_nonce(n2), ==, 0);
	CHECK_INT(strlen(n1), ==, 36);
	CHECK(strcmp(n1, n2) != 0);
	CHECK_INT(
	    eg_sign(&cr, &r, ts, n1, auth, sizeof(auth), &err), ==, D01_OK);
	/* What would split or extend the header is refused. */
	cr.client_token = "akab;x";
	CHECK_INT(eg_sign(&cr, &r, ts, n1, auth, sizeof(auth), &err), ==,
	    D01_E_INVAL);
	cr.client_token = "akab-ct";
	cr.access_token = "a b";
	CHECK_INT(eg_sign(&cr, &r, ts, n1, auth, sizeof(auth), &err), ==,
	    D01_E_INVAL);
	cr.access_token = "akab-at";
	cr.client_secret = "s\n";
	CHECK_INT(eg_sign(&cr, &r, ts, n1, auth, sizeof(auth), &err), ==,
	    D01_E_INVAL);
	cr.client_secret = "secret=";
	r.headers = hdr;
	r.sign_headers = sign;
	CHECK_INT(eg_sign(&cr, &r, ts, n1, auth, sizeof(auth), &err), ==,
	    D01_E_INVAL);
	r.headers = NULL;
	r.path = "/a b";
	CHECK_INT(eg_sign(&cr, &r, ts, n1, auth, sizeof(auth), &err), ==,
	    D01_E_INVAL);
	r.path = "/";
	CHECK_INT(eg_sign(&cr, &r, ts, n1, auth, 40, &err), ==, D01_E_LIMIT);
end:;
}

int
main(void)
{
	RUN(t_rrset);
	RUN(t_problem);
	RUN(t_edgerc);
	RUN(t_config_policy);
	RUN(t_env_fixup);
	RUN(t_timestamp_nonce_refusals);
	return harness_done();
}
