/* SPDX-License-Identifier: ISC */
/* Private to kube/kube_store*.c: the mirror and its writes. */
#ifndef D01_KUBE_KUBE_STORE_INT_H
#define D01_KUBE_KUBE_STORE_INT_H

#include <stdint.h>
#include <sys/queue.h>

#include <jansson.h>

#include "kube/kube_store.h"

#define KS_NBUCKETS 8192 /* power of two */
#define KS_NAME_MAX 64	 /* "txt-" + 52 hex digits, NUL */
#define KS_ID_LEN   26	 /* those 52 hex digits in binary */

/*
 * One object mirrored: a TXT value at a name. 80 bytes of heap per value
 * (bench/replicas.py mirrors 10,000): the object name is kept as the
 * binary digest it spells, and once the local store holds the value the
 * entry points at the store's own copy of the name and the value rather
 * than keeping a second one (core/recstore.h, the sink's `held`).
 */
struct ks_entry {
	struct ks_entry *next; /* bucket chain */
	/* held: borrowed from the local store, valid until this entry
	 * removes the value there; else (a LIST not applied yet, or the
	 * local store full) one allocation of the entry's own, the fqdn,
	 * NUL, the value, NUL, freed with the entry. */
	const char *fqdn, *value;
	int64_t created_ms;	     /* spec.created, wall clock ms */
	uint64_t rv;		     /* metadata.resourceVersion, 0 unknown */
	unsigned char id[KS_ID_LEN]; /* the object name, binary */
	uint8_t held;		     /* fqdn/value are the local store's */
	uint8_t deleting;	     /* an expiry delete is in flight */
};

struct ks_table {
	struct ks_entry *b[KS_NBUCKETS];
	size_t n;
};

struct ks_write;

struct d01_kube_store {
	struct d01_kube *k;
	struct d01_recstore_sink sink;
	const struct d01_clock *clock;
	char *ns, *writer, *base_path, *selector; /* selector URL-encoded */
	char **zones;
	size_t nzones;
	long ttl_s, watch_s, stale_ms;
	struct ks_table *t; /* the mirror */
	/* list/watch */
	struct d01_kube_call *list;
	struct d01_kube_watch *watch;
	struct ks_table *pending; /* pages of a LIST not applied yet */
	char pending_rv[64];
	char rv[64]; /* last resourceVersion seen; "" before a LIST */
	int listed, need_relist, connected, stale;
	long backoff_ms;
	struct event *retry, *tick;
	int64_t last_ok_ms, next_expiry_ms;
	/* writes */
	LIST_HEAD(, ks_write) writes;
	size_t expiring;
	struct d01_kube_store_stats st;
};

/* kube_store.c */
struct ks_entry *ks_find(struct ks_table *t, const unsigned char *id);
void ks_put(struct ks_table *t, struct ks_entry *e);
void ks_del(struct ks_table *t, struct ks_entry *e);
/* Frees e and its own text; a held value stays in the local store. */
void ks_entry_free(struct ks_entry *e);
/* A new entry, not held, with its own copy of fqdn and value; `name`
 * must be an object name ("txt-" and 52 lower-case hex digits). */
struct ks_entry *ks_entry_new(const char *name, const char *fqdn,
    const char *value, int64_t created_ms, uint64_t rv);
/* An object name as its digest: 0, or -1 when it is not one of ours. */
int ks_name_id(const char *name, unsigned char id[KS_ID_LEN]);
void ks_id_name(const unsigned char id[KS_ID_LEN], char out[KS_NAME_MAX]);
struct ks_entry *ks_entry_parse(struct d01_kube_store *s, json_t *obj);
void ks_apply_entry(struct d01_kube_store *s, struct ks_entry *e, int fresh);
void ks_remove_local(struct d01_kube_store *s, const char *name);
int64_t ks_wall_ms(void);
/* kube_store_table.c: the rest of the table's life and bookkeeping. */
void ks_table_free(struct ks_table *t);
uint64_t ks_parse_rv(const char *rv);
void ks_observe_convergence(struct d01_kube_store *s, const struct ks_entry *e);
/* Put e's value into the local store; from then on e points at the
 * store's copy and its own text is gone. */
enum d01_err ks_hold(
    struct d01_kube_store *s, struct ks_entry *e, struct d01_error *err);

/* kube_store_write.c */
void ks_object_name(const char *zone, const char *fqdn, const char *value,
    char out[KS_NAME_MAX]);
/* A zone as a label value: itself without the trailing dot when it fits
 * (63 characters), else "h-" and a digest. */
void ks_zone_label(const char *zone, char out[64]);
void ks_expire(struct d01_kube_store *s);
void ks_writes_cancel(struct d01_kube_store *s);

#endif
