/* SPDX-License-Identifier: ISC */
/* Private to store/: the parts both durable stores share. */
#ifndef D01_STORE_DBSTORE_INT_H
#define D01_STORE_DBSTORE_INT_H

#include <stdint.h>

#include "store/dbstore.h"

#define DBS_MAX_QUEUE	 1024 /* writes waiting at most */
#define DBS_MAX_VALUES	 100000
#define DBS_MAX_ACCOUNTS 1000000
#define DBS_STALE_MS	 30000

struct event;
struct event_base;
struct dbs_pg;
struct dbs_lite;

struct d01_dbstore {
	struct event_base *base;
	struct d01_recstore_sink sink;
	char **zones;
	size_t nzones;
	long ttl_s, stale_ms;
	char *writer;
	char safe[256];	   /* the URL without its secrets, for messages */
	struct dbs_pg *pg; /* one of the two */
	struct dbs_lite *lite;
	struct d01_dbstore_stats st;
	unsigned long hold_failed; /* values the local store refused */
};

/*
 * What a write job of either engine takes at its start: copies of its nf
 * fields into f (strdup each; on failure the ones made stay in f for the
 * job's free) and, when deadline_cb is not NULL, its deadline timer armed
 * after budget_ms (<= 0: 30 s) in *deadline. 0, or -1: out of memory.
 */
int dbs_job_init(struct event_base *base, char **f, const char *const *src,
    int nf, long budget_ms, void (*deadline_cb)(int, short, void *), void *arg,
    struct event **deadline);

int64_t dbs_wall_ms(void);
int64_t dbs_mono_ms(void);
/* Ms to the next expiry scan: a quarter of the TTL, 1 s to 60 s. */
long dbs_expiry_period_ms(const struct d01_dbstore *s);

/* The local copy, through the sink, counting records. add: only when
 * fqdn lies in a served zone and, when zone is not NULL, in that one
 * (a row of a zone not served here is never applied); created_ms >= 0
 * and observe: a new value counts in the convergence histogram. */
void dbs_add(struct d01_dbstore *s, const char *zone, const char *fqdn,
    const char *value, int64_t created_ms, int observe);
void dbs_remove(struct d01_dbstore *s, const char *fqdn, const char *value);
void dbs_acct(struct d01_dbstore *s, const struct d01_recstore_acct *a);
void dbs_clear(struct d01_dbstore *s);

/* pg.c */
struct dbs_pg *dbs_pg_new(
    struct d01_dbstore *s, const char *url, struct d01_error *err);
void dbs_pg_free(struct dbs_pg *p);
void dbs_pg_backend(struct dbs_pg *p, struct d01_recstore_backend *be);
void dbs_pg_stats(const struct dbs_pg *p, struct d01_dbstore_stats *st);

/* sqlite.c */
struct dbs_lite *dbs_lite_new(
    struct d01_dbstore *s, const char *path, struct d01_error *err);
void dbs_lite_free(struct dbs_lite *l);
void dbs_lite_backend(struct dbs_lite *l, struct d01_recstore_backend *be);
void dbs_lite_stats(const struct dbs_lite *l, struct d01_dbstore_stats *st);

#endif
