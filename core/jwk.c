/* SPDX-License-Identifier: ISC */
/* JWK <-> EVP_PKEY and RFC 7638 thumbprints, on OSSL_PARAM accessors only. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "core/b64url.h"
#include "core/jwk.h"

/* Largest member we decode: an 8192-bit modulus. */
#define D01_JWK_MEMBER_MAX 1024

size_t
d01_jwk_ec_size(EVP_PKEY *key)
{
	if (!EVP_PKEY_is_a(key, "EC"))
		return 0;
	return (size_t)(EVP_PKEY_get_bits(key) + 7) / 8;
}

/* base64url of a BIGNUM param, left-padded to `pad` bytes if pad > 0. */
static json_t *
bn_member(EVP_PKEY *key, const char *param, size_t pad)
{
	unsigned char buf[D01_JWK_MEMBER_MAX];
	char enc[D01_B64URL_LEN(D01_JWK_MEMBER_MAX) + 1];
	BIGNUM *bn = NULL;
	int n;

	if (!EVP_PKEY_get_bn_param(key, param, &bn))
		return NULL;
	if (pad > 0)
		n = BN_bn2binpad(bn, buf, (int)pad);
	else
		n = BN_num_bytes(bn) <= (int)sizeof(buf) ? BN_bn2bin(bn, buf)
							 : -1;
	BN_free(bn);
	if (n < 0)
		return NULL;
	d01_b64url_encode(enc, buf, (size_t)n);
	return json_string(enc);
}

json_t *
d01_jwk_public(EVP_PKEY *key, struct d01_error *err)
{
	json_t *jwk = NULL;
	size_t sz;

	if ((sz = d01_jwk_ec_size(key)) != 0) {
		jwk = json_pack("{s:s, s:s, s:o?, s:o?}", "kty", "EC", "crv",
		    sz == 32 ? "P-256" : "P-384", "x",
		    bn_member(key, OSSL_PKEY_PARAM_EC_PUB_X, sz), "y",
		    bn_member(key, OSSL_PKEY_PARAM_EC_PUB_Y, sz));
		if (jwk != NULL && (sz == 32 || sz == 48) &&
		    json_object_get(jwk, "x") && json_object_get(jwk, "y"))
			return jwk;
	} else if (EVP_PKEY_is_a(key, "RSA")) {
		jwk = json_pack("{s:s, s:o?, s:o?}", "kty", "RSA", "n",
		    bn_member(key, OSSL_PKEY_PARAM_RSA_N, 0), "e",
		    bn_member(key, OSSL_PKEY_PARAM_RSA_E, 0));
		if (jwk != NULL && json_object_get(jwk, "n") &&
		    json_object_get(jwk, "e"))
			return jwk;
	}
	json_decref(jwk);
	d01_error_openssl(err, D01_E_INVAL, "key has no JWK form");
	return NULL;
}

enum d01_err
d01_jwk_thumbprint_json(
    const json_t *jwk, char out[D01_JWK_THUMB_LEN + 1], struct d01_error *err)
{
	static const char *const ec[] = {"crv", "kty", "x", "y", NULL};
	static const char *const rsa[] = {"e", "kty", "n", NULL};
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *const *names;
	unsigned char md[32];
	unsigned int mdlen = 0;
	json_t *canon = NULL, *v;
	char *text = NULL;
	enum d01_err rc = D01_OK;
	size_t i;

	if (kty != NULL && strcmp(kty, "EC") == 0)
		names = ec;
	else if (kty != NULL && strcmp(kty, "RSA") == 0)
		names = rsa;
	else
		return d01_error_set(err, D01_E_INVAL, "JWK: unknown kty");
	if ((canon = json_object()) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	for (i = 0; names[i] != NULL; i++) {
		v = json_object_get(jwk, names[i]);
		if (!json_is_string(v) ||
		    json_object_set(canon, names[i], v) != 0) {
			rc = d01_error_set(err, D01_E_INVAL,
			    "JWK: missing member \"%s\"", names[i]);
			goto out;
		}
	}
	/* Sorted keys, no whitespace: RFC 7638 §3.3 for these ASCII names. */
	text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL ||
	    !EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL)) {
		rc = d01_error_openssl(err, D01_E_INTERNAL, "JWK thumbprint");
		goto out;
	}
	d01_b64url_encode(out, md, mdlen);
out:
	free(text);
	json_decref(canon);
	return rc;
}

enum d01_err
d01_jwk_thumbprint(
    EVP_PKEY *key, char out[D01_JWK_THUMB_LEN + 1], struct d01_error *err)
{
	json_t *jwk = d01_jwk_public(key, err);
	enum d01_err rc;

	if (jwk == NULL)
		return err ? err->code : D01_E_INVAL;
	rc = d01_jwk_thumbprint_json(jwk, out, err);
	json_decref(jwk);
	return rc;
}

/* Decode member `name` into buf (cap bytes); returns the length or -1. */
static long
member_bytes(
    const json_t *jwk, const char *name, unsigned char *buf, size_t cap)
{
	const char *s = json_string_value(json_object_get(jwk, name));

	if (s == NULL)
		return -1;
	return d01_b64url_decode(buf, cap, s, strlen(s));
}

static int
push_bn(OSSL_PARAM_BLD *bld, const char *param, const json_t *jwk,
    const char *name, BIGNUM **keep)
{
	unsigned char buf[D01_JWK_MEMBER_MAX];
	long n = member_bytes(jwk, name, buf, sizeof(buf));

	if (n <= 0 || (*keep = BN_bin2bn(buf, (int)n, NULL)) == NULL)
		return -1;
	OPENSSL_cleanse(buf, sizeof(buf));
	return OSSL_PARAM_BLD_push_BN(bld, param, *keep) ? 0 : -1;
}

/*
 * Fill `bld` for an EC JWK; sets *selection. `pt` (1 + 2 * 48 bytes) holds
 * the point: the builder keeps a pointer to it until OSSL_PARAM_BLD_to_param.
 */
static int
ec_params(OSSL_PARAM_BLD *bld, const json_t *jwk, unsigned char *pt, BIGNUM **d,
    int *selection)
{
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	size_t sz;
	long nx, ny;

	if (crv == NULL)
		return -1;
	if (strcmp(crv, "P-256") == 0)
		sz = 32;
	else if (strcmp(crv, "P-384") == 0)
		sz = 48;
	else
		return -1;
	nx = member_bytes(jwk, "x", pt + 1, sz);
	ny = member_bytes(jwk, "y", pt + 1 + sz, sz);
	if (nx != (long)sz || ny != (long)sz)
		return -1;
	pt[0] = 0x04; /* uncompressed point */
	if (!OSSL_PARAM_BLD_push_utf8_string(
		bld, OSSL_PKEY_PARAM_GROUP_NAME, crv, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(
		bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * sz))
		return -1;
	*selection = EVP_PKEY_PUBLIC_KEY;
	if (json_object_get(jwk, "d") != NULL) {
		if (push_bn(bld, OSSL_PKEY_PARAM_PRIV_KEY, jwk, "d", d) != 0)
			return -1;
		*selection = EVP_PKEY_KEYPAIR;
	}
	return 0;
}

EVP_PKEY *
d01_jwk_to_pkey(const json_t *jwk, struct d01_error *err)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;
	BIGNUM *n = NULL, *e = NULL, *d = NULL;
	unsigned char pt[1 + 2 * 48];
	int selection = EVP_PKEY_PUBLIC_KEY, ok = -1;

	if (bld == NULL || kty == NULL)
		goto out;
	if (strcmp(kty, "EC") == 0)
		ok = ec_params(bld, jwk, pt, &d, &selection);
	else if (strcmp(kty, "RSA") == 0)
		ok = push_bn(bld, OSSL_PKEY_PARAM_RSA_N, jwk, "n", &n) == 0 &&
			push_bn(bld, OSSL_PKEY_PARAM_RSA_E, jwk, "e", &e) == 0
		    ? 0
		    : -1;
	if (ok != 0 || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, kty, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &key, selection, params) <= 0)
		key = NULL;
out:
	if (key == NULL)
		d01_error_openssl(err, D01_E_INVAL, "JWK: not a usable key");
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	BN_clear_free(d);
	return key;
}
