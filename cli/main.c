/* SPDX-License-Identifier: ISC */
/* dns01: dispatch to a subcommand. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} commands[] = {
    {"serve", d01_cmd_serve, "serve the cert-manager webhook (HTTPS)"},
    {"present", d01_cmd_present, "add one TXT value through a provider"},
    {"cleanup", d01_cmd_cleanup, "remove exactly one TXT value"},
    {"check", d01_cmd_check,
	"wait until every authoritative server "
	"serves (or dropped) a TXT value"},
    {"issue", d01_cmd_issue, "get or renew a certificate over DNS-01 (ACME)"},
    {"renew", d01_cmd_renew,
	"renew every due certificate of a config directory "
	"(certs.d/NAME.conf)"},
    {"revoke", d01_cmd_revoke, "revoke the certificate of an --out directory"},
    {"acmedns", d01_cmd_acmedns,
	"acmedns import: carry an acme-dns database over into dns01's store"},
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: dns01 COMMAND [OPTIONS]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(
		    f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'dns01 COMMAND --help' describes a command's options.\n");
}

int
main(int argc, char **argv)
{
	size_t i;

	/* A peer closing a socket must not kill the process (libevent and
	 * libcurl with CURLOPT_NOSIGNAL rely on the caller for this). */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return D01_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return D01_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("dns01 %s\n", D01_VERSION);
		return D01_EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "dns01: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return D01_EXIT_USAGE;
}
