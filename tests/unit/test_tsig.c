/* SPDX-License-Identifier: ISC */
/*
 * TSIG: key parsing as users write it, and known answers. The vectors are
 * the request/response pair recorded with BIND 9.18 in providers-detail.md
 * §4.6 (3) (key dns01-test-key., hmac-sha256, secret = bytes 0x00..0x1f),
 * and the add request of §4.6 (1) whose MAC dnspython computed.
 *
 * Signing is checked against an oracle written here from RFC 8945 §4.3
 * (HMAC over the message without TSIG plus the TSIG variables, prefixed
 * with the request MAC for a response). The oracle must first reproduce
 * dnspython's MACs for the add and the delete and BIND's MAC for its
 * response; then it must agree with what d01_tsig_sign put on the wire
 * for every algorithm we offer.
 */
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/tsig.h"
#include "harness.h"

#define SECRET "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static const char request_hex[] =
    "432128000001000000010001076578616d706c65047465737400000600010f5f6163"
    "6d652d6368616c6c656e6765c00c001000010000003c002c2b4c6f71586359563871"
    "354f4e624a5178626d52375343544e6f337469415844666f77796a78416a45755830"
    "0e646e7330312d746573742d6b65790000fa00ff00000000003d0b686d61632d7368"
    "613235360000006b0b4fb0012c0020e552bca7084fffdcf31ccbf1f0bdf2079a6ed0"
    "da3d1e9f0b9817bfcf14ff9f8e432100000000";
static const char response_hex[] =
    "4321a8000001000000000001076578616d706c65047465737400000600010e646e73"
    "30312d746573742d6b65790000fa00ff00000000003d0b686d61632d736861323536"
    "0000006b0b4fb0012c0020e8805a6652c0fd12e5f00ca40d7712ec94c3162eedf8e8"
    "802fceaa27309248c4432100000000";
/* §4.6 (1): the add, signed at 1700000000 with ID 0x1234. */
static const char add_hex[] =
    "123428000001000000010001076578616d706c65047465737400000600010f5f6163"
    "6d652d6368616c6c656e6765c00c001000010000003c002c2b4c6f71586359563871"
    "354f4e624a5178626d52375343544e6f337469415844666f77796a78416a45755830"
    "0e646e7330312d746573742d6b65790000fa00ff00000000003d0b686d61632d7368"
    "613235360000006553f100012c00203f711bbdf282b4bf7a58e7b853714a62ddc1b7"
    "f5d49f72577a2b64bb0d37b20a123400000000";

/* §4.6 (1)/(2): unsigned add, MACs of the add and of the delete. */
static const char unsigned_add_hex[] =
    "123428000001000000010000076578616d706c65047465737400000600010f5f6163"
    "6d652d6368616c6c656e6765c00c001000010000003c002c2b4c6f71586359563871"
    "354f4e624a5178626d52375343544e6f337469415844666f77796a78416a45755830";
static const char add_mac_hex[] =
    "3f711bbdf282b4bf7a58e7b853714a62ddc1b7f5d49f72577a2b64bb0d37b20a";
static const char delete_mac_hex[] =
    "6a600c49bff79b4484a431ab150db887969f6c86fa2319520dc580e5b48f9195";
static const char request_mac_hex[] =
    "e552bca7084fffdcf31ccbf1f0bdf2079a6ed0da3d1e9f0b9817bfcf14ff9f8e";

static size_t unhex(const char *h, uint8_t *out);

/* A name in canonical (lower-case, uncompressed) wire form. */
static size_t
wire_name(const char *name, uint8_t *out)
{
	size_t n = 0, l;

	while (*name != '\0' && strcmp(name, ".") != 0) {
		l = strcspn(name, ".");
		out[n++] = (uint8_t)l;
		for (size_t i = 0; i < l; i++)
			out[n++] = (uint8_t)(name[i] >= 'A' && name[i] <= 'Z'
				? name[i] - 'A' + 'a'
				: name[i]);
		name += l + (name[l] == '.');
	}
	out[n++] = 0;
	return n;
}

/* RFC 8945 §4.3: the MAC of `msg` (without TSIG) signed at `when`. */
static unsigned
oracle_mac(const char *alg, const uint8_t *prior, size_t priorlen,
    const uint8_t *msg, size_t msglen, uint64_t when, uint8_t *mac)
{
	static uint8_t key[32];
	uint8_t buf[2048];
	size_t n = 0;
	unsigned maclen = 0;
	const EVP_MD *md = strcmp(alg, "hmac-md5.sig-alg.reg.int.") == 0
	    ? EVP_md5()
	    : strcmp(alg, "hmac-sha1.") == 0   ? EVP_sha1()
	    : strcmp(alg, "hmac-sha512.") == 0 ? EVP_sha512()
					       : EVP_sha256();

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i; /* SECRET decoded */
	if (prior != NULL) {
		buf[n++] = (uint8_t)(priorlen >> 8);
		buf[n++] = (uint8_t)priorlen;
		memcpy(buf + n, prior, priorlen);
		n += priorlen;
	}
	memcpy(buf + n, msg, msglen);
	n += msglen;
	n += wire_name("dns01-test-key.", buf + n);
	memcpy(buf + n, "\x00\xff\x00\x00\x00\x00", 6); /* ANY, TTL 0 */
	n += 6;
	n += wire_name(alg, buf + n);
	for (int i = 5; i >= 0; i--)
		buf[n++] = (uint8_t)(when >> (8 * i));
	memcpy(buf + n, "\x01\x2c\x00\x00\x00\x00", 6); /* fudge 300 */
	n += 6;
	HMAC(md, key, sizeof(key), buf, n, mac, &maclen);
	return maclen;
}

static void
t_oracle_matches_dnspython_and_bind(void)
{
	uint8_t msg[256], want[64], mac[64], prior[32], resp[256];
	size_t ml = unhex(unsigned_add_hex, msg), pl;

	CHECK_INT(ml, ==, 102);
	unhex(add_mac_hex, want);
	CHECK_INT(oracle_mac("hmac-sha256.", NULL, 0, msg, ml, 1700000000, mac),
	    ==, 32);
	CHECK_MEM(mac, want, 32);
	/* The delete: class NONE, TTL 0 in the one update RR. */
	memcpy(msg + 50, "\x00\xfe\x00\x00\x00\x00", 6);
	unhex(delete_mac_hex, want);
	oracle_mac("hmac-sha256.", NULL, 0, msg, ml, 1700000000, mac);
	CHECK_MEM(mac, want, 32);
	/* BIND's response: request MAC first, ARCOUNT without the TSIG. */
	unhex(request_mac_hex, prior);
	pl = unhex(response_hex, resp);
	CHECK_INT(pl, ==, 117);
	resp[11] = 0;
	oracle_mac("hmac-sha256.", prior, 32, resp, 30, 1795903408, mac);
	CHECK_MEM(mac, resp + 79, 32);
end:;
}

/* What d01_tsig_sign put on the wire equals the oracle's MAC. */
static void
t_sign_matches_oracle(void)
{
	static const char *const algs[] = {
	    "HMACMD5", "HMACSHA1", "HMACSHA256", "HMACSHA512"};
	struct d01_tsig_key k = {0};
	struct d01_error err;
	ldns_pkt *q = NULL;
	ldns_rdf *mac = NULL;
	uint8_t *plain = NULL, *wire = NULL, omac[64];
	size_t pl = 0, wl = 0, i, j;
	const uint8_t *ts;
	uint64_t when;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		CHECK_INT(d01_tsig_key_init(
			      &k, "Dns01-Test-Key", algs[i], SECRET, &err),
		    ==, D01_OK);
		CHECK_INT(ldns_pkt_query_new_frm_str(&q,
			      "_acme-challenge.example.test.", LDNS_RR_TYPE_TXT,
			      LDNS_RR_CLASS_IN, 0),
		    ==, LDNS_STATUS_OK);
		ldns_pkt_set_id(q, 0x4242);
		CHECK_INT(ldns_pkt2wire(&plain, q, &pl), ==, LDNS_STATUS_OK);
		CHECK((mac = d01_tsig_sign(q, &k, &err)) != NULL);
		CHECK_INT(ldns_pkt2wire(&wire, q, &wl), ==, LDNS_STATUS_OK);
		/* The message is unchanged but for ARCOUNT. */
		CHECK_INT(wire[11], ==, plain[11] + 1);
		CHECK_MEM(wire + 12, plain + 12, pl - 12);
		ts = ldns_rdf_data(ldns_rr_rdf(ldns_pkt_tsig(q), 1));
		for (when = 0, j = 0; j < 6; j++) /* 48-bit Time Signed */
			when = when << 8 | ts[j];
		CHECK_INT(
		    oracle_mac(k.algorithm, NULL, 0, plain, pl, when, omac), ==,
		    ldns_rdf_size(mac) - 2);
		CHECK_MEM(ldns_rdf_data(mac) + 2, omac, ldns_rdf_size(mac) - 2);
		LDNS_FREE(plain);
		LDNS_FREE(wire);
		plain = wire = NULL;
		ldns_rdf_deep_free(mac);
		mac = NULL;
		ldns_pkt_free(q);
		q = NULL;
		d01_tsig_key_clear(&k);
	}
end:
	LDNS_FREE(plain);
	LDNS_FREE(wire);
	ldns_rdf_deep_free(mac);
	ldns_pkt_free(q);
	d01_tsig_key_clear(&k);
}

static size_t
unhex(const char *h, uint8_t *out)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2)
		out[n++] = (uint8_t)strtoul((char[]){h[0], h[1], 0}, NULL, 16);
	return n;
}

static void
t_key_parse(void)
{
	struct d01_tsig_key k = {0};
	struct d01_error err;

	CHECK_INT(
	    d01_tsig_key_init(&k, "Dns01-Test-Key", "HMACSHA256", SECRET, &err),
	    ==, D01_OK);
	CHECK_STR(k.name, "dns01-test-key.");
	CHECK_STR(k.algorithm, "hmac-sha256.");
	d01_tsig_key_clear(&k);
	CHECK_INT(d01_tsig_key_init(&k, "k", "hmac-sha512.", SECRET, &err), ==,
	    D01_OK);
	CHECK_STR(k.algorithm, "hmac-sha512.");
	d01_tsig_key_clear(&k);
	CHECK_INT(d01_tsig_key_init(&k, "k", NULL, SECRET, &err), ==, D01_OK);
	CHECK_STR(k.algorithm, "hmac-md5.sig-alg.reg.int."); /* cert-manager */
	d01_tsig_key_clear(&k);
	CHECK_INT(
	    d01_tsig_key_init(&k, "k", "hmacsha1", SECRET, &err), ==, D01_OK);
	d01_tsig_key_clear(&k);
	CHECK_INT(d01_tsig_key_init(&k, "k", "HMACSHA384", SECRET, &err), ==,
	    D01_E_CONFIG);
	CHECK_INT(d01_tsig_key_init(&k, "k", "HMACSHA256", "not base64!", &err),
	    ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "not base64") == NULL); /* never echoed */
	CHECK_INT(d01_tsig_key_init(&k, "k", "HMACSHA256", SECRET "\n", &err),
	    ==, D01_E_CONFIG);
	CHECK_INT(
	    d01_tsig_key_init(&k, "bad..name", "HMACSHA256", SECRET, &err), ==,
	    D01_E_CONFIG);
end:
	d01_tsig_key_clear(&k);
}

static void
t_bind_reply_known_answer(void)
{
	uint8_t req[256], resp[256];
	size_t rl = unhex(request_hex, req), pl = unhex(response_hex, resp);
	struct d01_tsig_key k = {0}, wrong = {0};
	struct d01_error err;
	ldns_pkt *q = NULL, *p = NULL;
	const ldns_rdf *qmac;
	int64_t t = 1795903408;

	CHECK_INT(rl, ==, 189);
	CHECK_INT(pl, ==, 117);
	CHECK_INT(d01_tsig_key_init(
		      &k, "dns01-test-key.", "HMACSHA256", SECRET, &err),
	    ==, D01_OK);
	CHECK_INT(ldns_wire2pkt(&q, req, rl), ==, LDNS_STATUS_OK);
	CHECK_INT(ldns_wire2pkt(&p, resp, pl), ==, LDNS_STATUS_OK);
	qmac = ldns_rr_rdf(ldns_pkt_tsig(q), 3);
	/* The request verifies on its own (no previous MAC). */
	CHECK(ldns_pkt_tsig_verify(q, req, rl, k.name, k.secret, NULL));
	CHECK_INT(d01_tsig_verify_reply(p, resp, pl, &k, qmac, t, "srv", &err),
	    ==, D01_OK);
	/* Without chaining the request MAC it must fail (RFC 8945 4.3). */
	CHECK_INT(d01_tsig_verify_reply(p, resp, pl, &k, NULL, t, "srv", &err),
	    ==, D01_E_AUTH);
	/* Outside the fudge window of our clock. */
	CHECK_INT(
	    d01_tsig_verify_reply(p, resp, pl, &k, qmac, t + 301, "srv", &err),
	    ==, D01_E_AUTH);
	CHECK(strstr(err.msg, "from our clock") != NULL);
	/* Wrong secret; and one flipped bit in the signed part. */
	CHECK_INT(d01_tsig_key_init(&wrong, "dns01-test-key.", "HMACSHA256",
		      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHiA=", &err),
	    ==, D01_OK);
	CHECK_INT(
	    d01_tsig_verify_reply(p, resp, pl, &wrong, qmac, t, "srv", &err),
	    ==, D01_E_AUTH);
	CHECK(strstr(err.msg, "does not verify") != NULL);
	/* Signed with another key name, or naming another algorithm. */
	d01_tsig_key_clear(&wrong);
	CHECK_INT(d01_tsig_key_init(
		      &wrong, "other-test-key.", "HMACSHA256", SECRET, &err),
	    ==, D01_OK);
	CHECK_INT(
	    d01_tsig_verify_reply(p, resp, pl, &wrong, qmac, t, "srv", &err),
	    ==, D01_E_AUTH);
	CHECK(strstr(err.msg, "another key or algorithm") != NULL);
	memcpy(resp + 65, "512", 3); /* hmac-sha256. -> hmac-sha512. */
	ldns_pkt_free(p);
	p = NULL;
	CHECK_INT(ldns_wire2pkt(&p, resp, pl), ==, LDNS_STATUS_OK);
	CHECK_INT(d01_tsig_verify_reply(p, resp, pl, &k, qmac, t, "srv", &err),
	    ==, D01_E_AUTH);
	CHECK(strstr(err.msg, "another key or algorithm") != NULL);
	memcpy(resp + 65, "256", 3);
	resp[3] ^= 0x01;
	ldns_pkt_free(p);
	p = NULL;
	CHECK_INT(ldns_wire2pkt(&p, resp, pl), ==, LDNS_STATUS_OK);
	CHECK_INT(d01_tsig_verify_reply(p, resp, pl, &k, qmac, t, "srv", &err),
	    ==, D01_E_AUTH);
end:
	ldns_pkt_free(q);
	ldns_pkt_free(p);
	d01_tsig_key_clear(&k);
	d01_tsig_key_clear(&wrong);
}

/* Our signing: verifies with ldns, and the dnspython vector verifies. */
static void
t_sign_roundtrip(void)
{
	uint8_t add[256], *wire = NULL;
	size_t al = unhex(add_hex, add), wl = 0;
	struct d01_tsig_key k = {0};
	struct d01_error err;
	ldns_pkt *q = NULL, *signed_add = NULL;
	ldns_rdf *mac = NULL;

	CHECK_INT(d01_tsig_key_init(
		      &k, "dns01-test-key", "hmac-sha256", SECRET, &err),
	    ==, D01_OK);
	CHECK_INT(ldns_wire2pkt(&signed_add, add, al), ==, LDNS_STATUS_OK);
	CHECK(
	    ldns_pkt_tsig_verify(signed_add, add, al, k.name, k.secret, NULL));
	CHECK_INT(ldns_pkt_query_new_frm_str(&q, "example.test.",
		      LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0),
	    ==, LDNS_STATUS_OK);
	ldns_pkt_set_id(q, 7);
	CHECK((mac = d01_tsig_sign(q, &k, &err)) != NULL);
	CHECK_INT(ldns_rdf_size(mac), ==, 2 + 32);
	CHECK_INT(ldns_pkt2wire(&wire, q, &wl), ==, LDNS_STATUS_OK);
	CHECK(ldns_pkt_tsig_verify(q, wire, wl, k.name, k.secret, NULL));
end:
	LDNS_FREE(wire);
	ldns_rdf_deep_free(mac);
	ldns_pkt_free(q);
	ldns_pkt_free(signed_add);
	d01_tsig_key_clear(&k);
}

int
main(void)
{
	RUN(t_key_parse);
	RUN(t_bind_reply_known_answer);
	RUN(t_sign_roundtrip);
	RUN(t_oracle_matches_dnspython_and_bind);
	RUN(t_sign_matches_oracle);
	return harness_done();
}
