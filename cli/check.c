/* SPDX-License-Identifier: ISC */
/*
 * dns01 check [--nameserver ADDR[:PORT]]... [--resolver ADDR[:PORT]]
 *             [--ns-port N] [--timeout 120s] [--interval 1s] [--absent]
 *             FQDN VALUE
 * Exit 0 when every authoritative server (or every --nameserver) serves
 * the value (with --absent: none does), 1 when that did not happen in
 * time, 2 on usage errors. One line of output either way.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cli/cli.h"
#include "core/dns.h"
#include "core/txtcheck.h"

struct check_run {
	struct event_base *base;
	struct d01_error err;
	char summary[1024];
};

static void
check_done(void *arg, const struct d01_error *err, const char *summary)
{
	struct check_run *run = arg;

	run->err = *err;
	snprintf(run->summary, sizeof(run->summary), "%s", summary);
	event_base_loopexit(run->base, NULL);
}

/* The first nameserver of /etc/resolv.conf, read once at start-up. */
static const char *
system_resolver(char *buf, size_t len)
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

static int
usage(FILE *f, int rc)
{
	fprintf(f,
	    "usage: dns01 check [--nameserver ADDR[:PORT]]... "
	    "[--resolver ADDR[:PORT]] [--ns-port N]\n"
	    "       [--timeout 120s] [--interval 1s] [--absent] FQDN "
	    "VALUE\n");
	return rc;
}

int
d01_cmd_check(int argc, char **argv)
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
	struct d01_dns_server servers[D01_TXTCHECK_MAX_SERVERS], resolver;
	struct d01_txtcheck_opts o = {
	    .timeout_ms = 120000, .interval_ms = 1000};
	struct check_run run = {0};
	struct d01_dns *dns = NULL;
	struct d01_txtcheck *t;
	const char *res = NULL;
	char rbuf[160];
	long v;
	int c, rc = D01_EXIT_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (o.nservers == D01_TXTCHECK_MAX_SERVERS ||
			    d01_dns_server_parse(optarg, 53,
				&servers[o.nservers], &run.err) != D01_OK) {
				fprintf(stderr, "dns01 check: %s\n",
				    run.err.msg[0] ? run.err.msg
						   : "too many nameservers");
				return D01_EXIT_USAGE;
			}
			o.nservers++;
			break;
		case 'r':
			res = optarg;
			break;
		case 'p':
			o.ns_port = atoi(optarg);
			if (o.ns_port < 1 || o.ns_port > 65535)
				return usage(stderr, D01_EXIT_USAGE);
			break;
		case 't':
		case 'i':
			if (d01_cli_duration_ms(optarg, &v) != 0)
				return usage(stderr, D01_EXIT_USAGE);
			*(c == 't' ? &o.timeout_ms : &o.interval_ms) = (int)v;
			break;
		case 'a':
			o.absent = 1;
			break;
		case 'h':
			return usage(stdout, D01_EXIT_OK);
		default:
			return usage(stderr, D01_EXIT_USAGE);
		}
	}
	if (argc - optind != 2)
		return usage(stderr, D01_EXIT_USAGE);
	o.fqdn = argv[optind];
	o.value = argv[optind + 1];
	o.servers = servers;
	if (o.nservers == 0) {
		if (res == NULL)
			res = system_resolver(rbuf, sizeof(rbuf));
		if (d01_dns_server_parse(res, 53, &resolver, &run.err)) {
			fprintf(stderr, "dns01 check: %s\n", run.err.msg);
			return D01_EXIT_USAGE;
		}
		o.resolver = &resolver;
	}
	if ((run.base = event_base_new()) == NULL ||
	    (dns = d01_dns_new(run.base, 256)) == NULL) {
		fprintf(stderr, "dns01 check: out of memory\n");
		goto out;
	}
	if ((t = d01_txtcheck_start(
		 run.base, dns, &o, check_done, &run, &run.err)) == NULL) {
		fprintf(stderr, "dns01 check: %s\n", run.err.msg);
		rc = D01_EXIT_USAGE;
		goto out;
	}
	event_base_dispatch(run.base);
	if (run.err.code == D01_OK) {
		printf("%s\n", run.summary);
		rc = D01_EXIT_OK;
	} else {
		fprintf(stderr, "dns01 check: %s\n", run.summary);
	}
out:
	d01_dns_free(dns);
	if (run.base != NULL)
		event_base_free(run.base);
	return rc;
}
