/* SPDX-License-Identifier: ISC */
/*
 * CSRs are checked by parsing them back with OpenSSL: the signature
 * verifies with the certificate key, the public key is that key, the SANs
 * are exactly the names (wildcards included) and CN is the first name.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "harness.h"
#include "issuer/csr.h"
#include "issuer/key.h"

static const char *const names3[] = {
    "example.test", "*.example.test", "www.example.test"};

/* Parse der back; check signature, key, CN and SANs against names. */
static int
csr_matches(const unsigned char *der, size_t len, EVP_PKEY *key,
    const char *const *names, size_t n, const char *cn)
{
	const unsigned char *p = der;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES *gens = NULL;
	char buf[256] = "";
	int ok = 0, i;

	if (req == NULL || p != der + len)
		goto out;
	if (X509_REQ_verify(req, key) != 1 ||
	    EVP_PKEY_eq(X509_REQ_get0_pubkey(req), key) != 1)
		goto out;
	X509_NAME_get_text_by_NID(
	    X509_REQ_get_subject_name(req), NID_commonName, buf, sizeof(buf));
	if (strcmp(buf, cn) != 0)
		goto out;
	exts = X509_REQ_get_extensions(req);
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	if (gens == NULL || sk_GENERAL_NAME_num(gens) != (int)n)
		goto out;
	for (i = 0; i < (int)n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type != GEN_DNS ||
		    ASN1_STRING_length(g->d.dNSName) != (int)strlen(names[i]) ||
		    memcmp(ASN1_STRING_get0_data(g->d.dNSName), names[i],
			strlen(names[i])) != 0)
			goto out;
	}
	ok = 1;
out:
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	return ok;
}

static void
t_csr_ec256(void)
{
	EVP_PKEY *k = d01_key_generate(D01_KEY_EC256, NULL);
	EVP_PKEY *other = d01_key_generate(D01_KEY_EC256, NULL);
	unsigned char *der = NULL;
	size_t len = 0;

	CHECK(k != NULL && other != NULL);
	CHECK(d01_csr_make(k, names3, 3, &der, &len, NULL) == D01_OK);
	CHECK(csr_matches(der, len, k, names3, 3, "example.test"));
	/* Another key does not verify it. */
	CHECK(!csr_matches(der, len, other, names3, 3, "example.test"));
end:
	free(der);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

static void
t_csr_rsa_and_ec384(void)
{
	EVP_PKEY *r = d01_key_generate(D01_KEY_RSA2048, NULL);
	EVP_PKEY *e = d01_key_generate(D01_KEY_EC384, NULL);
	unsigned char *der = NULL;
	size_t len = 0;

	CHECK(r != NULL && e != NULL);
	CHECK(d01_csr_make(r, names3 + 1, 2, &der, &len, NULL) == D01_OK);
	CHECK(csr_matches(der, len, r, names3 + 1, 2, "*.example.test"));
	free(der);
	der = NULL;
	CHECK(d01_csr_make(e, names3, 1, &der, &len, NULL) == D01_OK);
	CHECK(csr_matches(der, len, e, names3, 1, "example.test"));
end:
	free(der);
	EVP_PKEY_free(r);
	EVP_PKEY_free(e);
}

static void
t_csr_long_first_name_has_no_cn(void)
{
	char longname[100];
	const char *names[2];
	EVP_PKEY *k = d01_key_generate(D01_KEY_EC256, NULL);
	unsigned char *der = NULL;
	size_t len = 0;

	memset(longname, 'a', 60);
	strcpy(longname + 60, ".example.test"); /* 73 bytes > 64 */
	names[0] = longname;
	names[1] = "example.test";
	CHECK(d01_csr_make(k, names, 2, &der, &len, NULL) == D01_OK);
	CHECK(csr_matches(der, len, k, names, 2, ""));
end:
	free(der);
	EVP_PKEY_free(k);
}

static void
t_csr_limits(void)
{
	const char *many[101];
	EVP_PKEY *k = d01_key_generate(D01_KEY_EC256, NULL);
	unsigned char *der = NULL;
	size_t len = 0;
	struct d01_error err;
	int i;

	for (i = 0; i < 101; i++)
		many[i] = "example.test";
	CHECK(d01_csr_make(k, many, 0, &der, &len, &err) == D01_E_INVAL);
	CHECK(d01_csr_make(k, many, 101, &der, &len, &err) == D01_E_INVAL);
	CHECK(der == NULL);
	CHECK(d01_csr_make(k, many, 100, &der, &len, &err) == D01_OK);
end:
	free(der);
	EVP_PKEY_free(k);
}

int
main(void)
{
	RUN(t_csr_ec256);
	RUN(t_csr_rsa_and_ec384);
	RUN(t_csr_long_first_name_has_no_cn);
	RUN(t_csr_limits);
	return harness_done();
}
