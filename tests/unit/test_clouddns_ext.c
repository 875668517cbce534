/* SPDX-License-Identifier: ISC */
/*
 * The pure half of clouddns's workload identity federation
 * (providers/clouddns/gcp_ext.c): the external_account file, the subject
 * token in its credential_source file, the IAM Credentials reply, and the
 * token cache key over the file's settings. The exchange against the
 * strict fake is in tests/integration/test_clouddns.py.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "harness.h"
#include "providers/clouddns/gcp_int.h"

#define AUD "//iam.googleapis.com/projects/1/locations/global/x/p"
#define EXT_HEAD                                                               \
	"{\"type\": \"external_account\", \"audience\": \"" AUD "\", "         \
	"\"subject_token_type\": \"urn:ietf:params:oauth:token-type:jwt\", "

static enum d01_err
adc(const char *json, struct gcp_cred *c, struct d01_error *err)
{
	d01_error_clear(err);
	return gcp_adc_parse(json, strlen(json), c, err);
}

static void
t_adc(void)
{
	static const char tenant[] =
	    EXT_HEAD "\"credential_source\": {\"file\": \"/etc/shadow\"}}";
	struct gcp_cred c = {0};
	struct d01_error err;

	CHECK_INT(adc(EXT_HEAD "\"credential_source\": {\"file\": \"/t\"}}", &c,
		      &err),
	    ==, D01_OK);
	CHECK_INT(c.kind, ==, GCP_EXTERNAL);
	CHECK_STR(c.token_uri, "https://sts.googleapis.com/v1/token");
	CHECK_STR(c.audience, AUD);
	CHECK_STR(c.subject_file, "/t");
	CHECK(c.subject_field == NULL && c.impersonate == NULL);
	gcp_cred_free(&c);
	CHECK_INT(
	    adc(EXT_HEAD "\"token_url\": \"https://sts.example/v1/token\", "
			 "\"service_account_impersonation_url\": "
			 "\"https://iam.example/v1/x:generateAccessToken\", "
			 "\"credential_source\": {\"file\": \"/t\", "
			 "\"format\": {\"type\": \"json\", "
			 "\"subject_token_field_name\": \"id_token\"}}}",
		&c, &err),
	    ==, D01_OK);
	CHECK_STR(c.subject_field, "id_token");
	CHECK_STR(
	    c.impersonate, "https://iam.example/v1/x:generateAccessToken");
	CHECK_STR(c.token_uri, "https://sts.example/v1/token");
	gcp_cred_free(&c);
	/* Refused, each saying what. */
	CHECK_INT(
	    adc(EXT_HEAD "\"credential_source\": {\"url\": \"http://x\"}}", &c,
		&err),
	    ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "credential_source.url is not supported"));
	CHECK_INT(adc(EXT_HEAD "\"token_url\": \"http://sts/\", "
			       "\"credential_source\": {\"file\": \"/t\"}}",
		      &c, &err),
	    ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "token_url"));
	CHECK_INT(adc(EXT_HEAD "\"token_url\": \"https://u:p@sts/\", "
			       "\"credential_source\": {\"file\": \"/t\"}}",
		      &c, &err),
	    ==, D01_E_CONFIG);
	CHECK_INT(adc(EXT_HEAD "\"credential_source\": {\"file\": \"/t\", "
			       "\"format\": {\"type\": \"json\"}}}",
		      &c, &err),
	    ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "subject_token_field_name"));
	CHECK_INT(adc(EXT_HEAD "\"credential_source\": {\"file\": \"/t\", "
			       "\"format\": {\"type\": \"xml\"}}}",
		      &c, &err),
	    ==, D01_E_CONFIG);
	CHECK_INT(adc("{\"type\": \"external_account\", \"credential_source\": "
		      "{\"file\": \"/t\"}}",
		      &c, &err),
	    ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "audience"));
	CHECK(c.audience == NULL && c.where == NULL);
	/* A tenant's Secret never holds one. */
	d01_error_clear(&err);
	CHECK_INT(
	    gcp_cred_parse(tenant, strlen(tenant), &c, &err), ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "GOOGLE_APPLICATION_CREDENTIALS"));
	/* Anything else still goes the key's way. */
	CHECK_INT(
	    adc("{\"type\": \"authorized_user\"}", &c, &err), ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "authorized_user"));
end:
	gcp_cred_free(&c);
}

static void
t_subject(void)
{
	struct d01_error err;
	char *t = NULL, big[GCP_SUBJECT_MAX + 2];

	d01_error_clear(&err);
	t = gcp_subject_token("  eyJ.a.b\n", 10, NULL, &err);
	CHECK_STR(t, "eyJ.a.b");
	free(t);
	t = gcp_subject_token(
	    "{\"id_token\": \"eyJ.c\\n\"}", 23, "id_token", &err);
	CHECK_STR(t, "eyJ.c");
	free(t);
	t = gcp_subject_token("{\"x\": \"eyJ.secret\"}", 19, "id_token", &err);
	CHECK(t == NULL);
	CHECK(strstr(err.msg, "id_token") && !strstr(err.msg, "secret"));
	t = gcp_subject_token("a\001b", 3, NULL, &err);
	CHECK(t == NULL);
	t = gcp_subject_token("\n\n", 2, NULL, &err);
	CHECK(t == NULL);
	memset(big, 'a', sizeof(big));
	t = gcp_subject_token(big, sizeof(big), NULL, &err);
	CHECK(t == NULL);
	CHECK_INT(err.code, ==, D01_E_CONFIG);
end:
	free(t);
}

static void
t_iam(void)
{
	/* 2026-12-07T08:00:00Z */
	const long long now = 1796630400LL - 3600;
	struct d01_error err;
	const char *ok = "{\"accessToken\": \"ya29.x\", \"expireTime\": "
			 "\"2026-12-07T08:00:00.5Z\"}";
	const char *off = "{\"accessToken\": \"ya29.x\", \"expireTime\": "
			  "\"2026-12-07T09:00:00+01:00\"}";
	const char *denied = "{\"error\": {\"code\": 403, \"message\": "
			     "\"denied\", \"errors\": [{\"reason\": "
			     "\"forbidden\"}]}}";
	char *t = NULL;
	long exp = 0;

	d01_error_clear(&err);
	t = gcp_iam_reply(200, ok, strlen(ok), now, &exp, &err);
	CHECK_STR(t, "ya29.x");
	CHECK_INT(exp, ==, 3600);
	free(t);
	t = gcp_iam_reply(200, off, strlen(off), now, &exp, &err);
	CHECK_STR(t, "ya29.x");
	CHECK_INT(exp, ==, 3600);
	free(t);
	/* Expired already, or no expiry: refused. */
	t = gcp_iam_reply(200, ok, strlen(ok), now + 7200, &exp, &err);
	CHECK(t == NULL);
	CHECK(strstr(err.msg, "expireTime") && !strstr(err.msg, "ya29"));
	t = gcp_iam_reply(
	    200, "{\"accessToken\": \"ya29.x\"}", 25, now, &exp, &err);
	CHECK(t == NULL);
	t = gcp_iam_reply(403, denied, strlen(denied), now, &exp, &err);
	CHECK(t == NULL);
	CHECK_STR(err.msg, "HTTP 403: forbidden: denied");
end:
	free(t);
}

/* The cache key covers the file's settings, not the subject token. */
static void
t_key(void)
{
	struct gcp_state st;
	struct gcp_cred a = {0};
	unsigned char k1[D01_SFC_KEY], k2[D01_SFC_KEY];
	char imp[] = "https://iam.example/v1/x:generateAccessToken";
	char aud2[] = "//other";

	memset(&st, 0, sizeof(st));
	RAND_bytes(st.mac_key, sizeof(st.mac_key));
	a.kind = GCP_EXTERNAL;
	a.ambient = 1;
	a.token_uri = "https://sts.example/v1/token";
	a.audience = AUD;
	a.subject_type = "urn:ietf:params:oauth:token-type:jwt";
	a.subject_file = "/t";
	CHECK_INT(gcp_token_key(&st, &a, NULL, k1), ==, 0);
	a.impersonate = imp;
	CHECK_INT(gcp_token_key(&st, &a, NULL, k2), ==, 0);
	CHECK(memcmp(k1, k2, sizeof(k1)) != 0);
	a.impersonate = NULL;
	a.audience = aud2;
	CHECK_INT(gcp_token_key(&st, &a, NULL, k2), ==, 0);
	CHECK(memcmp(k1, k2, sizeof(k1)) != 0);
	a.audience = AUD;
	a.kind = GCP_METADATA;
	CHECK_INT(gcp_token_key(&st, &a, NULL, k2), ==, 0);
	CHECK(memcmp(k1, k2, sizeof(k1)) != 0);
	a.kind = GCP_EXTERNAL;
	CHECK_INT(gcp_token_key(&st, &a, NULL, k2), ==, 0);
	CHECK_MEM(k1, k2, sizeof(k1));
end:
	return;
}

int
main(void)
{
	RUN(t_adc);
	RUN(t_subject);
	RUN(t_iam);
	RUN(t_key);
	return harness_done();
}
