/* SPDX-License-Identifier: ISC */
/*
 * The embedded provider's durable stores (a back end for core/recstore.h)
 * beside `memory` and `kubernetes`: `--embedded-store postgres://...`
 * (several instances share one PostgreSQL; every change reaches every
 * instance by LISTEN/NOTIFY, pg.c) and `--embedded-store sqlite:PATH`
 * (one durable node; every SQLite call on a worker thread, sqlite.c).
 * Each keeps the local copy the DNS server answers from through the
 * sink, so DNS never waits on the database.
 * docs/DESIGN.md, "The durable stores".
 *
 * Ownership: borrows base and the sink (both must outlive the store);
 * copies every string of the options. The URL's password is only ever
 * handed to libpq: every message names the store by d01_dbstore_redact.
 */
#ifndef D01_STORE_DBSTORE_H
#define D01_STORE_DBSTORE_H

#include <stddef.h>

#include "core/err.h"
#include "core/recstore.h"

struct event_base;
struct d01_dbstore;

struct d01_dbstore_opts {
	/* "postgres://..." or "postgresql://..." or "sqlite:PATH" */
	const char *url;
	const char *const *zones; /* served zones (as the sink has them) */
	size_t nzones;
	long ttl_s;	    /* --embedded-record-ttl; <= 0: 24 h */
	const char *writer; /* instance name for logs/rows */
	long stale_ms;	    /* not synced that long is stale; <= 0: 30 s */
};

/* 1 for the URLs above (the daemon's flag check), else 0. */
int d01_dbstore_is_url(const char *s);

/*
 * The store, its first connection (PostgreSQL) started from the loop;
 * SQLite opens and loads PATH here (start-up: before the loop runs) and
 * fails with err on a path it cannot open. NULL with err on bad options
 * or no memory.
 */
struct d01_dbstore *d01_dbstore_new(struct event_base *base,
    const struct d01_recstore_sink *sink, const struct d01_dbstore_opts *o,
    struct d01_error *err);

/* The back end to plug into the embedded provider (ctx = s): start,
 * acct_start, cancel. */
void d01_dbstore_backend(
    struct d01_dbstore *s, struct d01_recstore_backend *be);

/* Cancels every write (no callbacks) and stops the worker. NULL is a
 * no-op. Unplug the back end from the provider first. */
void d01_dbstore_free(struct d01_dbstore *s);

/* The URL without userinfo, query or fragment, e.g.
 * "postgres://db.example:5432/dns01", truncated to n - 1 bytes. */
void d01_dbstore_redact(const char *url, char *out, size_t n);

/* Convergence delay buckets (seconds), the same as the kube store's. */
#define D01_DBSTORE_NBUCKETS 8
extern const double d01_dbstore_buckets[D01_DBSTORE_NBUCKETS];

struct d01_dbstore_stats {
	const char *kind;	  /* "postgres" or "sqlite" (static) */
	size_t records;		  /* values in the local copy */
	size_t queued;		  /* writes waiting or on the wire */
	unsigned long reconnects; /* connections after the first */
	unsigned long reloads;	  /* full loads after the first */
	int stale;		  /* 1: not synced for stale_ms */
	double since_sync_s;	  /* since last synced (0: connected) */
	unsigned long conv_count; /* values first applied here by NOTIFY */
	double conv_sum_s;	  /* their creation-to-applied delay */
	unsigned long conv_le[D01_DBSTORE_NBUCKETS]; /* cumulative */
	unsigned long expired; /* deleted for age by this instance */
};
void d01_dbstore_stats(
    const struct d01_dbstore *s, struct d01_dbstore_stats *st);

#endif
