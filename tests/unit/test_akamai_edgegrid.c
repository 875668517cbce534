/* SPDX-License-Identifier: ISC */
/*
 * EdgeGrid EG1-HMAC-SHA256 (providers/akamai/edgegrid.c) against Akamai's
 * own signing vectors, read at run time from
 * $DNS01_SHARED/testdata/edgegrid (testdata.json: credentials, nonce,
 * timestamp, headers to sign, max body and intermediates; testcases.json:
 * one request per case with its expected Authorization, or the message
 * of a refusal). Skips (exit 77) when the folder is absent.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness.h"
#include "providers/akamai/edgegrid.h"

static json_t *data, *cases;

static json_t *
load(const char *name)
{
	const char *shared = getenv("DNS01_SHARED");
	char path[1024];

	if (shared == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/testdata/edgegrid/%s", shared, name);
	return json_load_file(path, 0, NULL);
}

static const char *
str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static struct eg_creds
creds(void)
{
	struct eg_creds c = {str(data, "client_token"),
	    str(data, "client_secret"), str(data, "access_token")};
	return c;
}

/* The host of testdata's base_url ("https://HOST/"). */
static void
base_host(char *out, size_t n)
{
	const char *u = str(data, "base_url");

	snprintf(out, n, "%s", u ? u + 8 : "");
	if (strchr(out, '/') != NULL)
		*strchr(out, '/') = '\0';
}

static void
t_vectors(void)
{
	char host[256], auth[1024], hbuf[16][512];
	const char *hdrs[17], *sign[8];
	json_t *c, *req, *h, *v;
	const char *k;
	size_t i, j, nh, nsign = 0, ncases = 0, nrefused = 0;
	struct d01_error err;
	struct eg_creds cr;
	enum d01_err rc;

	cr = creds();
	base_host(host, sizeof(host));
	json_array_foreach(json_object_get(data, "headers_to_sign"), i, v)
	{
		CHECK(nsign < 7);
		sign[nsign++] = json_string_value(v);
	}
	sign[nsign] = NULL;
	CHECK_INT(json_array_size(cases), >, 10);
	json_array_foreach(cases, i, c)
	{
		struct eg_request r = {0};

		req = json_object_get(c, "request");
		nh = 0;
		json_array_foreach(json_object_get(req, "headers"), j, h)
		{
			json_object_foreach(h, k, v)
			{
				CHECK(nh < 16);
				snprintf(hbuf[nh], sizeof(hbuf[nh]), "%s: %s",
				    k, json_string_value(v));
				hdrs[nh] = hbuf[nh];
				nh++;
			}
		}
		hdrs[nh] = NULL;
		r.method = str(req, "method");
		r.scheme = "https";
		r.host = host;
		r.path = str(req, "path");
		r.headers = hdrs;
		r.sign_headers = sign;
		r.body = str(req, "data");
		r.body_len = r.body ? strlen(r.body) : 0;
		r.max_body = (size_t)json_integer_value(
		    json_object_get(data, "max_body"));
		d01_error_clear(&err);
		rc = eg_sign(&cr, &r, str(data, "timestamp"),
		    str(data, "nonce"), auth, sizeof(auth), &err);
		if (json_object_get(c, "failsWithMessage") != NULL) {
			if (rc != D01_E_INVAL)
				fprintf(stderr, "  case %s: not refused\n",
				    str(c, "testName"));
			CHECK_INT(rc, ==, D01_E_INVAL);
			CHECK_STR(auth, "");
			nrefused++;
			continue;
		}
		if (rc != D01_OK ||
		    strcmp(auth, str(c, "expectedAuthorization")) != 0)
			fprintf(stderr, "  case %s\n", str(c, "testName"));
		CHECK_INT(rc, ==, D01_OK);
		CHECK_STR(auth, str(c, "expectedAuthorization"));
		ncases++;
	}
	CHECK_INT(nrefused, ==, 1);
	CHECK_INT(ncases + nrefused, ==, json_array_size(cases));
end:;
}

static void
t_intermediates(void)
{
	char key[EG_B64_LEN], hash[EG_B64_LEN], auth[1024];
	struct eg_request r = {0};
	struct d01_error err;
	struct eg_creds cr;
	char host[256];
	const char *body = "{\"key\": \"value\"}";

	CHECK_INT(eg_signing_key(
		      str(data, "client_secret"), str(data, "timestamp"), key),
	    ==, 0);
	CHECK_STR(key, str(data, "sign_key_test"));
	CHECK_INT(
	    eg_content_hash("POST", "test_body", 9,
		(size_t)json_integer_value(json_object_get(data, "max_body")),
		hash),
	    ==, 0);
	CHECK_STR(hash, str(data, "content_hash_test"));
	/* Not POST, or nothing to hash: the field is empty. */
	CHECK_INT(eg_content_hash("PUT", "test_body", 9, 0, hash), ==, 0);
	CHECK_STR(hash, "");
	CHECK_INT(eg_content_hash("POST", "", 0, 0, hash), ==, 0);
	CHECK_STR(hash, "");
	/* A JSON POST with a query and the default max body and no signed
	 * headers: what an API client sends. */
	cr = creds();
	base_host(host, sizeof(host));
	r.method = "POST";
	r.scheme = "https";
	r.host = host;
	r.path = "/testapi/v1/t3?extended=true";
	r.body = body;
	r.body_len = strlen(body);
	CHECK_INT(eg_sign(&cr, &r, str(data, "timestamp"), str(data, "nonce"),
		      auth, sizeof(auth), &err),
	    ==, D01_OK);
	CHECK_STR(auth, str(data, "jsontest_hash"));
end:;
}

int
main(void)
{
	data = load("testdata.json");
	cases = load("testcases.json");
	if (data == NULL || cases == NULL) {
		fprintf(
		    stderr, "skipped: no $DNS01_SHARED/testdata/edgegrid\n");
		json_decref(data);
		json_decref(cases);
		return 77;
	}
	RUN(t_vectors);
	RUN(t_intermediates);
	json_decref(data);
	json_decref(cases);
	return harness_done();
}
