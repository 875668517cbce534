/* SPDX-License-Identifier: ISC */
/*
 * A repeatable flag's values: a fixed array of borrowed strings (argv's),
 * so an options struct needs no allocation and no free. The flag parser
 * refuses a value past D01_STRLIST_MAX.
 */
#ifndef D01_CORE_STRLIST_H
#define D01_CORE_STRLIST_H

#include <stddef.h>

#define D01_STRLIST_MAX 32

struct d01_strlist {
	const char *v[D01_STRLIST_MAX];
	size_t n;
};

#endif
