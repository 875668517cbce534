/* SPDX-License-Identifier: ISC */
/*
 * The acme-dns account table (providers/embedded/accounts.h): lookups by
 * username and subdomain, one owner per subdomain, replace by username,
 * field bounds, growth past the first table size, clear.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "providers/embedded/accounts.h"

static struct d01_recstore_acct
acct(const char *user, const char *sub)
{
	struct d01_recstore_acct a = {
	    user, "$2a$10$abcdefghijklmnopqrstuv", sub, "[]"};

	return a;
}

static void
t_put_get(void)
{
	struct d01_acctab *t = d01_acctab_new();
	struct d01_recstore_acct a = acct("u1", "s1"), b = acct("u2", "s1");
	const struct d01_recstore_acct *g;
	struct d01_error err = {0};

	CHECK(t != NULL);
	CHECK_INT(d01_acctab_put(t, &a, &err), ==, D01_OK);
	CHECK((g = d01_acctab_get(t, "u1")) != NULL);
	CHECK_STR(g->subdomain, "s1");
	CHECK_STR(g->hash, a.hash);
	CHECK(d01_acctab_by_subdomain(t, "s1") == g);
	CHECK(d01_acctab_get(t, "u2") == NULL);
	/* Another user cannot take s1. */
	CHECK_INT(d01_acctab_put(t, &b, &err), ==, D01_E_CONFLICT);
	CHECK(d01_acctab_get(t, "u2") == NULL);
	/* The owner may replace its own account (allowfrom changed). */
	a.allowfrom = "[\"10.0.0.0/8\"]";
	CHECK_INT(d01_acctab_put(t, &a, &err), ==, D01_OK);
	CHECK_STR(d01_acctab_get(t, "u1")->allowfrom, "[\"10.0.0.0/8\"]");
	CHECK_INT(d01_acctab_count(t), ==, 1);
	d01_acctab_remove(t, "u1");
	d01_acctab_remove(t, "u1");
	CHECK(d01_acctab_get(t, "u1") == NULL);
	CHECK(d01_acctab_by_subdomain(t, "s1") == NULL);
	CHECK_INT(d01_acctab_put(t, &b, &err), ==, D01_OK);
end:
	d01_acctab_free(t);
}

static void
t_bounds(void)
{
	struct d01_acctab *t = d01_acctab_new();
	struct d01_recstore_acct a = acct("U1", "s1");
	struct d01_error err = {0};
	char big[D01_ACCT_ALLOWFROM_MAX + 2];

	CHECK(t != NULL);
	CHECK_INT(d01_acctab_put(t, &a, &err), ==, D01_E_INVAL);
	a = acct("u1", "a.b");
	CHECK_INT(d01_acctab_put(t, &a, &err), ==, D01_E_INVAL);
	a = acct("u1", "-s");
	CHECK_INT(d01_acctab_put(t, &a, &err), ==, D01_E_INVAL);
	a = acct("u1", "");
	CHECK_INT(d01_acctab_put(t, &a, &err), ==, D01_E_INVAL);
	a = acct("u1", "s1");
	memset(big, '[', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	a.allowfrom = big;
	CHECK_INT(d01_acctab_put(t, &a, &err), ==, D01_E_INVAL);
	big[D01_ACCT_ALLOWFROM_MAX] = '\0';
	CHECK_INT(d01_acctab_put(t, &a, &err), ==, D01_OK);
	CHECK_INT(d01_acctab_count(t), ==, 1);
end:
	d01_acctab_free(t);
}

static void
t_many(void)
{
	struct d01_acctab *t = d01_acctab_new();
	struct d01_error err = {0};
	char u[32], s[32];
	int i;

	CHECK(t != NULL);
	for (i = 0; i < 5000; i++) {
		struct d01_recstore_acct a;

		snprintf(u, sizeof(u), "user-%d", i);
		snprintf(s, sizeof(s), "sub-%d", i);
		a = acct(u, s);
		CHECK_INT(d01_acctab_put(t, &a, &err), ==, D01_OK);
	}
	CHECK_INT(d01_acctab_count(t), ==, 5000);
	for (i = 0; i < 5000; i += 7) {
		snprintf(u, sizeof(u), "user-%d", i);
		snprintf(s, sizeof(s), "sub-%d", i);
		CHECK(d01_acctab_get(t, u) != NULL);
		CHECK(d01_acctab_by_subdomain(t, s) == d01_acctab_get(t, u));
	}
	for (i = 0; i < 5000; i += 2) {
		snprintf(u, sizeof(u), "user-%d", i);
		d01_acctab_remove(t, u);
	}
	CHECK_INT(d01_acctab_count(t), ==, 2500);
	CHECK(d01_acctab_get(t, "user-2") == NULL);
	CHECK(d01_acctab_by_subdomain(t, "sub-2") == NULL);
	CHECK(d01_acctab_get(t, "user-3") != NULL);
	d01_acctab_clear(t);
	CHECK_INT(d01_acctab_count(t), ==, 0);
	CHECK(d01_acctab_get(t, "user-3") == NULL);
end:
	d01_acctab_free(t);
}

int
main(void)
{
	RUN(t_put_get);
	RUN(t_bounds);
	RUN(t_many);
	return harness_done();
}
