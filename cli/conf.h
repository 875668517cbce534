/* SPDX-License-Identifier: ISC */
/*
 * The files of `dns01 renew` (certs.d/NAME.conf, dns01.conf): flags in a
 * file. One `option = value` per line; `#` starts a comment line; blank
 * lines are skipped; `option` is a long option of the table given (the
 * one `dns01 issue` parses its flags with, so every option is settable
 * and there is no second list), without its dashes, `_` and `-` alike;
 * `env.NAME = value` is a provider environment variable. The value is
 * the rest of the line, trimmed, one pair of surrounding quotes removed.
 * A flag without argument takes yes/no, true/false, on/off or 1/0.
 *
 * This lives in cli/ because it only maps lines to flags: issuer/ gets
 * the same struct d01_issue_opts as from argv and never sees the format.
 */
#ifndef D01_CLI_CONF_H
#define D01_CLI_CONF_H

#include <stddef.h>

struct option;

#define D01_CONF_MAX_BYTES (64 * 1024)
#define D01_CONF_MAX_LINES 512

struct d01_conf_line {
	unsigned lineno;
	const char *key;	  /* normalised: "out", "env.NAME" */
	const char *value;	  /* "1"/"" for flags without argument */
	const struct option *opt; /* NULL for env.NAME */
};

/* Owns its text; lines point into it. */
struct d01_conf {
	char *text;
	struct d01_conf_line *lines;
	size_t n;
};

/*
 * Read and parse `path` against `table`. 0, or -1 with `why` set to
 * "PATH:LINE: reason" (or "PATH: reason"); on failure c is empty.
 * A missing file is -1 with *missing = 1 (when missing is not NULL).
 */
int d01_conf_read(const char *path, const struct option *table,
    struct d01_conf *c, int *missing, char *why, size_t n);
void d01_conf_free(struct d01_conf *c);

#endif
