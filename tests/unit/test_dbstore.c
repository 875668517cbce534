/* SPDX-License-Identifier: ISC */
/*
 * store/: the NOTIFY payload (encode, decode, malformed input), the URL
 * redaction, and the SQLite store through its back end (values and
 * accounts written, loaded again from the file, conflicts, expiry). With
 * DNS01_TEST_PG_URL set (tests/integration/test_store_pg.py runs this
 * binary against its PostgreSQL), two PostgreSQL stores on one database:
 * an account and a value created through one reach the other's sink.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "harness.h"
#include "store/dbstore.h"
#include "store/payload.h"

/* --- a sink that records ---------------------------------------------- */

#define NV 600
struct fsink {
	char v[NV][2][300];
	int nv;
	char acct[NV][4][300];
	int na;
	int clears;
};

static int
fs_find(struct fsink *f, const char *fqdn, const char *value)
{
	int i;

	for (i = 0; i < f->nv; i++)
		if (strcmp(f->v[i][0], fqdn) == 0 &&
		    strcmp(f->v[i][1], value) == 0)
			return i;
	return -1;
}

static enum d01_err
fs_add(void *ctx, const char *fqdn, const char *value,
    struct d01_recstore_held *held, struct d01_error *err)
{
	struct fsink *f = ctx;

	(void)held;
	if (fs_find(f, fqdn, value) >= 0)
		return D01_OK;
	if (f->nv == NV)
		return d01_error_set(err, D01_E_LIMIT, "full");
	snprintf(f->v[f->nv][0], 300, "%s", fqdn);
	snprintf(f->v[f->nv][1], 300, "%s", value);
	f->nv++;
	return D01_OK;
}

static enum d01_err
fs_remove(void *ctx, const char *fqdn, const char *value, struct d01_error *e)
{
	struct fsink *f = ctx;
	int i = fs_find(f, fqdn, value);

	(void)e;
	if (i >= 0) {
		memmove(f->v[i], f->v[i + 1],
		    sizeof(f->v[0]) * (size_t)(f->nv - i - 1));
		f->nv--;
	}
	return D01_OK;
}

static void
fs_clear(void *ctx)
{
	struct fsink *f = ctx;

	f->nv = f->na = 0;
	f->clears++;
}

static enum d01_err
fs_acct_put(void *ctx, const struct d01_recstore_acct *a, struct d01_error *e)
{
	struct fsink *f = ctx;
	int i;

	(void)e;
	for (i = 0; i < f->na; i++)
		if (strcmp(f->acct[i][0], a->username) == 0)
			break;
	if (i == NV)
		return D01_E_LIMIT;
	snprintf(f->acct[i][0], 300, "%s", a->username);
	snprintf(f->acct[i][1], 300, "%s", a->hash);
	snprintf(f->acct[i][2], 300, "%s", a->subdomain);
	snprintf(f->acct[i][3], 300, "%s", a->allowfrom);
	if (i == f->na)
		f->na++;
	return D01_OK;
}

static void
fs_acct_remove(void *ctx, const char *u)
{
	(void)ctx;
	(void)u;
}

static const char *
fs_zone_of(void *ctx, const char *fqdn)
{
	size_t n = strlen(fqdn);

	(void)ctx;
	/* Not the zone of test_store_pg.py's instances (example.test.):
	 * their rows in the same database are never applied here. */
	return n >= 11 && strcmp(fqdn + n - 11, ".unit.test.") == 0
	    ? "unit.test."
	    : NULL;
}

static int
fs_has(void *ctx, const char *fqdn, const char *value)
{
	return fs_find(ctx, fqdn, value) >= 0;
}

static void
fs_sink(struct fsink *f, struct d01_recstore_sink *s)
{
	memset(f, 0, sizeof(*f));
	s->add = fs_add;
	s->remove = fs_remove;
	s->clear = fs_clear;
	s->acct_put = fs_acct_put;
	s->acct_remove = fs_acct_remove;
	s->zone_of = fs_zone_of;
	s->has = fs_has;
	s->ctx = f;
}

static const char *zones[] = {"unit.test."};

struct done {
	int n;
	enum d01_err code;
	char msg[512];
	/* When f is set: whether f held fqdn/value as the callback ran. */
	struct fsink *f;
	const char *fq, *v;
	int held;
};

static int fs_find(struct fsink *f, const char *fqdn, const char *value);

static void
done_cb(void *arg, const struct d01_error *err)
{
	struct done *d = arg;

	if (d->f != NULL)
		d->held = fs_find(d->f, d->fq, d->v) >= 0;
	d->n++;
	d->code = err->code;
	snprintf(d->msg, sizeof(d->msg), "%s", err->msg);
}

/* Run the loop until *flag is non-zero or ms pass. */
static int
run_until(struct event_base *b, const int *flag, long ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!*flag) {
		event_base_loop(b, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(2000);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 +
			(t.tv_nsec - t0.tv_nsec) / 1000000 >
		    ms)
			return -1;
	}
	return 0;
}

/* Write through be and wait for the answer. */
static enum d01_err
write1(struct event_base *b, struct d01_recstore_backend *be, int present,
    const char *fqdn, const char *value)
{
	struct done d = {0};
	struct d01_error err;

	if (be->start(be->ctx, present, "unit.test.", fqdn, value, 10000,
		done_cb, &d, &err) == NULL)
		return err.code;
	if (run_until(b, &d.n, 15000) != 0)
		return D01_E_TIMEOUT;
	if (d.code != D01_OK)
		fprintf(stderr, "  write: %s\n", d.msg);
	return d.code;
}

static enum d01_err
acct1(struct event_base *b, struct d01_recstore_backend *be, const char *u,
    const char *sub)
{
	struct d01_recstore_acct a = {
	    u, "$2b$10$abcdefghijklmnopqrstuu", sub, "[\"10.0.0.0/8\"]"};
	struct done d = {0};
	struct d01_error err;

	if (be->acct_start(be->ctx, &a, 10000, done_cb, &d, &err) == NULL)
		return err.code;
	if (run_until(b, &d.n, 15000) != 0)
		return D01_E_TIMEOUT;
	return d.code;
}

/* n Presents at once through be, then n CleanUps: the writes/s of the
 * store itself (no HTTP), printed as a figure; -1 when one failed. */
static int
burst(struct event_base *b, struct d01_recstore_backend *be, const char *what,
    int n)
{
	static struct done d[500];
	struct timespec t0, t1;
	struct d01_error err;
	char fq[64];
	int i, k, ok = 0, all;
	double secs[2];

	for (k = 0; k < 2; k++) {
		memset(d, 0, sizeof(d));
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (i = 0; i < n; i++) {
			snprintf(fq, sizeof(fq),
			    "_acme-challenge.b%d.unit.test.", i);
			if (be->start(be->ctx, k == 0, "unit.test.", fq,
				"burst", 30000, done_cb, &d[i], &err) == NULL)
				return -1;
		}
		do {
			event_base_loop(b, EVLOOP_ONCE);
			for (all = 1, i = 0; i < n && all; i++)
				all = d[i].n > 0;
		} while (!all);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		secs[k] = (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		for (i = 0; i < n; i++)
			ok += d[i].code == D01_OK;
	}
	fprintf(stderr,
	    "  %s: %d Presents at once %.0f/s, %d CleanUps %.0f/s\n", what, n,
	    n / secs[0], n, n / secs[1]);
	return ok == 2 * n ? 0 : -1;
}

/* --- payload and URLs ----------------------------------------------- */

static void
t_payload_roundtrip(void)
{
	const char *f[3] = {
	    "example.test.", "_acme-challenge.a b:c.example.test.", "v 1:2@3"};
	static struct d01_dbp p;
	char out[D01_DBP_MAX + 1], big[D01_DBP_MAX + 64];

	CHECK(d01_dbp_encode(out, sizeof(out), 'V', f) > 0);
	CHECK_STR(out,
	    "V13:example.test.35:_acme-challenge.a b:c.example.test."
	    "7:v 1:2@3");
	CHECK_INT(d01_dbp_decode(out, &p), ==, 0);
	CHECK_INT(p.op, ==, 'V');
	CHECK_STR(p.f[0], f[0]);
	CHECK_STR(p.f[1], f[1]);
	CHECK_STR(p.f[2], f[2]);
	CHECK(p.created_ms == -1);
	strcat(out, "@1765100000123");
	CHECK_INT(d01_dbp_decode(out, &p), ==, 0);
	CHECK(p.created_ms == 1765100000123LL);
	CHECK(p.job == -1);
	strcat(out, "#42");
	CHECK_INT(d01_dbp_decode(out, &p), ==, 0);
	CHECK(p.created_ms == 1765100000123LL);
	CHECK(p.job == 42);
	CHECK_INT(d01_dbp_decode("R1:a1:b#7", &p), ==, 0);
	CHECK(p.job == 7 && p.created_ms == -1);
	CHECK_INT(d01_dbp_decode("R0:0:", &p), ==, 0);
	CHECK_STR(p.f[0], "");
	/* What SQL builds for an expiry: the same bytes. */
	CHECK_INT(d01_dbp_decode("R3:a.b3:xyz", &p), ==, 0);
	CHECK_STR(p.f[1], "xyz");
	/* Too long for PostgreSQL's 8000 bytes: refused, not cut. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	f[2] = big;
	CHECK_INT(d01_dbp_encode(out, sizeof(out), 'V', f), ==, 0);
	CHECK_INT(d01_dbp_encode(out, 5, 'R', f), ==, 0);
	CHECK_INT(d01_dbp_encode(out, sizeof(out), 'Q', f), ==, 0);
end:;
}

static void
t_payload_malformed(void)
{
	static const char *bad[] = {"", "Q1:a", "R1:a", "R2:a1:b", "R01:a1:b",
	    "R1:a1:bX", "R1:a1:b@", "R1:a1:b@12x", "R1:a1:b@-1", "R1:a1:b#",
	    "R1:a1:b#1@2", "R1:a1:b#1#2", "R1:a1:b#x",
	    "R99999999999999999999:a1:b", "R1a1:b", "V1:a1:b", "R:a1:b",
	    "A1:a1:b1:c", "R1:a1:b@1234567890123456789012"};
	static struct d01_dbp p;
	static char big[D01_DBP_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (d01_dbp_decode(bad[i], &p) != -1) {
			fprintf(stderr, "  accepted %s\n", bad[i]);
			CHECK(0);
		}
	memset(big, 'x', sizeof(big) - 1);
	memcpy(big, "R7998:", 6);
	CHECK_INT(d01_dbp_decode(big, &p), ==, -1);
end:;
}

static void
t_redact(void)
{
	static const char *cases[][2] = {
	    {"postgres://dns01:s3cret@db.example:5432/dns01?sslmode=require&"
	     "password=x",
		"postgres://db.example:5432/dns01"},
	    {"postgresql://u:p%40ss@h/db", "postgresql://h/db"},
	    {"postgres://u:a@b@c@h:1/d#frag", "postgres://h:1/d"},
	    {"postgres://h/db", "postgres://h/db"},
	    {"postgres://u:pw@h", "postgres://h"},
	    {"postgres://u:pw@h?password=pw", "postgres://h"},
	    {"sqlite:/var/lib/dns01/db", "sqlite:/var/lib/dns01/db"},
	};
	char out[256], tiny[12];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		d01_dbstore_redact(cases[i][0], out, sizeof(out));
		CHECK_STR(out, cases[i][1]);
	}
	d01_dbstore_redact(
	    "postgres://user:longsecret@host/db", tiny, sizeof(tiny));
	CHECK(strstr(tiny, "secret") == NULL);
	CHECK_INT(strlen(tiny), <, sizeof(tiny));
	CHECK(d01_dbstore_is_url("postgres://h/d"));
	CHECK(d01_dbstore_is_url("postgresql://h/d"));
	CHECK(d01_dbstore_is_url("sqlite:x"));
	CHECK(!d01_dbstore_is_url("memory"));
	CHECK(!d01_dbstore_is_url("mysql://h/d"));
	CHECK(!d01_dbstore_is_url(NULL));
end:;
}

/* --- SQLite ----------------------------------------------------------- */

static void
t_sqlite(void)
{
	struct event_base *b = event_base_new();
	char dir[] = "/tmp/dbstore-XXXXXX", url[128], path[100];
	struct d01_dbstore_opts o = {url, zones, 1, 3600, "unit", 0};
	struct d01_recstore_sink sink;
	struct d01_recstore_backend be;
	struct d01_dbstore *s = NULL;
	struct d01_error err;
	static struct fsink f;
	const char *fq = "_acme-challenge.a.unit.test.";

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	fs_sink(&f, &sink);
	CHECK((s = d01_dbstore_new(b, &sink, &o, &err)) != NULL);
	d01_dbstore_backend(s, &be);
	CHECK_INT(write1(b, &be, 1, fq, "v1"), ==, D01_OK);
	CHECK(fs_has(&f, fq, "v1")); /* held when it answers */
	CHECK_INT(write1(b, &be, 1, fq, "v1"), ==, D01_OK); /* idempotent */
	CHECK_INT(write1(b, &be, 1, fq, "v2"), ==, D01_OK);
	CHECK_INT(write1(b, &be, 0, fq, "v2"), ==, D01_OK);
	CHECK(!fs_has(&f, fq, "v2"));
	CHECK_INT(write1(b, &be, 0, fq, "never"), ==, D01_OK);
	CHECK_INT(acct1(b, &be, "user1", "sub1"), ==, D01_OK);
	CHECK_INT(f.na, ==, 1);
	CHECK_INT(acct1(b, &be, "user2", "sub1"), ==, D01_E_CONFLICT);
	CHECK_INT(acct1(b, &be, "user1", "sub2"), ==, D01_E_CONFLICT);
	CHECK_INT(burst(b, &be, "sqlite", 500), ==, 0);
	d01_dbstore_free(s);
	/* A new process: everything answered success is in the file. */
	fs_sink(&f, &sink);
	CHECK((s = d01_dbstore_new(b, &sink, &o, &err)) != NULL);
	CHECK_INT(f.nv, ==, 1);
	CHECK(fs_has(&f, fq, "v1"));
	CHECK_INT(f.na, ==, 1);
	CHECK_STR(f.acct[0][2], "sub1");
	CHECK_STR(f.acct[0][3], "[\"10.0.0.0/8\"]");
	d01_dbstore_free(s);
	s = NULL;
	/* Expiry: TTL 1 s, a scan every second. */
	o.ttl_s = 1;
	fs_sink(&f, &sink);
	CHECK((s = d01_dbstore_new(b, &sink, &o, &err)) != NULL);
	CHECK_INT(f.nv, ==, 1);
	{
		struct d01_dbstore_stats st;
		int gone = 0;
		struct timespec t0, t;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			event_base_loop(b, EVLOOP_ONCE | EVLOOP_NONBLOCK);
			usleep(5000);
			gone = f.nv == 0;
			clock_gettime(CLOCK_MONOTONIC, &t);
		} while (!gone && t.tv_sec - t0.tv_sec < 15);
		CHECK(gone);
		d01_dbstore_stats(s, &st);
		CHECK_INT(st.expired, ==, 1);
		CHECK_STR(st.kind, "sqlite");
	}
	/* A path that cannot be opened fails at start-up, clearly. */
	d01_dbstore_free(s);
	s = NULL;
	o.url = "sqlite:/nonexistent-dir/x/db";
	CHECK(d01_dbstore_new(b, &sink, &o, &err) == NULL);
	CHECK(strstr(err.msg, "sqlite store") != NULL);
end:
	d01_dbstore_free(s);
	unlink(path);
	{
		char p2[128];

		snprintf(p2, sizeof(p2), "%s-wal", path);
		unlink(p2);
		snprintf(p2, sizeof(p2), "%s-shm", path);
		unlink(p2);
	}
	rmdir(dir);
	event_base_free(b);
}

/* --- PostgreSQL, when test_store_pg.py gives one --------------------- */

static void
t_pg_two_stores(void)
{
	const char *url = getenv("DNS01_TEST_PG_URL");
	struct event_base *b = event_base_new();
	struct d01_recstore_sink sa, sb;
	struct d01_recstore_backend ba, bb;
	struct d01_dbstore *a = NULL, *c = NULL;
	struct d01_error err;
	static struct fsink fa, fb;
	struct d01_dbstore_opts o = {url, zones, 1, 3600, "unit-a", 0};
	const char *fq = "_acme-challenge.x.unit.test.";
	int got;

	if (url == NULL)
		SKIP("DNS01_TEST_PG_URL not set (test_store_pg.py sets it)");
	fs_sink(&fa, &sa);
	fs_sink(&fb, &sb);
	CHECK((a = d01_dbstore_new(b, &sa, &o, &err)) != NULL);
	o.writer = "unit-b";
	CHECK((c = d01_dbstore_new(b, &sb, &o, &err)) != NULL);
	d01_dbstore_backend(a, &ba);
	d01_dbstore_backend(c, &bb);
	/* Both loaded before the writes (queued until then). */
	CHECK_INT(acct1(b, &ba, "unit-user", "unit-sub"), ==, D01_OK);
	CHECK_INT(fa.na >= 1, ==, 1);
	got = 0;
	{
		struct timespec t0, t;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			int i;

			event_base_loop(b, EVLOOP_ONCE | EVLOOP_NONBLOCK);
			usleep(2000);
			for (i = 0; i < fb.na; i++)
				if (strcmp(fb.acct[i][0], "unit-user") == 0 &&
				    strcmp(fb.acct[i][2], "unit-sub") == 0)
					got = 1;
			clock_gettime(CLOCK_MONOTONIC, &t);
		} while (!got && t.tv_sec - t0.tv_sec < 15);
	}
	CHECK(got); /* the other instance's sink has the account */
	CHECK_INT(acct1(b, &bb, "unit-other", "unit-sub"), ==, D01_E_CONFLICT);
	/* Held by the writer when it answers (in the callback itself): 20
	 * writes. */
	for (got = 0; got < 20; got++) {
		char v[16];
		struct done d = {0};

		snprintf(v, sizeof(v), "held%d", got);
		d.f = &fa;
		d.fq = fq;
		d.v = v;
		CHECK(ba.start(ba.ctx, 1, "unit.test.", fq, v, 10000, done_cb,
			  &d, &err) != NULL);
		CHECK_INT(run_until(b, &d.n, 15000), ==, 0);
		CHECK_INT(d.code, ==, D01_OK);
		CHECK(d.held); /* as the callback ran */
		CHECK_INT(write1(b, &ba, 0, fq, v), ==, D01_OK);
		CHECK(!fs_has(&fa, fq, v));
	}
	CHECK_INT(write1(b, &ba, 1, fq, "pv"), ==, D01_OK);
	got = 0;
	{
		struct timespec t0, t;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			event_base_loop(b, EVLOOP_ONCE | EVLOOP_NONBLOCK);
			usleep(2000);
			got = fs_has(&fb, fq, "pv");
			clock_gettime(CLOCK_MONOTONIC, &t);
		} while (!got && t.tv_sec - t0.tv_sec < 15);
	}
	CHECK(got);
	CHECK_INT(write1(b, &bb, 0, fq, "pv"), ==, D01_OK);
	CHECK(!fs_has(&fb, fq, "pv"));
	CHECK_INT(burst(b, &ba, "postgres", 500), ==, 0);
end:
	d01_dbstore_free(a);
	d01_dbstore_free(c);
	event_base_free(b);
}

int
main(void)
{
	RUN(t_payload_roundtrip);
	RUN(t_payload_malformed);
	RUN(t_redact);
	RUN(t_sqlite);
	RUN(t_pg_two_stores);
	return harness_done();
}
