/* SPDX-License-Identifier: ISC */
/*
 * dns01 check [--nameserver HOST[:PORT]]... [--resolver HOST[:PORT]]
 *             [--ns-port N] [--timeout 120s] [--interval 1s] [--absent]
 *             FQDN VALUE
 * Exit 0 when every authoritative server (or every --nameserver) serves
 * the value (with --absent: none does), 1 when that did not happen in
 * time, 2 on usage errors. One line of output either way.
 *
 * Without --nameserver, the checker discovers the authoritative servers
 * through --resolver (default: the first nameserver of /etc/resolv.conf)
 * and asks them on port 53, or on --ns-port (for test servers). Host
 * names given to --nameserver/--resolver are resolved by the system
 * resolver first (off the loop, like everything else).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cli/cli.h"
#include "core/dns.h"
#include "core/txtcheck.h"

#define MAX_ADDRS (D01_TXTCHECK_MAX_SERVERS + 1)

struct check_args {
	struct d01_txtcheck_opts o;
	char *names[MAX_ADDRS]; /* --nameserver..., or the resolver */
	size_t nnames;
	const char *resolver;
};

struct check_run {
	struct event_base *base;
	struct d01_error err;
	char summary[1024];
	int pending; /* name resolutions still out */
};

/* One --nameserver/--resolver being resolved into *out. */
struct check_addr {
	struct check_run *run;
	struct d01_dns_server *out;
	struct d01_dns_resolve *req;
};

static void
check_done(void *arg, const struct d01_error *err, const char *summary)
{
	struct check_run *run = arg;

	run->err = *err;
	snprintf(run->summary, sizeof(run->summary), "%s", summary);
	event_base_loopexit(run->base, NULL);
}

static void
resolved(
    void *arg, const struct d01_error *err, const struct d01_dns_server *srv)
{
	struct check_addr *a = arg;

	a->req = NULL;
	if (err->code != D01_OK && a->run->err.code == D01_OK)
		a->run->err = *err;
	if (srv != NULL)
		*a->out = *srv;
	if (--a->run->pending == 0)
		event_base_loopexit(a->run->base, NULL);
}

/* Resolve names[i] into out[i] (IP literals too); 0, or -1 with
 * run->err set. */
static int
resolve_all(
    struct check_run *run, char **names, size_t n, struct d01_dns_server *out)
{
	struct check_addr a[MAX_ADDRS] = {{0}};
	size_t i;

	for (i = 0; i < n && run->err.code == D01_OK; i++) {
		a[i].run = run;
		a[i].out = &out[i];
		a[i].req = d01_dns_resolve(
		    run->base, names[i], 53, resolved, &a[i], &run->err);
		run->pending += a[i].req != NULL;
	}
	if (run->err.code == D01_OK && run->pending > 0)
		event_base_dispatch(run->base);
	for (i = 0; i < n; i++) /* after a failure to start one */
		d01_dns_resolve_cancel(a[i].req);
	return run->err.code == D01_OK ? 0 : -1;
}

static int
usage(FILE *f, int rc)
{
	fprintf(f,
	    "usage: dns01 check [--nameserver HOST[:PORT]]... "
	    "[--resolver HOST[:PORT]] [--ns-port N]\n"
	    "       [--timeout 120s] [--interval 1s] [--absent] FQDN "
	    "VALUE\n");
	return rc;
}

/* getopt_long into *a; -1 to go on, else the exit code. */
static int
parse_args(int argc, char **argv, struct check_args *a)
{
	static const struct option longopts[] = {
	    {"nameserver", required_argument, NULL, 'n'},
	    {"resolver", required_argument, NULL, 'r'},
	    {"ns-port", required_argument, NULL, 'p'},
	    {"timeout", required_argument, NULL, 't'},
	    {"interval", required_argument, NULL, 'i'},
	    {"absent", no_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	long v;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (a->nnames == D01_TXTCHECK_MAX_SERVERS) {
				fprintf(stderr,
				    "dns01 check: at most %d "
				    "nameservers\n",
				    D01_TXTCHECK_MAX_SERVERS);
				return D01_EXIT_USAGE;
			}
			a->names[a->nnames++] = optarg;
			break;
		case 'r':
			a->resolver = optarg;
			break;
		case 'p':
			a->o.ns_port = atoi(optarg);
			if (a->o.ns_port < 1 || a->o.ns_port > 65535)
				return usage(stderr, D01_EXIT_USAGE);
			break;
		case 't':
		case 'i':
			if (d01_cli_duration_ms(optarg, &v) != 0)
				return usage(stderr, D01_EXIT_USAGE);
			*(c == 't' ? &a->o.timeout_ms : &a->o.interval_ms) =
			    (int)v;
			break;
		case 'a':
			a->o.absent = 1;
			break;
		case 'h':
			return usage(stdout, D01_EXIT_OK);
		default:
			return usage(stderr, D01_EXIT_USAGE);
		}
	}
	if (argc - optind != 2)
		return usage(stderr, D01_EXIT_USAGE);
	a->o.fqdn = argv[optind];
	a->o.value = argv[optind + 1];
	return -1;
}

int
d01_cmd_check(int argc, char **argv)
{
	struct check_args a = {
	    .o = {.timeout_ms = 120000, .interval_ms = 1000}};
	struct d01_dns_server addrs[MAX_ADDRS];
	struct check_run run = {0};
	struct d01_dns *dns = NULL;
	char rbuf[160];
	int rc;

	if ((rc = parse_args(argc, argv, &a)) >= 0)
		return rc;
	if (a.nnames > 0) { /* exactly these servers */
		a.o.servers = addrs;
		a.o.nservers = a.nnames;
	} else { /* discovery through one resolver */
		a.names[a.nnames++] = (char *)(a.resolver != NULL
			? a.resolver
			: d01_cli_system_resolver(rbuf, sizeof(rbuf)));
		a.o.resolver = &addrs[0];
	}
	if ((run.base = event_base_new()) == NULL ||
	    (dns = d01_dns_new(run.base, 256)) == NULL) {
		d01_error_set(&run.err, D01_E_NOMEM, "out of memory");
		rc = D01_EXIT_FAIL;
		goto out;
	}
	/* A malformed or unknown server name is a usage error. */
	rc = D01_EXIT_USAGE;
	if (resolve_all(&run, a.names, a.nnames, addrs) != 0 ||
	    d01_txtcheck_start(
		run.base, dns, &a.o, check_done, &run, &run.err) == NULL)
		goto out;
	event_base_dispatch(run.base);
	rc = run.err.code == D01_OK ? D01_EXIT_OK : D01_EXIT_FAIL;
	if (rc == D01_EXIT_OK)
		printf("%s\n", run.summary);
out:
	if (rc != D01_EXIT_OK)
		fprintf(stderr, "dns01 check: %s\n",
		    run.summary[0] ? run.summary : run.err.msg);
	d01_dns_free(dns);
	if (run.base != NULL)
		event_base_free(run.base);
	return rc;
}
