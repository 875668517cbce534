/* SPDX-License-Identifier: ISC */
/* Fuzz target: the acme-dns accounts JSON (a Secret's value, a tenant's
 * input) through the lookup the provider runs, and the same bytes as an
 * acme-dns error reply. */
#include <stdint.h>
#include <string.h>

#include "providers/acmedns/acmedns_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
no_controls(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20)
			__builtin_trap(); /* no control bytes reach logs */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {
	    "example.com", "*.example.com", "www.example.com.", "EXAMPLE.com"};
	static const long statuses[] = {400, 401, 429, 500};
	struct adns_account a;
	struct d01_error err;

	d01_error_clear(&err);
	if (adns_account_find((const char *)data, size, names[size % 4], &a,
		&err) == D01_OK) {
		/* What goes into headers and the body was checked. */
		if (!adns_subdomain_valid(a.subdomain) ||
		    a.username[0] == '\0' || a.password[0] == '\0' ||
		    strpbrk(a.username, " \r\n") != NULL ||
		    strpbrk(a.password, " \r\n") != NULL)
			__builtin_trap();
	} else if (err.msg[0] == '\0') {
		__builtin_trap();
	}
	no_controls(err.msg);
	d01_error_clear(&err);
	if (adns_reply_error(
		statuses[size % 4], (const char *)data, size, &err) == D01_OK ||
	    err.msg[0] == '\0')
		__builtin_trap();
	no_controls(err.msg);
	return 0;
}
