/* SPDX-License-Identifier: ISC */
/*
 * Flags of `dns01 serve`. Both `--flag=value` and `--flag value` work, and
 * Go's single-dash `-flag`. The delegated authentication and authorization
 * flags of the Go webhook library mean here what they mean there; its other
 * flags that charts derived from cert-manager's example pass (`--v=2`,
 * `--cert-dir`, audit and profiling flags) are accepted with a warning;
 * anything else unknown is a usage error (exit 2).
 */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/serve.h"
#include "core/log.h"
#include "store/dbstore.h"

enum opt_kind {
	O_STR,
	O_INT,
	O_DURATION,
	O_BOOL,
	O_ZONE,
	O_ENDPOINT,
	O_LIST, /* repeatable: a struct d01_strlist */
	O_KEYFILE,
	O_POLICY,
	O_HELP,
	O_VERSION
};

static const struct serve_flag {
	const char *name;
	enum opt_kind kind;
	size_t off;
	const char *help;
} serve_flags[] = {
#define OFF(f) offsetof(struct d01_daemon_opts, f)
    {"secure-port", O_INT, OFF(port), "HTTPS port (default 8443)"},
    {"bind-address", O_STR, OFF(bind), "listen address (default 0.0.0.0)"},
    {"tls-cert-file", O_STR, OFF(cert), "serving certificate chain (PEM)"},
    {"tls-private-key-file", O_STR, OFF(key), "serving key (PEM)"},
    {"group-name", O_STR, OFF(group), "API group (env GROUP_NAME)"},
    {"requestheader-client-ca-file", O_STR, OFF(client_ca),
	"CA of the front-proxy client certificate"},
    {"requestheader-allowed-names", O_STR, OFF(allowed_csv),
	"allowed front-proxy CNs, comma separated (empty: any)"},
    {"requestheader-username-headers", O_STR, OFF(user_hdrs),
	"identity headers (X-Remote-User)"},
    {"requestheader-group-headers", O_STR, OFF(group_hdrs),
	"group headers (X-Remote-Group)"},
    {"requestheader-extra-headers-prefix", O_STR, OFF(extra_prefixes),
	"extra-attribute header prefixes (X-Remote-Extra-)"},
    {"requestheader-uid-headers", O_STR, OFF(uid_hdrs), "uid headers (none)"},
    {"authentication-skip-lookup", O_BOOL, OFF(skip_lookup),
	"do not read kube-system/extension-apiserver-authentication"},
    {"authentication-tolerate-lookup-failure", O_BOOL,
	OFF(tolerate_lookup_failure),
	"start even if that ConfigMap cannot be read (keep trying)"},
    {"requestheader-refresh-interval", O_DURATION, OFF(trust_refresh_ms),
	"how often to re-read the front-proxy trust (1m)"},
    {"kubeconfig", O_STR, OFF(kubeconfig),
	"kubeconfig for the Kubernetes API (default: in-cluster)"},
    {"authentication-kubeconfig", O_STR, OFF(authn_kubeconfig),
	"kubeconfig for reading the front-proxy ConfigMap"},
    {"authorization-kubeconfig", O_STR, OFF(authz_kubeconfig),
	"kubeconfig for SubjectAccessReviews"},
    {"serviceaccount-dir", O_STR, OFF(sa_dir),
	"in-cluster token, ca.crt and namespace files"},
    {"authorization-always-allow-paths", O_STR, OFF(allow_paths_csv),
	"paths that skip authentication and authorization "
	"(/healthz,/readyz,/livez)"},
    {"authorization-always-allow-groups", O_STR, OFF(allow_groups_csv),
	"groups that skip SubjectAccessReviews (system:masters)"},
    {"authorization-webhook-cache-authorized-ttl", O_DURATION,
	OFF(authz_ttl_allow_ms), "how long an allow is remembered (10s)"},
    {"authorization-webhook-cache-unauthorized-ttl", O_DURATION,
	OFF(authz_ttl_deny_ms), "how long a deny is remembered (10s)"},
    {"metrics-port", O_INT, OFF(metrics_port),
	"plain-HTTP port serving only /metrics (default: none)"},
    {"metrics-bind-address", O_STR, OFF(metrics_bind),
	"address of --metrics-port (0.0.0.0)"},
    {"secrets-dir", O_STR, OFF(secrets_dir),
	"Secrets laid out as <dir>/<namespace>/<name>/<key>"},
    {"embedded-zone", O_ZONE, 0,
	"zone served by the embedded DNS "
	"(repeatable)"},
    {"dns-listen", O_LIST, OFF(dns_listen),
	"embedded DNS address, ADDR:PORT (UDP and TCP; repeatable, e.g. "
	"0.0.0.0:53 and [::]:53)"},
    {"allow-transfer", O_LIST, OFF(allow_transfer),
	"address, CIDR or key:NAME (a --tsig-keyfile key) allowed "
	"AXFR/IXFR of the embedded zones "
	"(repeatable; default: none)"},
    {"notify", O_LIST, OFF(notify),
	"secondary to send NOTIFY on every zone change, ADDR[:PORT] "
	"(repeatable; port 53 by default)"},
    {"embedded-store", O_STR, OFF(embedded_store),
	"memory|kubernetes|postgres://...|sqlite:PATH: where embedded "
	"records live (default: kubernetes when a Kubernetes API is "
	"configured and --embedded-zone is set, else memory; keep a "
	"PostgreSQL password in PGPASSWORD or ~/.pgpass, not the URL)"},
    {"embedded-store-namespace", O_STR, OFF(embedded_store_ns),
	"namespace of the kubernetes store's TXTRecord objects (default: "
	"the pod's, else default)"},
    {"embedded-record-ttl", O_DURATION, OFF(embedded_ttl_ms),
	"embedded values older than this are deleted by any replica "
	"(24h)"},
    {"embedded-store-stale-after", O_DURATION, OFF(embedded_stale_ms),
	"the kubernetes or postgres store counts as stale after this long "
	"without a working list/watch or connection (30s)"},
    {"tsig-keyfile", O_KEYFILE, 0,
	"BIND-style TSIG key file (key \"name\" { algorithm ...; secret "
	"\"...\"; };) for DNS UPDATE and signed queries (repeatable)"},
    {"update-policy", O_POLICY, 0,
	"KEY=zonesub|name:FQDN|subdomain:FQDN: TXT names KEY may change "
	"by DNS UPDATE (repeatable; none: nothing)"},
    {"log-level", O_STR, OFF(log_level), "error|warn|info|debug"},
    {"request-timeout", O_DURATION, OFF(request_ms),
	"time to receive a whole request (30s)"},
    {"idle-timeout", O_DURATION, OFF(idle_ms),
	"keep-alive idle and TLS handshake limit (60s)"},
    {"max-requests-inflight", O_INT, OFF(max_inflight),
	"requests handled at once before 503 (512)"},
    {"max-connections", O_INT, OFF(max_conns),
	"open HTTPS connections; at the cap the oldest unauthenticated one "
	"is closed for a new one (1024)"},
    {"max-upstream-connections", O_INT, OFF(max_upstream),
	"provider API requests in flight per host (HTTP/1.x; the rest wait "
	"in order) (16)"},
    {"provider-timeout", O_DURATION, OFF(provider_ms),
	"deadline of each Present or CleanUp; a request's own ?timeout= "
	"shortens it (25s)"},
    {"max-body-bytes-total", O_INT, OFF(max_body_total),
	"request body bytes buffered at once, all connections; 503 past it "
	"(67108864)"},
    {"head-timeout", O_DURATION, OFF(head_ms),
	"accept to end of the first request head, TLS handshake included "
	"(10s)"},
    {"tls-reload-interval", O_DURATION, OFF(reload_ms),
	"how often to look for a renewed serving certificate (10s)"},
    {"allow-provider-endpoint", O_ENDPOINT, 0,
	"HOST[:PORT], *.SUFFIX[:PORT] or http://HOST[:PORT] a config's "
	"baseURL, endpoint or stsEndpoint may name (repeatable; default: "
	"only the providers' public APIs)"},
    {"provider-ca-file", O_STR, OFF(provider_ca_file),
	"CAs (PEM) trusted besides the system store for requests carrying "
	"the pod's own credentials; a config's caBundle never is"},
    /* The acme-dns API (server/acmedns_api.h). */
    {"acmedns-listen", O_LIST, OFF(acmedns.listen),
	"acme-dns API address, ADDR:PORT or [V6]:PORT (repeatable); with "
	"it, --secure-port 0 turns the webhook off"},
    {"acmedns-tls-cert-file", O_STR, OFF(acmedns.cert),
	"acme-dns API certificate chain (PEM; reloaded when it changes)"},
    {"acmedns-tls-private-key-file", O_STR, OFF(acmedns.key),
	"acme-dns API key (PEM)"},
    {"acmedns-insecure-http", O_BOOL, OFF(acmedns.insecure_http),
	"serve the acme-dns API over plain HTTP (behind a TLS proxy)"},
    {"acmedns-domain", O_STR, OFF(acmedns.domain),
	"the name accounts get subdomains under: an --embedded-zone or a "
	"name in one"},
    {"acmedns-registration", O_STR, OFF(acmedns.registration),
	"open|token|closed: who may POST /register (default: token with "
	"--acmedns-registration-token-file, else closed)"},
    {"acmedns-registration-token-file", O_STR, OFF(acmedns.token_file),
	"file holding the token of 'Authorization: Bearer' for /register"},
    {"acmedns-registration-allowfrom", O_LIST, OFF(acmedns.reg_allowfrom),
	"CIDR that may register (repeatable; default: any)"},
    {"acmedns-trusted-proxy", O_LIST, OFF(acmedns.trusted_proxies),
	"CIDR of proxies whose X-Forwarded-For is believed (repeatable)"},
    {"acmedns-rate", O_INT, OFF(acmedns.rate),
	"updates a minute per account, as a burst too; 0: no limit (60)"},
    {"acmedns-bcrypt-cost", O_INT, OFF(acmedns.bcrypt_cost),
	"bcrypt cost of new passwords (10)"},
    {"acmedns-registration-rate", O_INT, OFF(acmedns.reg_rate),
	"registrations a minute per source address (the server: 10 times "
	"it); 0: no limit (10)"},
    {"acmedns-auth-failure-rate", O_INT, OFF(acmedns.fail_rate),
	"failed passwords a minute per source address, then 429 without "
	"checking; 0: no limit (10)"},
    {"demo", O_BOOL, OFF(demo), "self-contained local demo (no auth)"},
    {"help", O_HELP, 0, "this text"},
    {"version", O_VERSION, 0, "print the version"},
};

/* Go webhook flags accepted and ignored; the booleans take no value. */
static const char *const go_prefixes[] = {"v", "vmodule", "logging-format",
    "log-flush-frequency", "authentication-token-webhook-cache-ttl",
    "authorization-webhook-version", "authentication-", "audit-", "cert-dir",
    "tls-cipher-suites", "tls-min-version", "tls-sni-cert-key",
    "tls-curve-preferences", "http2-max-streams-per-connection",
    "disable-http2-serving", "permit-port-sharing", "permit-address-sharing",
    "client-ca-file", "profiling", "contention-profiling", "debug-socket-path",
    "enable-priority-and-fairness", "egress-selector-config-file",
    "tracing-config-file", "alsologtostderr", "logtostderr", "stderrthreshold"};
static const char *const go_bools[] = {"disable-http2-serving",
    "permit-port-sharing", "permit-address-sharing", "profiling",
    "contention-profiling", "enable-priority-and-fairness", "alsologtostderr",
    "logtostderr"};

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
set_flag(struct d01_daemon_opts *o, const struct serve_flag *f, const char *v)
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
		if (o->nzones == D01_DAEMON_MAX_ZONES)
			return -1;
		o->zones[o->nzones++] = v;
		return 0;
	case O_LIST: {
		struct d01_strlist *l = (void *)((char *)o + f->off);

		if (l->n == D01_STRLIST_MAX || *v == '\0')
			return -1;
		l->v[l->n++] = v;
		return 0;
	}
	case O_ENDPOINT: /* checked when the policy is built (server/daemon.c)
			  */
		if (o->nendpoints == D01_DAEMON_MAX_ENDPOINTS || *v == '\0')
			return -1;
		o->endpoints[o->nendpoints++] = v;
		return 0;
	case O_KEYFILE:
		if (o->ntsig_keyfiles == D01_DAEMON_MAX_KEYFILES || *v == '\0')
			return -1;
		o->tsig_keyfiles[o->ntsig_keyfiles++] = v;
		return 0;
	case O_POLICY: /* checked against the keys at start-up */
		if (o->nupdate_policies == D01_DAEMON_MAX_POLICIES ||
		    strchr(v, '=') == NULL)
			return -1;
		o->update_policies[o->nupdate_policies++] = v;
		return 0;
	default:
		return -1;
	}
}

/* Returns -1 to continue, or an exit code (help, version, usage). */
int
d01_serve_parse(struct d01_daemon_opts *o, int argc, char **argv)
{
	char name[128], qname[300];
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
			snprintf(name, sizeof(name), "--%.*s", (int)len, arg);
			d01_log(D01_LOG_WARN, "flag_ignored", "flag=%s",
			    d01_log_quote(qname, sizeof(qname), name));
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

/* The numeric flags' ranges; LONG_MAX: no upper bound. */
static const struct serve_range {
	const char *flag;
	size_t off;
	long min, max;
} serve_ranges[] = {
    {"secure-port", OFF(port), 0, 65535}, /* 0: see check_together */
    {"max-requests-inflight", OFF(max_inflight), 1, 100000},
    {"max-connections", OFF(max_conns), 1, 1000000},
    {"max-upstream-connections", OFF(max_upstream), 1, 100000},
    /* At least one whole body (1 MiB) must fit. */
    {"max-body-bytes-total", OFF(max_body_total), 1L << 20, LONG_MAX},
    {"head-timeout", OFF(head_ms), 1, LONG_MAX},
    {"embedded-record-ttl", OFF(embedded_ttl_ms), 1000, LONG_MAX},
    {"embedded-store-stale-after", OFF(embedded_stale_ms), 1000, 3600000},
    {"acmedns-rate", OFF(acmedns.rate), 0, 1000000},
    {"acmedns-bcrypt-cost", OFF(acmedns.bcrypt_cost), 4, 31},
    {"acmedns-registration-rate", OFF(acmedns.reg_rate), 0, 100000},
    {"acmedns-auth-failure-rate", OFF(acmedns.fail_rate), 0, 100000},
};

static int
check_ranges(const struct d01_daemon_opts *o)
{
	const struct serve_range *r;
	long v;
	size_t i;

	for (i = 0; i < sizeof(serve_ranges) / sizeof(serve_ranges[0]); i++) {
		r = &serve_ranges[i];
		v = *(const long *)((const char *)o + r->off);
		if (v >= r->min && v <= r->max)
			continue;
		if (r->max != LONG_MAX)
			fprintf(stderr, "dns01 serve: --%s must be %ld-%ld\n",
			    r->flag, r->min, r->max);
		else if (r->min == 1)
			fprintf(stderr, "dns01 serve: --%s must be positive\n",
			    r->flag);
		else
			fprintf(stderr,
			    "dns01 serve: --%s must be at least %ld\n", r->flag,
			    r->min);
		return -1;
	}
	return 0;
}

/* Defaults that depend on other flags and on the environment. */
static const char *
set_defaults(struct d01_daemon_opts *o)
{
	const char *env_group = getenv("GROUP_NAME");
	enum d01_log_level lvl;

	if (o->log_level != NULL) {
		if (d01_log_parse_level(o->log_level, &lvl) != 0)
			return "--log-level must be error, warn, info or debug";
		d01_log_set_level(lvl);
	}
	if (o->group == NULL && env_group != NULL && *env_group != '\0')
		o->group = env_group;
	if (o->demo) {
		if (o->group == NULL)
			o->group = "acme.dns01.demo";
		if (o->bind == NULL)
			o->bind = "127.0.0.1";
		if (o->dns_listen.n == 0)
			o->dns_listen.v[o->dns_listen.n++] = "127.0.0.1:5353";
		if (o->nzones == 0)
			o->zones[o->nzones++] = "demo.test";
		if (!is_loopback(o->bind))
			return "--demo disables authentication and only binds "
			       "to loopback addresses";
	}
	if (o->bind == NULL)
		o->bind = "0.0.0.0";
	if (o->metrics_bind == NULL)
		o->metrics_bind = "0.0.0.0";
	/* Accounts need a store that keeps them; kubernetes has none. */
	if (o->acmedns.listen.n > 0 && o->embedded_store == NULL)
		o->embedded_store = "memory";
	o->acmedns.reload_ms = o->reload_ms;
	o->acmedns.op_ms = o->provider_ms;
	o->acmedns.ttl_ms = o->embedded_ttl_ms;
	return NULL;
}

/* The embedded DNS and its store (checked with or without the webhook). */
static const char *
check_store(const struct d01_daemon_opts *o)
{
	if (o->nzones > 0 && o->dns_listen.n == 0)
		return "--embedded-zone needs --dns-listen ADDR:PORT";
	if (o->nzones == 0 && (o->allow_transfer.n > 0 || o->notify.n > 0))
		return "--allow-transfer and --notify need --embedded-zone";
	if (o->ntsig_keyfiles > 0 && o->nzones == 0)
		return "--tsig-keyfile needs --embedded-zone";
	if (o->nupdate_policies > 0 && o->ntsig_keyfiles == 0)
		return "--update-policy needs --tsig-keyfile";
	if (o->embedded_store != NULL &&
	    strcmp(o->embedded_store, "memory") != 0 &&
	    strcmp(o->embedded_store, "kubernetes") != 0 &&
	    !d01_dbstore_is_url(o->embedded_store))
		return "--embedded-store must be memory, kubernetes, "
		       "postgres://... or sqlite:PATH";
	return NULL;
}

/* Flags that only work together. */
static const char *
check_together(const struct d01_daemon_opts *o)
{
	if (o->port == 0 && o->acmedns.listen.n == 0)
		return "--secure-port 0 (no webhook) needs --acmedns-listen";
	if (o->port == 0 && o->demo)
		return "--demo needs the webhook (--secure-port)";
	if (o->acmedns.listen.n > 0 && o->nzones == 0)
		return "--acmedns-listen needs --embedded-zone and "
		       "--acmedns-domain";
	if (o->acmedns.listen.n > 0 && o->embedded_store != NULL &&
	    strcmp(o->embedded_store, "kubernetes") == 0)
		return "the acme-dns API (--acmedns-listen) keeps accounts, "
		       "which --embedded-store kubernetes cannot: use memory, "
		       "postgres://... or sqlite:PATH";
	if (o->port == 0) /* no webhook: none of its flags are needed */
		return check_store(o);
	if (o->group == NULL || *o->group == '\0')
		return "--group-name (or GROUP_NAME) is required";
	if ((o->cert == NULL) != (o->key == NULL) ||
	    (!o->demo && o->cert == NULL))
		return "--tls-cert-file and --tls-private-key-file are "
		       "required together";
	if (!o->demo && o->client_ca == NULL && o->skip_lookup)
		return "--authentication-skip-lookup without "
		       "--requestheader-client-ca-file leaves no way to "
		       "authenticate the kube-apiserver's front proxy";
	if (o->metrics_port < 0 || o->metrics_port > 65535 ||
	    (o->metrics_port != 0 && o->metrics_port == o->port))
		return "--metrics-port must be 1-65535 and differ from "
		       "--secure-port";
	return check_store(o);
}

/* Defaults, demo defaults and the checks that make start-up fail. */
int
d01_serve_check(struct d01_daemon_opts *o)
{
	const char *why;

	if ((why = set_defaults(o)) != NULL)
		goto fail;
	if (check_ranges(o) != 0)
		return -1;
	if ((why = check_together(o)) != NULL)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "dns01 serve: %s\n", why);
	return -1;
}
