/* SPDX-License-Identifier: ISC */
/*
 * core/jwt.c: tokens signed here verify with PyJWT + cryptography
 * (tests/unit/jwt_pyjwt.py, independent of our code) for RS256 and
 * ES256, and tokens PyJWT signed are read back; tampering, "none", HMAC
 * headers and keys of the wrong kind are refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/b64url.h"
#include "core/jwt.h"
#include "harness.h"

static EVP_PKEY *
keygen(int rsa)
{
	return rsa ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
		   : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* Write key's public (pub) or private PEM to a new temp file. */
static int
write_pem(EVP_PKEY *key, int pub, char path[64])
{
	FILE *f;
	int fd, ok;

	snprintf(path, 64, "/tmp/d01-jwt-XXXXXX");
	if ((fd = mkstemp(path)) < 0 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	ok = pub ? PEM_write_PUBKEY(f, key)
		 : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	return ok == 1 ? 0 : -1;
}

/* The oracle's stdout (first line), or -1 when it failed. */
static int
oracle(const char *args, char *out, size_t n)
{
	char cmd[20000];
	FILE *p;
	int rc;

	snprintf(cmd, sizeof(cmd), "python3 %s/tests/unit/jwt_pyjwt.py %s",
	    getenv("DNS01_SOURCE") ? getenv("DNS01_SOURCE") : ".", args);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	out[0] = '\0';
	if (fgets(out, (int)n, p) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	rc = pclose(p);
	return rc == 0 && out[0] ? 0 : -1;
}

static void
signed_here_verifies_there(int rsa)
{
	char pub[64] = "", args[17000], out[4096], *tok = NULL;
	EVP_PKEY *key = keygen(rsa);
	json_t *res = NULL, *back = NULL;
	struct d01_error err;
	long long now = (long long)time(NULL); /* PyJWT checks iat, exp */

	CHECK(key != NULL);
	CHECK_INT(write_pem(key, 1, pub), ==, 0);
	tok = d01_jwt_assertion(key, "kid-1", "sa@p.iam.gserviceaccount.com",
	    NULL, "https://oauth2.example/token",
	    "https://www.googleapis.com/auth/ndev.clouddns.readwrite", now,
	    3600, 1, &err);
	CHECK(tok != NULL);
	snprintf(args, sizeof(args),
	    "verify %s %s https://oauth2.example/token", pub, tok);
	CHECK_INT(oracle(args, out, sizeof(out)), ==, 0);
	CHECK((res = json_loads(out, 0, NULL)) != NULL);
	CHECK_STR(json_string_value(
		      json_object_get(json_object_get(res, "header"), "alg")),
	    rsa ? "RS256" : "ES256");
	CHECK_STR(json_string_value(
		      json_object_get(json_object_get(res, "header"), "kid")),
	    "kid-1");
	CHECK_STR(json_string_value(
		      json_object_get(json_object_get(res, "claims"), "sub")),
	    "sa@p.iam.gserviceaccount.com");
	CHECK_INT(json_integer_value(
		      json_object_get(json_object_get(res, "claims"), "exp")),
	    ==, now + 3600);
	CHECK_INT(strlen(json_string_value(
		      json_object_get(json_object_get(res, "claims"), "jti"))),
	    ==, 22);
	/* And our own reader agrees. */
	CHECK((back = d01_jwt_verify(key, tok, &err)) != NULL);
	CHECK_STR(json_string_value(json_object_get(back, "scope")),
	    "https://www.googleapis.com/auth/ndev.clouddns.readwrite");
end:
	if (pub[0])
		unlink(pub);
	free(tok);
	json_decref(res);
	json_decref(back);
	EVP_PKEY_free(key);
}

static void
t_rs256_verifies_with_pyjwt(void)
{
	signed_here_verifies_there(1);
}

static void
t_es256_verifies_with_pyjwt(void)
{
	signed_here_verifies_there(0);
}

static void
signed_there_reads_here(int rsa)
{
	char priv[64] = "", args[200], out[4096];
	EVP_PKEY *key = keygen(rsa);
	json_t *c = NULL;
	struct d01_error err;
	size_t n;

	CHECK(key != NULL);
	CHECK_INT(write_pem(key, 0, priv), ==, 0);
	snprintf(
	    args, sizeof(args), "sign %s %s", priv, rsa ? "RS256" : "ES256");
	CHECK_INT(oracle(args, out, sizeof(out)), ==, 0);
	CHECK((c = d01_jwt_verify(key, out, &err)) != NULL);
	CHECK_STR(json_string_value(json_object_get(c, "iss")), "pyjwt");
	CHECK_INT(json_integer_value(json_object_get(c, "n")), ==, 42);
	json_decref(c);
	/* One flipped bit in the signature: refused. */
	n = strlen(out);
	out[n - 2] = out[n - 2] == 'A' ? 'B' : 'A';
	c = d01_jwt_verify(key, out, &err);
	CHECK(c == NULL);
	CHECK_INT(err.code, ==, D01_E_AUTH);
end:
	if (priv[0])
		unlink(priv);
	json_decref(c);
	EVP_PKEY_free(key);
}

static void
t_pyjwt_rs256_reads_back(void)
{
	signed_there_reads_here(1);
}

static void
t_pyjwt_es256_reads_back(void)
{
	signed_there_reads_here(0);
}

/* A token whose header names another algorithm than the key's ("none",
 * HS256 keyed with the public key, ES256 for an RSA key) never passes. */
static void
t_alg_confusion(void)
{
	EVP_PKEY *rsa = keygen(1), *ec = keygen(0);
	json_t *claims = json_pack("{s:s}", "iss", "x"), *c = NULL;
	struct d01_error err;
	char *tok = NULL, forged[D01_JWT_MAX], *dot;
	const char *none = "{\"alg\":\"none\",\"typ\":\"JWT\"}";

	CHECK(rsa != NULL && ec != NULL && claims != NULL);
	CHECK((tok = d01_jwt_sign(ec, NULL, claims, &err)) != NULL);
	c = d01_jwt_verify(rsa, tok, &err);
	CHECK(c == NULL);
	CHECK_INT(err.code, ==, D01_E_AUTH);
	/* "none" header, empty and non-empty signatures. */
	d01_b64url_encode(forged, none, strlen(none));
	dot = strchr(tok, '.');
	snprintf(forged + strlen(forged), sizeof(forged) - strlen(forged),
	    "%.*s.", (int)(strchr(dot + 1, '.') - dot), dot);
	CHECK((c = d01_jwt_verify(ec, forged, &err)) == NULL);
	snprintf(
	    forged + strlen(forged), sizeof(forged) - strlen(forged), "AAAA");
	CHECK((c = d01_jwt_verify(ec, forged, &err)) == NULL);
	/* alg/typ may not be overridden by the caller. */
	json_decref(claims);
	claims = json_pack("{s:s}", "alg", "none");
	CHECK(d01_jwt_sign(ec, claims, claims, &err) == NULL);
	/* Malformed input. */
	CHECK(d01_jwt_verify(ec, "", &err) == NULL);
	CHECK(d01_jwt_verify(ec, "a.b", &err) == NULL);
	CHECK(d01_jwt_verify(ec, "a.b.c.d", &err) == NULL);
	CHECK_INT(err.code, ==, D01_E_INVAL);
end:
	free(tok);
	json_decref(c);
	json_decref(claims);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
}

static void
t_key_from_pem(void)
{
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *k = keygen(1), *back = NULL;
	struct d01_error err;
	char *pem = NULL;
	long len;
	BIO *b = BIO_new(BIO_s_mem());

	CHECK(small != NULL && k != NULL && b != NULL);
	CHECK(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1);
	len = BIO_get_mem_data(b, &pem);
	CHECK((back = d01_jwt_key_from_pem(pem, (size_t)len, &err)) != NULL);
	CHECK_INT(EVP_PKEY_eq(back, k), ==, 1);
	EVP_PKEY_free(back);
	back = NULL;
	/* Too small an RSA key; not a key; encrypted. */
	BIO_reset(b);
	CHECK(PEM_write_bio_PrivateKey(b, small, NULL, NULL, 0, NULL, NULL));
	len = BIO_get_mem_data(b, &pem);
	CHECK(d01_jwt_key_from_pem(pem, (size_t)len, &err) == NULL);
	CHECK_INT(err.code, ==, D01_E_CONFIG);
	CHECK(d01_jwt_key_from_pem(
		  "-----BEGIN PRIVATE KEY-----\nAAAA\n", 33, &err) == NULL);
	BIO_reset(b);
	CHECK(PEM_write_bio_PrivateKey(
	    b, k, EVP_aes_128_cbc(), NULL, 0, NULL, (void *)"pass"));
	len = BIO_get_mem_data(b, &pem);
	CHECK(d01_jwt_key_from_pem(pem, (size_t)len, &err) == NULL);
end:
	BIO_free(b);
	EVP_PKEY_free(back);
	EVP_PKEY_free(small);
	EVP_PKEY_free(k);
}

int
main(void)
{
	RUN(t_rs256_verifies_with_pyjwt);
	RUN(t_es256_verifies_with_pyjwt);
	RUN(t_pyjwt_rs256_reads_back);
	RUN(t_pyjwt_es256_reads_back);
	RUN(t_alg_confusion);
	RUN(t_key_from_pem);
	return harness_done();
}
