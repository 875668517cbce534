/* SPDX-License-Identifier: ISC */
/*
 * The endpoint policy (core/endpoint.h): operator entries, the public
 * defaults, what is refused and what the refusal says; the transport
 * error a tenant sees; caBundle as PEM text only; the trust of requests
 * that carry ambient credentials (--provider-ca-file, never a config's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "core/endpoint.h"
#include "harness.h"
#include "httpd/tls.h"

static const char *const cf[] = {"api.cloudflare.com", NULL};
static const char *const sts[] = {
    "sts.amazonaws.com", "sts.*.amazonaws.com", NULL};

/* 1 allowed, 0 refused (err says why), -1 allowed but custom != want. */
static int
allowed(const struct d01_endpoints *p, const char *url, const char *const *defs,
    int want_custom, struct d01_error *err)
{
	int custom = -1;

	d01_error_clear(err);
	if (d01_endpoint_check(p, "cloudflare", "baseURL", url, defs, &custom,
		err) != D01_OK) {
		if (err->code != D01_E_CONFIG)
			return -2;
		return 0;
	}
	return custom == want_custom ? 1 : -1;
}

static void
t_policy(void)
{
	static const char *const specs[] = {"127.0.0.1:8443", "*.corp.example",
	    "http://10.1.2.3:8080", "[::1]:9000", "https://api.test"};
	static const char *const ok[] = {"https://127.0.0.1:8443/client/v4",
	    "https://a.corp.example", "https://a.b.corp.example/x",
	    "http://10.1.2.3:8080", "https://10.1.2.3:8080/v4",
	    "https://[::1]:9000", "https://API.test./v4",
	    "https://api.test:443"};
	static const char *const refused[] = {"http://127.0.0.1:8443",
	    "https://127.0.0.1:8444", "https://127.0.0.1",
	    "https://corp.example", "https://a.corp.example:444",
	    "https://evilcorp.example", "http://a.corp.example",
	    "http://10.1.2.3", "https://10.1.2.4:8080", "https://[::2]:9000",
	    "http://api.test", "https://api.test:8443",
	    "https://localhost:8443",
	    /* user info reads like a host to a person; libcurl disagrees */
	    "https://api.cloudflare.com@127.0.0.1:8443",
	    "https://api.cloudflare.com:x@127.0.0.1:8443", "ftp://api.test",
	    "127.0.0.1:8443", "https://"};
	struct d01_endpoints *p = d01_endpoints_new();
	struct d01_error err;
	size_t i;

	CHECK(p != NULL);
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		CHECK_INT(d01_endpoints_add(p, specs[i], &err), ==, 0);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (allowed(p, ok[i], cf, 1, &err) != 1)
			fprintf(stderr, "  refused: %s: %s\n", ok[i], err.msg);
		CHECK_INT(allowed(p, ok[i], cf, 1, &err), ==, 1);
	}
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (allowed(p, refused[i], cf, 1, &err) != 0)
			fprintf(stderr, "  allowed: %s\n", refused[i]);
		CHECK_INT(allowed(p, refused[i], cf, 1, &err), ==, 0);
	}
	/* The refusal names the field and the flag that would allow it. */
	CHECK_INT(allowed(p, "http://127.0.0.1:8443/v4", cf, 1, &err), ==, 0);
	CHECK(strstr(err.msg, "cloudflare: baseURL") != NULL);
	CHECK(strstr(err.msg,
		  "--allow-provider-endpoint http://127.0.0.1:8443") != NULL);
	CHECK_INT(allowed(NULL, "https://10.0.0.1:6443", cf, 1, &err), ==, 0);
	CHECK(
	    strstr(err.msg, "--allow-provider-endpoint 10.0.0.1:6443") != NULL);
end:
	d01_endpoints_free(p);
}

static void
t_defaults_and_any(void)
{
	struct d01_error err;
	int custom = 0;

	/* The public APIs: always, over https on 443 only. */
	CHECK_INT(
	    allowed(NULL, "https://api.cloudflare.com/client/v4", cf, 0, &err),
	    ==, 1);
	CHECK_INT(
	    allowed(NULL, "https://API.Cloudflare.COM./client/v4", cf, 0, &err),
	    ==, 1);
	CHECK_INT(
	    allowed(NULL, "http://api.cloudflare.com/client/v4", cf, 0, &err),
	    ==, 0);
	CHECK_INT(allowed(NULL, "https://api.cloudflare.com:8443", cf, 0, &err),
	    ==, 0);
	CHECK_INT(
	    allowed(NULL, "https://api.cloudflare.com.evil.test", cf, 0, &err),
	    ==, 0);
	CHECK_INT(
	    allowed(NULL, "https://sts.eu-west-1.amazonaws.com", sts, 0, &err),
	    ==, 1);
	CHECK_INT(allowed(NULL, "https://sts.a.b.amazonaws.com", sts, 0, &err),
	    ==, 0);
	CHECK_INT(
	    allowed(NULL, "https://sts..amazonaws.com", sts, 0, &err), ==, 0);
	/* Another provider's public API is not a default of this one. */
	CHECK_INT(
	    allowed(NULL, "https://sts.amazonaws.com", cf, 0, &err), ==, 0);
	/* The CLI: anything goes, still marked custom; user info never. */
	CHECK_INT(
	    allowed(&d01_endpoints_any, "http://127.0.0.1:1/v4", cf, 1, &err),
	    ==, 1);
	CHECK_INT(allowed(&d01_endpoints_any,
		      "https://api.cloudflare.com@127.0.0.1/", cf, 1, &err),
	    ==, 0);
	CHECK_INT(d01_endpoints_ambient_anywhere(&d01_endpoints_any), ==, 1);
	CHECK_INT(d01_endpoints_ambient_anywhere(NULL), ==, 0);
	(void)custom;
end:;
}

static void
t_bad_specs(void)
{
	static const char *const bad[] = {"", "*", "*.", "*.com", "a/b",
	    "https://a/b", "a?b=c", "u@a", "ftp://a", "http://", "a:99999",
	    "a:x", "https://*"};
	struct d01_endpoints *p = d01_endpoints_new();
	struct d01_error err;
	size_t i;

	CHECK(p != NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d01_error_clear(&err);
		if (d01_endpoints_add(p, bad[i], &err) == 0)
			fprintf(stderr, "  accepted: '%s'\n", bad[i]);
		CHECK_INT(d01_endpoints_add(p, bad[i], &err), ==, -1);
		CHECK_INT(err.code, ==, D01_E_CONFIG);
		CHECK(strstr(err.msg, "--allow-provider-endpoint") != NULL);
	}
end:
	d01_endpoints_free(p);
}

static void
t_hide_transport(void)
{
	struct d01_error err;

	d01_error_set(&err, D01_E_NETWORK,
	    "http://10.0.0.7:22/zones: Failed to connect to 10.0.0.7 port 22 "
	    "after 0 ms: Connection refused (after 1 attempt)");
	d01_endpoint_hide_transport(&err, "cloudflare", "uid-1");
	CHECK_STR(err.msg,
	    "upstream unreachable (details in the webhook's debug log)");
	d01_error_set(&err, D01_E_TLS, "SSL: wrong version number");
	d01_endpoint_hide_transport(&err, "cloudflare", "uid-1");
	CHECK_INT(err.code, ==, D01_E_NETWORK);
	CHECK(strstr(err.msg, "SSL") == NULL);
	d01_error_set(&err, D01_E_TIMEOUT, "Operation timed out after 10 s");
	d01_endpoint_hide_transport(&err, "cloudflare", "uid-1");
	CHECK(strstr(err.msg, "10 s") == NULL);
	/* An answer from the API is not a transport failure. */
	d01_error_set(&err, D01_E_AUTH, "HTTP 403: [9109] Invalid token");
	d01_endpoint_hide_transport(&err, "cloudflare", "uid-1");
	CHECK_STR(err.msg, "HTTP 403: [9109] Invalid token");
end:;
}

static void
t_ca_pem(void)
{
	struct d01_error err;
	SSL_CTX *ctx = d01_tls_demo_ctx(&err);
	BIO *b = BIO_new(BIO_s_mem());
	char *pem = NULL, *out = NULL, *p, *two = NULL, *b64 = NULL;
	unsigned char *dec = NULL;
	long n;
	int len;

	CHECK(ctx != NULL && b != NULL);
	CHECK(PEM_write_bio_X509(b, SSL_CTX_get0_certificate(ctx)) == 1);
	CHECK((n = BIO_get_mem_data(b, &p)) > 0);
	CHECK((pem = strndup(p, (size_t)n)) != NULL);
	out = d01_ca_pem_parse(pem, "caBundle", &err);
	CHECK(out != NULL);
	CHECK_STR(out, pem);
	free(out);
	/* Comments around and a second certificate: fine. */
	CHECK((two = malloc(2 * strlen(pem) + 64)) != NULL);
	sprintf(two, "# ca one\n%s\nsubject=x\n%s", pem, pem);
	CHECK((out = d01_ca_pem_parse(two, "caBundle", &err)) != NULL);
	free(out);
	/* base64 of the PEM, as cert-manager's []byte caBundle fields. */
	CHECK((b64 = malloc(2 * strlen(pem) + 4)) != NULL);
	len = EVP_EncodeBlock(
	    (unsigned char *)b64, (unsigned char *)pem, (int)strlen(pem));
	CHECK(len > 0);
	CHECK((out = d01_ca_pem_parse(b64, "caBundle", &err)) != NULL);
	CHECK_STR(out, pem);
	free(out);
	out = NULL;
	/* A path is never opened: it is just not PEM. */
	CHECK(d01_ca_pem_parse("/etc/passwd", "cloudflare: caBundle", &err) ==
	    NULL);
	CHECK_INT(err.code, ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "cloudflare: caBundle must be PEM text") != NULL);
	CHECK(strstr(err.msg, "never reads it as a file path") != NULL);
	/* A key, a broken certificate, an empty block: refused. */
	CHECK(d01_ca_pem_parse("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END "
			       "PRIVATE KEY-----\n",
		  "caBundle", &err) == NULL);
	CHECK(d01_ca_pem_parse("-----BEGIN CERTIFICATE-----\nAAAA\n-----END "
			       "CERTIFICATE-----\n",
		  "caBundle", &err) == NULL);
	CHECK(d01_ca_pem_parse("", "caBundle", &err) == NULL);
	/* A certificate followed by a key: refused (nothing but certs). */
	sprintf(two,
	    "%s-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE "
	    "KEY-----\n",
	    pem);
	CHECK(d01_ca_pem_parse(two, "caBundle", &err) == NULL);
end:
	free(dec);
	free(b64);
	free(two);
	free(pem);
	BIO_free(b);
	SSL_CTX_free(ctx);
}

/* Ambient credentials: the operator's trust in serve, the config's in
 * the CLI; the reason appended to a TLS failure only where it applies. */
static void
t_ambient_ca(void)
{
	struct d01_error err;
	struct d01_endpoints *p = d01_endpoints_new();
	SSL_CTX *ctx = d01_tls_demo_ctx(&err);
	char path[] = "/tmp/d01-provider-ca-XXXXXX";
	const char *tenant = "tenant's PEM";
	const char *ca;
	FILE *f = NULL;
	int fd = -1;

	CHECK(p != NULL && ctx != NULL);
	/* Serve without the flag: the system store (NULL) for ambient
	 * requests; the config's bundle for the config's own credentials. */
	CHECK(d01_endpoints_ca(p, 1, tenant) == NULL);
	CHECK(d01_endpoints_ca(NULL, 1, tenant) == NULL);
	CHECK(d01_endpoints_ca(p, 0, tenant) == tenant);
	/* The CLI: its user is the operator. */
	CHECK(d01_endpoints_ca(&d01_endpoints_any, 1, tenant) == tenant);
	/* --provider-ca-file: certificates only, a missing file named. */
	CHECK((fd = mkstemp(path)) >= 0);
	CHECK((f = fdopen(fd, "w")) != NULL);
	fd = -1;
	CHECK(fputs("not a certificate\n", f) >= 0 && fflush(f) == 0);
	d01_error_clear(&err);
	CHECK(d01_endpoints_set_provider_ca(p, path, &err) == -1);
	CHECK_INT(err.code, ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "--provider-ca-file") != NULL);
	CHECK(d01_endpoints_ca(p, 1, tenant) == NULL);
	rewind(f);
	CHECK(PEM_write_X509(f, SSL_CTX_get0_certificate(ctx)) == 1);
	CHECK(fflush(f) == 0);
	d01_error_clear(&err);
	CHECK(d01_endpoints_set_provider_ca(p, path, &err) == 0);
	CHECK((ca = d01_endpoints_ca(p, 1, tenant)) != NULL);
	CHECK(ca != tenant && strstr(ca, "-----BEGIN CERTIFICATE-----"));
	CHECK(d01_endpoints_ca(p, 0, tenant) == tenant);
	d01_error_clear(&err);
	CHECK(d01_endpoints_set_provider_ca(p, "/nonexistent/ca.pem", &err) ==
	    -1);
	CHECK(
	    strstr(err.msg, "--provider-ca-file /nonexistent/ca.pem") != NULL);
	/* The reason: a TLS failure where the tenant's bundle was set aside. */
	d01_error_set(&err, D01_E_TLS, "SSL certificate problem");
	d01_endpoints_ca_explain(p, 1, tenant, &err);
	CHECK(strstr(err.msg, "not the config's caBundle") != NULL);
	d01_error_set(&err, D01_E_TLS, "SSL certificate problem");
	d01_endpoints_ca_explain(p, 0, tenant, &err);
	d01_endpoints_ca_explain(p, 1, NULL, &err);
	d01_endpoints_ca_explain(&d01_endpoints_any, 1, tenant, &err);
	CHECK_STR(err.msg, "SSL certificate problem");
	d01_error_set(&err, D01_E_AUTH, "refused");
	d01_endpoints_ca_explain(p, 1, tenant, &err);
	CHECK_STR(err.msg, "refused");
end:
	if (f != NULL)
		fclose(f);
	if (fd >= 0)
		close(fd);
	unlink(path);
	SSL_CTX_free(ctx);
	d01_endpoints_free(p);
}

int
main(void)
{
	RUN(t_policy);
	RUN(t_defaults_and_any);
	RUN(t_bad_specs);
	RUN(t_hide_transport);
	RUN(t_ca_pem);
	RUN(t_ambient_ca);
	return harness_done();
}
