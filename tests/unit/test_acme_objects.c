/* SPDX-License-Identifier: ISC */
/*
 * ACME directory, order, authorization and account parsing, and the nonce
 * pool. Bodies are shaped like RFC 8555 §7.1's examples and Pebble's
 * replies.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "issuer/directory.h"
#include "issuer/nonce.h"
#include "issuer/objects.h"

static const char dir_body[] =
    "{\"keyChange\":\"https://127.0.0.1:14000/rollover-account-key\","
    "\"meta\":{\"externalAccountRequired\":false,"
    "\"termsOfService\":\"data:text/plain,Do%20what%20thou%20wilt\"},"
    "\"newAccount\":\"https://127.0.0.1:14000/sign-me-up\","
    "\"newNonce\":\"https://127.0.0.1:14000/nonce-plz\","
    "\"newOrder\":\"https://127.0.0.1:14000/order-plz\","
    "\"revokeCert\":\"https://127.0.0.1:14000/revoke-cert\"}";

static void
t_directory(void)
{
	static const char ari[] =
	    "{\"newNonce\":\"https://ca/n\","
	    "\"newAccount\":\"https://ca/a\","
	    "\"newOrder\":\"https://ca/o\","
	    "\"renewalInfo\":\"https://ca/ri\","
	    "\"meta\":{\"externalAccountRequired\":true}}";
	struct d01_acme_dir d;

	CHECK(
	    d01_acme_dir_parse(dir_body, strlen(dir_body), &d, NULL) == D01_OK);
	CHECK_STR(d.new_nonce, "https://127.0.0.1:14000/nonce-plz");
	CHECK_STR(d.new_order, "https://127.0.0.1:14000/order-plz");
	CHECK(d.renewal_info == NULL && !d.eab_required);
	CHECK_STR(d.terms, "data:text/plain,Do%20what%20thou%20wilt");
	d01_acme_dir_clear(&d);
	CHECK(d01_acme_dir_parse(ari, strlen(ari), &d, NULL) == D01_OK);
	CHECK_STR(d.renewal_info, "https://ca/ri");
	CHECK(d.eab_required);
	d01_acme_dir_clear(&d);
	CHECK(d01_acme_dir_parse("{\"newNonce\":\"https://ca/n\"}", 26, &d,
		  NULL) == D01_E_PROTOCOL);
	CHECK(d.new_nonce == NULL);
	CHECK(d01_acme_dir_parse("<html>", 6, &d, NULL) == D01_E_PROTOCOL);
end:
	d01_acme_dir_clear(&d);
}

/* meta.profiles and meta.caaIdentities (issue 18 items 4 and 6). */
static void
t_directory_meta(void)
{
	static const char body[] =
	    "{\"newNonce\":\"https://ca/n\",\"newAccount\":\"https://ca/a\","
	    "\"newOrder\":\"https://ca/o\",\"meta\":{"
	    "\"profiles\":{\"classic\":\"The usual\","
	    "\"shortlived\":\"Six\\ndays\",\"bad name\":\"x\","
	    "\"tlsserver\":7},"
	    "\"caaIdentities\":[\"LetsEncrypt.ORG.\",7,\"bad..name\","
	    "\"pki.goog\"]}}";
	struct d01_acme_dir d = {0};
	char text[64];

	CHECK(d01_acme_dir_parse(body, strlen(body), &d, NULL) == D01_OK);
	CHECK_INT(d.nprofiles, ==, 3);
	CHECK_STR(d.profiles[0], "classic");
	CHECK_STR(d.profile_desc[0], "The usual");
	CHECK_STR(d.profile_desc[1], "Six days"); /* no control chars */
	CHECK_STR(d.profiles[2], "tlsserver");
	CHECK_STR(d.profile_desc[2], "");
	CHECK_INT(d01_acme_dir_profile(&d, "shortlived"), ==, 1);
	CHECK_INT(d01_acme_dir_profile(&d, "bad name"), ==, -1);
	CHECK_INT(d01_acme_dir_profile(&d, "Classic"), ==, -1);
	d01_acme_dir_profiles_text(&d, text, sizeof(text));
	CHECK_STR(text, "classic, shortlived, tlsserver");
	CHECK_INT(d.ncaa_ids, ==, 2);
	CHECK_STR(d.caa_ids[0], "letsencrypt.org");
	CHECK_STR(d.caa_ids[1], "pki.goog");
	d01_acme_dir_clear(&d);
	CHECK(
	    d01_acme_dir_parse(dir_body, strlen(dir_body), &d, NULL) == D01_OK);
	CHECK_INT(d.nprofiles + d.ncaa_ids, ==, 0);
	d01_acme_dir_profiles_text(&d, text, sizeof(text));
	CHECK_STR(text, "none");
end:
	d01_acme_dir_clear(&d);
}

/* --directory short names (issue 18 item 5): the CAs' public URLs. */
static void
t_directory_named(void)
{
	CHECK_STR(d01_acme_directory_named("letsencrypt"),
	    "https://acme-v02.api.letsencrypt.org/directory");
	CHECK_STR(d01_acme_directory_named("letsencrypt-staging"),
	    "https://acme-staging-v02.api.letsencrypt.org/directory");
	CHECK_STR(d01_acme_directory_named("zerossl"),
	    "https://acme.zerossl.com/v2/DV90");
	CHECK_STR(d01_acme_directory_named("google"),
	    "https://dv.acme-v02.api.pki.goog/directory");
	CHECK_STR(d01_acme_directory_named("google-staging"),
	    "https://dv.acme-v02.test-api.pki.goog/directory");
	CHECK(d01_acme_directory_named("LetsEncrypt") == NULL);
	CHECK(d01_acme_directory_named("letsencrypt-prod") == NULL);
	CHECK(d01_acme_directory_named("https://ca.test/dir") == NULL);
	CHECK(d01_acme_directory_named(NULL) == NULL);
	CHECK(strstr(d01_acme_directory_names, "zerossl") != NULL);
end:;
}

static void
t_urls(void)
{
	char longurl[D01_ACME_URL_MAX + 10];

	CHECK(d01_acme_url_ok("https://ca.test/x"));
	CHECK(d01_acme_url_ok("http://127.0.0.1:4001/dir"));
	CHECK(!d01_acme_url_ok("ftp://ca.test/x"));
	CHECK(!d01_acme_url_ok("https://ca.test/a b"));
	CHECK(!d01_acme_url_ok("https://ca.test/\r\nX-Injected: 1"));
	CHECK(!d01_acme_url_ok("https://"));
	CHECK(!d01_acme_url_ok(NULL));
	memset(longurl, 'a', sizeof(longurl));
	memcpy(longurl, "https://", 8);
	longurl[sizeof(longurl) - 1] = '\0';
	CHECK(!d01_acme_url_ok(longurl));
end:;
}

static void
t_order(void)
{
	static const char pending[] =
	    "{\"status\":\"pending\",\"expires\":\"2030-01-01T00:00:00Z\","
	    "\"identifiers\":[{\"type\":\"dns\",\"value\":\"example.test\"}],"
	    "\"authorizations\":[\"https://ca/authz/1\",\"https://ca/authz/2\","
	    "\"https://ca/authz/3\"],\"finalize\":\"https://ca/fin/1\"}";
	static const char valid[] =
	    "{\"status\":\"valid\",\"authorizations\":[],"
	    "\"finalize\":\"https://ca/fin/1\","
	    "\"certificate\":\"https://ca/cert/1\"}";
	static const char invalid[] =
	    "{\"status\":\"invalid\",\"authorizations\":[\"https://ca/a\"],"
	    "\"finalize\":\"https://ca/fin/1\",\"error\":{\"type\":"
	    "\"urn:ietf:params:acme:error:unauthorized\",\"detail\":\"no\"}}";
	struct d01_acme_order o;

	CHECK(
	    d01_acme_order_parse(pending, strlen(pending), &o, NULL) == D01_OK);
	CHECK(o.status == D01_ACME_ST_PENDING && o.nauthz == 3);
	CHECK_STR(o.authz[2], "https://ca/authz/3");
	CHECK(o.certificate == NULL && !o.has_error);
	d01_acme_order_clear(&o);
	CHECK(d01_acme_order_parse(valid, strlen(valid), &o, NULL) == D01_OK);
	CHECK(o.status == D01_ACME_ST_VALID);
	CHECK_STR(o.certificate, "https://ca/cert/1");
	d01_acme_order_clear(&o);
	CHECK(
	    d01_acme_order_parse(invalid, strlen(invalid), &o, NULL) == D01_OK);
	CHECK(o.status == D01_ACME_ST_INVALID && o.has_error);
	CHECK_STR(o.error.detail, "no");
	d01_acme_order_clear(&o);
	CHECK(d01_acme_order_parse("{\"status\":\"pending\"}", 20, &o, NULL) !=
	    D01_OK);
	CHECK(d01_acme_order_parse("{\"status\":\"x\",\"authorizations\":[],"
				   "\"finalize\":\"https://ca/f\"}",
		  58, &o, NULL) != D01_OK);
end:
	d01_acme_order_clear(&o);
}

static void
t_order_limits(void)
{
	char body[8192];
	struct d01_acme_order o;
	size_t n, i;

	n = (size_t)snprintf(body, sizeof(body),
	    "{\"status\":\"pending\",\"finalize\":\"https://ca/f\","
	    "\"authorizations\":[");
	for (i = 0; i < 101; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n,
		    "%s\"https://ca/a/%zu\"", i ? "," : "", i);
	snprintf(body + n, sizeof(body) - n, "]}");
	CHECK(d01_acme_order_parse(body, strlen(body), &o, NULL) ==
	    D01_E_PROTOCOL);
	CHECK(o.authz == NULL && o.nauthz == 0);
	CHECK(d01_acme_order_parse("{\"status\":\"pending\",\"finalize\":"
				   "\"https://ca/f\",\"authorizations\":"
				   "[\"javascript:x\"]}",
		  77, &o, NULL) == D01_E_PROTOCOL);
end:
	d01_acme_order_clear(&o);
}

static void
t_authz(void)
{
	static const char wild[] =
	    "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\","
	    "\"value\":\"example.test\"},\"wildcard\":true,\"challenges\":["
	    "{\"type\":\"http-01\",\"url\":\"https://ca/c/"
	    "h\",\"token\":\"t1\"},"
	    "{\"type\":\"dns-01\",\"url\":\"https://ca/c/d\","
	    "\"token\":\"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA\","
	    "\"status\":\"pending\"}]}";
	static const char invalid[] =
	    "{\"status\":\"invalid\",\"identifier\":{\"type\":\"dns\","
	    "\"value\":\"www.example.test\"},\"challenges\":["
	    "{\"type\":\"dns-01\",\"url\":\"https://ca/c/d\",\"token\":\"abc\","
	    "\"status\":\"invalid\",\"error\":{\"type\":"
	    "\"urn:ietf:params:acme:error:unauthorized\",\"detail\":"
	    "\"Incorrect TXT record\"}}]}";
	static const char badtoken[] =
	    "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\","
	    "\"value\":\"a.test\"},\"challenges\":[{\"type\":\"dns-01\","
	    "\"url\":\"https://ca/c\",\"token\":\"../etc\"}]}";
	static const char nodns[] =
	    "{\"status\":\"valid\",\"identifier\":{\"type\":\"dns\","
	    "\"value\":\"a.test\"},\"challenges\":[{\"type\":\"http-01\","
	    "\"url\":\"https://ca/c\",\"token\":\"x\"}]}";
	struct d01_acme_authz a;

	CHECK(d01_acme_authz_parse(wild, strlen(wild), &a, NULL) == D01_OK);
	CHECK(a.status == D01_ACME_ST_PENDING && a.wildcard && a.has_dns01);
	CHECK_STR(a.ident, "*.example.test");
	CHECK_STR(a.chall_url, "https://ca/c/d");
	CHECK_STR(a.token, "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA");
	CHECK(a.chall_status == D01_ACME_ST_PENDING);
	d01_acme_authz_clear(&a);
	CHECK(
	    d01_acme_authz_parse(invalid, strlen(invalid), &a, NULL) == D01_OK);
	CHECK(a.status == D01_ACME_ST_INVALID && a.has_error);
	CHECK_STR(a.error.detail, "Incorrect TXT record");
	CHECK_STR(a.ident, "www.example.test");
	d01_acme_authz_clear(&a);
	CHECK(d01_acme_authz_parse(badtoken, strlen(badtoken), &a, NULL) ==
	    D01_E_PROTOCOL);
	CHECK(d01_acme_authz_parse(nodns, strlen(nodns), &a, NULL) == D01_OK);
	CHECK(a.status == D01_ACME_ST_VALID && !a.has_dns01);
end:
	d01_acme_authz_clear(&a);
}

static void
t_account_status(void)
{
	CHECK(d01_acme_account_status("{\"status\":\"valid\"}", 18) ==
	    D01_ACME_ST_VALID);
	CHECK(d01_acme_account_status("{\"status\":\"deactivated\"}", 24) ==
	    D01_ACME_ST_DEACTIVATED);
	CHECK(d01_acme_account_status("", 0) == D01_ACME_ST_UNKNOWN);
	CHECK_STR(d01_acme_status_name(D01_ACME_ST_PROCESSING), "processing");
end:;
}

static void
t_nonce_pool(void)
{
	struct d01_nonce_pool p = {0};
	char out[D01_NONCE_LEN + 1], big[D01_NONCE_LEN + 2];
	int i;

	CHECK(d01_nonce_pop(&p, out) == -1);
	CHECK(d01_nonce_push(&p, " abc-_DEF09\r\n", 13) == 0);
	CHECK(d01_nonce_push(&p, "b", 1) == 0);
	CHECK(d01_nonce_pop(&p, out) == 0);
	CHECK_STR(out, "b"); /* newest first */
	CHECK(d01_nonce_pop(&p, out) == 0);
	CHECK_STR(out, "abc-_DEF09");
	CHECK(d01_nonce_push(&p, "a b", 3) == -1);
	CHECK(d01_nonce_push(&p, "a+b", 3) == -1);
	CHECK(d01_nonce_push(&p, "", 0) == -1);
	memset(big, 'x', sizeof(big));
	CHECK(d01_nonce_push(&p, big, sizeof(big)) == -1);
	for (i = 0; i < D01_NONCE_POOL + 3; i++) {
		snprintf(out, sizeof(out), "n%d", i);
		CHECK(d01_nonce_push(&p, out, strlen(out)) == 0);
	}
	CHECK_INT(p.n, ==, D01_NONCE_POOL);
	for (i = D01_NONCE_POOL + 2; i >= 3; i--) {
		char want[16];

		snprintf(want, sizeof(want), "n%d", i);
		CHECK(d01_nonce_pop(&p, out) == 0);
		CHECK_STR(out, want);
	}
	CHECK(d01_nonce_pop(&p, out) == -1); /* the 3 oldest were dropped */
end:;
}

int
main(void)
{
	RUN(t_directory);
	RUN(t_directory_meta);
	RUN(t_directory_named);
	RUN(t_urls);
	RUN(t_order);
	RUN(t_order_limits);
	RUN(t_authz);
	RUN(t_account_status);
	RUN(t_nonce_pool);
	return harness_done();
}
