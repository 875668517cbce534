/* SPDX-License-Identifier: ISC */
/* ChallengePayload decoding: cert-manager's webhook contract (v1alpha1). */
#include <stdlib.h>

#include "harness.h"
#include "server/payload.h"

static int
decode(const char *body, struct d01_payload *p, char *why)
{
	return d01_payload_decode(body, strlen(body), p, why, 300);
}

#define REQ(fields)                                                            \
	"{\"request\":{\"uid\":\"u1\",\"action\":\"Present\","                 \
	"\"type\":\"dns-01\",\"key\":\"K\","                                   \
	"\"resolvedFQDN\":\"_acme-challenge.Www.Example.COM.\"" fields "}}"

static void
t_valid(void)
{
	struct d01_payload p;
	char why[300];

	CHECK_INT(decode(REQ(",\"resolvedZone\":\"example.com\","
			     "\"dnsName\":\"www.example.com\","
			     "\"resourceNamespace\":\"ns1\","
			     "\"allowAmbientCredentials\":true,"
			     "\"config\":{\"a\":1}"),
		      &p, why),
	    ==, 0);
	CHECK_INT(p.present, ==, 1);
	CHECK_STR(p.ch.uid, "u1");
	CHECK_STR(p.ch.fqdn, "_acme-challenge.www.example.com.");
	CHECK_STR(p.ch.zone, "example.com.");
	CHECK_STR(p.ch.key, "K");
	CHECK_STR(p.ch.namespace, "ns1");
	CHECK_INT(p.ch.allow_ambient, ==, 1);
	CHECK(json_is_object(p.config));
end:
	d01_payload_clear(&p);
}

static void
t_envelope(void)
{
	struct d01_payload p;
	char why[300];

	/* With type information, as the reference accepts. */
	CHECK_INT(decode("{\"apiVersion\":\"webhook.acme.cert-manager.io/"
			 "v1alpha1\",\"kind\":\"ChallengePayload\","
			 "\"request\":{\"action\":\"CleanUp\",\"key\":\"K\","
			 "\"resolvedFQDN\":\"a.b.\",\"config\":null}}",
		      &p, why),
	    ==, 0);
	CHECK_INT(p.present, ==, 0);
	CHECK(p.config == NULL);
	CHECK(p.ch.zone == NULL);
	CHECK_STR(p.ch.uid, "");
	d01_payload_clear(&p);
	CHECK_INT(decode("{\"apiVersion\":\"acme.example.com/v1alpha1\","
			 "\"request\":{}}",
		      &p, why),
	    ==, -1);
	CHECK(strstr(why, "does not match the expected API version") != NULL);
	CHECK_INT(
	    decode("{\"kind\":\"Other\",\"request\":{}}", &p, why), ==, -1);
	CHECK_INT(decode("{}", &p, why), ==, -1);
	CHECK_INT(decode("{\"request\":[]}", &p, why), ==, -1);
	CHECK_INT(decode("[]", &p, why), ==, -1);
	CHECK_INT(decode("", &p, why), ==, -1);
	CHECK_INT(decode("{\"request\":", &p, why), ==, -1);
	CHECK_INT(decode("{\"request\":{},\"request\":{}}", &p, why), ==, -1);
end:
	d01_payload_clear(&p);
}

static void
t_fields(void)
{
	static const char *const bad[] = {
	    "{\"request\":{\"action\":\"present\",\"key\":\"K\","
	    "\"resolvedFQDN\":\"a.b.\"}}",
	    "{\"request\":{\"action\":\"Delete\",\"key\":\"K\","
	    "\"resolvedFQDN\":\"a.b.\"}}",
	    "{\"request\":{\"key\":\"K\",\"resolvedFQDN\":\"a.b.\"}}",
	    REQ(",\"type\":\"http-01\""),
	    "{\"request\":{\"action\":\"Present\",\"key\":5,"
	    "\"resolvedFQDN\":\"a.b.\"}}",
	    "{\"request\":{\"action\":\"Present\",\"key\":\"\","
	    "\"resolvedFQDN\":\"a.b.\"}}",
	    "{\"request\":{\"action\":\"Present\",\"key\":\"a\\nb\","
	    "\"resolvedFQDN\":\"a.b.\"}}",
	    "{\"request\":{\"action\":\"Present\",\"key\":\"K\"}}",
	    "{\"request\":{\"action\":\"Present\",\"key\":\"K\","
	    "\"resolvedFQDN\":\"a..b.\"}}",
	    "{\"request\":{\"action\":\"Present\",\"key\":\"K\","
	    "\"resolvedFQDN\":\"a b.\"}}",
	    REQ(",\"resolvedZone\":\"other.org.\""),
	    REQ(",\"allowAmbientCredentials\":\"yes\""),
	    "{\"request\":{\"uid\":7,\"action\":\"Present\",\"key\":\"K\","
	    "\"resolvedFQDN\":\"a.b.\"}}",
	};
	struct d01_payload p = {0};
	char why[300];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (decode(bad[i], &p, why) != -1 || why[0] == '\0') {
			fprintf(stderr, "  accepted: %s\n", bad[i]);
			CHECK(0);
		}
	}
end:
	d01_payload_clear(&p);
}

int
main(void)
{
	RUN(t_valid);
	RUN(t_envelope);
	RUN(t_fields);
	return harness_done();
}
