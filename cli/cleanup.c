/* SPDX-License-Identifier: ISC */
/* dns01 cleanup: remove exactly one TXT value (see record.c). */
#include "cli/cli.h"

int
d01_cmd_cleanup(int argc, char **argv)
{
	return d01_cli_record(argc, argv, 0);
}
