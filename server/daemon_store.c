/* SPDX-License-Identifier: ISC */
/*
 * The daemon's store step: which back end keeps the embedded provider's
 * values and accounts (docs/DESIGN.md, "The stores"), made from the
 * options and plugged into the provider after the env is open; the daemon
 * unplugs and frees it (daemon.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/recstore.h"
#include "kube/kube.h"
#include "kube/kube_store.h"
#include "providers/embedded/embedded.h"
#include "providers/embedded/store.h"
#include "server/daemon.h"
#include "server/daemon_int.h"
#include "store/dbstore.h"

/* This replica's name in the objects it writes: the pod's (downward
 * API), else the host's. */
static void
writer_name(char *out, size_t n)
{
	const char *pod = getenv("POD_NAME");

	if (pod != NULL && *pod != '\0' && strlen(pod) < n) {
		snprintf(out, n, "%s", pod);
		return;
	}
	if (gethostname(out, n) != 0)
		snprintf(out, n, "dns01");
	out[n - 1] = '\0';
}

/* The PostgreSQL or SQLite store, plugged in like the Kubernetes one
 * (docs/DESIGN.md, "The durable stores"). */
static int
dbstore_setup(
    struct d01_daemon *d, struct d01_txtstore *ts, struct d01_error *err)
{
	const struct d01_daemon_opts *o = d->o;
	const char *zones[D01_DAEMON_MAX_ZONES];
	struct d01_dbstore_opts dbo = {0};
	struct d01_recstore_sink sink;
	struct d01_recstore_backend be;
	char writer[256], safe[256];
	size_t i;

	for (i = 0; i < d01_txtstore_zone_count(ts); i++)
		zones[i] = d01_txtstore_zone(ts, i)->name;
	writer_name(writer, sizeof(writer));
	dbo.url = o->embedded_store;
	dbo.zones = zones;
	dbo.nzones = d01_txtstore_zone_count(ts);
	dbo.ttl_s = o->embedded_ttl_ms / 1000;
	dbo.writer = writer;
	dbo.stale_ms = o->embedded_stale_ms;
	if (d01_embedded_sink(&d->env, &sink) != 0 ||
	    (d->dbstore = d01_dbstore_new(d->env.base, &sink, &dbo, err)) ==
		NULL)
		return -1;
	d01_dbstore_backend(d->dbstore, &be);
	d01_embedded_set_backend(&d->env, &be);
	d01_dbstore_redact(o->embedded_store, safe, sizeof(safe));
	d01_log(D01_LOG_INFO, "embedded_store", "store=%s writer=%s ttl_s=%ld",
	    safe, writer, dbo.ttl_s);
	return 0;
}

/* The embedded provider's store: the Kubernetes or a database back end
 * plugged in when chosen (docs/DESIGN.md, "The stores"); logged either
 * way. */
int
d01_daemon_store_setup(struct d01_daemon *d, struct d01_error *err)
{
	const struct d01_daemon_opts *o = d->o;
	struct d01_txtstore *ts = d01_embedded_store(&d->env);
	const char *zones[D01_DAEMON_MAX_ZONES];
	struct d01_kube_store_opts ko = {0};
	struct d01_recstore_sink sink;
	struct d01_recstore_backend be;
	char writer[256], qn[160];
	const char *mode = o->embedded_store;
	size_t i;

	if (mode == NULL)
		mode =
		    d->ks.core != NULL && ts != NULL ? "kubernetes" : "memory";
	if (d01_dbstore_is_url(mode) && ts != NULL)
		return dbstore_setup(d, ts, err);
	if (strcmp(mode, "memory") == 0 || ts == NULL) {
		if (ts != NULL)
			d01_log(D01_LOG_INFO, "embedded_store",
			    "store=memory msg=\"records live in this process "
			    "only: run one replica\"");
		return 0;
	}
	if (d->ks.core == NULL) {
		d01_error_set(err, D01_E_CONFIG,
		    "--embedded-store kubernetes needs a Kubernetes API (in a "
		    "cluster, or --kubeconfig)");
		return -1;
	}
	for (i = 0; i < d01_txtstore_zone_count(ts); i++)
		zones[i] = d01_txtstore_zone(ts, i)->name;
	writer_name(writer, sizeof(writer));
	ko.ns = o->embedded_store_ns != NULL ? o->embedded_store_ns
					     : d01_kube_namespace(d->ks.core);
	ko.writer = writer;
	ko.zones = zones;
	ko.nzones = d01_txtstore_zone_count(ts);
	ko.ttl_s = o->embedded_ttl_ms / 1000;
	ko.stale_ms = o->embedded_stale_ms;
	ko.clock = d->env.clock;
	if (d01_embedded_sink(&d->env, &sink) != 0 ||
	    (d->kstore = d01_kube_store_new(d->ks.core, &sink, &ko, err)) ==
		NULL)
		return -1;
	d01_kube_store_backend(d->kstore, &be);
	d01_embedded_set_backend(&d->env, &be);
	d01_log(D01_LOG_INFO, "embedded_store",
	    "store=kubernetes namespace=%s writer=%s ttl_s=%ld",
	    d01_log_quote(qn, sizeof(qn), ko.ns), writer, ko.ttl_s);
	return 0;
}
