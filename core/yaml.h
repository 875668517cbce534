/* SPDX-License-Identifier: ISC */
/*
 * YAML to a jansson tree, for kubeconfig files (the only YAML dns01 reads).
 * libyaml does the parsing; this file only builds the tree, with bounds:
 * input size, nesting depth and node count. Every scalar becomes a JSON
 * string except an unquoted `null`, `~` or empty value, which becomes
 * JSON null; callers interpret "true"/"false" themselves. Anchors and
 * aliases are refused: no kubeconfig uses them, and expanding them is how
 * a small file becomes a huge tree. Only the first document is read.
 */
#ifndef D01_YAML_H
#define D01_YAML_H

#include <stddef.h>

#include <jansson.h>

#include "core/err.h"

#define D01_YAML_MAX_INPUT (1024 * 1024)
#define D01_YAML_MAX_DEPTH 64
#define D01_YAML_MAX_NODES 65536

/*
 * Parse `len` bytes of `buf`. Returns a new reference (a mapping, a
 * sequence or a scalar), or NULL with err filled: D01_E_INVAL with the
 * line and column for malformed input, D01_E_LIMIT past a bound. Error
 * messages never quote the input, which may hold credentials.
 */
json_t *d01_yaml_parse(const char *buf, size_t len, struct d01_error *err);

#endif
