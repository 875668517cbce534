/* SPDX-License-Identifier: ISC */
/*
 * dns01 revoke: revoke the certificate `dns01 issue` wrote into --out.
 *   dns01 revoke --out DIR [--reason NAME] [--with-cert-key]
 *                [--directory URL] [--account-key FILE] [--ca-bundle FILE]
 * Exit 0 revoked, 1 failed, 2 usage. The work is issuer/revoke.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/log.h"
#include "issuer/directory.h"
#include "issuer/revoke.h"

static int
usage(FILE *f, int rc)
{
	fprintf(f,
	    "usage: dns01 revoke --out DIR [--reason REASON] "
	    "[--with-cert-key]\n"
	    "         [--directory URL] [--account-key FILE] "
	    "[--ca-bundle FILE]\n"
	    "         [--log-level error|warn|info|debug]\n"
	    "Revokes DIR/cert.pem at the CA of DIR/renewal.json (or "
	    "--directory),\nsigned with the account key (DIR/account.key or "
	    "--account-key) or,\nwith --with-cert-key, with DIR/privkey.pem.\n"
	    "--reason: %s\n",
	    d01_revoke_reasons);
	return rc;
}

enum {
	OPT_OUT = 256,
	OPT_REASON,
	OPT_CERT_KEY,
	OPT_DIR,
	OPT_ACCT,
	OPT_CA,
	OPT_LOG
};

static const struct option longopts[] = {
    {"out", required_argument, NULL, OPT_OUT},
    {"reason", required_argument, NULL, OPT_REASON},
    {"with-cert-key", no_argument, NULL, OPT_CERT_KEY},
    {"directory", required_argument, NULL, OPT_DIR},
    {"account-key", required_argument, NULL, OPT_ACCT},
    {"ca-bundle", required_argument, NULL, OPT_CA},
    {"log-level", required_argument, NULL, OPT_LOG},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int
d01_cmd_revoke(int argc, char **argv)
{
	struct d01_revoke_opts o = {.reason = -1};
	enum d01_log_level level;
	const char *why = NULL, *named;
	int c;

	optind = 1;
	while (why == NULL &&
	    (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_OUT:
			o.out = optarg;
			break;
		case OPT_REASON:
			if ((o.reason = d01_revoke_reason(optarg)) < 0)
				why = "--reason: unknown";
			break;
		case OPT_CERT_KEY:
			o.with_cert_key = 1;
			break;
		case OPT_DIR:
			named = d01_acme_directory_named(optarg);
			o.directory = named ? named : optarg;
			if (!d01_acme_url_ok(o.directory))
				why = "--directory: a URL or a known name";
			break;
		case OPT_ACCT:
			o.account_key = optarg;
			break;
		case OPT_CA:
			o.ca_bundle = optarg;
			break;
		case OPT_LOG:
			if (d01_log_parse_level(optarg, &level) != 0)
				why = "--log-level: error, warn, info or debug";
			else
				d01_log_set_level(level);
			break;
		case 'h':
			return usage(stdout, D01_EXIT_OK);
		default:
			return usage(stderr, D01_EXIT_USAGE);
		}
	}
	if (why == NULL && (o.out == NULL || optind != argc))
		why = "--out DIR is required, and nothing else";
	if (why == NULL && o.with_cert_key && o.account_key != NULL)
		why = "--with-cert-key and --account-key exclude each other";
	if (why != NULL) {
		fprintf(stderr, "dns01 revoke: %s\n", why);
		return usage(stderr, D01_EXIT_USAGE);
	}
	/* The status values are the exit codes (issuer/issue.h). */
	return (int)d01_revoke(&o);
}
