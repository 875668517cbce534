/* SPDX-License-Identifier: ISC */
/*
 * JWS signing on EVP_DigestSign. OpenSSL produces DER ECDSA signatures;
 * JWS wants the two integers as fixed-width big-endian halves, so they
 * are converted both ways here (BN_bn2binpad pads each half).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/err.h>

#include "core/b64url.h"
#include "core/jwk.h"
#include "core/jws.h"

/* Largest signing input we build: header + a CSR-sized payload. */
#define D01_JWS_INPUT_MAX (256 * 1024)

static const char *const alg_names[D01_JWS__MAX] = {
    [D01_JWS_ES256] = "ES256",
    [D01_JWS_ES384] = "ES384",
    [D01_JWS_RS256] = "RS256",
};

int
d01_jws_alg_of(EVP_PKEY *key, enum d01_jws_alg *alg)
{
	size_t sz = d01_jwk_ec_size(key);

	if (sz == 32)
		*alg = D01_JWS_ES256;
	else if (sz == 48)
		*alg = D01_JWS_ES384;
	else if (sz == 0 && EVP_PKEY_is_a(key, "RSA"))
		*alg = D01_JWS_RS256;
	else
		return -1;
	return 0;
}

static const EVP_MD *
alg_md(enum d01_jws_alg alg)
{
	return alg == D01_JWS_ES384 ? EVP_sha384() : EVP_sha256();
}

/* DER ECDSA-Sig-Value -> r||s, each `sz` bytes. */
static int
der_to_rs(const unsigned char *der, size_t len, size_t sz, unsigned char *out)
{
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &der, (long)len);
	const BIGNUM *r, *ss;
	int ok;

	if (s == NULL)
		return -1;
	ECDSA_SIG_get0(s, &r, &ss);
	ok = BN_bn2binpad(r, out, (int)sz) == (int)sz &&
	    BN_bn2binpad(ss, out + sz, (int)sz) == (int)sz;
	ECDSA_SIG_free(s);
	return ok ? 0 : -1;
}

enum d01_err
d01_jws_sign_raw(EVP_PKEY *key, enum d01_jws_alg alg, const void *in, size_t n,
    unsigned char *sig, size_t *siglen, struct d01_error *err)
{
	unsigned char der[D01_JWS_SIG_MAX + 16];
	size_t derlen = sizeof(der), sz = d01_jwk_ec_size(key);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	enum d01_err rc = D01_OK;

	if (md == NULL ||
	    EVP_DigestSignInit(md, NULL, alg_md(alg), NULL, key) != 1 ||
	    EVP_DigestSign(md, der, &derlen, in, n) != 1) {
		rc = d01_error_openssl(err, D01_E_INTERNAL, "JWS signature");
		goto out;
	}
	if (alg == D01_JWS_RS256) {
		if (derlen > D01_JWS_SIG_MAX) {
			rc =
			    d01_error_set(err, D01_E_INTERNAL, "JWS: too long");
			goto out;
		}
		memcpy(sig, der, derlen);
		*siglen = derlen;
	} else {
		if (sz == 0 || der_to_rs(der, derlen, sz, sig) != 0) {
			rc = d01_error_set(
			    err, D01_E_INTERNAL, "JWS: bad ECDSA signature");
			goto out;
		}
		*siglen = 2 * sz;
	}
out:
	EVP_MD_CTX_free(md);
	return rc;
}

/* r||s -> DER in a new buffer (*der, caller frees). Returns its length. */
static int
rs_to_der(const unsigned char *sig, size_t siglen, unsigned char **der)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)(siglen / 2), NULL);
	BIGNUM *ss = BN_bin2bn(sig + siglen / 2, (int)(siglen / 2), NULL);
	int len = -1;

	*der = NULL;
	if (s != NULL && r != NULL && ss != NULL && ECDSA_SIG_set0(s, r, ss)) {
		r = ss = NULL; /* owned by s now */
		len = i2d_ECDSA_SIG(s, der);
	}
	BN_free(r);
	BN_free(ss);
	ECDSA_SIG_free(s);
	return len;
}

int
d01_jws_verify_raw(EVP_PKEY *key, enum d01_jws_alg alg, const void *in,
    size_t n, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *md = NULL;
	unsigned char *der = NULL;
	size_t sz = d01_jwk_ec_size(key);
	int len, ok = 0;
	enum d01_jws_alg kalg;

	if (d01_jws_alg_of(key, &kalg) != 0 || kalg != alg)
		return 0;
	if (alg != D01_JWS_RS256) {
		if (siglen != 2 * sz ||
		    (len = rs_to_der(sig, siglen, &der)) <= 0)
			goto out;
		sig = der;
		siglen = (size_t)len;
	}
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(md, NULL, alg_md(alg), NULL, key) != 1)
		goto out;
	ok = EVP_DigestVerify(md, sig, siglen, in, n) == 1;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	return ok;
}

int
d01_jws_verify_compact(EVP_PKEY *key, const char *compact)
{
	unsigned char hdr[512], sig[D01_JWS_SIG_MAX];
	const char *dot1 = strchr(compact, '.'), *dot2, *alg;
	json_t *h = NULL;
	long hl, sl;
	int ok = 0, i;

	if (dot1 == NULL || (dot2 = strchr(dot1 + 1, '.')) == NULL)
		return 0;
	hl = d01_b64url_decode(
	    hdr, sizeof(hdr), compact, (size_t)(dot1 - compact));
	sl = d01_b64url_decode(sig, sizeof(sig), dot2 + 1, strlen(dot2 + 1));
	if (hl < 0 || sl < 0 ||
	    (h = json_loadb((char *)hdr, (size_t)hl, 0, NULL)) == NULL)
		goto out;
	alg = json_string_value(json_object_get(h, "alg"));
	for (i = 0; alg != NULL && i < D01_JWS__MAX; i++)
		if (strcmp(alg, alg_names[i]) == 0)
			ok = d01_jws_verify_raw(key, (enum d01_jws_alg)i,
			    compact, (size_t)(dot2 - compact), sig, (size_t)sl);
out:
	json_decref(h);
	return ok;
}

/*
 * "<b64(protected)>.<b64(payload)>" in a new buffer; *plen_out gets the
 * offset of the '.' so the halves can be reused for the JSON form.
 */
static char *
signing_input(const char *prot, const char *payload, size_t plen, size_t *dot)
{
	size_t hl = strlen(prot);
	size_t cap = D01_B64URL_LEN(hl) + 1 + D01_B64URL_LEN(plen) + 1;
	char *s;

	if (cap > D01_JWS_INPUT_MAX || (s = malloc(cap)) == NULL)
		return NULL;
	*dot = d01_b64url_encode(s, prot, hl);
	s[*dot] = '.';
	d01_b64url_encode(s + *dot + 1, payload, plen);
	return s;
}

/* Flattened JSON serialization of a header + payload signed with `sign`. */
static char *
flatten(json_t *prot, const char *payload, size_t plen, EVP_PKEY *key,
    enum d01_jws_alg alg, struct d01_error *err)
{
	unsigned char sig[D01_JWS_SIG_MAX];
	char sigb[D01_B64URL_LEN(D01_JWS_SIG_MAX) + 1];
	char *ph = json_dumps(prot, JSON_COMPACT), *in = NULL, *out = NULL;
	size_t dot = 0, siglen = 0;
	json_t *o = NULL;

	if (ph == NULL ||
	    (in = signing_input(ph, payload, plen, &dot)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "JWS: out of memory");
		goto out;
	}
	if (d01_jws_sign_raw(key, alg, in, strlen(in), sig, &siglen, err) !=
	    D01_OK)
		goto out;
	d01_b64url_encode(sigb, sig, siglen);
	in[dot] = '\0';
	o = json_pack("{s:s, s:s, s:s}", "protected", in, "payload",
	    in + dot + 1, "signature", sigb);
	if (o == NULL || (out = json_dumps(o, JSON_COMPACT)) == NULL)
		d01_error_set(err, D01_E_NOMEM, "JWS: out of memory");
out:
	json_decref(o);
	free(in);
	free(ph);
	return out;
}

char *
d01_jws_acme(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
    const char *payload, size_t plen, struct d01_error *err)
{
	enum d01_jws_alg alg;
	json_t *prot = NULL, *jwk = NULL;
	char *out = NULL;

	if (d01_jws_alg_of(key, &alg) != 0) {
		d01_error_set(err, D01_E_INVAL, "JWS: unsupported key");
		return NULL;
	}
	if (kid == NULL && (jwk = d01_jwk_public(key, err)) == NULL)
		return NULL;
	prot = json_pack("{s:s, s:s, s:s}", "alg", alg_names[alg], "nonce",
	    nonce, "url", url);
	if (prot == NULL ||
	    json_object_set_new(
		prot, kid ? "kid" : "jwk", kid ? json_string(kid) : jwk) != 0) {
		d01_error_set(err, D01_E_NOMEM, "JWS: out of memory");
		goto out;
	}
	jwk = NULL; /* stolen by prot */
	out = flatten(
	    prot, payload ? payload : "", payload ? plen : 0, key, alg, err);
out:
	json_decref(jwk);
	json_decref(prot);
	return out;
}

json_t *
d01_jws_eab(const char *eab_kid, const unsigned char *mac_key, size_t keylen,
    EVP_PKEY *account_key, const char *url, struct d01_error *err)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	char macb[D01_B64URL_LEN(EVP_MAX_MD_SIZE) + 1];
	json_t *jwk = NULL, *prot = NULL, *o = NULL;
	char *ph = NULL, *pl = NULL, *in = NULL;
	size_t dot = 0, maclen = 0;

	if ((jwk = d01_jwk_public(account_key, err)) == NULL)
		return NULL;
	prot = json_pack(
	    "{s:s, s:s, s:s}", "alg", "HS256", "kid", eab_kid, "url", url);
	if (prot == NULL || (ph = json_dumps(prot, JSON_COMPACT)) == NULL ||
	    (pl = json_dumps(jwk, JSON_COMPACT)) == NULL ||
	    (in = signing_input(ph, pl, strlen(pl), &dot)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "EAB: out of memory");
		goto out;
	}
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, mac_key, keylen,
		(unsigned char *)in, strlen(in), mac, sizeof(mac),
		&maclen) == NULL) {
		d01_error_openssl(err, D01_E_INTERNAL, "EAB HMAC");
		goto out;
	}
	d01_b64url_encode(macb, mac, maclen);
	in[dot] = '\0';
	o = json_pack("{s:s, s:s, s:s}", "protected", in, "payload",
	    in + dot + 1, "signature", macb);
	if (o == NULL)
		d01_error_set(err, D01_E_NOMEM, "EAB: out of memory");
out:
	free(in);
	free(pl);
	free(ph);
	json_decref(prot);
	json_decref(jwk);
	return o;
}
