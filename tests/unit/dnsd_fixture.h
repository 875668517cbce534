/* SPDX-License-Identifier: ISC */
/* The embedded DNS tests' store: test_dnsd.c and test_dnsd_net.c. */
#ifndef D01_DNSD_FIXTURE_H
#define D01_DNSD_FIXTURE_H

#include "providers/embedded/store.h"

#define ACME "_acme-challenge.www.example.test."

/* A zone with two TXT values at ACME. */
static struct d01_txtstore *
fixture(void)
{
	struct d01_txtstore *s = d01_txtstore_new();

	if (s == NULL ||
	    d01_txtstore_add_zone(s, "example.test", NULL, NULL) != D01_OK ||
	    d01_txtstore_add(s, ACME, "K1", NULL) != D01_OK ||
	    d01_txtstore_add(s, ACME, "K2", NULL) != D01_OK) {
		d01_txtstore_free(s);
		return NULL;
	}
	return s;
}

#endif
