/* SPDX-License-Identifier: ISC */
/*
 * JWS, JWK and base64url. Known answers: RFC 4648 §10 (base64url form),
 * RFC 7515 Appendix A.3 (ES256: the published signature must verify with
 * the published key; ECDSA is randomized, so our own signatures are
 * verified rather than compared), RFC 7638 §3.1 (thumbprint, exact).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "harness.h"
#include "core/b64url.h"
#include "core/jwk.h"
#include "core/jws.h"
#include "issuer/key.h"

/* RFC 7515 A.3: the ES256 key and the complete compact JWS. */
#define A3_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define A3_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define A3_D "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
static const char a3_jws[] =
    "eyJhbGciOiJFUzI1NiJ9"
    "."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA"
    "pmWQxfKTUJqPP3-Kg6NU1Q";

/* RFC 7638 §3.1: the RSA key and its SHA-256 thumbprint. */
static const char rfc7638_n[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7"
    "aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXA"
    "rwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7"
    "d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lF"
    "d2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
#define RFC7638_THUMB "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

static EVP_PKEY *
a3_key(int with_private)
{
	json_t *jwk = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv",
	    "P-256", "x", A3_X, "y", A3_Y);
	EVP_PKEY *k;

	if (with_private)
		json_object_set_new(jwk, "d", json_string(A3_D));
	k = d01_jwk_to_pkey(jwk, NULL);
	json_decref(jwk);
	return k;
}

static void
t_b64url(void)
{
	static const char *const in[] = {
	    "", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const out[] = {
	    "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	unsigned char raw[] = {0xfb, 0xff, 0xbf}, buf[16];
	char enc[32];
	size_t i;

	for (i = 0; i < 7; i++) {
		d01_b64url_encode(enc, in[i], strlen(in[i]));
		CHECK_STR(enc, out[i]);
		CHECK_INT(
		    d01_b64url_decode(buf, sizeof(buf), out[i], strlen(out[i])),
		    ==, strlen(in[i]));
		CHECK_MEM(buf, in[i], strlen(in[i]));
	}
	d01_b64url_encode(enc, raw, 3);
	CHECK_STR(enc, "-_-_"); /* the URL-safe alphabet, no '+' '/' */
	CHECK_INT(D01_B64URL_LEN(32), ==, 43);
	CHECK_INT(d01_b64url_decode(buf, sizeof(buf), "Zm9v+", 5), ==, -1);
	CHECK_INT(d01_b64url_decode(buf, sizeof(buf), "Zm9vY", 5), ==, -1);
	CHECK_INT(d01_b64url_decode(buf, sizeof(buf), "Zh", 2), ==, -1);
	CHECK_INT(d01_b64url_decode(buf, sizeof(buf), "Zg==", 4), ==, 1);
	CHECK_INT(d01_b64url_decode(buf, 2, "Zm9v", 4), ==, -1);
end:;
}

static void
t_rfc7515_a3_verifies(void)
{
	EVP_PKEY *pub = a3_key(0), *priv = a3_key(1);
	char *bad = NULL;

	CHECK(pub != NULL && priv != NULL);
	CHECK(d01_jws_verify_compact(pub, a3_jws) == 1);
	/* The private key is the one behind the published public key. */
	CHECK(EVP_PKEY_eq(pub, priv) == 1);
	CHECK(d01_jws_verify_compact(priv, a3_jws) == 1);
	/* One payload character changed: must fail. */
	bad = strdup(a3_jws);
	bad[30] = bad[30] == 'A' ? 'B' : 'A';
	CHECK(d01_jws_verify_compact(pub, bad) == 0);
end:
	free(bad);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(priv);
}

static void
t_es256_sign_verify_fixed_width(void)
{
	EVP_PKEY *k = a3_key(1);
	unsigned char sig[D01_JWS_SIG_MAX];
	char msg[32];
	size_t len = 0;
	int i;

	CHECK(k != NULL);
	/* 400 signatures: about 1 in 128 has an r or s with a leading zero
	 * byte, so the padding path runs; every one must be 64 bytes and
	 * verify. */
	for (i = 0; i < 400; i++) {
		snprintf(msg, sizeof(msg), "message %d", i);
		CHECK_INT(d01_jws_sign_raw(k, D01_JWS_ES256, msg, strlen(msg),
			      sig, &len, NULL),
		    ==, D01_OK);
		CHECK_INT(len, ==, 64);
		CHECK(d01_jws_verify_raw(
		    k, D01_JWS_ES256, msg, strlen(msg), sig, len));
		sig[len - 1] ^= 1;
		CHECK(!d01_jws_verify_raw(
		    k, D01_JWS_ES256, msg, strlen(msg), sig, len));
	}
end:
	EVP_PKEY_free(k);
}

static void
t_es384_rs256(void)
{
	EVP_PKEY *ec = d01_key_generate(D01_KEY_EC384, NULL);
	EVP_PKEY *rsa = d01_key_generate(D01_KEY_RSA2048, NULL);
	unsigned char s1[D01_JWS_SIG_MAX], s2[D01_JWS_SIG_MAX];
	size_t l1 = 0, l2 = 0;
	enum d01_jws_alg alg;

	CHECK(ec != NULL && rsa != NULL);
	CHECK(d01_jws_alg_of(ec, &alg) == 0 && alg == D01_JWS_ES384);
	CHECK(d01_jws_sign_raw(ec, alg, "x", 1, s1, &l1, NULL) == D01_OK);
	CHECK_INT(l1, ==, 96);
	CHECK(d01_jws_verify_raw(ec, alg, "x", 1, s1, l1));
	CHECK(!d01_jws_verify_raw(ec, D01_JWS_ES256, "x", 1, s1, l1));
	CHECK(d01_jws_alg_of(rsa, &alg) == 0 && alg == D01_JWS_RS256);
	CHECK(d01_jws_sign_raw(rsa, alg, "x", 1, s1, &l1, NULL) == D01_OK);
	CHECK(d01_jws_sign_raw(rsa, alg, "x", 1, s2, &l2, NULL) == D01_OK);
	/* RSASSA-PKCS1-v1_5 is deterministic. */
	CHECK_INT(l1, ==, 256);
	CHECK(l1 == l2 && memcmp(s1, s2, l1) == 0);
	CHECK(d01_jws_verify_raw(rsa, alg, "x", 1, s1, l1));
	CHECK(!d01_jws_verify_raw(rsa, alg, "y", 1, s1, l1));
end:
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
}

static void
t_rfc7638_thumbprint(void)
{
	json_t *jwk = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "n",
	    rfc7638_n, "e", "AQAB", "alg", "RS256", "kid", "2011-04-29");
	char t[D01_JWK_THUMB_LEN + 1], t2[D01_JWK_THUMB_LEN + 1];
	EVP_PKEY *k = NULL;
	json_t *back = NULL;

	CHECK(jwk != NULL);
	CHECK(d01_jwk_thumbprint_json(jwk, t, NULL) == D01_OK);
	CHECK_STR(t, RFC7638_THUMB);
	/* Through an EVP_PKEY and back: same members, same thumbprint. */
	CHECK((k = d01_jwk_to_pkey(jwk, NULL)) != NULL);
	CHECK(d01_jwk_thumbprint(k, t2, NULL) == D01_OK);
	CHECK_STR(t2, RFC7638_THUMB);
	CHECK((back = d01_jwk_public(k, NULL)) != NULL);
	CHECK_STR(json_string_value(json_object_get(back, "n")), rfc7638_n);
	CHECK_INT(json_object_size(back), ==, 3);
	json_object_del(jwk, "e");
	CHECK(d01_jwk_thumbprint_json(jwk, t, NULL) == D01_E_INVAL);
end:
	json_decref(back);
	json_decref(jwk);
	EVP_PKEY_free(k);
}

static void
t_ec_jwk_roundtrip(void)
{
	EVP_PKEY *k = a3_key(1);
	json_t *jwk = NULL;
	char t[D01_JWK_THUMB_LEN + 1];

	CHECK((jwk = d01_jwk_public(k, NULL)) != NULL);
	CHECK_STR(json_string_value(json_object_get(jwk, "x")), A3_X);
	CHECK_STR(json_string_value(json_object_get(jwk, "y")), A3_Y);
	CHECK_STR(json_string_value(json_object_get(jwk, "crv")), "P-256");
	CHECK(json_object_get(jwk, "d") == NULL); /* public only */
	CHECK(d01_jwk_thumbprint(k, t, NULL) == D01_OK);
	CHECK_INT(strlen(t), ==, 43);
end:
	json_decref(jwk);
	EVP_PKEY_free(k);
}

/* Decode a b64url member of o as JSON. */
static json_t *
b64_json(const json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));
	char buf[4096];
	long n;

	if (s == NULL ||
	    (n = d01_b64url_decode(buf, sizeof(buf), s, strlen(s))) < 0)
		return NULL;
	return json_loadb(buf, (size_t)n, 0, NULL);
}

static int
flattened_verifies(EVP_PKEY *k, const json_t *o)
{
	char in[8192];

	snprintf(in, sizeof(in), "%s.%s.%s",
	    json_string_value(json_object_get(o, "protected")),
	    json_string_value(json_object_get(o, "payload")),
	    json_string_value(json_object_get(o, "signature")));
	return d01_jws_verify_compact(k, in);
}

static void
t_acme_jws(void)
{
	EVP_PKEY *k = a3_key(1);
	char *s1 = NULL, *s2 = NULL;
	json_t *o1 = NULL, *o2 = NULL, *h1 = NULL, *h2 = NULL, *pl = NULL;

	s1 = d01_jws_acme(k, NULL, "nonce-1", "https://ca.test/new-acct",
	    "{\"termsOfServiceAgreed\":true}", 29, NULL);
	s2 = d01_jws_acme(k, "https://ca.test/acct/1", "nonce-2",
	    "https://ca.test/authz/1", NULL, 0, NULL);
	CHECK(s1 != NULL && s2 != NULL);
	CHECK((o1 = json_loads(s1, 0, NULL)) != NULL);
	CHECK((o2 = json_loads(s2, 0, NULL)) != NULL);
	CHECK((h1 = b64_json(o1, "protected")) != NULL);
	CHECK((h2 = b64_json(o2, "protected")) != NULL);
	CHECK_STR(json_string_value(json_object_get(h1, "alg")), "ES256");
	CHECK_STR(json_string_value(json_object_get(h1, "nonce")), "nonce-1");
	CHECK_STR(json_string_value(json_object_get(h1, "url")),
	    "https://ca.test/new-acct");
	CHECK(json_object_get(h1, "kid") == NULL);
	CHECK_STR(
	    json_string_value(json_object_get(json_object_get(h1, "jwk"), "x")),
	    A3_X);
	CHECK(json_object_get(h2, "jwk") == NULL);
	CHECK_STR(json_string_value(json_object_get(h2, "kid")),
	    "https://ca.test/acct/1");
	CHECK((pl = b64_json(o1, "payload")) != NULL);
	CHECK(json_is_true(json_object_get(pl, "termsOfServiceAgreed")));
	/* POST-as-GET: the payload is the empty string. */
	CHECK_STR(json_string_value(json_object_get(o2, "payload")), "");
	CHECK(flattened_verifies(k, o1));
	CHECK(flattened_verifies(k, o2));
end:
	json_decref(pl);
	json_decref(h1);
	json_decref(h2);
	json_decref(o1);
	json_decref(o2);
	free(s1);
	free(s2);
	EVP_PKEY_free(k);
}

static void
t_eab(void)
{
	static const unsigned char mac_key[] = "0123456789abcdef0123456789abcd";
	EVP_PKEY *k = a3_key(1);
	json_t *eab = NULL, *h = NULL, *pl = NULL;
	unsigned char mac[32], sig[64];
	unsigned int maclen = 0;
	char in[2048];
	long n;

	eab = d01_jws_eab("kid-1", mac_key, 30, k, "https://ca.test/na", NULL);
	CHECK(eab != NULL);
	CHECK((h = b64_json(eab, "protected")) != NULL);
	CHECK_STR(json_string_value(json_object_get(h, "alg")), "HS256");
	CHECK_STR(json_string_value(json_object_get(h, "kid")), "kid-1");
	CHECK_STR(
	    json_string_value(json_object_get(h, "url")), "https://ca.test/na");
	CHECK(json_object_get(h, "nonce") == NULL); /* RFC 8555 §7.3.4 */
	CHECK((pl = b64_json(eab, "payload")) != NULL);
	CHECK_STR(json_string_value(json_object_get(pl, "x")), A3_X);
	/* Oracle: OpenSSL's one-shot HMAC over protected.payload. */
	snprintf(in, sizeof(in), "%s.%s",
	    json_string_value(json_object_get(eab, "protected")),
	    json_string_value(json_object_get(eab, "payload")));
	CHECK(HMAC(EVP_sha256(), mac_key, 30, (unsigned char *)in, strlen(in),
		  mac, &maclen) != NULL);
	n = d01_b64url_decode(sig, sizeof(sig),
	    json_string_value(json_object_get(eab, "signature")),
	    strlen(json_string_value(json_object_get(eab, "signature"))));
	CHECK_INT(n, ==, 32);
	CHECK_MEM(sig, mac, 32);
end:
	json_decref(pl);
	json_decref(h);
	json_decref(eab);
	EVP_PKEY_free(k);
}

int
main(void)
{
	RUN(t_b64url);
	RUN(t_rfc7515_a3_verifies);
	RUN(t_es256_sign_verify_fixed_width);
	RUN(t_es384_rs256);
	RUN(t_rfc7638_thumbprint);
	RUN(t_ec_jwk_roundtrip);
	RUN(t_acme_jws);
	RUN(t_eab);
	return harness_done();
}
