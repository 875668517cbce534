/* SPDX-License-Identifier: ISC */
/*
 * The durable stores' common part (dbstore.h): the URL, its redaction,
 * the options, and the local copy kept through the sink with its
 * counters. The two back ends are pg.c and sqlite.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "core/log.h"
#include "store/dbstore_int.h"

const double d01_dbstore_buckets[D01_DBSTORE_NBUCKETS] = {
    0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30};

int
d01_dbstore_is_url(const char *s)
{
	return s != NULL &&
	    (strncmp(s, "postgres://", 11) == 0 ||
		strncmp(s, "postgresql://", 13) == 0 ||
		strncmp(s, "sqlite:", 7) == 0);
}

void
d01_dbstore_redact(const char *url, char *out, size_t n)
{
	const char *auth, *end, *at;
	size_t k;

	if (n == 0)
		return;
	out[0] = '\0';
	if (url == NULL)
		return;
	if (strncmp(url, "sqlite:", 7) == 0) {
		snprintf(out, n, "%s", url);
		return;
	}
	if ((auth = strstr(url, "://")) == NULL) {
		snprintf(out, n, "(not a URL)");
		return;
	}
	auth += 3;
	/* The authority ends at the path, query or fragment; userinfo is
	 * everything up to its last '@' (a password may hold '@' only
	 * percent-encoded, but take no chances). The query is dropped too:
	 * libpq reads password=... from it. */
	end = auth + strcspn(auth, "/?#");
	at = NULL;
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	k = (size_t)(auth - url);
	snprintf(out, n, "%.*s", (int)k, url);
	if (at != NULL)
		auth = at + 1;
	k = strlen(out);
	if (k < n)
		snprintf(out + k, n - k, "%.*s", (int)(end - auth), auth);
	if (*end == '/') {
		k = strlen(out);
		if (k < n)
			snprintf(out + k, n - k, "%.*s",
			    (int)strcspn(end, "?#"), end);
	}
}

int
dbs_job_init(struct event_base *base, char **f, const char *const *src, int nf,
    long budget_ms, void (*deadline_cb)(int, short, void *), void *arg,
    struct event **deadline)
{
	struct timeval tv;
	int i;

	for (i = 0; i < nf; i++)
		if ((f[i] = strdup(src[i])) == NULL)
			return -1;
	if (deadline_cb == NULL)
		return 0;
	if (budget_ms <= 0)
		budget_ms = 30000;
	if ((*deadline = evtimer_new(base, deadline_cb, arg)) == NULL)
		return -1;
	tv.tv_sec = budget_ms / 1000;
	tv.tv_usec = (budget_ms % 1000) * 1000;
	evtimer_add(*deadline, &tv);
	return 0;
}

int64_t
dbs_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
dbs_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long
dbs_expiry_period_ms(const struct d01_dbstore *s)
{
	long q = s->ttl_s * 250;

	return q < 1000 ? 1000 : q > 60000 ? 60000 : q;
}

void
dbs_add(struct d01_dbstore *s, const char *zone, const char *fqdn,
    const char *value, int64_t created_ms, int observe)
{
	const char *z = s->sink.zone_of(s->sink.ctx, fqdn);
	struct d01_error err;
	double d;
	size_t i;

	if (z == NULL || (zone != NULL && strcmp(z, zone) != 0))
		return;
	if (s->sink.has(s->sink.ctx, fqdn, value))
		return;
	if (s->sink.add(s->sink.ctx, fqdn, value, NULL, &err) != D01_OK) {
		d01_log(D01_LOG_WARN, "dbstore_hold", "store=%s msg=\"%s\"",
		    s->safe, err.msg);
		return;
	}
	s->st.records++;
	if (!observe || created_ms < 0)
		return;
	d = (double)(dbs_wall_ms() - created_ms) / 1000.0;
	if (d < 0)
		d = 0; /* clocks of two hosts */
	s->st.conv_count++;
	s->st.conv_sum_s += d;
	for (i = 0; i < D01_DBSTORE_NBUCKETS; i++)
		if (d <= d01_dbstore_buckets[i])
			s->st.conv_le[i]++;
}

void
dbs_remove(struct d01_dbstore *s, const char *fqdn, const char *value)
{
	struct d01_error err;

	if (!s->sink.has(s->sink.ctx, fqdn, value))
		return;
	s->sink.remove(s->sink.ctx, fqdn, value, &err);
	if (s->st.records > 0)
		s->st.records--;
}

void
dbs_acct(struct d01_dbstore *s, const struct d01_recstore_acct *a)
{
	struct d01_error err;

	if (s->sink.acct_put(s->sink.ctx, a, &err) != D01_OK)
		d01_log(D01_LOG_WARN, "dbstore_account",
		    "store=%s msg=\"account not applied: %s\"", s->safe,
		    err.msg);
}

void
dbs_clear(struct d01_dbstore *s)
{
	s->sink.clear(s->sink.ctx);
	s->st.records = 0;
}

struct d01_dbstore *
d01_dbstore_new(struct event_base *base, const struct d01_recstore_sink *sink,
    const struct d01_dbstore_opts *o, struct d01_error *err)
{
	struct d01_dbstore *s;
	size_t i;

	if (!d01_dbstore_is_url(o->url)) {
		d01_error_set(err, D01_E_CONFIG,
		    "--embedded-store: want postgres://..., postgresql://... "
		    "or sqlite:PATH");
		return NULL;
	}
	if (o->nzones == 0) {
		d01_error_set(err, D01_E_CONFIG,
		    "the database store needs --embedded-zone");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto nomem;
	s->base = base;
	s->sink = *sink;
	s->ttl_s = o->ttl_s > 0 ? o->ttl_s : 86400;
	s->stale_ms = o->stale_ms > 0 ? o->stale_ms : DBS_STALE_MS;
	d01_dbstore_redact(o->url, s->safe, sizeof(s->safe));
	s->nzones = o->nzones;
	if ((s->writer = strdup(o->writer ? o->writer : "dns01")) == NULL ||
	    (s->zones = calloc(o->nzones, sizeof(char *))) == NULL)
		goto nomem;
	for (i = 0; i < o->nzones; i++)
		if ((s->zones[i] = strdup(o->zones[i])) == NULL)
			goto nomem;
	if (strncmp(o->url, "sqlite:", 7) == 0) {
		s->st.kind = "sqlite";
		s->lite = dbs_lite_new(s, o->url + 7, err);
		if (s->lite == NULL)
			goto fail;
	} else {
		s->st.kind = "postgres";
		if ((s->pg = dbs_pg_new(s, o->url, err)) == NULL)
			goto fail;
	}
	return s;
nomem:
	d01_error_set(err, D01_E_NOMEM, "out of memory");
fail:
	d01_dbstore_free(s);
	return NULL;
}

void
d01_dbstore_free(struct d01_dbstore *s)
{
	size_t i;

	if (s == NULL)
		return;
	dbs_pg_free(s->pg);
	dbs_lite_free(s->lite);
	for (i = 0; s->zones != NULL && i < s->nzones; i++)
		free(s->zones[i]);
	free(s->zones);
	free(s->writer);
	free(s);
}

void
d01_dbstore_backend(struct d01_dbstore *s, struct d01_recstore_backend *be)
{
	if (s->pg != NULL)
		dbs_pg_backend(s->pg, be);
	else
		dbs_lite_backend(s->lite, be);
}

void
d01_dbstore_stats(const struct d01_dbstore *s, struct d01_dbstore_stats *st)
{
	*st = s->st;
	if (s->pg != NULL)
		dbs_pg_stats(s->pg, st);
	else
		dbs_lite_stats(s->lite, st);
}
