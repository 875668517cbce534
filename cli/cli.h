/* SPDX-License-Identifier: ISC */
/*
 * Subcommands of the dns01 binary. Each takes the arguments after its name
 * (argv[0] is the subcommand name) and returns the process exit code:
 * 0 success, 1 failure, 2 usage or configuration error.
 */
#ifndef D01_CLI_H
#define D01_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#include "core/err.h"

#define D01_EXIT_OK    0
#define D01_EXIT_FAIL  1
#define D01_EXIT_USAGE 2

int d01_cmd_serve(int argc, char **argv);
int d01_cmd_present(int argc, char **argv);
int d01_cmd_cleanup(int argc, char **argv);
int d01_cmd_check(int argc, char **argv);
int d01_cmd_issue(int argc, char **argv);
int d01_cmd_renew(int argc, char **argv);
int d01_cmd_revoke(int argc, char **argv);
int d01_cmd_acmedns(int argc, char **argv);

/* issue.c: the issue options, shared with `renew` and its files. */
struct d01_issue_opts;
struct d01_issue_job;
extern const struct option d01_issue_longopts[]; /* {NULL} ends it */
/* The defaults of `dns01 issue` (key type, timeouts, namespace...). */
void d01_issue_cli_init(struct d01_issue_opts *o);
/* Option `c` (a d01_issue_longopts val) with value `v` (borrowed for as
 * long as o and job live): 0, 1 for --help, or -1 with *why (a fixed
 * text naming the option, never quoting the value; NULL for '?'). */
int d01_issue_cli_opt(struct d01_issue_opts *o, struct d01_issue_job *job,
    const char **batch, int c, const char *v, const char **why);
/* Cross-option checks of a whole job set; NULL when fine, else why. */
const char *d01_issue_cli_check(const struct d01_issue_opts *o,
    const struct d01_issue_job *jobs, size_t njobs);

/* common.c */

/* "500ms", "10s", "2m" or plain seconds -> milliseconds (1 ms..1 day).
 * Returns 0, or -1 when malformed or out of range. */
int d01_cli_duration_ms(const char *v, long *out);

/* "30d", "12h", "90m", "3600s" or plain seconds -> seconds (0..10 years).
 * Returns 0, or -1 when malformed or out of range. */
int d01_cli_age_s(const char *v, long *out);

/* Present (present = 1) or CleanUp with the options of argv; the shared
 * body of `dns01 present` and `dns01 cleanup`. */
int d01_cli_record(int argc, char **argv, int present);

/* common.c: the providers of the table with their summaries and the
 * environment variables each reads; those that need zones this process
 * serves only when `with_zones` (`issue` can use them, present cannot). */
void d01_cli_provider_help(FILE *f, int with_zones);

/* common.c: the provider's config from its environment variables
 * (d01_provider_env_config with getenv); errors say "no --config and". */
struct d01_provider;
struct d01_secrets;
struct json_t;
struct json_t *d01_cli_env_config(
    const struct d01_provider *p, struct d01_secrets *s, struct d01_error *err);

/* common.c: getenv(3) as a d01_getenv_fn. */
const char *d01_cli_getenv(const char *name);

/* The first nameserver of /etc/resolv.conf ("[v6]" bracketed), or
 * 127.0.0.1; read at start-up, before the loop runs. */
const char *d01_cli_system_resolver(char *buf, size_t len);

#endif
