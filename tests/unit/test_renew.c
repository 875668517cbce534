/* SPDX-License-Identifier: ISC */
/*
 * The renewal decision and ARI. Known answer: the certificate of RFC 9773
 * Appendix A and its CertID "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE" (§4.1).
 * Other certificates are made here with OpenSSL so that names and
 * validity are chosen per case; the clock is an input.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "harness.h"
#include "issuer/key.h"
#include "issuer/renew.h"

static const char rfc9773_cert[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBQzCB66ADAgECAgUAh2VDITAKBggqhkjOPQQDAjAVMRMwEQYDVQQDEwpFeGFt\n"
    "cGxlIENBMCIYDzAwMDEwMTAxMDAwMDAwWhgPMDAwMTAxMDEwMDAwMDBaMBYxFDAS\n"
    "BgNVBAMTC2V4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEeBZu\n"
    "7cbpAYNXZLbbh8rNIzuOoqOOtmxA1v7cRm//AwyMwWxyHz4zfwmBhcSrf47NUAFf\n"
    "qzLQ2PPQxdTXREYEnKMjMCEwHwYDVR0jBBgwFoAUaYhba4dGQEHhs3uEe6CuLN4B\n"
    "yNQwCgYIKoZIzj0EAwIDRwAwRAIge09+S5TZAlw5tgtiVvuERV6cT4mfutXIlwTb\n"
    "+FYN/8oCIClDsqBklhB9KAelFiYt9+6FDj3z4KGVelYM5MdsO3pK\n"
    "-----END CERTIFICATE-----\n";

#define DAY 86400L
static const time_t T0 = 1750000000; /* "now" in these tests */

/* A self-signed PEM certificate for `names`, valid [nb, na], for the key
 * `key` (borrowed), or a fresh one when NULL. */
static char *
make_cert_for(
    EVP_PKEY *key, const char *names, time_t nb, time_t na, long serial)
{
	EVP_PKEY *k = key ? key : d01_key_generate(D01_KEY_EC256, NULL);
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext = NULL;
	BIO *b = BIO_new(BIO_s_mem());
	char *pem = NULL, *data;
	long n;

	if (k == NULL || x == NULL || b == NULL)
		goto out;
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &nb);
	X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &na);
	X509_set_pubkey(x, k);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext =
	    X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(
	    NULL, &ctx, NID_authority_key_identifier, "keyid:always");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, names);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (X509_sign(x, k, EVP_sha256()) <= 0 || !PEM_write_bio_X509(b, x))
		goto out;
	n = BIO_get_mem_data(b, &data);
	if ((pem = malloc((size_t)n + 1)) != NULL) {
		memcpy(pem, data, (size_t)n);
		pem[n] = '\0';
	}
out:
	BIO_free(b);
	X509_free(x);
	if (k != key)
		EVP_PKEY_free(k);
	return pem;
}

static char *
make_cert(const char *names, time_t nb, time_t na, long serial)
{
	return make_cert_for(NULL, names, nb, na, serial);
}

static void
t_rfc9773_cert_id(void)
{
	struct d01_cert_info ci;

	CHECK(d01_cert_info_parse(
		  rfc9773_cert, strlen(rfc9773_cert), &ci, NULL) == D01_OK);
	CHECK_STR(ci.ari_id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	CHECK_INT(ci.nnames, ==, 0); /* it has no SAN */
end:
	d01_cert_info_clear(&ci);
}

static void
t_cert_info(void)
{
	char *pem = make_cert("DNS:Example.test,DNS:*.example.test,"
			      "DNS:www.example.test,IP:127.0.0.1",
	    T0 - DAY, T0 + 90 * DAY, 0x80);
	struct d01_cert_info ci = {0};
	const char *dot;

	CHECK(pem != NULL);
	CHECK(d01_cert_info_parse(pem, strlen(pem), &ci, NULL) == D01_OK);
	CHECK_INT(ci.nnames, ==, 3);
	CHECK_STR(ci.names[0], "example.test"); /* lower-cased */
	CHECK_STR(ci.names[1], "*.example.test");
	CHECK_INT(ci.not_before, ==, T0 - DAY);
	CHECK_INT(ci.not_after, ==, T0 + 90 * DAY);
	/* Serial 0x80 needs a leading zero byte: content 00 80 -> "AIA". */
	CHECK((dot = strchr(ci.ari_id, '.')) != NULL);
	CHECK_STR(dot + 1, "AIA");
	d01_cert_info_clear(&ci);
	CHECK(d01_cert_info_parse("junk", 4, &ci, NULL) != D01_OK);
	CHECK_INT(ci.nnames, ==, 0);
end:
	d01_cert_info_clear(&ci);
	free(pem);
}

static void
t_rfc3339(void)
{
	time_t t = 0;

	CHECK(d01_rfc3339_parse("2025-06-15T15:06:40Z", &t) == 0);
	CHECK_INT(t, ==, T0);
	CHECK(d01_rfc3339_parse("2025-06-15T15:06:40.123456Z", &t) == 0);
	CHECK_INT(t, ==, T0);
	CHECK(d01_rfc3339_parse("2025-06-15T17:06:40+02:00", &t) == 0);
	CHECK_INT(t, ==, T0);
	CHECK(d01_rfc3339_parse("2025-06-15t14:06:40-01:00", &t) == 0);
	CHECK_INT(t, ==, T0);
	CHECK(d01_rfc3339_parse("2025-06-15T15:06:40", &t) == -1);
	CHECK(d01_rfc3339_parse("2025-13-15T15:06:40Z", &t) == -1);
	CHECK(d01_rfc3339_parse("2025-06-15 15:06:40Z", &t) == -1);
	CHECK(d01_rfc3339_parse("", &t) == -1);
end:;
}

static void
t_ari_parse(void)
{
	static const char ok[] =
	    "{\"suggestedWindow\":{\"start\":\"2025-06-15T15:06:40Z\","
	    "\"end\":\"2025-06-16T15:06:40Z\"},"
	    "\"explanationURL\":\"https://ca.test/why\"}";
	static const char reversed[] =
	    "{\"suggestedWindow\":{\"end\":\"2025-06-15T15:06:40Z\","
	    "\"start\":\"2025-06-16T15:06:40Z\"}}";
	struct d01_ari_window w;

	CHECK(d01_ari_parse(ok, strlen(ok), &w, NULL) == D01_OK);
	CHECK_INT(w.start, ==, T0);
	CHECK_INT(w.end, ==, T0 + DAY);
	CHECK_STR(w.explanation, "https://ca.test/why");
	CHECK(d01_ari_parse(reversed, strlen(reversed), &w, NULL) ==
	    D01_E_PROTOCOL);
	CHECK(d01_ari_parse("{}", 2, &w, NULL) == D01_E_PROTOCOL);
	CHECK(d01_ari_parse("[", 1, &w, NULL) == D01_E_PROTOCOL);
end:;
}

static void
t_names_same(void)
{
	const char *a[] = {
	    "example.test", "*.example.test", "www.example.test"};
	const char *b[] = {
	    "WWW.example.test", "example.test", "*.example.test"};
	const char *c[] = {"example.test", "*.example.test"};
	const char *d[] = {"example.test", "example.test", "*.example.test"};

	CHECK(d01_names_same(a, 3, b, 3));
	CHECK(!d01_names_same(a, 3, c, 2));
	CHECK(!d01_names_same(c, 2, a, 3));
	CHECK(d01_names_same(c, 2, d, 3)); /* sets: duplicates collapse */
end:;
}

static void
t_decide(void)
{
	const char *names[] = {"www.example.test", "example.test"};
	const char *other[] = {"example.test"};
	char *pem = make_cert("DNS:example.test,DNS:www.example.test",
	    T0 - 60 * DAY, T0 + 30 * DAY, 7);
	struct d01_cert_info ci = {0};
	struct d01_renew_input in = {0};
	struct d01_renew_decision d;

	CHECK(pem != NULL);
	CHECK(d01_cert_info_parse(pem, strlen(pem), &ci, NULL) == D01_OK);
	in.names = names;
	in.nnames = 2;
	in.now = T0;
	in.renew_before = 29 * DAY;
	d01_renew_decide(&in, &d); /* no certificate */
	CHECK(d.due && d.why == D01_RENEW_NO_CERT);
	in.cert = &ci;
	d01_renew_decide(&in, &d); /* 30 days left, renew at 29 */
	CHECK(!d.due && d.why == D01_RENEW_NOT_DUE);
	CHECK_INT(d.when, ==, T0 + DAY);
	in.now = T0 + DAY;
	d01_renew_decide(&in, &d); /* exactly at the boundary */
	CHECK(d.due && d.why == D01_RENEW_EXPIRING);
	in.now = T0;
	in.renew_before = 31 * DAY;
	d01_renew_decide(&in, &d);
	CHECK(d.due && d.why == D01_RENEW_EXPIRING);
	in.renew_before = 29 * DAY;
	in.force = 1;
	d01_renew_decide(&in, &d);
	CHECK(d.due && d.why == D01_RENEW_FORCED);
	in.force = 0;
	in.names = other;
	in.nnames = 1;
	d01_renew_decide(&in, &d);
	CHECK(d.due && d.why == D01_RENEW_NAMES);
	in.names = names;
	in.nnames = 2;
	in.now = T0 + 31 * DAY; /* expired */
	d01_renew_decide(&in, &d);
	CHECK(d.due && d.why == D01_RENEW_EXPIRING);
end:
	d01_cert_info_clear(&ci);
	free(pem);
}

static void
t_decide_ari(void)
{
	const char *names[] = {"example.test"};
	char *pem =
	    make_cert("DNS:example.test", T0 - 10 * DAY, T0 + 80 * DAY, 9);
	struct d01_cert_info ci = {0};
	struct d01_ari_window w = {
	    .start = T0 + 10 * DAY, .end = T0 + 12 * DAY};
	struct d01_renew_input in = {0};
	struct d01_renew_decision d;

	CHECK(pem != NULL);
	CHECK(d01_cert_info_parse(pem, strlen(pem), &ci, NULL) == D01_OK);
	in.cert = &ci;
	in.names = names;
	in.nnames = 1;
	in.now = T0;
	in.renew_before = 85 * DAY; /* renew-before alone would say due */
	in.ari = &w;
	in.pick = 0.5;
	d01_renew_decide(&in, &d);
	CHECK(!d.due && d.why == D01_RENEW_ARI_NOT_DUE);
	CHECK_INT(d.when, ==, T0 + 11 * DAY);
	in.now = T0 + 11 * DAY;
	d01_renew_decide(&in, &d);
	CHECK(d.due && d.why == D01_RENEW_ARI);
	/* A window already in the past (e.g. after a revocation notice):
	 * renew now, whatever renew-before says. */
	w.start = T0 - 2 * DAY;
	w.end = T0 - DAY;
	in.now = T0;
	in.renew_before = DAY;
	in.pick = 0.99;
	d01_renew_decide(&in, &d);
	CHECK(d.due && d.why == D01_RENEW_ARI);
	/* An out-of-range pick is clamped to the window start. */
	w.start = T0 + DAY;
	w.end = T0 + 2 * DAY;
	in.pick = 7;
	d01_renew_decide(&in, &d);
	CHECK(!d.due && d.when == T0 + DAY);
end:
	d01_cert_info_clear(&ci);
	free(pem);
}

/* A key that does not fit the certificate beside it (a set half
 * replaced, a manual edit) is due, whatever the dates, --force or ARI
 * say: serving it fails every handshake. */
static void
t_key_mismatch(void)
{
	const char *names[] = {"example.test"};
	EVP_PKEY *k = d01_key_generate(D01_KEY_EC256, NULL);
	EVP_PKEY *other = d01_key_generate(D01_KEY_EC256, NULL);
	char *pem = make_cert_for(
	    k, "DNS:example.test", T0 - 10 * DAY, T0 + 80 * DAY, 11);
	struct d01_cert_info ci = {0};
	struct d01_ari_window w = {
	    .start = T0 + 10 * DAY, .end = T0 + 12 * DAY};
	struct d01_renew_input in = {0};
	struct d01_renew_decision d;

	CHECK(k != NULL && other != NULL && pem != NULL);
	CHECK(d01_cert_key_matches(pem, strlen(pem), k) == 1);
	CHECK(d01_cert_key_matches(pem, strlen(pem), other) == 0);
	CHECK(d01_cert_key_matches(pem, strlen(pem), NULL) == 0);
	CHECK(d01_cert_key_matches("junk", 4, k) == 0);
	CHECK(d01_cert_info_parse(pem, strlen(pem), &ci, NULL) == D01_OK);
	in.cert = &ci;
	in.names = names;
	in.nnames = 1;
	in.now = T0;
	in.renew_before = 30 * DAY;
	d01_renew_decide(&in, &d);
	CHECK(!d.due && d.why == D01_RENEW_NOT_DUE);
	in.key_mismatch = 1;
	d01_renew_decide(&in, &d);
	CHECK(d.due && d.why == D01_RENEW_KEY);
	CHECK(strstr(d01_renew_why_text(d.why), "private key") != NULL);
	in.ari = &w; /* the window says later: still due */
	in.pick = 0.5;
	d01_renew_decide(&in, &d);
	CHECK(d.due && d.why == D01_RENEW_KEY);
	in.ari = NULL;
	in.force = 1;
	d01_renew_decide(&in, &d);
	CHECK(d.due && d.why == D01_RENEW_KEY);
end:
	d01_cert_info_clear(&ci);
	free(pem);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

int
main(void)
{
	RUN(t_rfc9773_cert_id);
	RUN(t_cert_info);
	RUN(t_rfc3339);
	RUN(t_ari_parse);
	RUN(t_names_same);
	RUN(t_decide);
	RUN(t_decide_ari);
	RUN(t_key_mismatch);
	return harness_done();
}
