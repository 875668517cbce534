/* SPDX-License-Identifier: ISC */
/*
 * Subcommands of the dns01 binary. Each takes the arguments after its name
 * (argv[0] is the subcommand name) and returns the process exit code:
 * 0 success, 1 failure, 2 usage or configuration error.
 */
#ifndef D01_CLI_H
#define D01_CLI_H

#define D01_EXIT_OK    0
#define D01_EXIT_FAIL  1
#define D01_EXIT_USAGE 2

int d01_cmd_serve(int argc, char **argv);

#endif
