/* SPDX-License-Identifier: ISC */
/*
 * The PostgreSQL store (dbstore.h): one connection, driven by libpq's
 * asynchronous API on the loop (PQconnectStartParams/PQconnectPoll, then
 * PQsendQuery*, PQflush in non-blocking mode, PQconsumeInput/PQisBusy/
 * PQgetResult when PQsocket is readable). One connection both LISTENs
 * and writes: the notifications and the results then come in one
 * ordered stream, and a reconnect has one state to rebuild.
 *
 * A connection goes DOWN -> CONNECTING -> SETUP (create the schema under
 * an advisory lock, LISTEN dns01) -> LOADING (every value and account in
 * one REPEATABLE READ transaction, applied to the local copy in one loop
 * callback: clear, then adds) -> READY (jobs one at a time, notifications
 * applied as they come). Every instance applies every change from the
 * notifications alone, the writer too: its own write is applied when its
 * notification comes, in the one order PostgreSQL delivers them (commit
 * order), and only then answered. Notifications are left in libpq's
 * queue until the load is applied, so a change committed after the
 * load's snapshot is applied after it; one committed before is in both, and
 * applying it twice changes nothing. A NOTIFY lost while disconnected is
 * covered by the load that follows every reconnect. Writes are pg_write.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "core/log.h"
#include "store/pg_int.h"

#define SCHEMA_VERSION	   1
#define BACKOFF_MIN_MS	   250
#define BACKOFF_MAX_MS	   5000
#define CONNECT_TIMEOUT_MS 10000 /* connect, setup and load, each */
#define WIRE_TIMEOUT_MS	   30000 /* one write's statement */

/* Two instances starting at once would race on CREATE TABLE IF NOT
 * EXISTS (a unique violation in the catalog): an advisory lock, the same
 * number everywhere ("dns01sto"), serializes them. */
static const char SQL_SETUP[] =
    "BEGIN;"
    "SELECT pg_advisory_xact_lock(7236267453030725487);"
    "CREATE TABLE IF NOT EXISTS dns01_schema_version ("
    " version integer PRIMARY KEY,"
    " applied timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE IF NOT EXISTS dns01_values ("
    " zone text NOT NULL, fqdn text NOT NULL, value text NOT NULL,"
    " created timestamptz NOT NULL DEFAULT now(),"
    " writer text NOT NULL DEFAULT '',"
    " UNIQUE (fqdn, value));"
    "CREATE INDEX IF NOT EXISTS dns01_values_created"
    " ON dns01_values (created);"
    "CREATE TABLE IF NOT EXISTS dns01_accounts ("
    " username text PRIMARY KEY, hash text NOT NULL,"
    " subdomain text NOT NULL UNIQUE,"
    " allowfrom text NOT NULL DEFAULT '[]',"
    " created timestamptz NOT NULL DEFAULT now());"
    "INSERT INTO dns01_schema_version (version) VALUES (1)"
    " ON CONFLICT DO NOTHING;"
    "COMMIT;"
    "LISTEN dns01;"
    "SELECT max(version) AS schema_version FROM dns01_schema_version;";

static const char SQL_LOAD[] =
    "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;"
    "SELECT zone, fqdn, value,"
    " (extract(epoch FROM created) * 1000)::bigint AS created_ms"
    " FROM dns01_values LIMIT 100001;"
    "SELECT username, hash, subdomain, allowfrom"
    " FROM dns01_accounts LIMIT 1000001;"
    "COMMIT;";

static void connect_start(struct dbs_pg *p);

static void
set_state(struct dbs_pg *p, enum pg_state st)
{
	p->state = st;
	p->state_since_ms = dbs_mono_ms();
}

/* libpq's message on one line, quotes made harmless for the log. */
static void
set_lasterr(struct dbs_pg *p, const char *what, const char *msg)
{
	char *c;

	snprintf(p->lasterr, sizeof(p->lasterr), "%s%s", what,
	    msg != NULL && *msg ? msg : "unknown error");
	for (c = p->lasterr; *c; c++)
		if (*c == '\n' || *c == '\r' || *c == '\t')
			*c = ' ';
		else if (*c == '"')
			*c = '\'';
	while (c > p->lasterr && c[-1] == ' ')
		*--c = '\0';
}

static void sock_cb(evutil_socket_t fd, short what, void *arg);

/* Watch PQsocket for `what`. During the connection's set-up libpq may
 * close its socket and open another with the same number (the next
 * address of a host): the event is made anew then. */
static int
watch(struct dbs_pg *p, short what, int fresh)
{
	int fd = PQsocket(p->c);

	if (fd < 0)
		return -1;
	if (!fresh && p->sock != NULL && p->sock_fd == fd &&
	    p->sock_what == what)
		return 0;
	if (p->sock != NULL)
		event_free(p->sock);
	p->sock = event_new(p->s->base, fd, what | EV_PERSIST, sock_cb, p);
	if (p->sock == NULL || event_add(p->sock, NULL) != 0)
		return -1;
	p->sock_fd = fd;
	p->sock_what = what;
	return 0;
}

static void
retry_later(struct dbs_pg *p)
{
	struct timeval tv;
	uint32_t r = 0;
	long d;

	p->backoff_ms = p->backoff_ms == 0 ? BACKOFF_MIN_MS : p->backoff_ms * 2;
	if (p->backoff_ms > BACKOFF_MAX_MS)
		p->backoff_ms = BACKOFF_MAX_MS;
	RAND_bytes((unsigned char *)&r, sizeof(r));
	d = p->backoff_ms / 2 + (long)(r % (uint32_t)(p->backoff_ms / 2 + 1));
	tv.tv_sec = d / 1000;
	tv.tv_usec = (d % 1000) * 1000;
	evtimer_add(p->retry, &tv);
}

void
pg_drop(struct dbs_pg *p, const char *why)
{
	int was_ready = p->state == PG_READY;

	if (why != NULL)
		set_lasterr(p, "", why);
	d01_log(was_ready || !p->down_logged ? D01_LOG_WARN : D01_LOG_DEBUG,
	    "dbstore_down",
	    "store=%s msg=\"%s; DNS answers from the last loaded state, "
	    "connecting again\"",
	    p->s->safe, p->lasterr);
	p->down_logged = 1;
	if (p->sock != NULL)
		event_free(p->sock);
	p->sock = NULL;
	PQclear(p->res[0]);
	PQclear(p->res[1]);
	p->res[0] = p->res[1] = NULL;
	p->qerr = 0;
	p->onwire = 0;
	if (p->cur_wire || p->await != NULL)
		pg_job_lost(p);
	if (p->c != NULL)
		PQfinish(p->c);
	p->c = NULL;
	if (was_ready)
		p->last_ok_ms = dbs_mono_ms();
	set_state(p, PG_DOWN);
	retry_later(p);
}

int
pg_send(struct dbs_pg *p, const char *sql, int n, const char *const *params)
{
	int r;

	r = params == NULL
	    ? PQsendQuery(p->c, sql)
	    : PQsendQueryParams(p->c, sql, n, NULL, params, NULL, NULL, 0);
	if (r != 1) {
		set_lasterr(p, "sending a query: ", PQerrorMessage(p->c));
		pg_drop(p, NULL);
		return -1;
	}
	p->onwire = 1;
	p->wire_since_ms = dbs_mono_ms();
	p->qerr = 0;
	r = PQflush(p->c);
	if (r < 0 || watch(p, r == 1 ? EV_READ | EV_WRITE : EV_READ, 0)) {
		set_lasterr(p, "sending a query: ", PQerrorMessage(p->c));
		pg_drop(p, NULL);
		return -1;
	}
	return 0;
}

/* The load is in: the local copy becomes it, in this one callback. */
static void
load_apply(struct dbs_pg *p)
{
	struct d01_dbstore *s = p->s;
	PGresult *v = p->res[0], *a = p->res[1];
	struct d01_recstore_acct acct;
	int i, nv = PQntuples(v), na = PQntuples(a);

	dbs_clear(s);
	for (i = 0; i < nv && i < DBS_MAX_VALUES; i++)
		dbs_add(s, PQgetvalue(v, i, 0), PQgetvalue(v, i, 1),
		    PQgetvalue(v, i, 2), -1, 0);
	for (i = 0; i < na && i < DBS_MAX_ACCOUNTS; i++) {
		acct.username = PQgetvalue(a, i, 0);
		acct.hash = PQgetvalue(a, i, 1);
		acct.subdomain = PQgetvalue(a, i, 2);
		acct.allowfrom = PQgetvalue(a, i, 3);
		dbs_acct(s, &acct);
	}
	if (nv > DBS_MAX_VALUES)
		d01_log(D01_LOG_WARN, "dbstore_full",
		    "store=%s msg=\"more than %d values: the rest are not "
		    "served\"",
		    s->safe, DBS_MAX_VALUES);
	d01_log(D01_LOG_INFO, "dbstore_loaded",
	    "store=%s values=%d accounts=%d held=%zu", s->safe, nv, na,
	    s->st.records);
	PQclear(v);
	PQclear(a);
	p->res[0] = p->res[1] = NULL;
	if (p->ever_ready)
		s->st.reloads++;
	p->ever_ready = 1;
	p->backoff_ms = 0;
	p->down_logged = 0;
	p->last_ok_ms = dbs_mono_ms();
	set_state(p, PG_READY);
	if (p->stale) {
		p->stale = 0;
		d01_log(D01_LOG_INFO, "dbstore_fresh",
		    "store=%s msg=\"synced with the database again\"", s->safe);
	}
}

static void
on_result(struct dbs_pg *p, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	const char *col;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		if (!p->qerr)
			set_lasterr(p, "", PQresultErrorMessage(res));
		p->qerr = 1;
	}
	if (p->state == PG_READY) {
		pg_job_result(p, res); /* owns res */
		return;
	}
	col =
	    st == PGRES_TUPLES_OK && PQnfields(res) > 0 ? PQfname(res, 0) : "";
	if (p->state == PG_SETUP && strcmp(col, "schema_version") == 0 &&
	    PQntuples(res) == 1 &&
	    atoi(PQgetvalue(res, 0, 0)) > SCHEMA_VERSION) {
		snprintf(p->lasterr, sizeof(p->lasterr),
		    "the database's schema is version %d, newer than this "
		    "dns01's (%d)",
		    atoi(PQgetvalue(res, 0, 0)), SCHEMA_VERSION);
		p->qerr = 1;
	}
	if (p->state == PG_LOADING && strcmp(col, "zone") == 0 &&
	    PQnfields(res) == 4 && p->res[0] == NULL) {
		p->res[0] = res;
		return;
	}
	if (p->state == PG_LOADING && strcmp(col, "username") == 0 &&
	    PQnfields(res) == 4 && p->res[1] == NULL) {
		p->res[1] = res;
		return;
	}
	PQclear(res);
}

/* The query on the wire has ended; the next step. */
static void
on_query_end(struct dbs_pg *p)
{
	char why[400];

	p->onwire = 0;
	switch (p->state) {
	case PG_SETUP:
		if (p->qerr) {
			snprintf(why, sizeof(why), "setting up the schema: %s",
			    p->lasterr);
			pg_drop(p, why);
			return;
		}
		set_state(p, PG_LOADING);
		pg_send(p, SQL_LOAD, 0, NULL);
		return;
	case PG_LOADING:
		if (p->qerr || p->res[0] == NULL || p->res[1] == NULL) {
			snprintf(why, sizeof(why), "loading: %s",
			    p->qerr ? p->lasterr : "no rows");
			pg_drop(p, why);
			return;
		}
		load_apply(p);
		pg_jobs_next(p);
		return;
	case PG_READY:
		pg_job_done(p);
		pg_jobs_next(p);
		return;
	default:
		return;
	}
}

static void
on_connected(struct dbs_pg *p)
{
	if (PQsetnonblocking(p->c, 1) != 0) {
		set_lasterr(p, "", PQerrorMessage(p->c));
		pg_drop(p, NULL);
		return;
	}
	if (p->ever_ready)
		p->s->st.reconnects++;
	set_state(p, PG_SETUP);
	pg_send(p, SQL_SETUP, 0, NULL);
}

/* Results while not busy, then (READY only) the notifications. */
static void
drain(struct dbs_pg *p)
{
	PGresult *res;
	PGnotify *n;

	while (p->c != NULL && p->onwire && !PQisBusy(p->c)) {
		if ((res = PQgetResult(p->c)) != NULL)
			on_result(p, res);
		else
			on_query_end(p);
	}
	while (p->c != NULL && p->state == PG_READY &&
	    (n = PQnotifies(p->c)) != NULL) {
		pg_apply_notify(p, n->extra, n->be_pid);
		PQfreemem(n);
	}
}

static void
sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dbs_pg *p = arg;
	PostgresPollingStatusType r;
	int f;

	(void)fd;
	if (p->state == PG_CONNECTING) {
		r = PQconnectPoll(p->c);
		if (r == PGRES_POLLING_OK) {
			on_connected(p);
		} else if (r == PGRES_POLLING_FAILED) {
			set_lasterr(p, "", PQerrorMessage(p->c));
			pg_drop(p, NULL);
		} else if (watch(p,
			       r == PGRES_POLLING_READING ? EV_READ : EV_WRITE,
			       1) != 0) {
			pg_drop(p, "no socket to wait on");
		}
		return;
	}
	if (what & EV_READ) {
		if (PQconsumeInput(p->c) != 1 ||
		    PQstatus(p->c) == CONNECTION_BAD) {
			set_lasterr(p, "", PQerrorMessage(p->c));
			pg_drop(p, NULL);
			return;
		}
	}
	if (p->sock_what & EV_WRITE) {
		if ((f = PQflush(p->c)) < 0) {
			set_lasterr(p, "", PQerrorMessage(p->c));
			pg_drop(p, NULL);
			return;
		}
		if (f == 0 && watch(p, EV_READ, 0) != 0) {
			pg_drop(p, "no socket to wait on");
			return;
		}
	}
	drain(p);
}

/* NOTICEs ("relation ... already exists, skipping") go to the debug
 * log, not to libpq's default of stderr. */
static void
on_notice(void *arg, const char *msg)
{
	struct dbs_pg *p = arg;
	char line[300];
	char *c;

	snprintf(line, sizeof(line), "%s", msg);
	for (c = line; *c; c++)
		if (*c == '\n' || *c == '"')
			*c = ' ';
	d01_log(D01_LOG_DEBUG, "dbstore_notice", "store=%s msg=\"%s\"",
	    p->s->safe, line);
}

static void
connect_start(struct dbs_pg *p)
{
	/* TCP keepalives first, so that the URL may set its own: a peer
	 * gone without a FIN (a partition) is noticed within ~30 s even
	 * when nothing is on the wire, and NOTIFYs are not silently lost. */
	const char *kw[] = {"keepalives", "keepalives_idle",
	    "keepalives_interval", "keepalives_count", "dbname",
	    "fallback_application_name", NULL};
	const char *val[] = {"1", "10", "5", "3", p->url, p->appname, NULL};

	set_state(p, PG_CONNECTING);
	/* The URL is the dbname to expand; the application name (seen in
	 * pg_stat_activity) says which instance, unless the URL says. */
	if ((p->c = PQconnectStartParams(kw, val, 1)) == NULL) {
		pg_drop(p, "out of memory");
		return;
	}
	if (PQstatus(p->c) == CONNECTION_BAD) {
		set_lasterr(p, "", PQerrorMessage(p->c));
		pg_drop(p, NULL);
		return;
	}
	PQsetNoticeProcessor(p->c, on_notice, p);
	/* "Consider PGRES_POLLING_WRITING at the start" (libpq docs). */
	if (watch(p, EV_WRITE, 1) != 0)
		pg_drop(p, "no socket to wait on");
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connect_start(arg);
}

/* Once a second: set-up deadlines, staleness, expiry. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dbs_pg *p = arg;
	int64_t now = dbs_mono_ms();
	char why[64];

	(void)fd;
	(void)what;
	if (p->state == PG_READY)
		p->last_ok_ms = now;
	else if (p->state != PG_DOWN &&
	    now - p->state_since_ms >= CONNECT_TIMEOUT_MS) {
		snprintf(why, sizeof(why), "no progress for %d s",
		    CONNECT_TIMEOUT_MS / 1000);
		pg_drop(p, why);
	}
	/* A statement is one row or 256: this long without its reply, the
	 * connection is broken in a way TCP has not noticed yet. */
	if (p->state == PG_READY && (p->onwire || p->await != NULL) &&
	    now - p->wire_since_ms >= WIRE_TIMEOUT_MS) {
		snprintf(why, sizeof(why), "no reply for %d s",
		    WIRE_TIMEOUT_MS / 1000);
		pg_drop(p, why);
	}
	if (!p->stale && p->state != PG_READY &&
	    now - p->last_ok_ms >= p->s->stale_ms) {
		p->stale = 1;
		d01_log(D01_LOG_WARN, "dbstore_stale",
		    "store=%s msg=\"not synced with the database for %ld s: "
		    "DNS answers from the last loaded state\"",
		    p->s->safe, p->s->stale_ms / 1000);
	}
	if (p->state == PG_READY && now >= p->next_expiry_ms) {
		pg_expire(p);
		p->next_expiry_ms = now + dbs_expiry_period_ms(p->s);
	}
}

struct dbs_pg *
dbs_pg_new(struct d01_dbstore *s, const char *url, struct d01_error *err)
{
	static const struct timeval now = {0, 0}, sec = {1, 0};
	struct dbs_pg *p = calloc(1, sizeof(*p));

	if (p == NULL)
		goto nomem;
	p->s = s;
	TAILQ_INIT(&p->q);
	if ((p->url = strdup(url)) == NULL ||
	    (p->retry = evtimer_new(s->base, retry_cb, p)) == NULL ||
	    (p->kick = evtimer_new(s->base, pg_kick_cb, p)) == NULL ||
	    (p->tick = event_new(s->base, -1, EV_PERSIST, tick_cb, p)) == NULL)
		goto nomem;
	snprintf(p->appname, sizeof(p->appname), "dns01 %.50s", s->writer);
	p->last_ok_ms = dbs_mono_ms();
	set_state(p, PG_DOWN);
	evtimer_add(p->retry, &now); /* the first connection, from the loop */
	evtimer_add(p->tick, &sec);
	return p;
nomem:
	dbs_pg_free(p);
	d01_error_set(err, D01_E_NOMEM, "out of memory");
	return NULL;
}

void
dbs_pg_free(struct dbs_pg *p)
{
	if (p == NULL)
		return;
	pg_jobs_free(p);
	if (p->sock != NULL)
		event_free(p->sock);
	if (p->retry != NULL)
		event_free(p->retry);
	if (p->kick != NULL)
		event_free(p->kick);
	if (p->tick != NULL)
		event_free(p->tick);
	PQclear(p->res[0]);
	PQclear(p->res[1]);
	if (p->c != NULL)
		PQfinish(p->c);
	if (p->url != NULL) {
		/* The password is in it. */
		memset(p->url, 0, strlen(p->url));
		free(p->url);
	}
	free(p);
}

void
dbs_pg_stats(const struct dbs_pg *p, struct d01_dbstore_stats *st)
{
	st->stale = p->stale;
	st->queued = p->nq + (p->cur_wire ? 1 : 0) + (p->await != NULL);
	st->since_sync_s = p->state == PG_READY
	    ? 0
	    : (double)(dbs_mono_ms() - p->last_ok_ms) / 1000.0;
}
