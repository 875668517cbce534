/* SPDX-License-Identifier: ISC */
/*
 * dns01 acmedns import --from sqlite:PATH|postgres://...
 *                      --to sqlite:PATH|postgres://... --acmedns-domain D
 *                      [--embedded-zone Z] [--embedded-record-ttl 24h]
 *                      [--dry-run]
 * Carries an acme-dns database over into dns01's durable store: every
 * account with its bcrypt hash, subdomain and allowfrom (so the clients'
 * credentials and the CNAMEs pointing at <subdomain>.D keep working) and
 * the TXT values still younger than the record TTL. The reading is
 * store/acmedns_src.c; the writing goes through the same back end and the
 * same embedded-provider write path `dns01 serve` uses, so an imported
 * row is exactly what a registration or an update would have made.
 *
 * Idempotent: an account whose username or subdomain is already in the
 * store is reported and kept as it is, never overwritten (a second run
 * changes nothing; a clash with a dns01 registration cannot take it
 * over); a value already there is success.
 * Exit 0 all carried over, 1 some rows failed or were skipped, 2 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "cli/cli.h"
#include "core/dname.h"
#include "core/log.h"
#include "providers/embedded/accounts.h"
#include "providers/embedded/embedded.h"
#include "providers/env.h"
#include "providers/provider.h"
#include "store/acmedns_src.h"
#include "store/dbstore.h"

#define IMPORT_INFLIGHT	  16
#define IMPORT_TIMEOUT_MS 30000

struct import {
	struct d01_env env;
	struct d01_dbstore *db;
	struct d01_recstore_backend be;
	const struct d01_acmedns_src *src;
	const char *domain; /* absolute, lower-case */
	size_t next_acct, next_value, inflight;
	time_t oldest; /* values updated before this have expired */
	size_t accts_ok, accts_there, values_ok, values_old, failed;
};

struct job {
	struct import *im;
	char what[D01_DNAME_BUF]; /* what a failure names: never the hash */
	int acct;
};

static int
usage(FILE *f, int rc)
{
	fprintf(f,
	    "usage: dns01 acmedns import --from sqlite:PATH|postgres://...\n"
	    "         --to sqlite:PATH|postgres://... --acmedns-domain DOMAIN\n"
	    "         [--embedded-zone ZONE] [--embedded-record-ttl 24h] "
	    "[--dry-run]\n"
	    "Reads an acme-dns database (its records and txt tables) and "
	    "writes its\naccounts (bcrypt hashes, subdomains, allowfrom) and "
	    "its TXT values younger\nthan the TTL into dns01's store, which "
	    "`dns01 serve --embedded-store` then\nuses. --dry-run prints what "
	    "would be imported and writes nothing.\n");
	return rc;
}

static void pump(struct import *im);

static void
job_done(struct job *j, const struct d01_error *err)
{
	struct import *im = j->im;

	im->inflight--;
	if (err->code == D01_OK)
		(*(j->acct ? &im->accts_ok : &im->values_ok))++;
	else if (j->acct && err->code == D01_E_CONFLICT) {
		im->accts_there++; /* never overwritten: see the top */
		fprintf(stderr,
		    "dns01 acmedns import: account %s: already in the store, "
		    "kept as it is\n",
		    j->what);
	} else {
		im->failed++;
		fprintf(stderr, "dns01 acmedns import: %s %s: %s\n",
		    j->acct ? "account" : "value", j->what, err->msg);
	}
	free(j);
	pump(im);
}

static void
acct_written(void *arg, const struct d01_error *err)
{
	job_done(arg, err);
}

static void
value_written(void *arg, const struct d01_error *err)
{
	job_done(arg, err);
}

static void
start_acct(struct import *im, const struct d01_recstore_acct *a)
{
	struct job *j = calloc(1, sizeof(*j));
	struct d01_error err = {0};

	if (j == NULL) {
		im->failed++;
		return;
	}
	j->im = im;
	j->acct = 1;
	snprintf(j->what, sizeof(j->what), "%s", a->username);
	im->inflight++;
	if (im->be.acct_start(im->be.ctx, a, IMPORT_TIMEOUT_MS, acct_written, j,
		&err) == NULL) {
		im->inflight--;
		im->failed++;
		fprintf(stderr, "dns01 acmedns import: account %s: %s\n",
		    a->username, err.msg);
		free(j);
	}
}

static void
start_value(struct import *im, const struct d01_acmedns_value *v)
{
	struct d01_challenge ch = {0};
	struct d01_error err = {0};
	struct job *j = calloc(1, sizeof(*j));
	char fqdn[D01_DNAME_BUF];

	if (v->updated < (int64_t)im->oldest) {
		im->values_old++;
		free(j);
		return;
	}
	if (j == NULL) {
		im->failed++;
		return;
	}
	j->im = im;
	snprintf(fqdn, sizeof(fqdn), "%s.%s", v->subdomain, im->domain);
	snprintf(j->what, sizeof(j->what), "%s", fqdn);
	ch.uid = "import";
	ch.dns_name = "";
	ch.fqdn = fqdn;
	ch.key = v->value;
	im->inflight++;
	if (d01_provider_start(&d01_provider_embedded, &im->env, NULL, &ch, 1,
		IMPORT_TIMEOUT_MS, value_written, j, &err) == NULL) {
		im->inflight--;
		im->failed++;
		fprintf(stderr, "dns01 acmedns import: value %s: %s\n", fqdn,
		    err.msg);
		free(j);
	}
}

/* Accounts first, then values, IMPORT_INFLIGHT at a time; the loop ends
 * when the last write has answered. */
static void
pump(struct import *im)
{
	while (im->inflight < IMPORT_INFLIGHT) {
		if (im->next_acct < im->src->naccts)
			start_acct(im, &im->src->accts[im->next_acct++]);
		else if (im->next_value < im->src->nvalues)
			start_value(im, &im->src->values[im->next_value++]);
		else
			break;
	}
	if (im->inflight == 0 && im->next_acct >= im->src->naccts &&
	    im->next_value >= im->src->nvalues)
		event_base_loopexit(im->env.base, NULL);
}

static void
dry_run(const struct import *im)
{
	const struct d01_acmedns_src *src = im->src;
	size_t i, old = 0;

	for (i = 0; i < src->naccts; i++)
		printf(
		    "account %s subdomain %s fulldomain %s.%s allowfrom %s\n",
		    src->accts[i].username, src->accts[i].subdomain,
		    src->accts[i].subdomain, im->domain,
		    src->accts[i].allowfrom);
	for (i = 0; i < src->nvalues; i++) {
		if (src->values[i].updated < (int64_t)im->oldest) {
			old++;
			continue;
		}
		printf("value %s.%s \"%s\"\n", src->values[i].subdomain,
		    im->domain, src->values[i].value);
	}
	printf("dry run: would import %zu accounts and %zu values (%zu "
	       "values older than the TTL left out, %zu rows skipped); "
	       "nothing written\n",
	    src->naccts, src->nvalues - old, old, src->skipped);
}

enum {
	OPT_FROM = 256,
	OPT_TO,
	OPT_DOMAIN,
	OPT_ZONE,
	OPT_TTL,
	OPT_DRY,
	OPT_LOG
};

static const struct option longopts[] = {
    {"from", required_argument, NULL, OPT_FROM},
    {"to", required_argument, NULL, OPT_TO},
    {"acmedns-domain", required_argument, NULL, OPT_DOMAIN},
    {"embedded-zone", required_argument, NULL, OPT_ZONE},
    {"embedded-record-ttl", required_argument, NULL, OPT_TTL},
    {"dry-run", no_argument, NULL, OPT_DRY},
    {"log-level", required_argument, NULL, OPT_LOG},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct import_args {
	const char *from, *to, *zone_arg;
	char domain[D01_DNAME_BUF], zone[D01_DNAME_BUF];
	long ttl_s;
	int dry;
};

static int
parse(int argc, char **argv, struct import_args *a)
{
	enum d01_log_level level;
	const char *dom = NULL;
	int c;

	a->ttl_s = 86400;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_FROM:
			a->from = optarg;
			break;
		case OPT_TO:
			a->to = optarg;
			break;
		case OPT_DOMAIN:
			dom = optarg;
			break;
		case OPT_ZONE:
			a->zone_arg = optarg;
			break;
		case OPT_TTL:
			if (d01_cli_age_s(optarg, &a->ttl_s) != 0 ||
			    a->ttl_s < 60) {
				fprintf(stderr,
				    "dns01 acmedns import: "
				    "--embedded-record-ttl must be "
				    "a duration of 1m or more\n");
				return D01_EXIT_USAGE;
			}
			break;
		case OPT_DRY:
			a->dry = 1;
			break;
		case OPT_LOG:
			if (d01_log_parse_level(optarg, &level) != 0)
				return usage(stderr, D01_EXIT_USAGE);
			d01_log_set_level(level);
			break;
		case 'h':
			return usage(stdout, D01_EXIT_OK);
		default:
			return usage(stderr, D01_EXIT_USAGE);
		}
	}
	if (optind != argc || a->from == NULL || dom == NULL ||
	    (a->to == NULL && !a->dry))
		return usage(stderr, D01_EXIT_USAGE);
	if (d01_dname_normalise(a->domain, sizeof(a->domain), dom) != 0 ||
	    d01_dname_normalise(a->zone, sizeof(a->zone),
		a->zone_arg != NULL ? a->zone_arg : dom) != 0 ||
	    !d01_dname_in_zone(a->domain, a->zone)) {
		fprintf(stderr,
		    "dns01 acmedns import: --acmedns-domain must "
		    "be a DNS name inside --embedded-zone\n");
		return D01_EXIT_USAGE;
	}
	if (a->to != NULL && !d01_dbstore_is_url(a->to)) {
		fprintf(stderr,
		    "dns01 acmedns import: --to must be "
		    "sqlite:PATH or postgres://...\n");
		return D01_EXIT_USAGE;
	}
	return -1;
}

static int
import_run(
    struct import *im, const struct import_args *a, struct d01_error *err)
{
	const char *zones[1] = {a->zone};
	struct d01_env_opts eo = {.zones = zones, .nzones = 1};
	struct d01_dbstore_opts so = {.url = a->to,
	    .zones = zones,
	    .nzones = 1,
	    .ttl_s = a->ttl_s,
	    .writer = "dns01-acmedns-import"};
	struct d01_recstore_sink sink;

	if (d01_env_open(&im->env, &eo, err) != D01_OK ||
	    d01_embedded_sink(&im->env, &sink) != 0)
		return -1;
	if ((im->db = d01_dbstore_new(im->env.base, &sink, &so, err)) == NULL)
		return -1;
	d01_dbstore_backend(im->db, &im->be);
	d01_embedded_set_backend(&im->env, &im->be);
	pump(im);
	event_base_dispatch(im->env.base);
	d01_embedded_set_backend(&im->env, NULL);
	printf("imported %zu accounts (%zu already there, kept) and %zu "
	       "values (%zu older than the TTL left out); %zu failed, %zu "
	       "rows skipped\n",
	    im->accts_ok, im->accts_there, im->values_ok, im->values_old,
	    im->failed, im->src->skipped);
	return 0;
}

int
d01_cmd_acmedns(int argc, char **argv)
{
	struct import_args a = {0};
	struct d01_acmedns_src src = {0};
	struct import im = {0};
	struct d01_error err = {0};
	size_t i;
	int rc;

	if (argc < 2 || strcmp(argv[1], "import") != 0) {
		if (argc >= 2 &&
		    (strcmp(argv[1], "--help") == 0 ||
			strcmp(argv[1], "-h") == 0))
			return usage(stdout, D01_EXIT_OK);
		return usage(stderr, D01_EXIT_USAGE);
	}
	if ((rc = parse(argc - 1, argv + 1, &a)) >= 0)
		return rc;
	if (d01_acmedns_src_read(a.from, &src, &err) != D01_OK) {
		fprintf(stderr, "dns01 acmedns import: %s\n", err.msg);
		rc = err.code == D01_E_CONFIG ? D01_EXIT_USAGE : D01_EXIT_FAIL;
		goto out;
	}
	for (i = 0; i < src.nwhy; i++)
		fprintf(
		    stderr, "dns01 acmedns import: skipped %s\n", src.why[i]);
	im.src = &src;
	im.domain = a.domain;
	im.oldest = time(NULL) - a.ttl_s;
	if (a.dry) {
		dry_run(&im);
		rc = src.skipped > 0 ? D01_EXIT_FAIL : D01_EXIT_OK;
		goto out;
	}
	if (import_run(&im, &a, &err) != 0) {
		fprintf(stderr, "dns01 acmedns import: %s\n", err.msg);
		rc = D01_EXIT_FAIL;
		goto out;
	}
	rc = im.failed > 0 || src.skipped > 0 ? D01_EXIT_FAIL : D01_EXIT_OK;
out:
	d01_dbstore_free(im.db);
	d01_env_close(&im.env);
	d01_acmedns_src_free(&src);
	return rc;
}
