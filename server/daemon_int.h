/* SPDX-License-Identifier: ISC */
/*
 * The daemon's parts (server/daemon.c), shared with the file that plugs
 * the embedded provider's store in (daemon_store.c). Internal to server/.
 */
#ifndef D01_SERVER_DAEMON_INT_H
#define D01_SERVER_DAEMON_INT_H

#include <openssl/ssl.h>

#include "core/err.h"
#include "core/strlist.h"
#include "providers/env.h"

struct event;
struct d01_endpoints;
struct d01_kube;
struct d01_kube_secrets;
struct d01_kube_store;
struct d01_dbstore;
struct d01_authz;
struct d01_server;
struct d01_certwatch;
struct d01_fp_source;
struct d01_acmedns_api;
struct d01_daemon_opts;

/* The Kubernetes clients, each NULL when there is no API to talk to. */
struct kube_set {
	struct d01_kube *core, *authn, *authz;
};

/* Lists from comma-separated flags, split once for the whole run. */
struct lists {
	char *paths_csv, *groups_csv;
	const char *paths[D01_STRLIST_MAX], *groups[D01_STRLIST_MAX];
	int npaths, ngroups; /* -1: flag not given */
};

struct d01_daemon {
	const struct d01_daemon_opts *o;
	struct d01_env env;
	struct d01_endpoints *endpoints;
	struct lists lists;
	struct kube_set ks;
	struct d01_kube_secrets *ksec;
	struct d01_kube_store *kstore; /* --embedded-store kubernetes */
	struct d01_dbstore *dbstore;   /* --embedded-store postgres/sqlite */
	SSL_CTX *ctx;
	struct d01_authz *authz;
	struct d01_server *srv;
	struct d01_certwatch *watch;
	struct d01_fp_source *trust;
	struct d01_acmedns_api *adns; /* --acmedns-listen */
	int draining;		      /* listeners still draining */
	struct event *sigterm, *sigint;
	int env_open;
	int stopping;
	int listening;
	struct d01_error err; /* what ended the loop, if anything did */
};

/* The embedded provider's store: kubernetes, postgres, sqlite or memory
 * (daemon_store.c). 0, or -1 with err. */
int d01_daemon_store_setup(struct d01_daemon *d, struct d01_error *err);

#endif
