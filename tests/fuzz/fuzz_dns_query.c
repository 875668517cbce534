/* SPDX-License-Identifier: ISC */
/* Fuzz target: the embedded DNS server's query handler. */
#include <stdint.h>
#include <stdlib.h>

#include "providers/embedded/dnsd.h"
#include "providers/embedded/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct d01_txtstore *store;

static void
setup(void)
{
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
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[65535];
	size_t n;

	if (store == NULL)
		setup();
	n = d01_dnsd_answer(store, data, size, out, 512, 0);
	/* A UDP reply never exceeds what plain DNS allows, and always
	 * carries the query's ID. */
	if (n > 512 || (n > 0 && (out[0] != data[0] || out[1] != data[1])))
		__builtin_trap();
	n = d01_dnsd_answer(store, data, size, out, sizeof(out), 1);
	if (n > 0 && (out[2] & 0x80) == 0)
		__builtin_trap(); /* every reply has QR set */
	return 0;
}
