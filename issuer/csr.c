/* SPDX-License-Identifier: ISC */
/* PKCS#10 CSRs through OpenSSL's X509_REQ API (no deprecated calls). */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "issuer/csr.h"

/* The CSR carries at most as many names as an order. */
#define D01_CSR_NAMES_MAX 100

/* GENERAL_NAMES with one dNSName per name; NULL on failure. */
static GENERAL_NAMES *
san_list(const char *const *names, size_t n)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *g = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	size_t i;

	if (gens == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((g = GENERAL_NAME_new()) == NULL ||
		    (ia5 = ASN1_IA5STRING_new()) == NULL ||
		    !ASN1_STRING_set(ia5, names[i], (int)strlen(names[i])))
			goto fail;
		GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
		ia5 = NULL;
		if (!sk_GENERAL_NAME_push(gens, g))
			goto fail;
		g = NULL;
	}
	return gens;
fail:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(g);
	GENERAL_NAMES_free(gens);
	return NULL;
}

/* Subject CN = names[0] when it fits (RFC 5280 ub-common-name = 64). */
static int
set_subject(X509_REQ *req, const char *first)
{
	X509_NAME *name;
	int ok;

	if (strlen(first) > 64)
		return 1; /* an empty subject is fine: the SANs carry names */
	if ((name = X509_NAME_new()) == NULL)
		return 0;
	ok = X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
		 (const unsigned char *)first, -1, -1, 0) &&
	    X509_REQ_set_subject_name(req, name);
	X509_NAME_free(name);
	return ok;
}

static int
add_sans(X509_REQ *req, const char *const *names, size_t n)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	GENERAL_NAMES *gens = san_list(names, n);
	int ok = 0;

	if (exts != NULL && gens != NULL &&
	    X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, 0, 0) == 1)
		ok = X509_REQ_add_extensions(req, exts);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	return ok;
}

enum d01_err
d01_csr_make(EVP_PKEY *key, const char *const *names, size_t n,
    unsigned char **der, size_t *len, struct d01_error *err)
{
	X509_REQ *req = NULL;
	unsigned char *buf = NULL, *p;
	const EVP_MD *md;
	enum d01_err rc = D01_OK;
	int dlen;

	*der = NULL;
	if (n == 0 || n > D01_CSR_NAMES_MAX)
		return d01_error_set(
		    err, D01_E_INVAL, "CSR: 1-%d names", D01_CSR_NAMES_MAX);
	md = EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_bits(key) > 256
	    ? EVP_sha384()
	    : EVP_sha256();
	if ((req = X509_REQ_new()) == NULL || !X509_REQ_set_version(req, 0) ||
	    !set_subject(req, names[0]) || !add_sans(req, names, n) ||
	    !X509_REQ_set_pubkey(req, key) ||
	    X509_REQ_sign(req, key, md) <= 0 ||
	    (dlen = i2d_X509_REQ(req, NULL)) <= 0 ||
	    (buf = malloc((size_t)dlen)) == NULL) {
		rc = d01_error_openssl(err, D01_E_INTERNAL, "CSR");
		goto out;
	}
	p = buf;
	if (i2d_X509_REQ(req, &p) != dlen) {
		rc = d01_error_openssl(err, D01_E_INTERNAL, "CSR encoding");
		goto out;
	}
	*der = buf;
	*len = (size_t)dlen;
	buf = NULL;
out:
	free(buf);
	X509_REQ_free(req);
	return rc;
}
