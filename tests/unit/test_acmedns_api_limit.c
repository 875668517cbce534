/* SPDX-License-Identifier: ISC */
/*
 * The acme-dns API's per-source limits (server/acmedns_api_limit.h) on a
 * test clock: bcrypt jobs at once, the failure bucket (burst, refill,
 * Retry-After, charged only for failures), IPv4 addresses apart and an
 * IPv6 /64 as one source, registrations per source and server-wide, and
 * the table's bound: only entries at rest are evicted, busy ones are
 * never given a fresh budget (new sources share the overflow entry).
 */
#include <string.h>

#include "core/clock.h"
#include "harness.h"
#include "server/acmedns_api_limit.h"

static struct d01_ipaddr
ip(const char *s)
{
	struct d01_ipaddr a;

	memset(&a, 0, sizeof(a));
	if (d01_ip_parse(s, &a) != 0)
		a.family = -1;
	return a;
}

/* Begin and end one job for s: its outcome, or the refusal. */
static enum d01_adns_lim
attempt(struct d01_adns_limit *l, const char *s, int failed, long *retry)
{
	struct d01_ipaddr a = ip(s);
	struct d01_adns_src *src;
	enum d01_adns_lim r = d01_adns_limit_job_begin(l, &a, &src, retry);

	if (r == D01_ADNS_LIM_OK)
		d01_adns_limit_job_end(l, src, failed);
	return r;
}

static void
t_jobs_and_failures(void)
{
	struct d01_test_clock tc;
	const struct d01_adns_limit_cfg cfg = {16, 2, 10, 0, 0};
	struct d01_adns_limit *l;
	struct d01_adns_src *s1, *s2, *s3;
	struct d01_ipaddr a = ip("192.0.2.1"), v6 = ip("2001:db8:0:1::1");
	long retry = 0;
	int i;

	d01_test_clock_init(&tc, 1700000000);
	CHECK((l = d01_adns_limit_new(&tc.clock, &cfg)) != NULL);
	/* Two jobs at once, the third waits for one to end. */
	CHECK_INT(
	    d01_adns_limit_job_begin(l, &a, &s1, &retry), ==, D01_ADNS_LIM_OK);
	CHECK_INT(
	    d01_adns_limit_job_begin(l, &a, &s2, &retry), ==, D01_ADNS_LIM_OK);
	CHECK_INT(d01_adns_limit_job_begin(l, &a, &s3, &retry), ==,
	    D01_ADNS_LIM_BUSY);
	CHECK(s3 == NULL);
	CHECK_INT(retry, ==, 1);
	CHECK_INT(attempt(l, "192.0.2.2", 1, &retry), ==, D01_ADNS_LIM_OK);
	d01_adns_limit_job_end(l, s1, 0);
	CHECK_INT(
	    d01_adns_limit_job_begin(l, &a, &s3, &retry), ==, D01_ADNS_LIM_OK);
	d01_adns_limit_job_end(l, s2, 0);
	d01_adns_limit_job_end(l, s3, 0);
	/* Successes cost nothing. */
	for (i = 0; i < 50; i++)
		CHECK_INT(
		    attempt(l, "192.0.2.1", 0, &retry), ==, D01_ADNS_LIM_OK);
	/* Ten failures, then refused before any job, 6 s a token. */
	for (i = 0; i < 10; i++)
		CHECK_INT(
		    attempt(l, "192.0.2.1", 1, &retry), ==, D01_ADNS_LIM_OK);
	CHECK_INT(attempt(l, "192.0.2.1", 0, &retry), ==, D01_ADNS_LIM_FAILS);
	CHECK_INT(retry, ==, 6);
	/* 192.0.2.2 has its own bucket (one failure spent). */
	CHECK_INT(attempt(l, "192.0.2.2", 1, &retry), ==, D01_ADNS_LIM_OK);
	d01_test_clock_advance(&tc, 3000);
	CHECK_INT(attempt(l, "192.0.2.1", 0, &retry), ==, D01_ADNS_LIM_FAILS);
	CHECK_INT(retry, ==, 3);
	d01_test_clock_advance(&tc, 3000);
	CHECK_INT(attempt(l, "192.0.2.1", 1, &retry), ==, D01_ADNS_LIM_OK);
	CHECK_INT(attempt(l, "192.0.2.1", 0, &retry), ==, D01_ADNS_LIM_FAILS);
	/* Two failing at once overdraw by one: it refills for longer. */
	d01_test_clock_advance(&tc, 6000);
	CHECK_INT(
	    d01_adns_limit_job_begin(l, &a, &s1, &retry), ==, D01_ADNS_LIM_OK);
	CHECK_INT(
	    d01_adns_limit_job_begin(l, &a, &s2, &retry), ==, D01_ADNS_LIM_OK);
	d01_adns_limit_job_end(l, s1, 1);
	d01_adns_limit_job_end(l, s2, 1);
	CHECK_INT(attempt(l, "192.0.2.1", 0, &retry), ==, D01_ADNS_LIM_FAILS);
	CHECK_INT(retry, ==, 12);
	/* An IPv6 /64 is one source; the next /64 another. */
	for (i = 0; i < 10; i++)
		CHECK_INT(
		    attempt(l, i % 2 ? "2001:db8:0:1::1" : "2001:db8:0:1:ff::9",
			1, &retry),
		    ==, D01_ADNS_LIM_OK);
	CHECK_INT(d01_adns_limit_job_begin(l, &v6, &s1, &retry), ==,
	    D01_ADNS_LIM_FAILS);
	CHECK_INT(attempt(l, "2001:db8:0:1:ffff:ffff:ffff:ffff", 0, &retry), ==,
	    D01_ADNS_LIM_FAILS);
	CHECK_INT(
	    attempt(l, "2001:db8:0:2::1", 0, &retry), ==, D01_ADNS_LIM_OK);
	/* From -1, 66 s later the bucket is full again. */
	d01_test_clock_advance(&tc, 66000);
	for (i = 0; i < 10; i++)
		CHECK_INT(
		    attempt(l, "192.0.2.1", 1, &retry), ==, D01_ADNS_LIM_OK);
	CHECK_INT(attempt(l, "192.0.2.1", 1, &retry), ==, D01_ADNS_LIM_FAILS);
end:
	d01_adns_limit_free(l);
}

static void
t_registrations(void)
{
	struct d01_test_clock tc;
	const struct d01_adns_limit_cfg cfg = {64, 2, 10, 3, 7};
	struct d01_adns_limit *l;
	struct d01_ipaddr a = ip("198.51.100.1"), b = ip("198.51.100.2"),
			  c = ip("198.51.100.3");
	long retry = 0;
	int i;

	d01_test_clock_init(&tc, 1700000000);
	CHECK((l = d01_adns_limit_new(&tc.clock, &cfg)) != NULL);
	for (i = 0; i < 3; i++)
		CHECK_INT(d01_adns_limit_register(l, &a, &retry), ==,
		    D01_ADNS_LIM_OK);
	CHECK_INT(d01_adns_limit_register(l, &a, &retry), ==, D01_ADNS_LIM_REG);
	CHECK_INT(retry, ==, 20);
	/* A source out of budget spends none of the server's. */
	for (i = 0; i < 3; i++)
		CHECK_INT(d01_adns_limit_register(l, &b, &retry), ==,
		    D01_ADNS_LIM_OK);
	CHECK_INT(d01_adns_limit_register(l, &c, &retry), ==, D01_ADNS_LIM_OK);
	/* 7 in all: a fresh source is refused too. */
	CHECK_INT(d01_adns_limit_register(l, &c, &retry), ==, D01_ADNS_LIM_REG);
	CHECK_INT(retry, ==, 9); /* 60/7 s a token */
	d01_test_clock_advance(&tc, 9000);
	CHECK_INT(d01_adns_limit_register(l, &c, &retry), ==, D01_ADNS_LIM_OK);
end:
	d01_adns_limit_free(l);
}

static void
t_table_bound(void)
{
	struct d01_test_clock tc;
	const struct d01_adns_limit_cfg cfg = {2, 2, 1, 0, 0};
	struct d01_adns_limit *l;
	long retry = 0;

	d01_test_clock_init(&tc, 1700000000);
	CHECK((l = d01_adns_limit_new(&tc.clock, &cfg)) != NULL);
	/* Two sources, each out of failures. */
	CHECK_INT(attempt(l, "10.0.0.1", 1, &retry), ==, D01_ADNS_LIM_OK);
	CHECK_INT(attempt(l, "10.0.0.2", 1, &retry), ==, D01_ADNS_LIM_OK);
	CHECK_INT(d01_adns_limit_sources(l), ==, 2);
	/* A third goes to the overflow entry (its own budget, shared with
	 * every other newcomer); the two are not evicted. */
	CHECK_INT(attempt(l, "10.0.0.3", 1, &retry), ==, D01_ADNS_LIM_OK);
	CHECK_INT(attempt(l, "10.0.0.4", 0, &retry), ==, D01_ADNS_LIM_FAILS);
	CHECK_INT(attempt(l, "10.0.0.1", 0, &retry), ==, D01_ADNS_LIM_FAILS);
	CHECK_INT(attempt(l, "10.0.0.2", 0, &retry), ==, D01_ADNS_LIM_FAILS);
	CHECK_INT(d01_adns_limit_sources(l), ==, 2);
	/* Refilled, the oldest is at rest and gives its place up. */
	d01_test_clock_advance(&tc, 60000);
	CHECK_INT(attempt(l, "10.0.0.5", 1, &retry), ==, D01_ADNS_LIM_OK);
	CHECK_INT(attempt(l, "10.0.0.5", 0, &retry), ==, D01_ADNS_LIM_FAILS);
	CHECK_INT(d01_adns_limit_sources(l), ==, 2);
end:
	d01_adns_limit_free(l);
}

int
main(void)
{
	RUN(t_jobs_and_failures);
	RUN(t_registrations);
	RUN(t_table_bound);
	return harness_done();
}
