/* SPDX-License-Identifier: ISC */
/*
 * dns01 serve: flags -> TLS context, embedded zones, webhook server, then
 * the event loop until SIGTERM/SIGINT drains it.
 *
 * Flags take both `--flag=value` and `--flag value`. Flags of the Go
 * webhook library that charts derived from cert-manager's example pass
 * (`--v=2`, `--authentication-kubeconfig=...`) are accepted with a warning;
 * anything else unknown is a usage error (exit 2).
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cli/cli.h"
#include "core/dns.h"
#include "core/http_client.h"
#include "core/log.h"
#include "core/secret.h"
#include "providers/embedded/dnsd.h"
#include "providers/embedded/store.h"
#include "server/certwatch.h"
#include "server/server.h"
#include "server/tls.h"

#define MAX_ZONES	  D01_STORE_MAX_ZONES
#define MAX_ALLOWED	  32
#define DRAIN_DEADLINE_MS 25000

struct serve_opts {
	long port;
	const char *bind;
	const char *cert, *key;
	const char *group;
	const char *client_ca;
	const char *allowed_csv;
	const char *secrets_dir;
	const char *zones[MAX_ZONES];
	size_t nzones;
	const char *dns_listen;
	const char *log_level;
	long reload_ms;
	long request_ms, idle_ms;
	long max_inflight;
	int demo;
};

enum opt_kind { O_STR, O_INT, O_DURATION, O_BOOL, O_ZONE, O_HELP, O_VERSION };

static const struct serve_flag {
	const char *name;
	enum opt_kind kind;
	size_t off;
	const char *help;
} serve_flags[] = {
#define OFF(f) offsetof(struct serve_opts, f)
    {"secure-port", O_INT, OFF(port), "HTTPS port (default 8443)"},
    {"bind-address", O_STR, OFF(bind), "listen address (default 0.0.0.0)"},
    {"tls-cert-file", O_STR, OFF(cert), "serving certificate chain (PEM)"},
    {"tls-private-key-file", O_STR, OFF(key), "serving key (PEM)"},
    {"group-name", O_STR, OFF(group), "API group (env GROUP_NAME)"},
    {"requestheader-client-ca-file", O_STR, OFF(client_ca),
	"CA of the front-proxy client certificate"},
    {"requestheader-allowed-names", O_STR, OFF(allowed_csv),
	"allowed front-proxy CNs, comma separated (empty: any)"},
    {"secrets-dir", O_STR, OFF(secrets_dir),
	"Secrets laid out as <dir>/<namespace>/<name>/<key>"},
    {"embedded-zone", O_ZONE, 0,
	"zone served by the embedded DNS "
	"(repeatable)"},
    {"dns-listen", O_STR, OFF(dns_listen),
	"embedded DNS address, ADDR:PORT (UDP and TCP)"},
    {"log-level", O_STR, OFF(log_level), "error|warn|info|debug"},
    {"request-timeout", O_DURATION, OFF(request_ms),
	"time to receive a whole request (30s)"},
    {"idle-timeout", O_DURATION, OFF(idle_ms),
	"keep-alive idle and TLS handshake limit (60s)"},
    {"max-requests-inflight", O_INT, OFF(max_inflight),
	"requests handled at once before 503 (512)"},
    {"tls-reload-interval", O_DURATION, OFF(reload_ms),
	"how often to look for a renewed serving certificate (10s)"},
    {"demo", O_BOOL, OFF(demo), "self-contained local demo (no auth)"},
    {"help", O_HELP, 0, "this text"},
    {"version", O_VERSION, 0, "print the version"},
#undef OFF
};

/* Go webhook flags accepted and ignored; the booleans take no value. */
static const char *const go_prefixes[] = {"v", "vmodule", "logging-format",
    "log-flush-frequency", "authentication-", "authorization-", "audit-",
    "kubeconfig", "cert-dir", "tls-cipher-suites", "tls-min-version",
    "tls-sni-cert-key", "tls-curve-preferences",
    "http2-max-streams-per-connection", "disable-http2-serving",
    "permit-port-sharing", "permit-address-sharing", "client-ca-file",
    "requestheader-username-headers", "requestheader-group-headers",
    "requestheader-extra-headers-prefix", "requestheader-uid-headers",
    "profiling", "contention-profiling", "debug-socket-path",
    "enable-priority-and-fairness", "egress-selector-config-file",
    "tracing-config-file", "alsologtostderr", "logtostderr", "stderrthreshold"};
static const char *const go_bools[] = {"disable-http2-serving",
    "permit-port-sharing", "permit-address-sharing", "profiling",
    "contention-profiling", "enable-priority-and-fairness",
    "authentication-skip-lookup", "authentication-tolerate-lookup-failure",
    "alsologtostderr", "logtostderr"};

static void
serve_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: dns01 serve [--demo] [FLAGS]\n\n");
	for (i = 0; i < sizeof(serve_flags) / sizeof(serve_flags[0]); i++)
		fprintf(f, "  --%-30s %s\n", serve_flags[i].name,
		    serve_flags[i].help);
}

static int
in_list(
    const char *name, size_t len, const char *const *list, size_t n, int prefix)
{
	size_t i, l;

	for (i = 0; i < n; i++) {
		l = strlen(list[i]);
		if (prefix && list[i][l - 1] == '-' && len >= l &&
		    strncmp(name, list[i], l) == 0)
			return 1;
		if (l == len && strncmp(name, list[i], l) == 0)
			return 1;
	}
	return 0;
}

static int
set_flag(struct serve_opts *o, const struct serve_flag *f, const char *v)
{
	char *end;

	switch (f->kind) {
	case O_STR:
		*(const char **)((char *)o + f->off) = v;
		return 0;
	case O_INT:
		*(long *)((char *)o + f->off) = strtol(v, &end, 10);
		return (*v == '\0' || *end != '\0') ? -1 : 0;
	case O_DURATION:
		return d01_cli_duration_ms(v, (long *)((char *)o + f->off));
	case O_BOOL:
		if (v == NULL || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
			*(int *)((char *)o + f->off) = 1;
		else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
			*(int *)((char *)o + f->off) = 0;
		else
			return -1;
		return 0;
	case O_ZONE:
		if (o->nzones == MAX_ZONES)
			return -1;
		o->zones[o->nzones++] = v;
		return 0;
	default:
		return -1;
	}
}

/* Returns -1 to continue, or an exit code (help, version, usage). */
static int
parse_args(struct serve_opts *o, int argc, char **argv)
{
	const size_t nflags = sizeof(serve_flags) / sizeof(serve_flags[0]);
	const struct serve_flag *f;
	const char *arg, *eq, *val;
	size_t i, len;
	int a;

	for (a = 1; a < argc; a++) {
		arg = argv[a];
		if (arg[0] != '-') {
			fprintf(stderr,
			    "dns01 serve: unexpected argument "
			    "'%s'\n",
			    arg);
			return D01_EXIT_USAGE;
		}
		arg += arg[1] == '-' ? 2 : 1; /* Go accepts -flag too */
		eq = strchr(arg, '=');
		len = eq ? (size_t)(eq - arg) : strlen(arg);
		val = eq ? eq + 1 : NULL;
		for (f = NULL, i = 0; i < nflags; i++)
			if (strlen(serve_flags[i].name) == len &&
			    strncmp(serve_flags[i].name, arg, len) == 0)
				f = &serve_flags[i];
		if (f != NULL && f->kind == O_HELP) {
			serve_usage(stdout);
			return D01_EXIT_OK;
		}
		if (f != NULL && f->kind == O_VERSION) {
			printf("dns01 %s\n", D01_VERSION);
			return D01_EXIT_OK;
		}
		if (f == NULL) {
			if (!in_list(arg, len, go_prefixes,
				sizeof(go_prefixes) / sizeof(go_prefixes[0]),
				1)) {
				fprintf(stderr,
				    "dns01 serve: unknown flag "
				    "'%s' (see --help)\n",
				    argv[a]);
				return D01_EXIT_USAGE;
			}
			d01_log(D01_LOG_WARN, "flag_ignored", "flag=--%.*s",
			    (int)len, arg);
			if (val == NULL &&
			    !in_list(arg, len, go_bools,
				sizeof(go_bools) / sizeof(go_bools[0]), 0) &&
			    a + 1 < argc && argv[a + 1][0] != '-')
				a++;
			continue;
		}
		if (val == NULL && f->kind != O_BOOL) {
			if (a + 1 >= argc) {
				fprintf(stderr,
				    "dns01 serve: --%s needs a "
				    "value\n",
				    f->name);
				return D01_EXIT_USAGE;
			}
			val = argv[++a];
		}
		if (set_flag(o, f, val) != 0) {
			fprintf(stderr, "dns01 serve: bad value for --%s\n",
			    f->name);
			return D01_EXIT_USAGE;
		}
	}
	return -1;
}

static int
is_loopback(const char *addr)
{
	return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0;
}

/* Defaults, demo defaults and the checks that make start-up fail. */
static int
check_opts(struct serve_opts *o)
{
	const char *env_group = getenv("GROUP_NAME");
	enum d01_log_level lvl;

	if (o->log_level != NULL) {
		if (d01_log_parse_level(o->log_level, &lvl) != 0) {
			fprintf(stderr,
			    "dns01 serve: --log-level must be "
			    "error, warn, info or debug\n");
			return -1;
		}
		d01_log_set_level(lvl);
	}
	if (o->group == NULL && env_group != NULL && *env_group != '\0')
		o->group = env_group;
	if (o->demo) {
		if (o->group == NULL)
			o->group = "acme.dns01.demo";
		if (o->bind == NULL)
			o->bind = "127.0.0.1";
		if (o->dns_listen == NULL)
			o->dns_listen = "127.0.0.1:5353";
		if (o->nzones == 0)
			o->zones[o->nzones++] = "demo.test";
		if (!is_loopback(o->bind)) {
			fprintf(stderr,
			    "dns01 serve: --demo disables "
			    "authentication and only binds to "
			    "loopback addresses\n");
			return -1;
		}
	}
	if (o->bind == NULL)
		o->bind = "0.0.0.0";
	if (o->port <= 0 || o->port > 65535) {
		fprintf(stderr, "dns01 serve: --secure-port must be 1-65535\n");
		return -1;
	}
	if (o->max_inflight < 1 || o->max_inflight > 100000) {
		fprintf(stderr,
		    "dns01 serve: --max-requests-inflight must be "
		    "1-100000\n");
		return -1;
	}
	if (o->group == NULL || *o->group == '\0') {
		fprintf(stderr,
		    "dns01 serve: --group-name (or GROUP_NAME) is "
		    "required\n");
		return -1;
	}
	if ((o->cert == NULL) != (o->key == NULL) ||
	    (!o->demo && o->cert == NULL)) {
		fprintf(stderr,
		    "dns01 serve: --tls-cert-file and "
		    "--tls-private-key-file are required together\n");
		return -1;
	}
	if (!o->demo && o->client_ca == NULL) {
		fprintf(stderr,
		    "dns01 serve: refusing to start without "
		    "--requestheader-client-ca-file: without it anyone who can "
		    "reach the port could present records (use --demo for a "
		    "local trial)\n");
		return -1;
	}
	if (o->nzones > 0 && o->dns_listen == NULL) {
		fprintf(stderr,
		    "dns01 serve: --embedded-zone needs "
		    "--dns-listen ADDR:PORT\n");
		return -1;
	}
	return 0;
}

/* Split the comma list into `out`; returns the count, or -1. */
static int
split_allowed(char *csv, const char **out, size_t max)
{
	size_t n = 0;
	char *tok, *save = NULL;

	for (tok = strtok_r(csv, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (*tok == '\0')
			continue;
		if (n == max)
			return -1;
		out[n++] = tok;
	}
	return (int)n;
}

static void
print_demo(const struct serve_opts *o)
{
	const char *port = strrchr(o->dns_listen, ':');
	const char *body = "{\"request\":{\"uid\":\"demo\",\"action\":\"%s\","
			   "\"type\":\"dns-01\",\"dnsName\":\"www.%s\","
			   "\"key\":\"dns01-demo-challenge-value\","
			   "\"resolvedFQDN\":\"_acme-challenge.www.%s.\","
			   "\"resolvedZone\":\"%s.\"}}";
	char zone[256];
	size_t zl;
	int i;

	snprintf(zone, sizeof(zone), "%s", o->zones[0]);
	zl = strlen(zone);
	if (zl > 0 && zone[zl - 1] == '.')
		zone[zl - 1] = '\0';
	printf("\ndns01 demo: webhook on https://%s:%ld, DNS for %s. on %s\n",
	    o->bind, o->port, zone, o->dns_listen);
	printf("No client authentication in demo mode. Try, in another "
	       "shell:\n\n");
	for (i = 0; i < 2; i++) {
		const char *action = i == 0 ? "Present" : "CleanUp";

		printf("# %s the TXT record, then look at it:\n", action);
		printf("curl -sk -X POST -H 'Content-Type: application/json' "
		       "https://%s:%ld/apis/%s/v1alpha1/embedded -d '",
		    o->bind, o->port, o->group);
		printf(body, action, zone, zone, zone);
		printf("'\n");
		printf("dig @%.*s -p %s +norec +short TXT "
		       "_acme-challenge.www.%s\n\n",
		    (int)(port - o->dns_listen), o->dns_listen, port + 1, zone);
	}
	fflush(stdout);
}

struct serve_run {
	struct event_base *base;
	struct d01_server *srv;
	int stopping;
};

static void
drained(void *arg)
{
	struct serve_run *run = arg;

	d01_log(D01_LOG_INFO, "stopped", "reason=drained");
	event_base_loopexit(run->base, NULL);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct serve_run *run = arg;

	(void)what;
	if (run->stopping++) { /* second signal: stop now */
		d01_log(D01_LOG_WARN, "stopped", "reason=second_signal");
		event_base_loopbreak(run->base);
		return;
	}
	d01_log(D01_LOG_INFO, "stopping", "signal=%d deadline_ms=%d", (int)sig,
	    DRAIN_DEADLINE_MS);
	d01_server_shutdown(run->srv, DRAIN_DEADLINE_MS, drained, run);
}

static void
reload_ctx(SSL_CTX *ctx, void *arg)
{
	d01_server_set_ssl_ctx(arg, ctx);
}

static int
serve_run(struct serve_opts *o, const char **allowed, size_t nallowed)
{
	struct serve_run run = {0};
	struct d01_server_cfg cfg = {0};
	struct d01_env env = {0};
	struct d01_error err;
	struct d01_dnsd *dnsd = NULL;
	struct d01_certwatch *watch = NULL;
	struct event *sigterm = NULL, *sigint = NULL;
	SSL_CTX *ctx = NULL;
	size_t i;
	int rc = D01_EXIT_FAIL;

	d01_error_clear(&err);
	if ((run.base = env.base = event_base_new()) == NULL) {
		d01_error_set(&err, D01_E_NOMEM, "event_base_new failed");
		goto out;
	}
	if ((env.dns = d01_dns_new(run.base, 4096)) == NULL ||
	    (env.secrets = d01_secrets_new(run.base)) == NULL) {
		d01_error_set(&err, D01_E_NOMEM, "out of memory");
		goto out;
	}
	if ((env.http = d01_http_new(run.base, &err)) == NULL)
		goto out;
	if (o->secrets_dir != NULL &&
	    d01_secrets_set_dir(env.secrets, o->secrets_dir, &err) != D01_OK)
		goto out;
	if (o->nzones > 0) {
		if ((env.store = d01_txtstore_new()) == NULL) {
			d01_error_set(&err, D01_E_NOMEM, "out of memory");
			goto out;
		}
		for (i = 0; i < o->nzones; i++)
			if (d01_txtstore_add_zone(
				env.store, o->zones[i], NULL, &err) != D01_OK)
				goto out;
		if ((dnsd = d01_dnsd_new(
			 run.base, env.store, o->dns_listen, &err)) == NULL)
			goto out;
	}
	ctx = o->cert != NULL ? d01_tls_server_ctx(o->cert, o->key,
				    o->demo ? NULL : o->client_ca, &err)
			      : d01_tls_demo_ctx(&err);
	if (ctx == NULL)
		goto out;
	cfg.group = o->group;
	cfg.allowed = allowed;
	cfg.nallowed = nallowed;
	cfg.no_auth = o->demo;
	d01_http_limits_default(&cfg.limits);
	cfg.limits.request_timeout_ms = (int)o->request_ms;
	cfg.limits.idle_timeout_ms = (int)o->idle_ms;
	cfg.limits.max_inflight = (size_t)o->max_inflight;
	if ((run.srv = d01_server_new(&env, ctx, &cfg, &err)) == NULL ||
	    d01_server_listen(run.srv, o->bind, (int)o->port, &err) != D01_OK)
		goto out;
	if (o->cert != NULL &&
	    (watch = d01_certwatch_new(run.base, o->cert, o->key,
		 o->demo ? NULL : o->client_ca, (int)o->reload_ms, reload_ctx,
		 run.srv, &err)) == NULL)
		goto out;
	sigterm = evsignal_new(run.base, SIGTERM, on_signal, &run);
	sigint = evsignal_new(run.base, SIGINT, on_signal, &run);
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) ||
	    evsignal_add(sigint, NULL)) {
		d01_error_set(&err, D01_E_INTERNAL, "cannot handle signals");
		goto out;
	}
	if (o->demo) {
		d01_log(D01_LOG_WARN, "demo_mode",
		    "msg=\"client authentication is OFF; loopback only\"");
		print_demo(o);
	}
	d01_log(D01_LOG_INFO, "ready",
	    "version=%s addr=%s port=%ld group=%s auth=%s zones=%zu dns=%s",
	    D01_VERSION, o->bind, o->port, o->group,
	    o->demo ? "none" : "front-proxy", o->nzones,
	    o->dns_listen ? o->dns_listen : "-");
	event_base_dispatch(run.base);
	rc = D01_EXIT_OK;
out:
	if (err.code != D01_OK) {
		fprintf(stderr, "dns01 serve: %s\n", err.msg);
		rc = err.code == D01_E_CONFIG ? D01_EXIT_USAGE : D01_EXIT_FAIL;
	}
	if (sigterm != NULL)
		event_free(sigterm);
	if (sigint != NULL)
		event_free(sigint);
	d01_certwatch_free(watch);
	d01_server_free(run.srv);
	d01_dnsd_free(dnsd);
	d01_txtstore_free(env.store);
	d01_dns_free(env.dns);
	d01_http_free(env.http);
	d01_secrets_free(env.secrets);
	SSL_CTX_free(ctx);
	if (run.base != NULL)
		event_base_free(run.base);
	return rc;
}

int
d01_cmd_serve(int argc, char **argv)
{
	struct serve_opts o = {.port = 8443,
	    .reload_ms = 10000,
	    .request_ms = 30000,
	    .idle_ms = 60000,
	    .max_inflight = 512};
	const char *allowed[MAX_ALLOWED];
	char *csv = NULL;
	int rc, n = 0;

	if ((rc = parse_args(&o, argc, argv)) >= 0)
		return rc;
	if (check_opts(&o) != 0)
		return D01_EXIT_USAGE;
	if (o.allowed_csv != NULL) {
		if ((csv = strdup(o.allowed_csv)) == NULL)
			return D01_EXIT_FAIL;
		if ((n = split_allowed(csv, allowed, MAX_ALLOWED)) < 0) {
			fprintf(stderr,
			    "dns01 serve: more than %d "
			    "--requestheader-allowed-names\n",
			    MAX_ALLOWED);
			free(csv);
			return D01_EXIT_USAGE;
		}
	}
	rc = serve_run(&o, allowed, (size_t)n);
	free(csv);
	return rc;
}
