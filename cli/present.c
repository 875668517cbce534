/* SPDX-License-Identifier: ISC */
/* dns01 present: add one TXT value through a provider (see record.c). */
#include "cli/cli.h"

int
d01_cmd_present(int argc, char **argv)
{
	return d01_cli_record(argc, argv, 1);
}
