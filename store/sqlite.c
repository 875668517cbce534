/* SPDX-License-Identifier: ISC */
/*
 * The SQLite store (dbstore.h): `sqlite:PATH`, one durable node. The file
 * is opened and loaded into the local copy at start-up, before the loop
 * runs; from then on every SQLite call is made on one worker thread, so
 * the loop never waits on the disk. A job goes to the worker through a
 * mutex-guarded queue; its result comes back through a pipe the loop
 * watches, and is applied to the local copy there (the sink is loop-only).
 * WAL with synchronous=FULL: a write answers only once it is committed
 * and on disk. A job answered by its deadline still applies its result
 * when the worker is done, so the local copy follows the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "core/log.h"
#include "store/dbstore_int.h"

#define EXPIRE_BATCH 256

enum lite_kind { LJ_VALUE, LJ_ACCT, LJ_EXPIRE };

struct lite_job {
	TAILQ_ENTRY(lite_job) link;
	struct dbs_lite *l;
	enum lite_kind kind;
	int present;
	char *f[4]; /* as pg_int.h's jobs */
	int64_t now_ms;
	d01_recstore_fn cb; /* NULL: answered, cancelled, or expiry */
	void *arg;
	struct event *deadline;
	/* set by the worker */
	int rc;	     /* SQLITE_OK/DONE, or the failure */
	int changed; /* rows changed */
	char msg[200];
	char **rows; /* expiry: fqdn, value pairs */
	size_t nrows;
};

TAILQ_HEAD(lite_jobq, lite_job);

struct dbs_lite {
	struct d01_dbstore *s;
	sqlite3 *db;
	sqlite3_stmt *add, *del, *acct, *exp;
	pthread_t th;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct lite_jobq todo, done; /* under mu */
	int stop;		     /* under mu */
	size_t n;		     /* jobs not yet back: loop only */
	int pipefd[2];
	struct event *pev, *tick;
	int expiring;
};

static const char SQL_SCHEMA[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "BEGIN IMMEDIATE;"
    "CREATE TABLE IF NOT EXISTS dns01_schema_version ("
    " version INTEGER PRIMARY KEY, applied INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS dns01_values ("
    " zone TEXT NOT NULL, fqdn TEXT NOT NULL, value TEXT NOT NULL,"
    " created INTEGER NOT NULL, writer TEXT NOT NULL DEFAULT '',"
    " UNIQUE (fqdn, value));"
    "CREATE INDEX IF NOT EXISTS dns01_values_created"
    " ON dns01_values (created);"
    "CREATE TABLE IF NOT EXISTS dns01_accounts ("
    " username TEXT PRIMARY KEY, hash TEXT NOT NULL,"
    " subdomain TEXT NOT NULL UNIQUE,"
    " allowfrom TEXT NOT NULL DEFAULT '[]', created INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO dns01_schema_version VALUES (1,"
    " CAST(strftime('%s','now') AS INTEGER) * 1000);"
    "COMMIT;";

static void
job_free(struct lite_job *j)
{
	size_t i;

	if (j->deadline != NULL)
		event_free(j->deadline);
	for (i = 0; i < 4; i++)
		free(j->f[i]);
	for (i = 0; i < 2 * j->nrows; i++)
		free(j->rows[i]);
	free(j->rows);
	free(j);
}

/* --- the worker thread ---------------------------------------------- */

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static void
run_expire(struct dbs_lite *l, struct lite_job *j)
{
	sqlite3_stmt *st = l->exp;
	size_t cap = 0;
	char **nr;

	sqlite3_bind_int64(st, 1, j->now_ms - (int64_t)l->s->ttl_s * 1000);
	sqlite3_bind_int(st, 2, EXPIRE_BATCH);
	while ((j->rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (j->nrows == cap) {
			cap = cap ? 2 * cap : 16;
			if ((nr = realloc(j->rows, 2 * cap * sizeof(char *))) ==
			    NULL)
				break; /* the next scan finds the rest */
			j->rows = nr;
		}
		j->rows[2 * j->nrows] =
		    strdup((const char *)sqlite3_column_text(st, 0));
		j->rows[2 * j->nrows + 1] =
		    strdup((const char *)sqlite3_column_text(st, 1));
		if (j->rows[2 * j->nrows] == NULL ||
		    j->rows[2 * j->nrows + 1] == NULL) {
			free(j->rows[2 * j->nrows]);
			free(j->rows[2 * j->nrows + 1]);
			break;
		}
		j->nrows++;
	}
}

static void
run(struct dbs_lite *l, struct lite_job *j)
{
	sqlite3_stmt *st;
	int i;

	switch (j->kind) {
	case LJ_VALUE:
		st = j->present ? l->add : l->del;
		if (j->present) {
			bind_text(st, 1, j->f[0]);
			bind_text(st, 2, j->f[1]);
			bind_text(st, 3, j->f[2]);
			sqlite3_bind_int64(st, 4, j->now_ms);
			bind_text(st, 5, l->s->writer);
		} else {
			bind_text(st, 1, j->f[1]);
			bind_text(st, 2, j->f[2]);
		}
		j->rc = sqlite3_step(st);
		break;
	case LJ_ACCT:
		st = l->acct;
		for (i = 0; i < 4; i++)
			bind_text(st, i + 1, j->f[i]);
		sqlite3_bind_int64(st, 5, j->now_ms);
		j->rc = sqlite3_step(st);
		break;
	default:
		st = l->exp;
		run_expire(l, j);
		break;
	}
	if (j->rc == SQLITE_DONE || j->rc == SQLITE_ROW)
		j->rc = SQLITE_OK;
	j->changed = sqlite3_changes(l->db);
	if (j->rc != SQLITE_OK)
		snprintf(j->msg, sizeof(j->msg), "%s", sqlite3_errmsg(l->db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static void *
worker(void *arg)
{
	struct dbs_lite *l = arg;
	struct lite_job *j;
	char c = 'x';
	ssize_t w;

	pthread_mutex_lock(&l->mu);
	for (;;) {
		while (!l->stop && TAILQ_EMPTY(&l->todo))
			pthread_cond_wait(&l->cv, &l->mu);
		if (l->stop)
			break;
		j = TAILQ_FIRST(&l->todo);
		TAILQ_REMOVE(&l->todo, j, link);
		pthread_mutex_unlock(&l->mu);
		run(l, j);
		pthread_mutex_lock(&l->mu);
		TAILQ_INSERT_TAIL(&l->done, j, link);
		/* A full pipe already has a wake-up in it. */
		do
			w = write(l->pipefd[1], &c, 1);
		while (w < 0 && errno == EINTR);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* --- the loop side -------------------------------------------------- */

static void
answer(struct lite_job *j, const struct d01_error *err)
{
	d01_recstore_fn cb = j->cb;

	j->cb = NULL;
	if (cb != NULL)
		cb(j->arg, err);
}

static void
apply(struct dbs_lite *l, struct lite_job *j)
{
	struct d01_dbstore *s = l->s;
	struct d01_recstore_acct a;
	struct d01_error err;
	size_t i;

	d01_error_clear(&err);
	if (j->rc != SQLITE_OK) {
		d01_error_set(&err, D01_E_UPSTREAM, "sqlite store (%s): %s",
		    s->safe, j->msg);
	} else if (j->kind == LJ_VALUE && j->present) {
		dbs_add(s, j->f[0], j->f[1], j->f[2], -1, 0);
		if (!s->sink.has(s->sink.ctx, j->f[1], j->f[2]))
			d01_error_set(&err, D01_E_LIMIT,
			    "sqlite store (%s): %s was written but the local "
			    "store cannot hold it",
			    s->safe, j->f[1]);
	} else if (j->kind == LJ_VALUE) {
		dbs_remove(s, j->f[1], j->f[2]);
	} else if (j->kind == LJ_ACCT) {
		a.username = j->f[0];
		a.hash = j->f[1];
		a.subdomain = j->f[2];
		a.allowfrom = j->f[3];
		if (j->changed == 0)
			d01_error_set(&err, D01_E_CONFLICT,
			    "sqlite store (%s): the username or subdomain "
			    "exists",
			    s->safe);
		else
			dbs_acct(s, &a);
	} else {
		for (i = 0; i < j->nrows; i++)
			dbs_remove(s, j->rows[2 * i], j->rows[2 * i + 1]);
		s->st.expired += j->nrows;
		if (j->nrows > 0)
			d01_log(D01_LOG_INFO, "dbstore_expire",
			    "store=%s deleted=%zu ttl_s=%ld", s->safe, j->nrows,
			    s->ttl_s);
	}
	if (j->kind == LJ_EXPIRE) {
		l->expiring = 0;
		if (err.code != D01_OK)
			d01_log(D01_LOG_WARN, "dbstore_expire",
			    "store=%s msg=\"%s\"", s->safe, err.msg);
	}
	answer(j, &err);
}

static void
pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dbs_lite *l = arg;
	struct lite_jobq got;
	struct lite_job *j;
	char buf[256];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	TAILQ_INIT(&got);
	pthread_mutex_lock(&l->mu);
	TAILQ_CONCAT(&got, &l->done, link);
	pthread_mutex_unlock(&l->mu);
	while ((j = TAILQ_FIRST(&got)) != NULL) {
		TAILQ_REMOVE(&got, j, link);
		l->n--;
		apply(l, j);
		job_free(j);
	}
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lite_job *j = arg;
	struct d01_error err;

	(void)fd;
	(void)what;
	d01_error_set(&err, D01_E_TIMEOUT,
	    "sqlite store (%s): the write was not committed within the "
	    "deadline (%zu writes waiting)",
	    j->l->s->safe, j->l->n);
	answer(j, &err); /* freed when the worker is done with it */
}

static struct lite_job *
job_push(struct dbs_lite *l, enum lite_kind kind, int present,
    const char *const *f, int nf, long budget_ms, struct d01_error *err)
{
	struct lite_job *j;

	if (l->n >= DBS_MAX_QUEUE) {
		d01_error_set(err, D01_E_LIMIT,
		    "sqlite store (%s): %zu writes waiting already", l->s->safe,
		    l->n);
		return NULL;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		goto nomem;
	j->l = l;
	j->kind = kind;
	j->present = present;
	j->now_ms = dbs_wall_ms();
	if (dbs_job_init(l->s->base, j->f, f, nf, budget_ms,
		kind != LJ_EXPIRE ? deadline_cb : NULL, j, &j->deadline) != 0)
		goto nomem;
	l->n++;
	pthread_mutex_lock(&l->mu);
	TAILQ_INSERT_TAIL(&l->todo, j, link);
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	return j;
nomem:
	if (j != NULL)
		job_free(j);
	d01_error_set(err, D01_E_NOMEM, "out of memory");
	return NULL;
}

static void *
lite_start(void *ctx, int present, const char *zone, const char *fqdn,
    const char *value, long budget_ms, d01_recstore_fn cb, void *arg,
    struct d01_error *err)
{
	const char *f[3] = {zone, fqdn, value};
	struct lite_job *j =
	    job_push(ctx, LJ_VALUE, present, f, 3, budget_ms, err);

	if (j == NULL)
		return NULL;
	/* The worker never reads cb or arg: only the loop, which is here
	 * until the result can be taken. */
	j->cb = cb;
	j->arg = arg;
	return j;
}

static void *
lite_acct_start(void *ctx, const struct d01_recstore_acct *a, long budget_ms,
    d01_recstore_fn cb, void *arg, struct d01_error *err)
{
	const char *f[4] = {a->username, a->hash, a->subdomain,
	    a->allowfrom != NULL ? a->allowfrom : "[]"};
	struct lite_job *j = job_push(ctx, LJ_ACCT, 0, f, 4, budget_ms, err);

	if (j == NULL)
		return NULL;
	j->cb = cb;
	j->arg = arg;
	return j;
}

static void
lite_cancel(void *handle)
{
	struct lite_job *j = handle;

	if (j != NULL)
		j->cb = NULL; /* freed when the worker is done with it */
}

void
dbs_lite_backend(struct dbs_lite *l, struct d01_recstore_backend *be)
{
	be->start = lite_start;
	be->acct_start = lite_acct_start;
	be->cancel = lite_cancel;
	be->ctx = l;
}

/* A quarter of the TTL (1 s to 60 s): one expiry job at a time. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dbs_lite *l = arg;
	struct d01_error err;

	(void)fd;
	(void)what;
	if (!l->expiring && job_push(l, LJ_EXPIRE, 0, NULL, 0, 0, &err) != NULL)
		l->expiring = 1;
}

/* --- start-up: open, schema, load (before the loop runs) ------------- */

static int
load(struct dbs_lite *l, struct d01_error *err)
{
	struct d01_dbstore *s = l->s;
	struct d01_recstore_acct a;
	sqlite3_stmt *st = NULL;
	size_t nv = 0, na = 0;
	int rc;

	if (sqlite3_prepare_v2(l->db,
		"SELECT zone, fqdn, value FROM dns01_values", -1, &st,
		NULL) != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && nv < DBS_MAX_VALUES) {
		dbs_add(s, (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2), -1, 0);
		nv++;
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(l->db,
		"SELECT username, hash, subdomain, allowfrom "
		"FROM dns01_accounts",
		-1, &st, NULL) != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && na < DBS_MAX_ACCOUNTS) {
		a.username = (const char *)sqlite3_column_text(st, 0);
		a.hash = (const char *)sqlite3_column_text(st, 1);
		a.subdomain = (const char *)sqlite3_column_text(st, 2);
		a.allowfrom = (const char *)sqlite3_column_text(st, 3);
		dbs_acct(s, &a);
		na++;
	}
	sqlite3_finalize(st);
	d01_log(D01_LOG_INFO, "dbstore_loaded",
	    "store=%s values=%zu accounts=%zu held=%zu", s->safe, nv, na,
	    s->st.records);
	return 0;
fail:
	d01_error_set(err, D01_E_CONFIG, "sqlite store (%s): loading: %s",
	    s->safe, sqlite3_errmsg(l->db));
	sqlite3_finalize(st);
	return -1;
}

static int
prepare(struct dbs_lite *l)
{
	return sqlite3_prepare_v2(l->db,
		   "INSERT INTO dns01_values (zone, fqdn, value, created, "
		   "writer) VALUES (?1, ?2, ?3, ?4, ?5) "
		   "ON CONFLICT (fqdn, value) DO NOTHING",
		   -1, &l->add, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(l->db,
		"DELETE FROM dns01_values WHERE fqdn = ?1 AND value = ?2", -1,
		&l->del, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(l->db,
		"INSERT INTO dns01_accounts (username, hash, subdomain, "
		"allowfrom, created) VALUES (?1, ?2, ?3, ?4, ?5) "
		"ON CONFLICT DO NOTHING",
		-1, &l->acct, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(l->db,
		"DELETE FROM dns01_values WHERE rowid IN (SELECT rowid FROM "
		"dns01_values WHERE created < ?1 LIMIT ?2) "
		"RETURNING fqdn, value",
		-1, &l->exp, NULL) != SQLITE_OK;
}

struct dbs_lite *
dbs_lite_new(struct d01_dbstore *s, const char *path, struct d01_error *err)
{
	struct dbs_lite *l = calloc(1, sizeof(*l));
	struct timeval tv;
	long ms = dbs_expiry_period_ms(s);
	char *msg = NULL;

	if (l == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	l->s = s;
	l->pipefd[0] = l->pipefd[1] = -1;
	TAILQ_INIT(&l->todo);
	TAILQ_INIT(&l->done);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	if (*path == '\0') {
		d01_error_set(err, D01_E_CONFIG, "sqlite store: no PATH");
		goto fail;
	}
	/* The worker is the only thread that touches the handle after
	 * start-up: no SQLite mutexes needed. */
	if (sqlite3_open_v2(path, &l->db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		    SQLITE_OPEN_NOMUTEX,
		NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(l->db, 5000) != SQLITE_OK ||
	    sqlite3_exec(l->db, SQL_SCHEMA, NULL, NULL, &msg) != SQLITE_OK ||
	    prepare(l) != 0) {
		d01_error_set(err, D01_E_CONFIG, "sqlite store (%s): %s",
		    s->safe, msg != NULL ? msg : sqlite3_errmsg(l->db));
		sqlite3_free(msg);
		goto fail;
	}
	if (load(l, err) != 0)
		goto fail;
	if (pipe(l->pipefd) != 0 ||
	    fcntl(l->pipefd[0], F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(l->pipefd[1], F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(l->pipefd[0], F_SETFD, FD_CLOEXEC) != 0 ||
	    fcntl(l->pipefd[1], F_SETFD, FD_CLOEXEC) != 0 ||
	    (l->pev = event_new(s->base, l->pipefd[0], EV_READ | EV_PERSIST,
		 pipe_cb, l)) == NULL ||
	    event_add(l->pev, NULL) != 0 ||
	    (l->tick = event_new(s->base, -1, EV_PERSIST, tick_cb, l)) ==
		NULL) {
		d01_error_set(err, D01_E_INTERNAL,
		    "sqlite store: cannot set up its events");
		goto fail;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(l->tick, &tv);
	if (pthread_create(&l->th, NULL, worker, l) != 0) {
		d01_error_set(err, D01_E_INTERNAL,
		    "sqlite store: cannot start its worker thread");
		goto fail;
	}
	l->started = 1;
	return l;
fail:
	dbs_lite_free(l);
	return NULL;
}

void
dbs_lite_free(struct dbs_lite *l)
{
	struct lite_job *j;

	if (l == NULL)
		return;
	if (l->started) {
		pthread_mutex_lock(&l->mu);
		l->stop = 1;
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->th, NULL);
	}
	/* The worker is gone: both queues are ours. No callbacks. */
	while ((j = TAILQ_FIRST(&l->todo)) != NULL) {
		TAILQ_REMOVE(&l->todo, j, link);
		job_free(j);
	}
	while ((j = TAILQ_FIRST(&l->done)) != NULL) {
		TAILQ_REMOVE(&l->done, j, link);
		job_free(j);
	}
	if (l->pev != NULL)
		event_free(l->pev);
	if (l->tick != NULL)
		event_free(l->tick);
	if (l->pipefd[0] >= 0)
		close(l->pipefd[0]);
	if (l->pipefd[1] >= 0)
		close(l->pipefd[1]);
	sqlite3_finalize(l->add);
	sqlite3_finalize(l->del);
	sqlite3_finalize(l->acct);
	sqlite3_finalize(l->exp);
	sqlite3_close(l->db);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l);
}

void
dbs_lite_stats(const struct dbs_lite *l, struct d01_dbstore_stats *st)
{
	st->queued = l->n;
	st->stale = 0;
	st->since_sync_s = 0;
}
