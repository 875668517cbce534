/* SPDX-License-Identifier: ISC */
/*
 * Writes to the PostgreSQL store (pg.c): one statement each, so each is
 * its own transaction, and the row change and its pg_notify commit
 * together. Create is idempotent (ON CONFLICT DO NOTHING), delete removes
 * exactly one (fqdn, value) and a missing row is success; both notify
 * even when nothing changed, so that the writer always gets its own
 * notification (numbered '#job'). The writer applies its write to the
 * local copy from that notification, not from the statement's result: a
 * notification of another instance's change that committed just before
 * is then applied before it, never after (results and notifications of
 * one connection come in one stream, but a result is read before the
 * notifications the backend sends when it goes idle). The write answers
 * once its notification is applied, so the instance that answered
 * already serves it. Jobs wait in a bounded queue (one at a time from
 * send to notification) with their own deadline; a job answered by its
 * deadline is still applied when its notification comes, like any other
 * instance's change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/payload.h"
#include "store/pg_int.h"

static const char SQL_ADD[] =
    "WITH ins AS (INSERT INTO dns01_values (zone, fqdn, value, writer)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT (fqdn, value) DO NOTHING"
    " RETURNING created)"
    " SELECT pg_notify('dns01', $5::text || coalesce((SELECT '@' ||"
    " (extract(epoch FROM created) * 1000)::bigint FROM ins), '') ||"
    " $6::text)";
static const char SQL_DEL[] =
    "WITH del AS (DELETE FROM dns01_values WHERE fqdn = $1 AND value = $2"
    " RETURNING 1) SELECT pg_notify('dns01', $3::text || $4::text),"
    " (SELECT count(*) FROM del)";
static const char SQL_ACCT[] =
    "WITH ins AS (INSERT INTO dns01_accounts"
    " (username, hash, subdomain, allowfrom) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT DO NOTHING RETURNING 1)"
    " SELECT pg_notify('dns01', $5::text || $6::text) FROM ins";
/* Any instance may expire; 256 rows a scan bound one statement. The
 * payload is built here the way payload.c builds an 'R'. */
static const char SQL_EXPIRE[] =
    "WITH del AS (DELETE FROM dns01_values WHERE (fqdn, value) IN"
    " (SELECT fqdn, value FROM dns01_values"
    "  WHERE created < now() - make_interval(secs => $1::float8)"
    "  LIMIT 256) RETURNING fqdn, value)"
    " SELECT fqdn, value, pg_notify('dns01', 'R' || octet_length(fqdn)"
    " || ':' || fqdn || octet_length(value) || ':' || value) FROM del";

static void
job_free(struct pg_job *j)
{
	int i;

	if (j->deadline != NULL)
		event_free(j->deadline);
	for (i = 0; i < 4; i++)
		free(j->f[i]);
	free(j);
}

static void
job_unqueue(struct dbs_pg *p, struct pg_job *j)
{
	if (!j->queued)
		return;
	TAILQ_REMOVE(&p->q, j, link);
	j->queued = 0;
	p->nq--;
}

/* Answer j (once: later results only apply to the local copy). */
static void
job_answer(struct pg_job *j, const struct d01_error *err)
{
	d01_recstore_fn cb = j->cb;

	j->cb = NULL;
	if (cb != NULL)
		cb(j->arg, err);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pg_job *j = arg;
	struct dbs_pg *p = j->p;
	struct d01_error err;

	(void)fd;
	(void)what;
	if (p->state != PG_READY)
		d01_error_set(&err, D01_E_TIMEOUT,
		    "postgres store (%s): not connected to the database: %s",
		    p->s->safe, p->lasterr[0] ? p->lasterr : "connecting");
	else
		d01_error_set(&err, D01_E_TIMEOUT,
		    "postgres store (%s): no reply from the database within "
		    "the deadline (%zu writes waiting)",
		    p->s->safe, p->nq);
	if (j->queued) {
		job_unqueue(p, j);
		job_answer(j, &err);
		job_free(j);
		return;
	}
	job_answer(j, &err); /* on the wire: freed at its result */
}

void
pg_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pg_jobs_next(arg);
}

void
pg_jobs_next(struct dbs_pg *p)
{
	struct pg_job *j;
	char pay[D01_DBP_MAX + 1], ttl[32], tok[32];
	const char *prm[6];
	struct d01_error err;

	if (p->state != PG_READY || p->cur_wire || p->onwire ||
	    p->await != NULL || (j = TAILQ_FIRST(&p->q)) == NULL)
		return;
	job_unqueue(p, j);
	p->cur = j;
	p->cur_wire = 1;
	j->seq = p->seq_next++;
	snprintf(tok, sizeof(tok), "#%lld", (long long)j->seq);
	switch (j->kind) {
	case JOB_VALUE:
		if (j->present) {
			if (d01_dbp_encode(pay, sizeof(pay), 'V',
				(const char *const *)j->f) == 0)
				goto toolong;
			prm[0] = j->f[0];
			prm[1] = j->f[1];
			prm[2] = j->f[2];
			prm[3] = p->s->writer;
			prm[4] = pay;
			prm[5] = tok;
			pg_send(p, SQL_ADD, 6, prm);
		} else {
			if (d01_dbp_encode(pay, sizeof(pay), 'R',
				(const char *const *)j->f + 1) == 0)
				goto toolong;
			prm[0] = j->f[1];
			prm[1] = j->f[2];
			prm[2] = pay;
			prm[3] = tok;
			pg_send(p, SQL_DEL, 4, prm);
		}
		return;
	case JOB_ACCT:
		if (d01_dbp_encode(
			pay, sizeof(pay), 'A', (const char *const *)j->f) == 0)
			goto toolong;
		prm[0] = j->f[0];
		prm[1] = j->f[1];
		prm[2] = j->f[2];
		prm[3] = j->f[3];
		prm[4] = pay;
		prm[5] = tok;
		pg_send(p, SQL_ACCT, 6, prm);
		return;
	case JOB_EXPIRE:
		snprintf(ttl, sizeof(ttl), "%ld", p->s->ttl_s);
		prm[0] = ttl;
		pg_send(p, SQL_EXPIRE, 1, prm);
		return;
	}
	return;
toolong:
	/* Not reachable with the fields' own bounds; refused, not sent. */
	p->cur = NULL;
	p->cur_wire = 0;
	d01_error_set(&err, D01_E_LIMIT,
	    "postgres store (%s): change too long for a notification",
	    p->s->safe);
	job_answer(j, &err);
	job_free(j);
	pg_jobs_next(p);
}

/* The rows go from the local copy by their notifications, in order. */
static void
result_expire(struct dbs_pg *p, PGresult *res)
{
	int n = PQntuples(res);

	p->s->st.expired += (unsigned long)n;
	if (n > 0)
		d01_log(D01_LOG_INFO, "dbstore_expire",
		    "store=%s deleted=%d ttl_s=%ld", p->s->safe, n,
		    p->s->ttl_s);
}

void
pg_job_result(struct dbs_pg *p, PGresult *res)
{
	struct pg_job *j = p->cur;
	ExecStatusType st = PQresultStatus(res);
	struct d01_error err;

	d01_error_clear(&err);
	if (j == NULL) {
		PQclear(res);
		return;
	}
	p->cur = NULL;
	if (st != PGRES_TUPLES_OK) {
		d01_error_set(&err, D01_E_UPSTREAM, "postgres store (%s): %s",
		    p->s->safe, p->lasterr);
		if (j->kind == JOB_EXPIRE)
			d01_log(D01_LOG_WARN, "dbstore_expire",
			    "store=%s msg=\"%s\"", p->s->safe, err.msg);
	} else if (j->kind == JOB_VALUE ||
	    (j->kind == JOB_ACCT && PQntuples(res) > 0)) {
		/* Committed: answered when its notification is applied. */
		p->await = j;
		PQclear(res);
		return;
	} else if (j->kind == JOB_ACCT) {
		d01_error_set(&err, D01_E_CONFLICT,
		    "postgres store (%s): the username or subdomain exists",
		    p->s->safe);
	} else {
		result_expire(p, res);
	}
	if (j->kind == JOB_EXPIRE)
		p->expiring = 0;
	PQclear(res);
	job_answer(j, &err);
	job_free(j);
}

void
pg_job_done(struct dbs_pg *p)
{
	struct pg_job *j = p->cur;
	struct d01_error err;

	p->cur_wire = 0;
	if (j == NULL)
		return;
	p->cur = NULL;
	if (j->kind == JOB_EXPIRE)
		p->expiring = 0;
	d01_error_set(&err, D01_E_PROTOCOL,
	    "postgres store (%s): no result for the write", p->s->safe);
	job_answer(j, &err);
	job_free(j);
}

void
pg_job_lost(struct dbs_pg *p)
{
	struct pg_job *j = p->cur != NULL ? p->cur : p->await;
	struct d01_error err;

	p->cur_wire = 0;
	p->cur = NULL;
	p->await = NULL;
	if (j == NULL)
		return;
	if (j->kind == JOB_EXPIRE)
		p->expiring = 0;
	d01_error_set(&err, D01_E_NETWORK,
	    "postgres store (%s): connection lost during the write (it may "
	    "have been committed): %s",
	    p->s->safe, p->lasterr);
	job_answer(j, &err);
	job_free(j);
}

void
pg_jobs_free(struct dbs_pg *p)
{
	struct pg_job *j;

	while ((j = TAILQ_FIRST(&p->q)) != NULL) {
		job_unqueue(p, j);
		job_free(j);
	}
	if (p->cur != NULL)
		job_free(p->cur);
	if (p->await != NULL)
		job_free(p->await);
	p->cur = p->await = NULL;
	p->cur_wire = 0;
}

static struct pg_job *
job_new(struct dbs_pg *p, enum pg_kind kind, const char *const *f, int nf,
    long budget_ms, struct d01_error *err)
{
	struct pg_job *j;

	if (p->nq >= DBS_MAX_QUEUE) {
		d01_error_set(err, D01_E_LIMIT,
		    "postgres store (%s): %zu writes waiting already",
		    p->s->safe, p->nq);
		return NULL;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		goto nomem;
	j->p = p;
	j->kind = kind;
	if (dbs_job_init(p->s->base, j->f, f, nf, budget_ms,
		kind != JOB_EXPIRE ? deadline_cb : NULL, j, &j->deadline) != 0)
		goto nomem;
	TAILQ_INSERT_TAIL(&p->q, j, link);
	j->queued = 1;
	p->nq++;
	/* Sent from the loop, never from here: a send that fails drops
	 * the connection, and its callbacks must not run inside start. */
	if (!p->cur_wire && p->await == NULL && p->state == PG_READY) {
		static const struct timeval now = {0, 0};

		evtimer_add(p->kick, &now);
	}
	return j;
nomem:
	if (j != NULL)
		job_free(j);
	d01_error_set(err, D01_E_NOMEM, "out of memory");
	return NULL;
}

static void *
pg_start(void *ctx, int present, const char *zone, const char *fqdn,
    const char *value, long budget_ms, d01_recstore_fn cb, void *arg,
    struct d01_error *err)
{
	struct dbs_pg *p = ctx;
	const char *f[3] = {zone, fqdn, value};
	struct pg_job *j = job_new(p, JOB_VALUE, f, 3, budget_ms, err);

	if (j == NULL)
		return NULL;
	j->present = present;
	j->cb = cb;
	j->arg = arg;
	return j;
}

static void *
pg_acct_start(void *ctx, const struct d01_recstore_acct *a, long budget_ms,
    d01_recstore_fn cb, void *arg, struct d01_error *err)
{
	struct dbs_pg *p = ctx;
	const char *f[4] = {a->username, a->hash, a->subdomain,
	    a->allowfrom != NULL ? a->allowfrom : "[]"};
	struct pg_job *j = job_new(p, JOB_ACCT, f, 4, budget_ms, err);

	if (j == NULL)
		return NULL;
	j->cb = cb;
	j->arg = arg;
	return j;
}

static void
pg_cancel(void *handle)
{
	struct pg_job *j = handle;

	if (j == NULL)
		return;
	j->cb = NULL;
	if (j->queued) {
		job_unqueue(j->p, j);
		job_free(j);
	}
	/* On the wire: freed when its result comes. */
}

void
dbs_pg_backend(struct dbs_pg *p, struct d01_recstore_backend *be)
{
	be->start = pg_start;
	be->acct_start = pg_acct_start;
	be->cancel = pg_cancel;
	be->ctx = p;
}

void
pg_expire(struct dbs_pg *p)
{
	struct d01_error err;

	if (p->expiring)
		return;
	if (job_new(p, JOB_EXPIRE, NULL, 0, 0, &err) != NULL)
		p->expiring = 1;
}

/* The writer's own notification of the job awaiting it: applied (by
 * the caller), now answered. */
static void
own_applied(struct dbs_pg *p, int64_t seq)
{
	static const struct timeval now = {0, 0};
	struct pg_job *j = p->await;
	struct d01_dbstore *s = p->s;
	struct d01_error err;

	if (j == NULL || j->seq != seq)
		return;
	p->await = NULL;
	d01_error_clear(&err);
	if (j->kind == JOB_VALUE && j->present &&
	    !s->sink.has(s->sink.ctx, j->f[1], j->f[2]))
		d01_error_set(&err, D01_E_LIMIT,
		    "postgres store (%s): %s was written but the local store "
		    "cannot hold it",
		    s->safe, j->f[1]);
	job_answer(j, &err);
	job_free(j);
	evtimer_add(p->kick, &now); /* the next job, from the loop */
}

void
pg_apply_notify(struct dbs_pg *p, const char *payload, int be_pid)
{
	struct d01_dbp *d = malloc(sizeof(*d));
	struct d01_recstore_acct a;
	int own = p->c != NULL && be_pid == PQbackendPID(p->c);

	if (d == NULL)
		return; /* the next load mends it */
	if (d01_dbp_decode(payload, d) != 0) {
		d01_log(D01_LOG_DEBUG, "dbstore_notify",
		    "store=%s msg=\"malformed notification ignored\"",
		    p->s->safe);
		free(d);
		return;
	}
	switch (d->op) {
	case 'V':
		/* Convergence counts other instances' values only. */
		dbs_add(p->s, d->f[0], d->f[1], d->f[2], d->created_ms, !own);
		break;
	case 'R':
		dbs_remove(p->s, d->f[0], d->f[1]);
		break;
	case 'A':
		a.username = d->f[0];
		a.hash = d->f[1];
		a.subdomain = d->f[2];
		a.allowfrom = d->f[3];
		dbs_acct(p->s, &a);
		break;
	}
	if (own && d->job >= 0)
		own_applied(p, d->job);
	free(d);
}
