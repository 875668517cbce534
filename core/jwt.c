/* SPDX-License-Identifier: ISC */
/*
 * Compact JWTs on core/jws.h: the header and claims are serialised with
 * jansson (compact, keys in insertion order), base64url'd, joined and
 * signed; reading splits, decodes and verifies with the key's own
 * algorithm, so a header saying "none" or "HS256" never passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "core/b64url.h"
#include "core/jwk.h"
#include "core/jws.h"
#include "core/jwt.h"

static const char *const alg_names[D01_JWS__MAX] = {
    [D01_JWS_ES256] = "ES256",
    [D01_JWS_ES384] = "ES384",
    [D01_JWS_RS256] = "RS256",
};

/* A passphrase callback that never gives one: encrypted keys fail. */
static int
no_pass(char *buf, int size, int rw, void *u)
{
	(void)buf;
	(void)size;
	(void)rw;
	(void)u;
	return -1;
}

EVP_PKEY *
d01_jwt_key_from_pem(const char *pem, size_t len, struct d01_error *err)
{
	enum d01_jws_alg alg;
	EVP_PKEY *key = NULL;
	BIO *b;

	if (pem == NULL || len == 0 || len > 64 * 1024 ||
	    (b = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		d01_error_set(err, D01_E_CONFIG, "JWT: no private key");
		return NULL;
	}
	key = PEM_read_bio_PrivateKey(b, NULL, no_pass, NULL);
	BIO_free(b);
	ERR_clear_error();
	if (key == NULL) {
		d01_error_set(err, D01_E_CONFIG,
		    "JWT: the private key is not an unencrypted PEM key");
		return NULL;
	}
	if (d01_jws_alg_of(key, &alg) != 0 ||
	    (alg == D01_JWS_RS256 && EVP_PKEY_get_bits(key) < 2048)) {
		EVP_PKEY_free(key);
		d01_error_set(err, D01_E_CONFIG,
		    "JWT: the private key must be RSA (2048 bits or more) or "
		    "EC P-256/P-384");
		return NULL;
	}
	return key;
}

/* base64url of json's compact text appended at out (cap bytes left);
 * returns the length written, or 0 on failure. */
static size_t
b64_json(char *out, size_t cap, const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	size_t n = 0, l = s != NULL ? strlen(s) : 0;

	if (s != NULL && D01_B64URL_LEN(l) < cap)
		n = d01_b64url_encode(out, s, l);
	if (s != NULL) {
		OPENSSL_cleanse(s, l);
		free(s);
	}
	return n;
}

char *
d01_jwt_sign(EVP_PKEY *key, const json_t *header_extra, const json_t *claims,
    struct d01_error *err)
{
	unsigned char sig[D01_JWS_SIG_MAX];
	enum d01_jws_alg alg;
	json_t *h = NULL;
	char *out = NULL;
	size_t n, m, siglen = 0;

	if (d01_jws_alg_of(key, &alg) != 0) {
		d01_error_set(err, D01_E_INVAL, "JWT: unsupported key");
		return NULL;
	}
	if (!json_is_object(claims) ||
	    (header_extra != NULL &&
		(!json_is_object(header_extra) ||
		    json_object_get(header_extra, "alg") != NULL ||
		    json_object_get(header_extra, "typ") != NULL))) {
		d01_error_set(err, D01_E_INVAL, "JWT: bad header or claims");
		return NULL;
	}
	if ((h = json_pack(
		 "{s:s, s:s}", "alg", alg_names[alg], "typ", "JWT")) == NULL ||
	    (header_extra != NULL &&
		json_object_update(h, (json_t *)header_extra) != 0) ||
	    (out = malloc(D01_JWT_MAX)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "JWT: out of memory");
		goto fail;
	}
	/* header . claims . signature, each bounded by D01_JWT_MAX. */
	if ((n = b64_json(out, D01_JWT_MAX, h)) == 0)
		goto toolong;
	out[n++] = '.';
	if ((m = b64_json(out + n, D01_JWT_MAX - n, claims)) == 0)
		goto toolong;
	n += m;
	if (d01_jws_sign_raw(key, alg, out, n, sig, &siglen, err) != D01_OK)
		goto fail;
	if (n + 2 + D01_B64URL_LEN(siglen) > D01_JWT_MAX)
		goto toolong;
	out[n++] = '.';
	d01_b64url_encode(out + n, sig, siglen);
	json_decref(h);
	return out;
toolong:
	d01_error_set(
	    err, D01_E_LIMIT, "JWT: longer than %d bytes", D01_JWT_MAX);
fail:
	json_decref(h);
	if (out != NULL) {
		OPENSSL_cleanse(out, D01_JWT_MAX);
		free(out);
	}
	return NULL;
}

char *
d01_jwt_assertion(EVP_PKEY *key, const char *kid, const char *iss,
    const char *sub, const char *aud, const char *scope, long long now,
    long lifetime_s, int jti, struct d01_error *err)
{
	unsigned char rnd[16];
	char id[D01_B64URL_LEN(16) + 1];
	json_t *c, *h = NULL;
	char *out = NULL;

	c = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", iss, "sub",
	    sub != NULL ? sub : iss, "aud", aud, "iat", (json_int_t)now, "exp",
	    (json_int_t)(now + lifetime_s));
	if (c == NULL ||
	    (scope != NULL &&
		json_object_set_new(c, "scope", json_string(scope)) != 0) ||
	    (kid != NULL && (h = json_pack("{s:s}", "kid", kid)) == NULL)) {
		d01_error_set(err, D01_E_NOMEM, "JWT: out of memory");
		goto out;
	}
	if (jti) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			d01_error_set(err, D01_E_INTERNAL, "JWT: no RNG");
			goto out;
		}
		d01_b64url_encode(id, rnd, sizeof(rnd));
		if (json_object_set_new(c, "jti", json_string(id)) != 0) {
			d01_error_set(err, D01_E_NOMEM, "JWT: out of memory");
			goto out;
		}
	}
	out = d01_jwt_sign(key, h, c, err);
out:
	json_decref(h);
	json_decref(c);
	return out;
}

/* Decode one base64url part into a JSON object (new), or NULL. */
static json_t *
part_json(const char *s, size_t len)
{
	unsigned char buf[D01_JWT_MAX];
	long n = d01_b64url_decode(buf, sizeof(buf), s, len);
	json_t *j = n > 0 ? json_loadb((const char *)buf, (size_t)n,
				JSON_REJECT_DUPLICATES, NULL)
			  : NULL;

	OPENSSL_cleanse(buf, sizeof(buf));
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

json_t *
d01_jwt_verify(EVP_PKEY *key, const char *compact, struct d01_error *err)
{
	unsigned char sig[D01_JWS_SIG_MAX];
	const char *d1, *d2, *alg;
	enum d01_jws_alg kalg;
	json_t *h = NULL, *c = NULL;
	size_t len;
	long sl;

	if (compact == NULL || (len = strlen(compact)) > D01_JWT_MAX ||
	    (d1 = strchr(compact, '.')) == NULL ||
	    (d2 = strchr(d1 + 1, '.')) == NULL || strchr(d2 + 1, '.') != NULL ||
	    (h = part_json(compact, (size_t)(d1 - compact))) == NULL ||
	    (c = part_json(d1 + 1, (size_t)(d2 - d1 - 1))) == NULL ||
	    (sl = d01_b64url_decode(
		 sig, sizeof(sig), d2 + 1, strlen(d2 + 1))) <= 0) {
		d01_error_set(err, D01_E_INVAL, "JWT: malformed");
		goto fail;
	}
	alg = json_string_value(json_object_get(h, "alg"));
	if (d01_jws_alg_of(key, &kalg) != 0 || alg == NULL ||
	    strcmp(alg, alg_names[kalg]) != 0) {
		d01_error_set(err, D01_E_AUTH,
		    "JWT: algorithm %.16s is not the key's", alg ? alg : "?");
		goto fail;
	}
	if (!d01_jws_verify_raw(
		key, kalg, compact, (size_t)(d2 - compact), sig, (size_t)sl)) {
		d01_error_set(err, D01_E_AUTH, "JWT: bad signature");
		goto fail;
	}
	json_decref(h);
	return c;
fail:
	json_decref(h);
	json_decref(c);
	return NULL;
}
