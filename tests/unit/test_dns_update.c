/* SPDX-License-Identifier: ISC */
/*
 * DNS UPDATE's decision (dnsd_update.c) and server-side TSIG
 * (dnsd_tsig.c), pure: messages in, rcodes, TSIG errors and planned
 * changes out. Known answers: the request/response pair BIND 9.18
 * recorded (providers-detail.md §4.6 (3), the same as test_tsig.c: key
 * dns01-test-key., hmac-sha256, secret bytes 0x00..0x1f): our reply to
 * BIND's request must be BIND's reply, byte for byte. The other messages
 * are built and signed with ldns (core/tsig.c), a second TSIG
 * implementation, at the real time.
 */
#include <stdlib.h>
#include <time.h>

#include <ldns/ldns.h>

#include "core/tsig.h"
#include "harness.h"
#include "providers/embedded/dnsd_update.h"
#include "providers/embedded/store.h"
#include "providers/embedded/tsigkeys.h"

#define SECRET "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define OTHER  "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
#define ACME   "_acme-challenge.example.test."

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
#define SIGNED_AT 0x6b0b4fb0LL

/* Helpers cannot jump to a test's `end`: a broken fixture aborts. */
#define MUST(c)                                                                \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(                                               \
			    stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);    \
			abort();                                               \
		}                                                              \
	} while (0)

static size_t
unhex(const char *h, uint8_t *out)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2) {
		unsigned v;

		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static struct d01_txtstore *
store_new(void)
{
	struct d01_txtstore *s = d01_txtstore_new();

	MUST(s != NULL);
	MUST(d01_txtstore_add_zone(s, "example.test", NULL, NULL) == D01_OK);
	MUST(
	    d01_txtstore_add_zone(s, "sub.example.test", NULL, NULL) == D01_OK);
	MUST(d01_txtstore_add(s, ACME, "held", NULL) == D01_OK);
	return s;
}

/* dns01-test-key. (zonesub unless `grant` says otherwise, NULL: none)
 * and other. (no grant). */
static struct d01_keyring *
keys_new(const char *grant)
{
	static const char text[] =
	    "key \"dns01-test-key.\" { algorithm hmac-sha256; secret \"" SECRET
	    "\"; };\nkey other { algorithm hmac-sha512; secret \"" OTHER
	    "\"; };\n";
	struct d01_keyring *kr = d01_keyring_new();
	struct d01_error err = {0};

	MUST(kr != NULL);
	MUST(d01_keyring_parse(kr, text, strlen(text), "t", &err) == D01_OK);
	if (grant != NULL)
		MUST(d01_keyring_grant(kr, grant, &err) == D01_OK);
	return kr;
}

static struct d01_update *
decide(const struct d01_txtstore *s, const struct d01_keyring *kr,
    const uint8_t *q, size_t len, int64_t now)
{
	struct d01_update *u = calloc(1, sizeof(*u));

	MUST(u != NULL);
	d01_update_decide(s, kr, q, len, now, u);
	return u;
}

static void
t_bind_known_answer(void)
{
	uint8_t q[512], want[512], out[512];
	size_t ql = unhex(request_hex, q), wl = unhex(response_hex, want), n;
	struct d01_txtstore *s = store_new();
	struct d01_keyring *kr = keys_new("dns01-test-key=zonesub");
	struct d01_update *u = decide(s, kr, q, ql, SIGNED_AT);

	CHECK_INT(u->rcode, ==, -1);
	CHECK_INT(u->tsig.error, ==, 0);
	CHECK_INT(u->nchanges, ==, 1);
	CHECK(u->changes[0].add);
	CHECK_STR(u->changes[0].fqdn, ACME);
	n = d01_update_reply(u, q, ql, 0, out, sizeof(out), SIGNED_AT);
	CHECK_INT(n, ==, wl);
	CHECK_MEM(out, want, wl);
end:
	free(u);
	d01_keyring_free(kr);
	d01_txtstore_free(s);
}

/* BIND's request with one byte changed, the key missing or the clock
 * past the fudge: each TSIG error, and the reply that goes with it. */
static void
t_tsig_errors(void)
{
	uint8_t q[512], out[512];
	size_t ql = unhex(request_hex, q), n;
	struct d01_txtstore *s = store_new();
	struct d01_keyring *kr = keys_new("dns01-test-key=zonesub");
	struct d01_keyring *none = keys_new(NULL), *empty = d01_keyring_new();
	struct d01_update *u = NULL;

	u = decide(s, kr, q, ql, SIGNED_AT + 301);
	CHECK_INT(u->rcode, ==, 9);
	CHECK_INT(u->tsig.error, ==, D01_TSIG_E_BADTIME);
	n = d01_update_reply(
	    u, q, ql, u->rcode, out, sizeof(out), SIGNED_AT + 301);
	/* signed: MAC of 32 bytes, the request's time, ours in other */
	CHECK(n > 12 && out[3] == 9 && out[n - 10] == 0 && out[n - 9] == 18);
	CHECK_INT(out[n - 7], ==, 6);
	CHECK_INT(out[n - 1], ==, (SIGNED_AT + 301) & 0xff);
	free(u);
	u = NULL;
	u = decide(s, kr, q, ql, SIGNED_AT - 300); /* inside the fudge */
	CHECK_INT(u->rcode, ==, -1);
	free(u);
	u = NULL;

	u = decide(s, empty, q, ql, SIGNED_AT);
	CHECK_INT(u->rcode, ==, 9);
	CHECK_INT(u->tsig.error, ==, D01_TSIG_E_BADKEY);
	n = d01_update_reply(u, q, ql, u->rcode, out, sizeof(out), SIGNED_AT);
	CHECK(n > 12 && out[n - 3] == 17 && out[n - 7] == 0 &&
	    out[n - 8] == 0); /* unsigned: MAC size 0 */
	free(u);
	u = NULL;

	q[ql - 10] ^= 1; /* the MAC's last byte */
	u = decide(s, kr, q, ql, SIGNED_AT);
	CHECK_INT(u->rcode, ==, 9);
	CHECK_INT(u->tsig.error, ==, D01_TSIG_E_BADSIG);
	free(u);
	u = NULL;
	q[ql - 10] ^= 1;
	q[40] ^= 0x20; /* the update's name, in another case: signed too */
	u = decide(s, kr, q, ql, SIGNED_AT);
	CHECK_INT(u->tsig.error, ==, D01_TSIG_E_BADSIG);
	free(u);
	u = NULL;
	q[40] ^= 0x20;

	/* The same request without its TSIG RR: REFUSED. */
	q[11] = 0;
	u = decide(s, kr, q, 114, SIGNED_AT);
	CHECK_INT(u->rcode, ==, 5);
	CHECK(!u->is_signed);
	free(u);
	u = NULL;
	q[11] = 1;

	/* Known key, no grant: REFUSED, and the reply is signed. */
	u = decide(s, none, q, ql, SIGNED_AT);
	CHECK_INT(u->rcode, ==, 5);
	CHECK_INT(u->nchanges, ==, 0);
	CHECK(u->is_signed && u->tsig.error == 0);
end:
	free(u);
	d01_keyring_free(kr);
	d01_keyring_free(none);
	d01_keyring_free(empty);
	d01_txtstore_free(s);
}

/* "owner ttl class type [rdata]": ldns's parser wants rdata, UPDATE's
 * class ANY and NONE RRs often have none. */
static ldns_rr *
rr_new(const char *text)
{
	char owner[256], cls[16], type[16];
	unsigned ttl;
	ldns_rr *rr = NULL;
	int used = 0;

	MUST(sscanf(text, "%255s %u %15s %15s%n", owner, &ttl, cls, type,
		 &used) == 4);
	if (text[used] != '\0') {
		MUST(ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) ==
		    LDNS_STATUS_OK);
		return rr;
	}
	MUST((rr = ldns_rr_new()) != NULL);
	ldns_rr_set_owner(rr, ldns_dname_new_frm_str(owner));
	ldns_rr_set_ttl(rr, ttl);
	ldns_rr_set_class(rr, ldns_get_rr_class_by_name(cls));
	ldns_rr_set_type(rr, ldns_get_rr_type_by_name(type));
	return rr;
}

/* An UPDATE for `zone` built with ldns and signed with `key` (NULL:
 * unsigned) at the real time. */
static size_t
build(const char *zone, const char *const *pre, const char *const *up,
    const char *key, uint8_t *out, size_t cap)
{
	ldns_rdf *z = ldns_dname_new_frm_str(zone);
	ldns_rr_list *none = ldns_rr_list_new();
	ldns_pkt *p =
	    ldns_update_pkt_new(z, LDNS_RR_CLASS_IN, NULL, none, NULL);
	struct d01_tsig_key k;
	struct d01_error err = {0};
	uint8_t *wire = NULL;
	ldns_rdf *mac;
	ldns_rr *rr;
	size_t len = 0;

	MUST(p != NULL);
	ldns_rr_list_free(none);
	ldns_pkt_set_id(p, 0x4242);
	for (; pre != NULL && *pre != NULL; pre++) {
		rr = rr_new(*pre);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	for (; up != NULL && *up != NULL; up++) {
		rr = rr_new(*up);
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr);
	}
	if (key != NULL) {
		MUST(d01_tsig_key_init(&k, key, "hmac-sha256", SECRET, &err) ==
		    D01_OK);
		mac = d01_tsig_sign(p, &k, &err);
		MUST(mac != NULL);
		ldns_rdf_deep_free(mac);
		d01_tsig_key_clear(&k);
	}
	MUST(ldns_pkt2wire(&wire, p, &len) == LDNS_STATUS_OK);
	MUST(len <= cap);
	memcpy(out, wire, len);
	LDNS_FREE(wire);
	ldns_pkt_free(p);
	return len;
}

/* rcode of an UPDATE signed with dns01-test-key. under `grant`. */
static int
rcode_of(struct d01_txtstore *s, const char *grant, const char *zone,
    const char *const *pre, const char *const *up, size_t *nchanges)
{
	uint8_t q[4096];
	size_t n = build(zone, pre, up, "dns01-test-key.", q, sizeof(q));
	struct d01_keyring *kr = keys_new(grant);
	struct d01_update *u = decide(s, kr, q, n, time(NULL));
	int rc = u->rcode < 0 ? 0 : u->rcode;

	if (nchanges != NULL)
		*nchanges = u->nchanges;
	free(u);
	d01_keyring_free(kr);
	return rc;
}

static void
t_prerequisites(void)
{
	struct d01_txtstore *s = store_new();
	const char *add[] = {ACME " 60 IN TXT \"new\"", NULL};
	struct {
		const char *pre;
		int rcode;
	} cases[] = {
	    {"none.example.test. 0 ANY TXT", 8}, /* YXRRSET */
	    {ACME " 0 ANY TXT", 0},		 /* it exists */
	    {ACME " 0 IN TXT \"held\"", 0},	 /* value-dependent */
	    {ACME " 0 IN TXT \"other\"", 8},	 /* NXRRSET */
	    {ACME " 0 NONE TXT", 7},		 /* NXRRSET: YXRRSET */
	    {ACME " 0 NONE A", 0},		 /* no A there */
	    {"none.example.test. 0 ANY ANY", 3}, /* YXDOMAIN: NXDOMAIN */
	    {"example.test. 0 ANY ANY", 0},	 /* the apex is in use */
	    {ACME " 0 NONE ANY", 6},		 /* NXDOMAIN: YXDOMAIN */
	    {"example.test. 0 ANY SOA", 0},	 /* the apex's SOA */
	    {"example.test. 0 IN NS ns.example.test.", 0},
	    {"example.test. 0 IN NS other.example.", 8},
	    {ACME " 60 ANY TXT", 1},		   /* TTL must be 0 */
	    {"x.other.test. 0 ANY TXT", 10},	   /* outside: NOTZONE */
	    {"x.sub.example.test. 0 ANY TXT", 10}, /* a child zone's */
	};
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *pre[] = {cases[i].pre, NULL};

		CHECK_INT(rcode_of(s, "dns01-test-key=zonesub", "example.test.",
			      pre, add, &n),
		    ==, cases[i].rcode);
		if (cases[i].rcode != 0)
			CHECK_INT(n, ==, 0);
	}
	/* Two values given, one held: not the same RRset. */
	{
		const char *pre[] = {
		    ACME " 0 IN TXT \"held\"", ACME " 0 IN TXT \"more\"", NULL};

		CHECK_INT(rcode_of(s, "dns01-test-key=zonesub", "example.test.",
			      pre, add, NULL),
		    ==, 8);
	}
end:
	d01_txtstore_free(s);
}

static void
t_policy_and_changes(void)
{
	struct d01_txtstore *s = store_new();
	const char *add[] = {ACME " 60 IN TXT \"new\"", NULL};
	const char *add_a[] = {"www.example.test. 60 IN A 192.0.2.1", NULL};
	const char *del_any[] = {ACME " 0 ANY ANY", NULL};
	const char *del_set[] = {
	    ACME " 60 IN TXT \"new\"", ACME " 0 ANY TXT", NULL};
	const char *del_one[] = {
	    ACME " 0 NONE TXT \"held\"", ACME " 0 NONE TXT \"absent\"", NULL};
	const char *multi[] = {ACME " 60 IN TXT \"a\" \"b\"", NULL};
	size_t n;

	CHECK_INT(rcode_of(s, "dns01-test-key=zonesub", "example.test.", NULL,
		      add, &n),
	    ==, 0);
	CHECK_INT(n, ==, 1);
	CHECK_INT(rcode_of(s, "dns01-test-key=name:" ACME, "example.test.",
		      NULL, add, &n),
	    ==, 0);
	CHECK_INT(rcode_of(s, "dns01-test-key=name:x.example.test",
		      "example.test.", NULL, add, &n),
	    ==, 5);
	CHECK_INT(rcode_of(s, "dns01-test-key=subdomain:example.test",
		      "example.test.", NULL, add, &n),
	    ==, 0);
	CHECK_INT(rcode_of(s, "other=zonesub", "example.test.", NULL, add, &n),
	    ==, 5); /* another key's grant */
	CHECK_INT(rcode_of(s, "dns01-test-key=zonesub", "example.test.", NULL,
		      add_a, &n),
	    ==, 5);
	CHECK_INT(rcode_of(s, "dns01-test-key=zonesub", "example.test.", NULL,
		      del_any, &n),
	    ==, 5);
	CHECK_INT(rcode_of(s, "dns01-test-key=zonesub", "example.test.", NULL,
		      multi, &n),
	    ==, 5);
	/* Zone section: not an apex, not ours. */
	CHECK_INT(rcode_of(s, "dns01-test-key=zonesub", "x.example.test.", NULL,
		      add, &n),
	    ==, 9);
	CHECK_INT(
	    rcode_of(s, "dns01-test-key=zonesub", "other.test.", NULL, add, &n),
	    ==, 9);
	/* Add then delete the RRset: both the held value and the new one
	 * are removed, in order. */
	CHECK_INT(rcode_of(s, "dns01-test-key=zonesub", "example.test.", NULL,
		      del_set, &n),
	    ==, 0);
	CHECK_INT(n, ==, 3);
	/* One RR: only what is held is planned. */
	CHECK_INT(rcode_of(s, "dns01-test-key=zonesub", "example.test.", NULL,
		      del_one, &n),
	    ==, 0);
	CHECK_INT(n, ==, 1);
end:
	d01_txtstore_free(s);
}

static void
t_keyfile_parser(void)
{
	struct d01_keyring *kr = d01_keyring_new();
	struct d01_error err = {0};
	const struct d01_tsig_key *k;
	static const char good[] =
	    "# hash\n// slashes\n/* a\n block */ key \"A.Example.\" {\n"
	    "\talgorithm HMAC-SHA512;\n\tsecret \"" SECRET "\";\n};\n"
	    "key b { secret " SECRET "; algorithm hmac-md5; };";
	static const struct {
		const char *text, *want;
	} bad[] = {
	    {"key \"a\" { algorithm hmac-sha256; secret \"" SECRET "\" };",
		"t:1: expected ';' after the secret"},
	    {"\n\nkey \"a\" { algorithm hmac-sha256; };",
		"t:3: key a needs both algorithm and secret"},
	    {"key \"a\" { algorithm hmac-sha256; secret \"" SECRET
	     "\"; }; key \"A.\" { algorithm hmac-sha1; secret \"" SECRET
	     "\"; };",
		"t:1: key a. is defined twice"},
	    {"options { };", "t:1: expected 'key'"},
	    {"key \"a\" { algorithm hmac-sha256; secret \"not-base64!\"; };",
		"t:1: TSIG secret for key a. is not valid base64"},
	    {"key \"a\" { algorithm rot13; secret \"" SECRET "\"; };",
		"t:1: TSIG algorithm rot13 is not supported"},
	    {"key \"a\" { algorithm hmac-sha256; secret \"" SECRET
	     "\"; } /* open",
		"t:1: unterminated string or comment"},
	    {"key \"a\" { algorithm hmac-sha256; secret \"" SECRET "\"; }\nkey",
		"t:2: expected ';' after the key block"},
	    {"key \"a { };", "t:1: unterminated string"},
	    {"", "t: no key in the file"},
	    {"key \"a\" { algorithm hmac-sha256; secret \"" SECRET
	     "\"; unknown x; };",
		"t:1: expected 'algorithm', 'secret' or '}'"},
	};
	size_t i;

	CHECK(d01_keyring_parse(kr, good, strlen(good), "t", &err) == D01_OK);
	CHECK_INT(d01_keyring_count(kr), ==, 2);
	k = d01_keyring_find(kr, "a.example");
	CHECK(k != NULL && strcmp(k->algorithm, "hmac-sha512.") == 0);
	k = d01_keyring_find(kr, "B.");
	CHECK(k != NULL &&
	    strcmp(k->algorithm, "hmac-md5.sig-alg.reg.int.") == 0);
	CHECK(d01_keyring_find(kr, "c.") == NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct d01_keyring *k2 = d01_keyring_new();

		memset(&err, 0, sizeof(err));
		CHECK(d01_keyring_parse(k2, bad[i].text, strlen(bad[i].text),
			  "t", &err) == D01_E_CONFIG);
		if (strstr(err.msg, bad[i].want) == NULL)
			fprintf(stderr, "  got: %s\n", err.msg);
		CHECK(strstr(err.msg, bad[i].want) != NULL);
		CHECK(strstr(err.msg, SECRET) == NULL);
		CHECK_INT(d01_keyring_count(k2), ==, 0);
		d01_keyring_free(k2);
	}
	/* Grants: a known key; a valid kind and name. */
	CHECK(d01_keyring_grant(kr, "b=zonesub", &err) == D01_OK);
	CHECK(d01_keyring_grant(kr, "a.example.=name:X.Example.Test", &err) ==
	    D01_OK);
	CHECK(d01_keyring_grant(kr, "c=zonesub", &err) == D01_E_CONFIG);
	CHECK(d01_keyring_grant(kr, "b=everything", &err) == D01_E_CONFIG);
	CHECK(d01_keyring_grant(kr, "b=name:", &err) == D01_E_CONFIG);
	CHECK(d01_keyring_grant(kr, "=zonesub", &err) == D01_E_CONFIG);
	k = d01_keyring_find(kr, "a.example.");
	CHECK(d01_keyring_allows(kr, k, "example.test.", "x.example.test."));
	CHECK(!d01_keyring_allows(kr, k, "example.test.", "y.example.test."));
	CHECK(!d01_keyring_allows(kr, k, "other.", "x.example.test."));
end:
	d01_keyring_free(kr);
}

int
main(void)
{
	RUN(t_bind_known_answer);
	RUN(t_tsig_errors);
	RUN(t_prerequisites);
	RUN(t_policy_and_changes);
	RUN(t_keyfile_parser);
	return harness_done();
}
