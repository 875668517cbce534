/* SPDX-License-Identifier: ISC */
/* The bounded XML tree on expat; see xml.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "core/xml.h"

#define MAX_NODES 20000
#define MAX_DEPTH 32
#define MAX_TEXT  (64u << 10)

struct build {
	struct d01_xml *root, *cur, *last_child_of_cur;
	size_t nodes;
	int depth, failed;
	XML_Parser p;
};

static void
node_free(struct d01_xml *n)
{
	struct d01_xml *c, *next;

	if (n == NULL)
		return;
	for (c = n->child; c != NULL; c = next) {
		next = c->next;
		node_free(c);
	}
	free(n->name);
	free(n->text);
	free(n);
}

void
d01_xml_free(struct d01_xml *root)
{
	node_free(root);
}

static void
fail(struct build *b)
{
	b->failed = 1;
	XML_StopParser(b->p, XML_FALSE);
}

static void XMLCALL
on_start(void *arg, const XML_Char *name, const XML_Char **attrs)
{
	struct build *b = arg;
	struct d01_xml *n, **tail;
	const char *colon = strrchr(name, ':');

	(void)attrs;
	if (b->failed)
		return;
	if (++b->depth > MAX_DEPTH || ++b->nodes > MAX_NODES ||
	    (n = calloc(1, sizeof(*n))) == NULL) {
		fail(b);
		return;
	}
	/* Namespaced names arrive as "uri:local" (see XML_ParserCreateNS). */
	if ((n->name = strdup(colon ? colon + 1 : name)) == NULL ||
	    (n->text = strdup("")) == NULL) {
		node_free(n);
		fail(b);
		return;
	}
	n->parent = b->cur;
	if (b->cur == NULL) {
		if (b->root != NULL) { /* a second root */
			node_free(n);
			fail(b);
			return;
		}
		b->root = n;
	} else {
		for (tail = &b->cur->child; *tail != NULL;
		     tail = &(*tail)->next)
			;
		*tail = n;
	}
	b->cur = n;
}

static void XMLCALL
on_end(void *arg, const XML_Char *name)
{
	struct build *b = arg;

	(void)name;
	if (b->failed || b->cur == NULL)
		return;
	b->depth--;
	b->cur = b->cur->parent;
}

static void XMLCALL
on_text(void *arg, const XML_Char *s, int len)
{
	struct build *b = arg;
	struct d01_xml *n = b->cur;
	char *t;

	if (b->failed || n == NULL || len <= 0)
		return;
	if (n->textlen + (size_t)len > MAX_TEXT ||
	    (t = realloc(n->text, n->textlen + (size_t)len + 1)) == NULL) {
		fail(b);
		return;
	}
	memcpy(t + n->textlen, s, (size_t)len);
	n->textlen += (size_t)len;
	t[n->textlen] = '\0';
	n->text = t;
}

struct d01_xml *
d01_xml_parse(const char *buf, size_t len, struct d01_error *err)
{
	struct build b = {0};
	enum XML_Status st;

	/* Namespace-aware so "xmlns" never matters; ':' separates. No DTD
	 * handling is configured, so entity expansion stays expat's
	 * built-in (billion-laughs protected since 2.4). */
	if ((b.p = XML_ParserCreateNS(NULL, ':')) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	XML_SetUserData(b.p, &b);
	XML_SetElementHandler(b.p, on_start, on_end);
	XML_SetCharacterDataHandler(b.p, on_text);
	st = XML_Parse(
	    b.p, buf, (int)(len > 0x7fffffff ? 0x7fffffff : len), XML_TRUE);
	if (st != XML_STATUS_OK || b.failed || b.root == NULL) {
		d01_error_set(err, D01_E_PROTOCOL, "malformed XML reply: %s",
		    b.failed ? "too large or too deep"
			     : XML_ErrorString(XML_GetErrorCode(b.p)));
		node_free(b.root);
		b.root = NULL;
	}
	XML_ParserFree(b.p);
	return b.root;
}

struct d01_xml *
d01_xml_child(const struct d01_xml *n, const char *name)
{
	struct d01_xml *c;

	for (c = n ? n->child : NULL; c != NULL; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

struct d01_xml *
d01_xml_path(const struct d01_xml *n, const char *path)
{
	char seg[128];
	const char *p = path, *slash;
	struct d01_xml *cur = (struct d01_xml *)n;

	while (cur != NULL && *p != '\0') {
		slash = strchr(p, '/');
		snprintf(seg, sizeof(seg), "%.*s",
		    (int)(slash ? (size_t)(slash - p) : strlen(p)), p);
		cur = d01_xml_child(cur, seg);
		p = slash ? slash + 1 : p + strlen(p);
	}
	return cur;
}

const char *
d01_xml_text(const struct d01_xml *n, const char *path)
{
	struct d01_xml *x = d01_xml_path(n, path);

	return x != NULL ? x->text : NULL;
}

struct d01_xml *
d01_xml_next_same(const struct d01_xml *n)
{
	struct d01_xml *c;

	for (c = n ? n->next : NULL; c != NULL; c = c->next)
		if (strcmp(c->name, n->name) == 0)
			return c;
	return NULL;
}

int
d01_xml_escape(char *out, size_t cap, const char *s)
{
	size_t o = strlen(out);

	for (; *s != '\0'; s++) {
		const char *e = *s == '<' ? "&lt;"
		    : *s == '>'		  ? "&gt;"
		    : *s == '&'		  ? "&amp;"
		    : *s == '"'		  ? "&quot;"
		    : *s == '\''	  ? "&apos;"
					  : NULL;
		size_t n = e ? strlen(e) : 1;

		if (o + n + 1 > cap)
			return -1;
		memcpy(out + o, e ? e : s, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}
