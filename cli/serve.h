/* SPDX-License-Identifier: ISC */
/* Shared by cli/serve*.c only: the options of `dns01 serve`. */
#ifndef D01_CLI_SERVE_H
#define D01_CLI_SERVE_H

#include <stddef.h>

#include "providers/embedded/store.h"

#define D01_SERVE_MAX_ZONES	D01_STORE_MAX_ZONES
#define D01_SERVE_MAX_LIST	32
#define D01_SERVE_MAX_ENDPOINTS 64

struct serve_opts {
	long port;
	const char *bind;
	const char *cert, *key;
	const char *group;
	/* Front-proxy trust: a CA file and header names, or the ConfigMap. */
	const char *client_ca;
	const char *allowed_csv;
	const char *user_hdrs, *group_hdrs, *extra_prefixes, *uid_hdrs;
	int skip_lookup, tolerate_lookup_failure;
	long trust_refresh_ms;
	/* The Kubernetes API: kubeconfigs, else in-cluster. */
	const char *kubeconfig, *authn_kubeconfig, *authz_kubeconfig;
	const char *sa_dir;
	/* Delegated authorization. */
	const char *allow_paths_csv, *allow_groups_csv;
	long authz_ttl_allow_ms, authz_ttl_deny_ms;
	const char *secrets_dir;
	const char *zones[D01_SERVE_MAX_ZONES];
	size_t nzones;
	const char *dns_listen;
	const char *log_level;
	long metrics_port;
	const char *metrics_bind;
	long reload_ms;
	long request_ms, idle_ms;
	long max_inflight;
	long max_conns, max_body_total, head_ms; /* HTTP layer limits */
	long max_upstream; /* provider API transfers per host at once */
	long provider_ms;  /* each Present/CleanUp's deadline */
	int demo;
	/* --allow-provider-endpoint: what a tenant's config may name. */
	const char *endpoints[D01_SERVE_MAX_ENDPOINTS];
	size_t nendpoints;
};

/* serve_flags.c: parse argv into `o` (defaults already set). Returns -1 to
 * go on, or an exit code (help, version, usage error). */
int d01_serve_parse(struct serve_opts *o, int argc, char **argv);

/* Defaults that depend on other flags, and the checks that stop start-up
 * (printed on stderr). Returns 0, or -1. */
int d01_serve_check(struct serve_opts *o);

/* Split a comma-separated list into `out` (at most `max`; `csv` is
 * modified). Returns the count, or -1 past `max`. */
int d01_serve_split(char *csv, const char **out, size_t max);

#endif
