/* SPDX-License-Identifier: ISC */
/*
 * dns01 serve: the flags (serve_flags.c) into the daemon's options, the
 * daemon (server/daemon.c), and in demo mode the commands a newcomer
 * pastes into another shell.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/serve.h"
#include "core/http_client.h"
#include "httpd/http.h"
#include "providers/provider.h"
#include "server/daemon.h"

/*
 * The demo prints commands a newcomer pastes into another shell. They use
 * only curl (installed by `make run`, scripts/deps.sh) and dns01 itself:
 * a fresh Debian machine has no dig.
 */
static void
print_demo(const struct d01_daemon_opts *o)
{
	const char *body = "{\"request\":{\"uid\":\"demo\",\"action\":\"%s\","
			   "\"type\":\"dns-01\",\"dnsName\":\"www.%s\","
			   "\"key\":\"dns01-demo-challenge-value\","
			   "\"resolvedFQDN\":\"_acme-challenge.www.%s.\","
			   "\"resolvedZone\":\"%s.\"}}";
	char zone[256], self[PATH_MAX];
	const char *solver = "";
	ssize_t n;
	size_t zl;
	int i;

	/* The solver that answers from the --embedded-zone zones. */
	for (zl = 0; d01_providers[zl] != NULL; zl++)
		if (d01_providers[zl]->needs_zones && solver[0] == '\0')
			solver = d01_providers[zl]->name;

	snprintf(zone, sizeof(zone), "%s", o->zones[0]);
	zl = strlen(zone);
	if (zl > 0 && zone[zl - 1] == '.')
		zone[zl - 1] = '\0';
	/* The path of this binary, so the printed check runs from any
	 * directory; "dns01" (from PATH) if /proc is not there. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || memchr(self, '\'', (size_t)n) != NULL)
		n = (ssize_t)strlen(strcpy(self, "dns01"));
	self[n] = '\0';
	printf("\ndns01 demo: webhook on https://%s:%ld, DNS for %s. on %s\n",
	    o->bind, o->port, zone, o->dns_listen.v[0]);
	printf("No client authentication in demo mode. Try, in another "
	       "shell:\n\n");
	for (i = 0; i < 2; i++) {
		const char *action = i == 0 ? "Present" : "CleanUp";

		printf("# %s the TXT record, then see that the DNS server %s "
		       "it:\n",
		    action, i == 0 ? "serves" : "no longer serves");
		printf("curl -sk -X POST -H 'Content-Type: application/json' "
		       "https://%s:%ld/apis/%s/v1alpha1/%s -d '",
		    o->bind, o->port, o->group, solver);
		printf(body, action, zone, zone, zone);
		printf("'\n");
		printf("'%s' check --nameserver %s --timeout 5s%s "
		       "_acme-challenge.www.%s dns01-demo-challenge-value\n\n",
		    self, o->dns_listen.v[0], i == 0 ? "" : " --absent", zone);
	}
	fflush(stdout);
}

int
d01_cmd_serve(int argc, char **argv)
{
	struct d01_daemon_opts o = {.port = 8443,
	    .reload_ms = 10000,
	    .trust_refresh_ms = 60000,
	    .request_ms = 30000,
	    .idle_ms = 60000,
	    .max_inflight = 512,
	    .max_conns = 1024,
	    .max_upstream = D01_HTTP_MAX_HOST_CONNS,
	    .provider_ms = D01_OP_TIMEOUT_WEBHOOK_MS,
	    .max_body_total = 64L << 20,
	    .head_ms = 10000,
	    .embedded_ttl_ms = 86400000,
	    .embedded_stale_ms = 30000,
	    .acmedns = {.rate = 60,
		.bcrypt_cost = 10,
		.reg_rate = 10,
		.fail_rate = 10}};
	struct d01_daemon *d;
	struct d01_error err;
	int rc;

	/* Before any libevent call: libevent must allocate through it. */
	d01_http_watch_allocations();
	if ((rc = d01_serve_parse(&o, argc, argv)) >= 0)
		return rc;
	if (d01_serve_check(&o) != 0)
		return D01_EXIT_USAGE;
	d01_error_clear(&err);
	if ((d = d01_daemon_new(&o, &err)) == NULL) {
		fprintf(stderr, "dns01 serve: %s\n", err.msg);
		return err.code == D01_E_CONFIG ? D01_EXIT_USAGE
						: D01_EXIT_FAIL;
	}
	if (o.demo)
		print_demo(&o);
	rc = D01_EXIT_OK;
	if (d01_daemon_run(d, &err) != D01_OK) {
		fprintf(stderr, "dns01 serve: %s\n", err.msg);
		rc = D01_EXIT_FAIL;
	}
	d01_daemon_free(d);
	return rc;
}
