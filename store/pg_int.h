/* SPDX-License-Identifier: ISC */
/* Private to store/pg*.c: the PostgreSQL store's connection and jobs. */
#ifndef D01_STORE_PG_INT_H
#define D01_STORE_PG_INT_H

#include <sys/queue.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "store/dbstore_int.h"

enum pg_state {
	PG_DOWN,       /* waiting to connect again */
	PG_CONNECTING, /* PQconnectPoll */
	PG_SETUP,      /* schema and LISTEN */
	PG_LOADING,    /* the full SELECT */
	PG_READY       /* jobs one at a time, notifications */
};

enum pg_kind { JOB_VALUE, JOB_ACCT, JOB_EXPIRE };

struct pg_job {
	TAILQ_ENTRY(pg_job) link;
	struct dbs_pg *p;
	enum pg_kind kind;
	int present;
	int queued; /* in p->q (else on the wire, or answered and gone) */
	/* value: zone, fqdn, value; account: username, hash, subdomain,
	 * allowfrom. One allocation each. */
	char *f[4];
	int64_t seq;	    /* its number in its notification ('#') */
	d01_recstore_fn cb; /* NULL: answered (deadline), cancelled, expiry */
	void *arg;
	struct event *deadline;
};

TAILQ_HEAD(pg_jobq, pg_job);

struct dbs_pg {
	struct d01_dbstore *s;
	char *url; /* secret: only ever given to libpq */
	char appname[64];
	PGconn *c;
	enum pg_state state;
	struct event *sock; /* PQsocket, read and/or write */
	int sock_fd;
	short sock_what;
	struct event *retry, *tick;
	struct event *kick; /* send the next job, from the loop */
	long backoff_ms;
	int64_t state_since_ms; /* mono, when state last changed */
	int64_t last_ok_ms;	/* mono, last moment READY */
	int64_t next_expiry_ms;
	int64_t wire_since_ms; /* mono, the query on the wire was sent */
	int ever_ready, stale, down_logged;
	int onwire;	  /* a query is on the wire */
	int expiring;	  /* an expiry job is queued or on the wire */
	struct pg_jobq q; /* waiting, oldest first */
	size_t nq;
	struct pg_job *cur; /* the job on the wire, or NULL */
	/* Committed, waiting for its own notification: applied in the
	 * order of the notification stream, then answered. */
	struct pg_job *await;
	int64_t seq_next;
	int cur_wire;	  /* a job's query is on the wire (cur may be
			   * NULL once cancelled) */
	PGresult *res[2]; /* a load's values and accounts */
	int qerr;	  /* the query on the wire failed */
	char lasterr[300];
};

/* pg.c */
void pg_drop(struct dbs_pg *p, const char *why);
/* Send a query with params (NULL: simple, several statements) and
 * watch the socket for its end; -1 after pg_drop. */
int pg_send(
    struct dbs_pg *p, const char *sql, int n, const char *const *params);

/* pg_write.c */
void pg_kick_cb(evutil_socket_t fd, short what, void *arg);
void pg_jobs_next(struct dbs_pg *p); /* READY and idle: send the next */
/* The result of the job on the wire (NULL res: it ended, with ok). */
void pg_job_result(struct dbs_pg *p, PGresult *res);
void pg_job_done(struct dbs_pg *p);
/* The connection went away with the job on the wire. */
void pg_job_lost(struct dbs_pg *p);
void pg_jobs_free(struct dbs_pg *p);
void pg_expire(struct dbs_pg *p);
void pg_apply_notify(struct dbs_pg *p, const char *payload, int be_pid);

#endif
