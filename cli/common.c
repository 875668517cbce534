/* SPDX-License-Identifier: ISC */
/* Small helpers shared by the subcommands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

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
