/* SPDX-License-Identifier: ISC */
/* Key generation and PEM load/save on OpenSSL 3's EVP_PKEY API. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "issuer/files.h"
#include "issuer/key.h"

/* Longest private key file we read (an RSA 8192 PEM is ~6.5 KB). */
#define D01_KEY_FILE_MAX 65536

static const struct {
	const char *name;
	const char *alg; /* EVP_PKEY_Q_keygen type */
	const char *curve;
	size_t bits;
} key_types[D01_KEY__MAX] = {
    [D01_KEY_EC256] = {"ec256", "EC", "P-256", 0},
    [D01_KEY_EC384] = {"ec384", "EC", "P-384", 0},
    [D01_KEY_RSA2048] = {"rsa2048", "RSA", NULL, 2048},
    [D01_KEY_RSA3072] = {"rsa3072", "RSA", NULL, 3072},
    [D01_KEY_RSA4096] = {"rsa4096", "RSA", NULL, 4096},
};

int
d01_key_type_parse(const char *s, enum d01_key_type *out)
{
	int i;

	for (i = 0; i < D01_KEY__MAX; i++) {
		if (strcmp(s, key_types[i].name) == 0) {
			*out = (enum d01_key_type)i;
			return 0;
		}
	}
	return -1;
}

const char *
d01_key_type_name(enum d01_key_type t)
{
	return (unsigned)t < D01_KEY__MAX ? key_types[t].name : "unknown";
}

EVP_PKEY *
d01_key_generate(enum d01_key_type t, struct d01_error *err)
{
	EVP_PKEY *k;

	if ((unsigned)t >= D01_KEY__MAX) {
		d01_error_set(err, D01_E_INVAL, "unknown key type");
		return NULL;
	}
	if (key_types[t].curve != NULL)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", key_types[t].curve);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", key_types[t].bits);
	if (k == NULL)
		d01_error_openssl(err, D01_E_INTERNAL, "key generation");
	return k;
}

/* Never prompt for a passphrase: an encrypted key is an error. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* Accept the key types the JWS and CSR code can use. */
static int
key_supported(EVP_PKEY *k)
{
	char group[32];
	size_t glen = 0;

	if (EVP_PKEY_is_a(k, "RSA"))
		return EVP_PKEY_get_bits(k) >= 2048 &&
		    EVP_PKEY_get_bits(k) <= 8192;
	if (!EVP_PKEY_is_a(k, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(
		k, "group", group, sizeof(group), &glen))
		return 0;
	return strcmp(group, "prime256v1") == 0 ||
	    strcmp(group, "P-256") == 0 || strcmp(group, "secp384r1") == 0 ||
	    strcmp(group, "P-384") == 0;
}

EVP_PKEY *
d01_key_from_pem(const char *pem, size_t len, struct d01_error *err)
{
	EVP_PKEY *k = NULL;
	BIO *b;

	if (len > D01_KEY_FILE_MAX ||
	    (b = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		d01_error_set(err, D01_E_INVAL, "private key too large");
		return NULL;
	}
	k = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
	BIO_free(b);
	if (k == NULL) {
		d01_error_openssl(err, D01_E_CONFIG, "not a PEM private key");
		return NULL;
	}
	if (!key_supported(k)) {
		EVP_PKEY_free(k);
		d01_error_set(err, D01_E_CONFIG,
		    "unsupported key (EC P-256/P-384 or RSA 2048-8192 only)");
		return NULL;
	}
	return k;
}

EVP_PKEY *
d01_key_load(const char *path, struct d01_error *err)
{
	EVP_PKEY *k;
	char *pem = NULL;
	size_t len = 0;

	if (d01_file_read(path, D01_KEY_FILE_MAX, &pem, &len, err) != D01_OK)
		return NULL;
	k = d01_key_from_pem(pem, len, err);
	if (k == NULL)
		d01_error_prefix(err, "%s: ", path);
	d01_key_pem_free(pem, len);
	return k;
}

enum d01_err
d01_key_to_pem(EVP_PKEY *key, char **pem, size_t *len, struct d01_error *err)
{
	BIO *b = NULL;
	char *data;
	long n;
	enum d01_err rc = D01_OK;

	*pem = NULL;
	if ((b = BIO_new(BIO_s_secmem())) == NULL ||
	    !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) {
		rc = d01_error_openssl(err, D01_E_INTERNAL, "key to PEM");
		goto out;
	}
	n = BIO_get_mem_data(b, &data);
	if (n <= 0 || (*pem = malloc((size_t)n + 1)) == NULL) {
		rc = d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(*pem, data, (size_t)n);
	(*pem)[n] = '\0';
	*len = (size_t)n;
out:
	BIO_free(b); /* a secure-memory BIO wipes its buffer */
	return rc;
}

void
d01_key_pem_free(char *pem, size_t len)
{
	if (pem == NULL)
		return;
	OPENSSL_cleanse(pem, len);
	free(pem);
}

enum d01_err
d01_key_save(const char *path, EVP_PKEY *key, struct d01_error *err)
{
	char *pem = NULL;
	size_t len = 0;
	enum d01_err rc;

	if ((rc = d01_key_to_pem(key, &pem, &len, err)) != D01_OK)
		return rc;
	rc = d01_file_write_atomic(path, pem, len, 0600, err);
	d01_key_pem_free(pem, len);
	return rc;
}
