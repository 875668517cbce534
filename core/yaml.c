/* SPDX-License-Identifier: ISC */
/* YAML (first document) to jansson; see yaml.h. */
#include <string.h>

#include <yaml.h>

#include "core/yaml.h"

/*
 * The tree under construction: a stack of open containers. A mapping
 * alternates between waiting for a key and waiting for its value; `key`
 * holds the pending key (a scalar; complex keys are refused).
 */
struct frame {
	json_t *node;
	char *key;
};

struct builder {
	struct frame stack[D01_YAML_MAX_DEPTH];
	int depth;
	size_t nodes;
	json_t *root;
};

static void
builder_free(struct builder *b)
{
	int i;

	for (i = 0; i < b->depth; i++) {
		json_decref(b->stack[i].node);
		free(b->stack[i].key);
	}
	json_decref(b->root);
}

/*
 * Attach `v` (reference stolen) to the innermost container, or make it the
 * root. A scalar arriving at a mapping without a pending key becomes the
 * key instead.
 */
static enum d01_err
attach(struct builder *b, json_t *v, struct d01_error *err)
{
	struct frame *f;
	int rc;

	if (b->depth == 0) {
		b->root = v;
		return D01_OK;
	}
	f = &b->stack[b->depth - 1];
	if (json_is_array(f->node)) {
		rc = json_array_append_new(f->node, v);
	} else if (f->key == NULL) {
		if (!json_is_string(v)) {
			json_decref(v);
			return d01_error_set(
			    err, D01_E_INVAL, "mapping keys must be scalars");
		}
		f->key = strdup(json_string_value(v));
		json_decref(v);
		return f->key != NULL
		    ? D01_OK
		    : d01_error_set(err, D01_E_NOMEM, "out of memory");
	} else {
		/* Later duplicates win, as in Go's YAML decoders. */
		rc = json_object_set_new(f->node, f->key, v);
		free(f->key);
		f->key = NULL;
	}
	return rc == 0 ? D01_OK
		       : d01_error_set(err, D01_E_NOMEM, "out of memory");
}

static json_t *
scalar(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;

	if (ev->data.scalar.plain_implicit &&
	    ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (n == 0 || (n == 1 && s[0] == '~') ||
		(n == 4 && memcmp(s, "null", 4) == 0)))
		return json_null();
	return json_stringn(s, n);
}

static enum d01_err
event(
    struct builder *b, const yaml_event_t *ev, int *done, struct d01_error *err)
{
	json_t *v;

	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		return d01_error_set(err, D01_E_INVAL,
		    "YAML aliases are not supported (line %zu)",
		    ev->start_mark.line + 1);
	case YAML_SCALAR_EVENT:
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if ((ev->type == YAML_SCALAR_EVENT &&
			ev->data.scalar.anchor != NULL) ||
		    (ev->type == YAML_SEQUENCE_START_EVENT &&
			ev->data.sequence_start.anchor != NULL) ||
		    (ev->type == YAML_MAPPING_START_EVENT &&
			ev->data.mapping_start.anchor != NULL))
			return d01_error_set(err, D01_E_INVAL,
			    "YAML anchors are not supported (line %zu)",
			    ev->start_mark.line + 1);
		if (++b->nodes > D01_YAML_MAX_NODES)
			return d01_error_set(err, D01_E_LIMIT,
			    "more than %d YAML nodes", D01_YAML_MAX_NODES);
		if (ev->type == YAML_SCALAR_EVENT) {
			if ((v = scalar(ev)) == NULL)
				return d01_error_set(err, D01_E_INVAL,
				    "invalid UTF-8 at line %zu",
				    ev->start_mark.line + 1);
			return attach(b, v, err);
		}
		if (b->depth == D01_YAML_MAX_DEPTH)
			return d01_error_set(err, D01_E_LIMIT,
			    "YAML nested deeper than %d", D01_YAML_MAX_DEPTH);
		if (b->depth > 0 &&
		    json_is_object(b->stack[b->depth - 1].node) &&
		    b->stack[b->depth - 1].key == NULL)
			return d01_error_set(err, D01_E_INVAL,
			    "mapping keys must be scalars (line %zu)",
			    ev->start_mark.line + 1);
		v = ev->type == YAML_MAPPING_START_EVENT ? json_object()
							 : json_array();
		if (v == NULL)
			return d01_error_set(err, D01_E_NOMEM, "out of memory");
		b->stack[b->depth].node = v;
		b->stack[b->depth].key = NULL;
		b->depth++;
		return D01_OK;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		v = b->stack[--b->depth].node;
		free(b->stack[b->depth].key);
		return attach(b, v, err);
	case YAML_DOCUMENT_END_EVENT:
	case YAML_STREAM_END_EVENT:
		*done = 1;
		return D01_OK;
	default:
		return D01_OK;
	}
}

json_t *
d01_yaml_parse(const char *buf, size_t len, struct d01_error *err)
{
	struct builder b;
	yaml_parser_t p;
	yaml_event_t ev;
	json_t *root = NULL;
	int done = 0;

	if (len > D01_YAML_MAX_INPUT) {
		d01_error_set(err, D01_E_LIMIT,
		    "YAML input larger than %d bytes", D01_YAML_MAX_INPUT);
		return NULL;
	}
	memset(&b, 0, sizeof(b));
	if (!yaml_parser_initialize(&p)) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			/* libyaml's problem strings are static text, never
			 * a copy of the input. */
			d01_error_set(err, D01_E_INVAL,
			    "YAML: %s at line %zu column %zu",
			    p.problem ? p.problem : "syntax error",
			    p.problem_mark.line + 1, p.problem_mark.column + 1);
			goto out;
		}
		if (event(&b, &ev, &done, err) != D01_OK) {
			yaml_event_delete(&ev);
			goto out;
		}
		yaml_event_delete(&ev);
	}
	if (b.root == NULL) {
		d01_error_set(err, D01_E_INVAL, "empty YAML document");
		goto out;
	}
	root = b.root;
	b.root = NULL;
out:
	builder_free(&b);
	yaml_parser_delete(&p);
	return root;
}
