/* SPDX-License-Identifier: ISC */
/*
 * The embedded provider's shared store on the Kubernetes API (a back end
 * for core/recstore.h): one TXTRecord object (CRD store.dns01.io/v1) per
 * TXT value in one namespace. Every replica keeps a full copy in memory
 * by LIST then WATCH and applies it to the local store the DNS server
 * answers from, so DNS never waits on the API.
 * docs/DESIGN.md, "The stores".
 *
 * Ownership: borrows the kube client, the sink and the clock (all must
 * outlive it); copies every string of the options.
 */
#ifndef D01_KUBE_KUBE_STORE_H
#define D01_KUBE_KUBE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/recstore.h"

struct d01_kube;
struct d01_clock;
struct d01_kube_store;

#define D01_KSTORE_GROUP    "store.dns01.io"
#define D01_KSTORE_VERSION  "v1"
#define D01_KSTORE_KIND	    "TXTRecord"
#define D01_KSTORE_PLURAL   "txtrecords"
#define D01_KSTORE_MAX_OBJS 100000 /* objects mirrored at most */
#define D01_KSTORE_STALE_MS 30000  /* no working list/watch that long */

struct d01_kube_store_opts {
	const char *ns;		  /* the store's namespace */
	const char *writer;	  /* this replica (pod name) */
	const char *const *zones; /* served zones (as the sink has them) */
	size_t nzones;
	long ttl_s;    /* values older are deleted; <= 0: 24 h */
	long watch_s;  /* server-side watch timeout; 0: 60 */
	long stale_ms; /* no working list/watch that long is stale; <= 0:
			* D01_KSTORE_STALE_MS (shorter only for tests) */
	const struct d01_clock *clock; /* mono for staleness, wall for TTL */
};

/* Starts the first LIST from the loop. NULL with err on bad options or
 * no memory. */
struct d01_kube_store *d01_kube_store_new(struct d01_kube *k,
    const struct d01_recstore_sink *sink, const struct d01_kube_store_opts *o,
    struct d01_error *err);

/* Cancels every call (no callbacks). NULL is a no-op. Unplug the back
 * end from the provider first. */
void d01_kube_store_free(struct d01_kube_store *s);

/* The back end to plug into the embedded provider (ctx = s). */
void d01_kube_store_backend(
    struct d01_kube_store *s, struct d01_recstore_backend *be);

/* Convergence delay buckets (seconds) of the histogram below. */
#define D01_KSTORE_NBUCKETS 8
extern const double d01_kstore_buckets[D01_KSTORE_NBUCKETS];

struct d01_kube_store_stats {
	size_t records;		      /* objects mirrored */
	unsigned long watch_restarts; /* watches started again */
	unsigned long relists;	      /* LISTs after the first */
	int stale;		      /* 1: no working list/watch (30 s) */
	double since_sync_s;	      /* since list/watch last worked */
	unsigned long conv_count;     /* values first applied here */
	double conv_sum_s;	      /* their creation-to-applied delay */
	unsigned long conv_le[D01_KSTORE_NBUCKETS]; /* cumulative */
	unsigned long expired; /* deleted for age by this replica */
};
void d01_kube_store_stats(
    const struct d01_kube_store *s, struct d01_kube_store_stats *st);

#endif
