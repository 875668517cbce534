/* SPDX-License-Identifier: ISC */
/*
 * The DNS answer fast path (dnsd_fast.c) against the ldns reference
 * (d01_dnsd_answer_ldns): for every query built here, in every transport
 * and buffer size, both must write the same bytes, and the fast path must
 * really take the ordinary ones (a fast path that declined everything
 * would pass a bare comparison).
 */
#include <stdlib.h>

#include "harness.h"
#include "providers/embedded/dnsd.h"
#include "providers/embedded/dnsd_answer.h"
#include "providers/embedded/store.h"

/* Zones: one with its NS inside, one nested with an outside NS, one
 * whose NS lies below an empty part of it. Values: two at one name, one
 * at an apex, one deep (empty non-terminals above), ten of 200 bytes
 * (past 512 and 1232), five of them at another name (between the two),
 * 64 of 255 bytes (a TCP reply past 16 KiB, where
 * ldns stops remembering names for compression). */
static struct d01_txtstore *
store(void)
{
	struct d01_txtstore *s = d01_txtstore_new();
	char v[256];
	int i;

	if (s == NULL || d01_txtstore_add_zone(s, "example.test", NULL, NULL) ||
	    d01_txtstore_add_zone(s, "sub.example.test", "ns1.x.", NULL) ||
	    d01_txtstore_add_zone(s, "other.test", "a.ns.other.test", NULL) ||
	    d01_txtstore_add(s, "_acme-challenge.example.test.", "K1", NULL) ||
	    d01_txtstore_add(s, "_acme-challenge.example.test.", "K2", NULL) ||
	    d01_txtstore_add(s, "example.test.", "apex", NULL) ||
	    d01_txtstore_add(s, "a.b.sub.example.test.", "deep", NULL))
		goto fail;
	for (i = 0; i < 10; i++) {
		memset(v, 'a' + i, 200);
		v[200] = '\0';
		if (d01_txtstore_add(s, "big.example.test.", v, NULL) ||
		    (i < 5 &&
			d01_txtstore_add(s, "mid.example.test.", v, NULL)))
			goto fail;
	}
	for (i = 0; i < D01_STORE_MAX_VALUES; i++) {
		memset(v, 'A' + i % 26, 255);
		v[0] = (char)('0' + i % 10);
		v[1] = (char)('0' + i / 10);
		v[255] = '\0';
		if (d01_txtstore_add(s, "many.other.test.", v, NULL))
			goto fail;
	}
	return s;
fail:
	d01_txtstore_free(s);
	return NULL;
}

/* A query in wire form: name in presentation form (no escapes, case
 * kept), type, class, flags (bytes 2-3), EDNS size (< 0: no OPT) with
 * the OPT TTL, optional rdata. Returns its length. */
static size_t
query(uint8_t *q, const char *name, unsigned type, unsigned cls, unsigned flags,
    long edns, uint32_t ttl, const uint8_t *rd, size_t rdlen)
{
	size_t pos = 12, lenpos;

	memset(q, 0, 12);
	q[0] = 0xbe;
	q[1] = 0xef;
	q[2] = (uint8_t)(flags >> 8);
	q[3] = (uint8_t)flags;
	q[5] = 1;
	q[11] = edns >= 0;
	while (*name != '\0' && strcmp(name, ".") != 0) {
		lenpos = pos++;
		while (*name != '\0' && *name != '.')
			q[pos++] = (uint8_t)*name++;
		q[lenpos] = (uint8_t)(pos - lenpos - 1);
		if (*name == '.')
			name++;
	}
	q[pos++] = 0;
	q[pos++] = (uint8_t)(type >> 8);
	q[pos++] = (uint8_t)type;
	q[pos++] = (uint8_t)(cls >> 8);
	q[pos++] = (uint8_t)cls;
	if (edns >= 0) {
		q[pos++] = 0;
		q[pos++] = 0;
		q[pos++] = 41;
		q[pos++] = (uint8_t)(edns >> 8);
		q[pos++] = (uint8_t)edns;
		q[pos++] = (uint8_t)(ttl >> 24);
		q[pos++] = (uint8_t)(ttl >> 16);
		q[pos++] = (uint8_t)(ttl >> 8);
		q[pos++] = (uint8_t)ttl;
		q[pos++] = (uint8_t)(rdlen >> 8);
		q[pos++] = (uint8_t)rdlen;
		if (rdlen > 0)
			memcpy(q + pos, rd, rdlen);
		pos += rdlen;
	}
	return pos;
}

static size_t ncompared, nfast;

/*
 * Answer q both ways with every buffer the server and the fuzz target
 * use; 0 when the bytes agree, else -1 (and print the case).
 */
static int
same(const struct d01_txtstore *s, const uint8_t *q, size_t qlen)
{
	static uint8_t a[65535], b[65535];
	static const size_t caps[] = {65535, 512, 100, 11};
	size_t i, la, lb;
	int tcp;

	for (tcp = 0; tcp <= 1; tcp++)
		for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
			memset(a, 0xaa, caps[i]);
			memset(b, 0x55, caps[i]);
			lb = d01_dnsd_answer_ldns(s, q, qlen, b, caps[i], tcp);
			if (!d01_dnsd_answer_fast(
				s, q, qlen, a, caps[i], tcp, &la))
				la = lb, memcpy(a, b, lb);
			else
				nfast++;
			ncompared++;
			if (la != lb || memcmp(a, b, la) != 0) {
				fprintf(stderr,
				    "  differ: tcp=%d cap=%zu fast %zu bytes, "
				    "ldns %zu bytes, qlen %zu\n",
				    tcp, caps[i], la, lb, qlen);
				return -1;
			}
			/* And what the server calls is the same again. */
			la = d01_dnsd_answer(s, q, qlen, a, caps[i], tcp);
			if (la != lb || memcmp(a, b, la) != 0)
				return -1;
		}
	return 0;
}

static const char *const names[] = {
    "example.test.",
    "EXAMPLE.TEST.",
    "_acme-challenge.example.test.",
    "_AcMe-ChAlLeNgE.eXaMpLe.TeSt.",
    "_acme-challenge.example.test", /* built the same: no dot needed */
    "nx.example.test.",
    "a.nx.example.test.",
    "ns.example.test.",
    "x.ns.example.test.",
    "sub.example.test.",
    "SUB.example.test.",
    "b.sub.example.test.",
    "a.b.sub.example.test.",
    "A.B.Sub.Example.Test.",
    "big.example.test.",
    "Big.Example.Test.",
    "mid.example.test.",
    "other.test.",
    "ns.other.test.",
    "a.ns.other.test.",
    "many.other.test.",
    "MANY.other.test.",
    "test.",
    "example.org.",
    "xexample.test.",
    "odd!#$%&'*+,/:<=>?@[]^`{|}~.example.test.",
    "*.example.test.",
    "-.example.test.",
    ".",
};

static const unsigned types[] = {
    16, 1, 28, 6, 2, 255, 252, 251, 41, 250, 249, 254, 253, 5, 0, 65535, 99};
static const unsigned classes[] = {1, 255, 3, 254, 0};

/* Every name, type and class, with and without EDNS, both ways. */
static void
t_matrix(void)
{
	struct d01_txtstore *s = store();
	uint8_t q[600];
	size_t i, j, k, n;
	long e;
	static const long sizes[] = {
	    -1, 0, 511, 512, 513, 1232, 1233, 4096, 65535};

	CHECK(s != NULL);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (j = 0; j < sizeof(types) / sizeof(types[0]); j++)
			for (k = 0; k < sizeof(classes) / sizeof(classes[0]);
			     k++) {
				n = query(q, names[i], types[j], classes[k],
				    0x0100, -1, 0, NULL, 0);
				CHECK_INT(same(s, q, n), ==, 0);
			}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (j = 0; j < sizeof(types) / sizeof(types[0]); j++)
			for (e = 0;
			     e < (long)(sizeof(sizes) / sizeof(sizes[0]));
			     e++) {
				n = query(q, names[i], types[j], 1, 0x0100,
				    sizes[e], 0, NULL, 0);
				CHECK_INT(same(s, q, n), ==, 0);
			}
	/* The ordinary ones went the fast way: all but ".", the odd name
	 * is fine too. */
	CHECK_INT(nfast, >, ncompared * 9 / 10);
end:
	d01_txtstore_free(s);
}

/* Header bits (RD, CD, AD, AA, TC, Z, a stray rcode), OPT flags (DO),
 * extended rcode and version, options, trailing bytes, opcodes. */
static void
t_header_and_opt(void)
{
	struct d01_txtstore *s = store();
	static const uint8_t cookie[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
	static const uint8_t bad[] = {0, 10, 0, 80};
	uint8_t q[600];
	size_t n, f0;
	unsigned flags;

	CHECK(s != NULL);
	for (flags = 0; flags < 0x10000; flags += 0x0107) {
		n = query(q, "_acme-challenge.example.test.", 16, 1, flags, -1,
		    0, NULL, 0);
		CHECK_INT(same(s, q, n), ==, 0);
		n = query(
		    q, "nx.example.test.", 16, 1, flags, 1232, 0, NULL, 0);
		CHECK_INT(same(s, q, n), ==, 0);
	}
	f0 = nfast;
	n = query(q, "_acme-challenge.example.test.", 16, 1, 0x0110, 1232,
	    0x00008000u, NULL, 0); /* DO */
	CHECK_INT(same(s, q, n), ==, 0);
	n = query(q, "_acme-challenge.example.test.", 16, 1, 0, 1232,
	    0x05000000u, NULL, 0); /* extended rcode bits in a query */
	CHECK_INT(same(s, q, n), ==, 0);
	n = query(q, "_acme-challenge.example.test.", 16, 1, 0, 1232, 0, cookie,
	    sizeof(cookie));
	CHECK_INT(same(s, q, n), ==, 0);
	n = query(q, "_acme-challenge.example.test.", 16, 1, 0, 1232, 0, bad,
	    sizeof(bad)); /* an option longer than the rdata: ldns takes it */
	CHECK_INT(same(s, q, n), ==, 0);
	CHECK_INT(nfast, >, f0);
	/* Version 1 (BADVERS), an OPT not at the root, an RDLENGTH past
	 * the end, trailing bytes, a truncated OPT. */
	n = query(q, "_acme-challenge.example.test.", 16, 1, 0, 1232,
	    0x00010000u, NULL, 0);
	CHECK_INT(same(s, q, n), ==, 0);
	n = query(q, "big.example.test.", 16, 1, 0, 1232, 0, NULL, 0);
	q[n - 11] = 1;
	CHECK_INT(same(s, q, n), ==, 0);
	n = query(q, "big.example.test.", 16, 1, 0, 1232, 0, NULL, 0);
	q[n - 1] = 5;
	CHECK_INT(same(s, q, n), ==, 0);
	n = query(q, "big.example.test.", 16, 1, 0, 1232, 0, NULL, 0);
	memset(q + n, 0, 7);
	CHECK_INT(same(s, q, n + 7), ==, 0);
	CHECK_INT(same(s, q, n - 1), ==, 0);
	n = query(q, "big.example.test.", 16, 1, 0, -1, 0, NULL, 0);
	q[n++] = 0xff;
	CHECK_INT(same(s, q, n), ==, 0);
	CHECK_INT(same(s, q, n - 2), ==, 0);
	for (flags = 0; flags < 16; flags++) { /* every opcode */
		n = query(
		    q, "example.test.", 6, 1, flags << 11, -1, 0, NULL, 0);
		CHECK_INT(same(s, q, n), ==, 0);
	}
end:
	d01_txtstore_free(s);
}

/* Names at the length bounds, a label of 63, compressed and root
 * question names, more than one question or answer. */
static void
t_names(void)
{
	struct d01_txtstore *s = store();
	char name[300];
	uint8_t q[600];
	size_t n, len;

	CHECK(s != NULL);
	for (len = 1; len <= 64; len++) {
		memset(name, 'q', len);
		strcpy(name + len, ".example.test.");
		n = query(q, name, 16, 1, 0, 1232, 0, NULL, 0);
		CHECK_INT(same(s, q, n), ==, 0);
	}
	/* Whole names from 200 to 260 bytes, in labels of 9. */
	for (len = 200; len <= 260; len++) {
		size_t i;

		for (i = 0; i < len; i++)
			name[i] = i % 10 == 9 ? '.' : 'Z';
		strcpy(name + len, ".other.test.");
		n = query(q, name, 16, 1, 0, -1, 0, NULL, 0);
		CHECK_INT(same(s, q, n), ==, 0);
	}
	/* Cut anywhere, down to the bare header (each a malloc'd copy of
	 * its exact length, so ASan sees a read past the end). */
	n = query(q, "example.test.", 16, 1, 0, 1232, 0, NULL, 0);
	for (len = 0; len <= n; len++) {
		uint8_t *cut = malloc(len > 0 ? len : 1);
		int rc;

		CHECK(cut != NULL);
		memcpy(cut, q, len);
		rc = same(s, cut, len);
		free(cut);
		CHECK_INT(rc, ==, 0);
	}
	n = query(q, "example.test.", 16, 1, 0, -1, 0, NULL, 0);
	q[5] = 2;
	CHECK_INT(same(s, q, n), ==, 0);
	q[5] = 1;
	q[7] = 1;
	CHECK_INT(same(s, q, n), ==, 0);
	/* The question as a pointer to itself and into the header. */
	q[7] = 0;
	q[12] = 0xc0;
	q[13] = 12;
	CHECK_INT(same(s, q, n), ==, 0);
	q[13] = 2;
	CHECK_INT(same(s, q, n), ==, 0);
end:
	d01_txtstore_free(s);
}

/* Every query above with bytes flipped at random: the fast path declines
 * or agrees, whatever the damage. */
static void
t_mutations(void)
{
	struct d01_txtstore *s = store();
	unsigned seed = 17;
	uint8_t q[600];
	size_t i, j, k, n;

	CHECK(s != NULL);
	for (i = 0; i < 20000; i++) {
		j = (size_t)rand_r(&seed);
		n = query(q, names[j % (sizeof(names) / sizeof(names[0]))],
		    types[(j >> 8) % (sizeof(types) / sizeof(types[0]))], 1,
		    0x0100, (j >> 16) % 3 == 0 ? -1 : 1232, 0, NULL, 0);
		for (k = 0; k < 1 + i % 3; k++)
			q[(size_t)rand_r(&seed) % n] ^=
			    (uint8_t)(1u << rand_r(&seed) % 8);
		CHECK_INT(same(s, q, n - (i % 7 == 0)), ==, 0);
	}
end:
	d01_txtstore_free(s);
}

/*
 * A name with a repeated label, answered twice into the same buffer (as
 * the server's one output buffer is): the second time the bytes after the
 * part of the question written so far still hold the first reply's
 * question, and must not pass for a name written (fuzz_dns_query found
 * the fast path compressing the question into itself this way).
 */
static void
t_stale_buffer(void)
{
#define A63 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	/* Each pair: the first leaves in the buffer, where the second's
	 * repeated label ends, exactly the rest of the second's name. */
	static const char *const pairs[][2] = {
	    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaq"
	     "." A63 "example.test.",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"q." A63 A63 "example.test."},
	    {"q.x.example.test.", "q.x.x.example.test."},
	    {"x.example.test.", "x.x.example.test."},
	};
#undef A63
	static uint8_t a[65535], b[65535];
	struct d01_txtstore *s = store();
	uint8_t q[600];
	size_t i, k, n, la, lb;

	CHECK(s != NULL);
	memset(a, 0, sizeof(a));
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		for (k = 0; k < 2; k++) {
			n = query(q, pairs[i][k], 16, 1, 0, -1, 0, NULL, 0);
			lb = d01_dnsd_answer_ldns(s, q, n, b, 512, 0);
			if (!d01_dnsd_answer_fast(s, q, n, a, 512, 0, &la))
				la = lb, memcpy(a, b, lb);
			CHECK_INT(la, ==, lb);
			CHECK_MEM(a, b, la);
		}
end:
	d01_txtstore_free(s);
}

int
main(void)
{
	RUN(t_matrix);
	RUN(t_header_and_opt);
	RUN(t_names);
	RUN(t_mutations);
	RUN(t_stale_buffer);
	return harness_done();
}
