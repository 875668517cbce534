/* SPDX-License-Identifier: ISC */
/*
 * azuredns: the token reply parser (AAD's numeric and IMDS's string
 * expires_in, bearer tokens only), OAuth and ARM error replies (their
 * structured fields only), the record set parser (public and private
 * field names, the etag) and what Present/CleanUp write back (other
 * values, TTL and metadata kept; the limit of 20 records; DELETE when
 * the last value goes), and the config (clouds, the endpoint policy, the
 * identity fields).
 */
#include <stdio.h>
#include <string.h>

#include "core/endpoint.h"
#include "providers/azuredns/az_int.h"
#include "../harness.h"

static void
t_token(void)
{
	struct d01_error err;
	char *tok = NULL;
	long long exp;

	d01_error_clear(&err);
	{
		const char *j =
		    "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
		    "\"access_token\":\"eyJ.a.b\"}";

		CHECK_INT(
		    az_token_parse(j, strlen(j), &tok, &exp, &err), ==, 0);
	}
	CHECK_STR(tok, "eyJ.a.b");
	CHECK_INT(exp, ==, 3599);
	free(tok);
	tok = NULL;
	/* IMDS: expires_in as a string. */
	{
		const char *j = "{\"access_token\":\"t1\",\"expires_in\":"
				"\"86399\",\"token_type\":\"Bearer\"}";

		CHECK_INT(
		    az_token_parse(j, strlen(j), &tok, &exp, &err), ==, 0);
		CHECK_INT(exp, ==, 86399);
		free(tok);
		tok = NULL;
	}
	{
		const char *bad[] = {"", "[]", "{\"access_token\":\"\"}",
		    "{\"access_token\":\"a b\"}",
		    "{\"access_token\":\"a\\nb\"}",
		    "{\"access_token\":\"ab\",\"token_type\":\"pop\"}",
		    "{\"access_token\":17}", NULL};
		int i;

		for (i = 0; bad[i] != NULL; i++) {
			CHECK_INT(az_token_parse(
				      bad[i], strlen(bad[i]), &tok, &exp, &err),
			    ==, -1);
			CHECK(tok == NULL);
		}
	}
	{
		const char *j =
		    "{\"access_token\":\"t\",\"expires_in\":\"1x\"}";

		CHECK_INT(
		    az_token_parse(j, strlen(j), &tok, &exp, &err), ==, 0);
		CHECK_INT(exp, ==, -1); /* handed out, never cached */
	}
end:
	free(tok);
}

static void
t_errors(void)
{
	struct d01_error err;
	const char *j = "{\"error\":\"invalid_client\",\"error_description\":"
			"\"AADSTS7000215: Invalid client secret.\\nTrace\","
			"\"secret_echo\":\"s3cr3t\"}";

	d01_error_clear(&err);
	CHECK_INT(az_token_error(401, j, strlen(j), &err), ==, D01_E_AUTH);
	CHECK_STR(err.msg,
	    "HTTP 401: invalid_client: AADSTS7000215: Invalid "
	    "client secret. Trace");
	CHECK_INT(az_token_error(503, "<html>", 6, &err), ==, D01_E_UPSTREAM);
	CHECK(err.retryable);
	CHECK_STR(err.msg, "HTTP 503: not a JSON reply");
	j = "{\"error\":{\"code\":\"PreconditionFailed\",\"message\":\"The "
	    "condition failed.\"}}";
	CHECK_INT(az_arm_error(412, j, strlen(j), &err), ==, D01_E_CONFLICT);
	CHECK_STR(
	    err.msg, "HTTP 412: PreconditionFailed: The condition failed.");
	CHECK_INT(az_arm_error(403, "{}", 2, &err), ==, D01_E_FORBIDDEN);
	CHECK_STR(err.msg, "HTTP 403: request failed");
end:;
}

static const char *
rec(int private_zone)
{
	return private_zone
	    ? "{\"etag\":\"e-1\",\"properties\":{\"ttl\":300,\"txtRecords\":"
	      "[{\"value\":[\"v=spf1 -all\"]},{\"value\":[\"K1\"]}],"
	      "\"metadata\":{\"owner\":\"x\"}}}"
	    : "{\"etag\":\"e-1\",\"properties\":{\"TTL\":300,\"TXTRecords\":"
	      "[{\"value\":[\"v=spf1 -all\"]},{\"value\":[\"K\",\"1\"]}],"
	      "\"metadata\":{\"owner\":\"x\"}}}";
}

static void
t_rrset(void)
{
	struct d01_error err;
	struct az_rrset rs = {0};
	char *body = NULL;
	json_t *j = NULL;
	int p;

	d01_error_clear(&err);
	for (p = 0; p < 2; p++) {
		const char *r = rec(p);

		CHECK_INT(az_rrset_parse(r, strlen(r), p, &rs, &err), ==, 0);
		CHECK_STR(rs.etag, "e-1");
		CHECK_INT(rs.ttl, ==, 300);
		CHECK_INT(json_array_size(rs.records), ==, 2);
		/* Present of a value there already: nothing to write. */
		CHECK_INT(
		    az_rrset_change(&rs, "K1", 1, p, &body, &err), ==, AZ_NOOP);
		CHECK_INT(
		    az_rrset_change(&rs, "k1", 0, p, &body, &err), ==, AZ_NOOP);
		CHECK_INT(
		    az_rrset_change(&rs, "K2", 1, p, &body, &err), ==, AZ_PUT);
		j = json_loads(body, 0, NULL);
		CHECK(j != NULL);
		CHECK_INT(
		    json_integer_value(json_object_get(
			json_object_get(j, "properties"), p ? "ttl" : "TTL")),
		    ==, 300);
		CHECK_INT(json_array_size(
			      json_object_get(json_object_get(j, "properties"),
				  p ? "txtRecords" : "TXTRecords")),
		    ==, 3);
		CHECK(json_object_get(json_object_get(j, "properties"),
			  "metadata") != NULL);
		json_decref(j);
		j = NULL;
		free(body);
		body = NULL;
		/* CleanUp keeps the SPF record. */
		CHECK_INT(
		    az_rrset_change(&rs, "K1", 0, p, &body, &err), ==, AZ_PUT);
		CHECK(strstr(body, "v=spf1 -all") != NULL);
		CHECK(strstr(body, "\"K") == NULL);
		free(body);
		body = NULL;
		az_rrset_clear(&rs);
	}
	/* The last value goes: DELETE. */
	{
		const char *r = "{\"etag\":\"e\",\"properties\":{\"TTL\":60,"
				"\"TXTRecords\":[{\"value\":[\"K1\"]}]}}";

		CHECK_INT(az_rrset_parse(r, strlen(r), 0, &rs, &err), ==, 0);
		CHECK_INT(az_rrset_change(&rs, "K1", 0, 0, &body, &err), ==,
		    AZ_DELETE);
		az_rrset_clear(&rs);
	}
	/* Absent: a new set with the default TTL. */
	CHECK_INT(az_rrset_change(&rs, "K1", 1, 0, &body, &err), ==, AZ_PUT);
	CHECK_STR(body,
	    "{\"properties\":{\"TTL\":60,\"TXTRecords\":[{"
	    "\"value\":[\"K1\"]}]}}");
	free(body);
	body = NULL;
	CHECK_INT(az_rrset_change(&rs, "K1", 0, 0, &body, &err), ==, AZ_NOOP);
	/* Malformed sets are refused, public names are not private ones. */
	{
		const char *bad[] = {"{}", "{\"etag\":\"e\"}",
		    "{\"etag\":\"e\",\"properties\":{\"TTL\":\"60\"}}",
		    "{\"etag\":\"e\\n\",\"properties\":{\"TTL\":60}}",
		    "{\"etag\":\"e\",\"properties\":{\"TTL\":60,"
		    "\"TXTRecords\":{}}}",
		    "{\"etag\":\"e\",\"properties\":{\"TTL\":60,"
		    "\"TXTRecords\":[{\"value\":\"x\"}]}}",
		    "{\"etag\":\"e\",\"properties\":{\"TTL\":60,"
		    "\"TXTRecords\":[{\"value\":[1]}]}}",
		    NULL};
		int i;

		for (i = 0; bad[i] != NULL; i++)
			CHECK_INT(az_rrset_parse(
				      bad[i], strlen(bad[i]), 0, &rs, &err),
			    ==, -1);
		CHECK_INT(az_rrset_parse(rec(0), strlen(rec(0)), 1, &rs, &err),
		    ==, -1);
	}
end:
	json_decref(j);
	free(body);
	az_rrset_clear(&rs);
}

static void
t_limit(void)
{
	struct d01_error err;
	struct az_rrset rs = {0};
	char *body = NULL, buf[4096];
	size_t o;
	int i;

	d01_error_clear(&err);
	o = (size_t)snprintf(buf, sizeof(buf),
	    "{\"etag\":\"e\",\"properties\":{\"TTL\":60,\"TXTRecords\":[");
	for (i = 0; i < AZ_RECORDS_MAX; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o,
		    "%s{\"value\":[\"V%d\"]}", i ? "," : "", i);
	snprintf(buf + o, sizeof(buf) - o, "]}}");
	CHECK_INT(az_rrset_parse(buf, strlen(buf), 0, &rs, &err), ==, 0);
	CHECK_INT(az_rrset_change(&rs, "V3", 1, 0, &body, &err), ==, AZ_NOOP);
	CHECK_INT(az_rrset_change(&rs, "NEW", 1, 0, &body, &err), ==, -1);
	CHECK_INT(err.code, ==, D01_E_LIMIT);
	CHECK(strstr(err.msg, "at most 20 records") != NULL);
	CHECK(body == NULL);
	CHECK_INT(az_rrset_change(&rs, "V3", 0, 0, &body, &err), ==, AZ_PUT);
end:
	free(body);
	az_rrset_clear(&rs);
}

static enum d01_err
parse(struct d01_env *env, const char *text, struct az_cfg **c,
    struct d01_error *err)
{
	json_t *j = json_loads(text, 0, NULL);
	enum d01_err rc;

	d01_error_clear(err);
	*c = NULL;
	rc = az_config_parse(env, j, (void **)c, err);
	json_decref(j);
	return rc;
}

#define BASE "\"subscriptionID\":\"s-1\",\"resourceGroupName\":\"rg\""

static void
t_config(void)
{
	struct d01_env env = {0};
	struct d01_error err;
	struct az_cfg *c = NULL;
	json_t *e = NULL;

	CHECK_INT(parse(&env, "{" BASE "}", &c, &err), ==, D01_OK);
	CHECK_STR(c->arm, "https://management.azure.com");
	CHECK_STR(c->authority, "https://login.microsoftonline.com");
	CHECK_STR(c->resource, "https://management.azure.com");
	CHECK_INT(c->private_zone, ==, 0);
	az_config_free(c);
	CHECK_INT(parse(&env,
		      "{" BASE ",\"environment\":\"AzureChinaCloud\","
		      "\"zoneType\":\"private\",\"hostedZoneName\":\"Ex.CN.\"}",
		      &c, &err),
	    ==, D01_OK);
	CHECK_STR(c->arm, "https://management.chinacloudapi.cn");
	CHECK_STR(c->authority, "https://login.chinacloudapi.cn");
	CHECK_STR(c->zone, "ex.cn");
	CHECK_INT(c->private_zone, ==, 1);
	az_config_free(c);
	CHECK_INT(
	    parse(&env, "{" BASE ",\"environment\":\"AzureUSGovernmentCloud\"}",
		&c, &err),
	    ==, D01_OK);
	CHECK_STR(c->authority, "https://login.microsoftonline.us");
	az_config_free(c);
	c = NULL;
	/* Custom hosts need the operator's allow-list. */
	CHECK_INT(
	    parse(&env, "{" BASE ",\"endpoint\":\"https://arm.internal\"}", &c,
		&err),
	    ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "--allow-provider-endpoint") != NULL);
	CHECK_INT(
	    parse(&env, "{" BASE ",\"authorityHost\":\"https://evil.example\"}",
		&c, &err),
	    ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "authorityHost") != NULL);
	{
		const char *bad[] = {"{}", "{\"subscriptionID\":\"s\"}",
		    "{" BASE ",\"environment\":\"Mars\"}",
		    "{" BASE ",\"zoneType\":\"secret\"}",
		    "{" BASE ",\"clientID\":\"c\"}",
		    "{" BASE ",\"clientID\":\"c\",\"clientSecretSecretRef\":"
		    "{\"name\":\"a\",\"key\":\"b\"}}",
		    "{" BASE ",\"managedIdentity\":{\"clientID\":\"a\","
		    "\"resourceID\":\"/b\"}}",
		    "{\"subscriptionID\":\"s/../x\",\"resourceGroupName\":"
		    "\"rg\"}",
		    "{" BASE ",\"hostedZoneName\":\"a..b\"}", NULL};
		int i;

		for (i = 0; bad[i] != NULL; i++) {
			CHECK_INT(
			    parse(&env, bad[i], &c, &err), ==, D01_E_CONFIG);
			CHECK(strstr(err.msg, "azuredns") != NULL);
		}
	}
	CHECK_INT(parse(&env,
		      "{" BASE ",\"tenantID\":\"t\",\"clientID\":\"c\","
		      "\"clientSecretSecretRef\":{\"name\":\"a\",\"key\":"
		      "\"b\"}}",
		      &c, &err),
	    ==, D01_OK);
	CHECK_STR(c->secret_name, "a");
	az_config_free(c);
	c = NULL;
	/* The CLI: AZURE_CLIENT_ID alone is workload identity's. */
	e = json_pack("{s:s, s:s}", "clientID", "c", "zoneType", "true");
	CHECK_INT(az_env_fixup(e, &err), ==, D01_OK);
	CHECK(json_object_get(e, "clientID") == NULL);
	CHECK_STR(json_string_value(json_object_get(e, "zoneType")), "private");
end:
	json_decref(e);
	az_config_free(c);
}

int
main(void)
{
	RUN(t_token);
	RUN(t_errors);
	RUN(t_rrset);
	RUN(t_limit);
	RUN(t_config);
	return harness_done();
}
