/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the embedded DNS server's query handler, d01_dnsd_answer,
 * on a store with two zones (one nested, with an outside NS host), two
 * values at one name, an empty non-terminal and a name too big for UDP,
 * so every rcode and the truncation path are reachable. Each input is
 * answered as plain UDP, into a small buffer, and as TCP; and each time
 * the fast path (dnsd_fast.c) takes it, its bytes must be the ldns
 * reference's (d01_dnsd_answer_ldns), else the target aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/embedded/dnsd.h"
#include "providers/embedded/dnsd_answer.h"
#include "providers/embedded/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct d01_txtstore *store;

static void
setup(void)
{
	char big[201];
	int i;

	store = d01_txtstore_new();
	if (store == NULL ||
	    d01_txtstore_add_zone(store, "example.test", NULL, NULL) ||
	    d01_txtstore_add_zone(store, "sub.example.test", "ns1.x.", NULL) ||
	    d01_txtstore_add(
		store, "_acme-challenge.example.test.", "K1", NULL) ||
	    d01_txtstore_add(
		store, "_acme-challenge.example.test.", "K2", NULL) ||
	    d01_txtstore_add(store, "a.b.sub.example.test.", "deep", NULL))
		abort();
	for (i = 0; i < 10; i++) {
		memset(big, 'a' + i, 200);
		big[200] = '\0';
		if (d01_txtstore_add(store, "big.example.test.", big, NULL))
			abort();
	}
}

/* What holds for every reply: within the buffer, ID echoed, QR set. */
static void
check(const uint8_t *q, size_t qlen, const uint8_t *out, size_t n, size_t cap)
{
	if (n > cap)
		__builtin_trap();
	if (n == 0)
		return;
	if (qlen < 12 || n < 12 || out[0] != q[0] || out[1] != q[1] ||
	    (out[2] & 0x80) == 0)
		__builtin_trap();
}

/* The fast path, when it answers, writes exactly the reference's bytes. */
static void
compare(const uint8_t *q, size_t qlen, size_t cap, int tcp)
{
	static uint8_t a[65535], b[65535];
	size_t la, lb;

	if (!d01_dnsd_answer_fast(store, q, qlen, a, cap, tcp, &la))
		return;
	lb = d01_dnsd_answer_ldns(store, q, qlen, b, cap, tcp);
	if (la != lb || memcmp(a, b, la) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[65535];
	size_t n;

	if (store == NULL)
		setup();
	n = d01_dnsd_answer(store, data, size, out, 512, 0);
	check(data, size, out, n, 512);
	compare(data, size, 512, 0);
	n = d01_dnsd_answer(store, data, size, out, 100, 0);
	check(data, size, out, n, 100);
	compare(data, size, 100, 0);
	n = d01_dnsd_answer(store, data, size, out, sizeof(out), 1);
	check(data, size, out, n, sizeof(out));
	compare(data, size, sizeof(out), 1);
	compare(data, size, 65535, 0);
	return 0;
}
