/* SPDX-License-Identifier: ISC */
/*
 * A small, bounded XML tree for the AWS APIs (Route 53, STS), built with
 * expat: element names without namespace prefixes, concatenated text, no
 * attributes (the AWS replies carry none we need). Bounds on nodes, depth
 * and text keep a hostile or broken reply from growing memory.
 */
#ifndef D01_XML_H
#define D01_XML_H

#include <stddef.h>

#include "core/err.h"

struct d01_xml {
	char *name;
	char *text; /* NUL-terminated, "" when none */
	size_t textlen;
	struct d01_xml *child, *next, *parent;
};

/* Parse buf[0..len); NULL with err set (D01_E_PROTOCOL) on bad XML or a
 * bound exceeded. Free with d01_xml_free. */
struct d01_xml *d01_xml_parse(
    const char *buf, size_t len, struct d01_error *err);
void d01_xml_free(struct d01_xml *root);

/* First child named `name` (borrowed), or NULL; NULL node is fine. */
struct d01_xml *d01_xml_child(const struct d01_xml *n, const char *name);

/* Follow a "A/B/C" path of first children; NULL when missing. */
struct d01_xml *d01_xml_path(const struct d01_xml *n, const char *path);

/* Text of the element at `path` under n, or NULL. */
const char *d01_xml_text(const struct d01_xml *n, const char *path);

/* The next sibling named like n (for lists), or NULL. */
struct d01_xml *d01_xml_next_same(const struct d01_xml *n);

/* Append `s` to out (cap bytes incl. NUL) with XML escaping; returns 0, or
 * -1 when it does not fit. */
int d01_xml_escape(char *out, size_t cap, const char *s);

#endif
