/* SPDX-License-Identifier: ISC */
/* Shared by cli/serve*.c only: the flags of `dns01 serve` into the
 * daemon's options (server/daemon.h). */
#ifndef D01_CLI_SERVE_H
#define D01_CLI_SERVE_H

#include "server/daemon.h"

/* serve_flags.c: parse argv into `o` (defaults already set). Returns -1 to
 * go on, or an exit code (help, version, usage error). */
int d01_serve_parse(struct d01_daemon_opts *o, int argc, char **argv);

/* Defaults that depend on other flags, and the checks that stop start-up
 * (printed on stderr). Returns 0, or -1. */
int d01_serve_check(struct d01_daemon_opts *o);

#endif
