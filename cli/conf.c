/* SPDX-License-Identifier: ISC */
/* `option = value` files for `dns01 renew`: see conf.h. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/conf.h"
#include "core/err.h"
#include "core/file.h"

void
d01_conf_free(struct d01_conf *c)
{
	free(c->text);
	free(c->lines);
	memset(c, 0, sizeof(*c));
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Flag values: yes -> "1", no -> "" (the flag is not given). */
static int
boolean(const char *v, const char **out)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = "1";
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = "";
			return 0;
		}
	}
	return -1;
}

/* A variable name as the environment has them: [A-Za-z_][A-Za-z0-9_]*. */
static int
env_name(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

/* One line "key = value" into l; NULL, or why it is not one. */
static const char *
parse_line(char *s, const struct option *table, struct d01_conf_line *l)
{
	char *eq = strchr(s, '='), *key, *val, *p;
	size_t n;

	if (eq == NULL)
		return "expected `option = value`";
	*eq = '\0';
	key = trim(s);
	val = trim(eq + 1);
	n = strlen(val);
	if (n >= 2 && (val[0] == '"' || val[0] == '\'') &&
	    val[n - 1] == val[0]) {
		val[n - 1] = '\0';
		val++;
	}
	l->key = key;
	l->value = val;
	if (strncmp(key, "env.", 4) == 0)
		return env_name(key + 4) ? NULL
					 : "env.NAME: not a variable name";
	for (p = key; *p; p++)
		*p = *p == '_' ? '-' : (char)tolower((unsigned char)*p);
	if (strcmp(key, "d") == 0)
		return "unknown option (`domain` is -d)";
	for (l->opt = table; l->opt->name != NULL; l->opt++)
		if (strcmp(l->opt->name, key) == 0)
			break;
	if (l->opt->name == NULL)
		return "unknown option";
	if (strcmp(key, "help") == 0 || strcmp(key, "batch") == 0)
		return "not allowed in a file";
	if (l->opt->has_arg == no_argument)
		return boolean(val, &l->value) == 0 ? NULL : "takes yes or no";
	return *val == '\0' ? "needs a value" : NULL;
}

int
d01_conf_read(const char *path, const struct option *table, struct d01_conf *c,
    int *missing, char *why, size_t n)
{
	struct d01_error err;
	char *line, *next, *s;
	const char *bad;
	size_t len = 0;
	unsigned lineno = 0;

	memset(c, 0, sizeof(*c));
	if (missing != NULL)
		*missing = 0;
	if (d01_file_read(path, D01_CONF_MAX_BYTES, &c->text, &len, &err) !=
	    D01_OK) {
		if (missing != NULL)
			*missing = err.code == D01_E_NOTFOUND;
		snprintf(why, n, "%s: %s", path, err.msg);
		return -1;
	}
	if (memchr(c->text, '\0', len) != NULL) {
		snprintf(why, n, "%s: not a text file", path);
		goto fail;
	}
	if ((c->lines = calloc(D01_CONF_MAX_LINES, sizeof(*c->lines))) ==
	    NULL) {
		snprintf(why, n, "%s: out of memory", path);
		goto fail;
	}
	for (line = c->text; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if (c->n == D01_CONF_MAX_LINES) {
			snprintf(why, n, "%s:%u: more than %d options", path,
			    lineno, D01_CONF_MAX_LINES);
			goto fail;
		}
		c->lines[c->n].lineno = lineno;
		if ((bad = parse_line(s, table, &c->lines[c->n])) != NULL) {
			snprintf(why, n, "%s:%u: %s: %s", path, lineno,
			    c->lines[c->n].key ? c->lines[c->n].key : "", bad);
			goto fail;
		}
		c->n++;
	}
	return 0;
fail:
	d01_conf_free(c);
	return -1;
}
