/* SPDX-License-Identifier: ISC */
/*
 * The webhook daemon: the env, the Kubernetes API clients, the Secrets
 * back end, the front-proxy trust, the authorizer, the TLS context and
 * its reload, the webhook server and the signals that drain it. `dns01
 * serve` (cli/serve.c) fills the options from its flags and runs it.
 *
 * Ownership: the options and every string they point to belong to the
 * caller and must outlive the daemon. The daemon owns everything it
 * makes, the env and its event loop among them.
 */
#ifndef D01_SERVER_DAEMON_H
#define D01_SERVER_DAEMON_H

#include <stddef.h>

#include "core/err.h"
#include "core/strlist.h"
#include "providers/embedded/store.h"
#include "server/acmedns_api.h"

#define D01_DAEMON_MAX_ZONES	 D01_STORE_MAX_ZONES
#define D01_DAEMON_MAX_ENDPOINTS 64
#define D01_DAEMON_MAX_KEYFILES	 16
#define D01_DAEMON_MAX_POLICIES	 64

struct d01_daemon_opts {
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
	/* Delegated authorization: comma-separated lists. */
	const char *allow_paths_csv, *allow_groups_csv;
	long authz_ttl_allow_ms, authz_ttl_deny_ms;
	const char *secrets_dir;
	const char *zones[D01_DAEMON_MAX_ZONES];
	size_t nzones;
	/* The embedded DNS: its addresses (IPv4 and IPv6), who may
	 * transfer its zones and whom it NOTIFYs (providers/embedded/
	 * xfr.h, notify.h). */
	struct d01_strlist dns_listen, allow_transfer, notify;
	/* The embedded provider's store: "memory", "kubernetes", a
	 * database URL (store/dbstore.h) or NULL (kubernetes when an API
	 * is configured and zones are set). */
	const char *embedded_store;
	const char *embedded_store_ns; /* NULL: the pod's namespace */
	long embedded_ttl_ms;	       /* values older are deleted */
	long embedded_stale_ms;	       /* store stale after; 0: 30 s */
	/* DNS UPDATE (RFC 2136) with TSIG on --dns-listen. */
	const char *tsig_keyfiles[D01_DAEMON_MAX_KEYFILES];
	size_t ntsig_keyfiles;
	const char *update_policies[D01_DAEMON_MAX_POLICIES];
	size_t nupdate_policies;
	const char *log_level;
	long metrics_port;
	const char *metrics_bind;
	long reload_ms;
	long request_ms, idle_ms;
	long max_inflight;
	long max_conns, max_body_total, head_ms; /* HTTP layer limits */
	long max_upstream; /* provider API transfers per host at once */
	long provider_ms;  /* each Present/CleanUp's deadline */
	int demo;	   /* no client authentication, loopback only */
	/* --allow-provider-endpoint: what a tenant's config may name. */
	const char *endpoints[D01_DAEMON_MAX_ENDPOINTS];
	size_t nendpoints;
	const char *provider_ca_file; /* trust for ambient credentials */
	/* The acme-dns API (server/acmedns_api.h); on with acmedns.listen.
	 * With it, port 0 turns the webhook off (a VM needs none). */
	struct d01_acmedns_opts acmedns;
};

struct d01_daemon;

/*
 * Build everything and run every start-up check. In demo mode the ports
 * listen on return; otherwise they open once the first front-proxy trust
 * is read (at once from a CA file, from the loop for the ConfigMap).
 * Returns NULL with err (D01_E_CONFIG: the options cannot work).
 */
struct d01_daemon *d01_daemon_new(
    const struct d01_daemon_opts *o, struct d01_error *err);

/*
 * Run the event loop until SIGTERM/SIGINT has drained the server (or a
 * second signal stops it at once). D01_OK, or the failure that ended the
 * loop (the first front-proxy trust could not be read, the ports could
 * not be opened) with err.
 */
enum d01_err d01_daemon_run(struct d01_daemon *d, struct d01_error *err);

/* Free everything in the order the loop's events need. NULL is a no-op. */
void d01_daemon_free(struct d01_daemon *d);

/* Split a comma-separated list into `out` (at most `max`; `csv` is
 * modified, spaces before an item skipped, empty items dropped).
 * Returns the count, or -1 past `max`. */
int d01_daemon_split(char *csv, const char **out, size_t max);

#endif
