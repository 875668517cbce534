/* SPDX-License-Identifier: ISC */
/* Server TLS contexts and front-proxy client certificate checks. */
#include <stdint.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "httpd/tls.h"

/*
 * Accept any client certificate during the handshake: kubelet probes and
 * other callers without the front-proxy certificate must still connect.
 * The certificate is verified per request against the front-proxy trust
 * of the moment (frontproxy.c), which may change while we run.
 */
static int
accept_any(X509_STORE_CTX *sctx, void *arg)
{
	(void)sctx;
	(void)arg;
	return 1;
}

static SSL_CTX *
ctx_base(struct d01_error *err)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		d01_error_openssl(err, D01_E_TLS, "SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* No resumption: a resumed session would skip the client
	 * certificate check that authenticates the front proxy. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
		SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_num_tickets(ctx, 0);
	/* Idle keep-alive connections give their buffers back. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

SSL_CTX *
d01_tls_server_ctx(const char *cert_file, const char *key_file,
    int client_certs, struct d01_error *err)
{
	SSL_CTX *ctx;

	if ((ctx = ctx_base(err)) == NULL)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		d01_error_openssl(err, D01_E_CONFIG, cert_file);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		d01_error_openssl(err, D01_E_CONFIG, key_file);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		d01_error_set(err, D01_E_CONFIG,
		    "%s does not match the certificate in %s", key_file,
		    cert_file);
		goto fail;
	}
	if (client_certs) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_cert_verify_callback(ctx, accept_any, NULL);
	}
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

static X509 *
demo_cert(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509_EXTENSION *ext = NULL;
	X509V3_CTX v3;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	int ok = 0;

	if (x == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f; /* positive */
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	X509_set_version(x, 2);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"dns01 demo", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
	    "DNS:localhost,IP:127.0.0.1,IP:::1");
	if (ext == NULL || X509_add_ext(x, ext, -1) != 1)
		goto out;
	ok = X509_sign(x, key, EVP_sha256()) > 0;
out:
	X509_EXTENSION_free(ext);
	BN_free(bn);
	if (!ok) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

SSL_CTX *
d01_tls_demo_ctx(struct d01_error *err)
{
	SSL_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;

	if ((key = EVP_EC_gen("P-256")) == NULL ||
	    (x = demo_cert(key)) == NULL) {
		d01_error_openssl(err, D01_E_TLS, "demo certificate");
		goto out;
	}
	if ((ctx = ctx_base(err)) == NULL)
		goto out;
	if (SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1) {
		d01_error_openssl(err, D01_E_TLS, "demo certificate");
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return ctx;
}
