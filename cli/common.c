/* SPDX-License-Identifier: ISC */
/* Small helpers shared by the subcommands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "providers/provider.h"

#define HELP_INDENT 16
#define HELP_WIDTH  78

/* Print `item` on the line at column *col, wrapping before it when the
 * line would grow past HELP_WIDTH. */
static void
help_item(FILE *f, int *col, const char *item, int first)
{
	int len = (int)strlen(item) + (first ? 0 : 2);

	if (!first && *col + len > HELP_WIDTH) {
		fprintf(f, ",\n%*s", HELP_INDENT, "");
		*col = HELP_INDENT;
		len -= 2;
	} else if (!first) {
		fputs(", ", f);
	}
	fputs(item, f);
	*col += len;
}

/* One line group: the variables of one kind (plain or ambient). */
static void
help_vars(FILE *f, const struct d01_provider *p, int ambient)
{
	const struct d01_envvar *v;
	char item[128];
	int col = HELP_INDENT, any = 0;

	for (v = p->envvars; v->name != NULL; v++) {
		if ((v->kind == D01_ENVVAR_AMBIENT) != ambient)
			continue;
		snprintf(item, sizeof(item), "%s%s%s%s%s",
		    !any && ambient ? "own credentials: " : "", v->name,
		    v->alt ? "|" : "", v->alt ? v->alt : "",
		    v->required ? " (required)" : "");
		if (!any)
			fprintf(f, "%*s", HELP_INDENT, "");
		help_item(f, &col, item, !any);
		any = 1;
	}
	if (any)
		fputc('\n', f);
}

void
d01_cli_provider_help(FILE *f, int with_zones)
{
	const struct d01_provider *p;
	size_t i;

	for (i = 0; (p = d01_providers[i]) != NULL; i++) {
		if (p->needs_zones && !with_zones)
			continue;
		fprintf(f, "  %-*s%s\n", HELP_INDENT - 2, p->name, p->summary);
		if (p->needs_zones)
			fprintf(f,
			    "%*s--embedded-zone ZONE --dns-listen "
			    "ADDR:PORT\n",
			    HELP_INDENT, "");
		if (p->envvars != NULL) {
			help_vars(f, p, 0);
			help_vars(f, p, 1);
		}
	}
}

const char *
d01_cli_getenv(const char *name)
{
	return getenv(name);
}

json_t *
d01_cli_env_config(
    const struct d01_provider *p, struct d01_secrets *s, struct d01_error *err)
{
	json_t *c = d01_provider_env_config(p, d01_cli_getenv, s, err);

	if (c == NULL && err->code != D01_OK)
		d01_error_prefix(err, "no --config and ");
	return c;
}

int
d01_cli_duration_ms(const char *v, long *out)
{
	char *end;
	double n = strtod(v, &end);
	double mul = 1000;

	if (end == v)
		return -1;
	if (strcmp(end, "ms") == 0)
		mul = 1;
	else if (strcmp(end, "m") == 0)
		mul = 60000;
	else if (strcmp(end, "h") == 0)
		mul = 3600000;
	else if (*end != '\0' && strcmp(end, "s") != 0)
		return -1;
	if (!(n * mul >= 1 && n * mul <= 86400000.0))
		return -1;
	*out = (long)(n * mul);
	return 0;
}

int
d01_cli_age_s(const char *v, long *out)
{
	char *end;
	long n = strtol(v, &end, 10), mul = 1;

	if (end == v || n < 0)
		return -1;
	if (strcmp(end, "d") == 0)
		mul = 86400;
	else if (strcmp(end, "h") == 0)
		mul = 3600;
	else if (strcmp(end, "m") == 0)
		mul = 60;
	else if (*end != '\0' && strcmp(end, "s") != 0)
		return -1;
	if (n > 3650L * 86400 / mul)
		return -1;
	*out = n * mul;
	return 0;
}

const char *
d01_cli_system_resolver(char *buf, size_t len)
{
	FILE *f = fopen("/etc/resolv.conf", "r");
	char line[256], addr[128];

	snprintf(buf, len, "127.0.0.1");
	if (f == NULL)
		return buf;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, " nameserver %127s", addr) == 1) {
			snprintf(
			    buf, len, strchr(addr, ':') ? "[%s]" : "%s", addr);
			break;
		}
	fclose(f);
	return buf;
}
