/* SPDX-License-Identifier: ISC */
/*
 * The single-flight TTL cache (core/sfcache.h), driven by a test clock
 * (core/clock.h): no sleeps. One leader per key, waiters answered from
 * the loop, hand-over when the leader is cancelled, a failure shared and
 * not cached, negative entries with their own TTL, the LRU bound on idle
 * entries, the per-key bound on askers.
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/sfcache.h"
#include "harness.h"

struct asker {
	struct d01_sfc_wait w;
	int calls;
	enum d01_sfc_res res;
	char val[64];
	enum d01_err code;
	struct d01_sfc_wait *other; /* cancelled from our callback */
};

static void
heard(void *arg, const struct d01_sfc_out *o)
{
	struct asker *a = arg;

	a->calls++;
	a->res = o->res;
	a->val[0] = '\0';
	a->code = D01_OK;
	if (o->res == D01_SFC_HIT)
		snprintf(a->val, sizeof(a->val), "%.*s", (int)o->len,
		    (const char *)o->val);
	if (o->res == D01_SFC_FAIL || o->res == D01_SFC_NEG)
		a->code = o->err->code;
	if (a->other != NULL)
		d01_sfc_cancel(a->other);
}

struct fx {
	struct event_base *base;
	struct d01_test_clock clock;
	struct d01_sfc *c;
};

static int
fx_open(struct fx *f, size_t max_idle, unsigned max_askers, int defer)
{
	const struct d01_sfc_cfg cfg = {max_idle, max_askers, defer};

	memset(f, 0, sizeof(*f));
	d01_test_clock_init(&f->clock, 1800000000);
	return (f->base = event_base_new()) != NULL &&
		(f->c = d01_sfc_new(f->base, &f->clock.clock, &cfg)) != NULL
	    ? 0
	    : -1;
}

static void
fx_close(struct fx *f)
{
	d01_sfc_free(f->c);
	if (f->base != NULL)
		event_base_free(f->base);
}

static void
key(const char *s, unsigned char k[D01_SFC_KEY])
{
	d01_sfc_key_str(s, k);
}

static enum d01_sfc_res
ask(struct fx *f, const char *name, struct asker *a, struct d01_sfc_out *o)
{
	unsigned char k[D01_SFC_KEY];
	struct d01_error err;

	key(name, k);
	d01_error_clear(&err);
	return d01_sfc_get(f->c, k, &a->w, heard, a, o, &err);
}

static void
run(struct fx *f)
{
	event_base_loop(f->base, EVLOOP_NONBLOCK);
}

/* A value shared with the waiters (from the loop), then a hit until its
 * TTL has passed on the clock. */
static void
t_value_and_ttl(void)
{
	struct fx f;
	struct asker a[3];
	struct d01_sfc_out o;

	memset(a, 0, sizeof(a));
	CHECK(fx_open(&f, 8, 0, 0) == 0);
	CHECK_INT(ask(&f, "z", &a[0], &o), ==, D01_SFC_LEAD);
	CHECK_INT(ask(&f, "z", &a[1], &o), ==, D01_SFC_WAIT);
	CHECK_INT(ask(&f, "z", &a[2], &o), ==, D01_SFC_WAIT);
	d01_sfc_put(&a[0].w, "id-z", 4, 60000);
	CHECK_INT(a[1].calls + a[2].calls, ==, 0); /* not inside put */
	run(&f);
	CHECK_INT(a[1].calls, ==, 1);
	CHECK_INT(a[1].res, ==, D01_SFC_HIT);
	CHECK_STR(a[2].val, "id-z");
	CHECK_INT(a[0].calls, ==, 0); /* the leader is told nothing */
	CHECK_INT(ask(&f, "z", &a[0], &o), ==, D01_SFC_HIT);
	CHECK_INT(o.len, ==, 4);
	CHECK(memcmp(o.val, "id-z", 4) == 0);
	d01_test_clock_advance(&f.clock, 59999);
	CHECK_INT(ask(&f, "z", &a[0], &o), ==, D01_SFC_HIT);
	d01_test_clock_advance(&f.clock, 1);
	CHECK_INT(ask(&f, "z", &a[0], &o), ==, D01_SFC_LEAD);
	d01_sfc_cancel(&a[0].w);
end:
	fx_close(&f);
}

/* The leader is cancelled: the first waiter leads (told from the loop),
 * the others keep waiting for it; also when the new leader is cancelled
 * before it heard. */
static void
t_leader_cancelled(void)
{
	struct fx f;
	struct asker a[4];
	struct d01_sfc_out o;
	int i;

	memset(a, 0, sizeof(a));
	CHECK(fx_open(&f, 8, 0, 0) == 0);
	CHECK_INT(ask(&f, "k", &a[0], &o), ==, D01_SFC_LEAD);
	for (i = 1; i < 4; i++)
		CHECK_INT(ask(&f, "k", &a[i], &o), ==, D01_SFC_WAIT);
	d01_sfc_cancel(&a[0].w);
	d01_sfc_cancel(&a[1].w); /* handed the lead, gone before told */
	CHECK_INT(a[1].calls, ==, 0);
	run(&f);
	CHECK_INT(a[1].calls, ==, 0);
	CHECK_INT(a[2].calls, ==, 1);
	CHECK_INT(a[2].res, ==, D01_SFC_LEAD);
	CHECK_INT(a[3].calls, ==, 0);
	d01_sfc_put(&a[2].w, "v", 1, 1000);
	run(&f);
	CHECK_INT(a[3].calls, ==, 1);
	CHECK_INT(a[3].res, ==, D01_SFC_HIT);
	CHECK_STR(a[3].val, "v");
	CHECK_INT(a[2].calls, ==, 1);
	/* A leader cancelled with nobody waiting drops the flight. */
	CHECK_INT(ask(&f, "j", &a[0], &o), ==, D01_SFC_LEAD);
	d01_sfc_cancel(&a[0].w);
	CHECK_INT(ask(&f, "j", &a[0], &o), ==, D01_SFC_LEAD);
	d01_sfc_cancel(&a[0].w);
end:
	fx_close(&f);
}

/* The leader fails: every waiter hears the failure; nothing is cached,
 * so the next asker leads. */
static void
t_leader_fails(void)
{
	struct fx f;
	struct asker a[3];
	struct d01_sfc_out o;
	struct d01_error e;

	memset(a, 0, sizeof(a));
	CHECK(fx_open(&f, 8, 0, 0) == 0);
	CHECK_INT(ask(&f, "k", &a[0], &o), ==, D01_SFC_LEAD);
	CHECK_INT(ask(&f, "k", &a[1], &o), ==, D01_SFC_WAIT);
	CHECK_INT(ask(&f, "k", &a[2], &o), ==, D01_SFC_WAIT);
	d01_error_set(&e, D01_E_AUTH, "denied");
	d01_sfc_fail(&a[0].w, &e);
	run(&f);
	CHECK_INT(a[1].res, ==, D01_SFC_FAIL);
	CHECK_INT(a[1].code, ==, D01_E_AUTH);
	CHECK_INT(a[2].res, ==, D01_SFC_FAIL);
	CHECK_INT(ask(&f, "k", &a[0], &o), ==, D01_SFC_LEAD);
	d01_sfc_cancel(&a[0].w);
end:
	fx_close(&f);
}

/* Cancelled waiters are never called, also when another waiter's
 * callback cancels them. */
static void
t_waiters_cancelled(void)
{
	struct fx f;
	struct asker a[4];
	struct d01_sfc_out o;

	memset(a, 0, sizeof(a));
	CHECK(fx_open(&f, 8, 0, 0) == 0);
	CHECK_INT(ask(&f, "k", &a[0], &o), ==, D01_SFC_LEAD);
	CHECK_INT(ask(&f, "k", &a[1], &o), ==, D01_SFC_WAIT);
	CHECK_INT(ask(&f, "k", &a[2], &o), ==, D01_SFC_WAIT);
	CHECK_INT(ask(&f, "k", &a[3], &o), ==, D01_SFC_WAIT);
	d01_sfc_cancel(&a[3].w);
	a[1].other = &a[2].w;
	a[2].other = &a[1].w;
	d01_sfc_put(&a[0].w, "v", 1, 1000);
	run(&f);
	CHECK_INT(a[1].calls + a[2].calls, ==, 1);
	CHECK_INT(a[3].calls, ==, 0);
	d01_sfc_cancel(&a[1].w); /* answered: a no-op */
end:
	fx_close(&f);
}

/* A negative entry answers NEG with its error until its own TTL. */
static void
t_negative(void)
{
	struct fx f;
	struct asker a[2];
	struct d01_sfc_out o;
	struct d01_error e;

	memset(a, 0, sizeof(a));
	CHECK(fx_open(&f, 8, 0, 0) == 0);
	CHECK_INT(ask(&f, "nozone", &a[0], &o), ==, D01_SFC_LEAD);
	CHECK_INT(ask(&f, "nozone", &a[1], &o), ==, D01_SFC_WAIT);
	d01_error_set(&e, D01_E_NOTFOUND, "no such zone");
	d01_sfc_neg(&a[0].w, &e, 60000);
	run(&f);
	CHECK_INT(a[1].res, ==, D01_SFC_NEG);
	CHECK_INT(a[1].code, ==, D01_E_NOTFOUND);
	CHECK_INT(ask(&f, "nozone", &a[0], &o), ==, D01_SFC_NEG);
	CHECK_INT(o.err->code, ==, D01_E_NOTFOUND);
	CHECK(d01_sfc_peek(f.c, (unsigned char[32]){0}, &(size_t){0}) == NULL);
	d01_test_clock_advance(&f.clock, 60000);
	CHECK_INT(ask(&f, "nozone", &a[0], &o), ==, D01_SFC_LEAD);
	d01_sfc_cancel(&a[0].w);
end:
	fx_close(&f);
}

/* At most max_idle idle entries, the least recently used go first;
 * expired ones go when the clock says so. */
static void
t_lru(void)
{
	struct fx f;
	struct asker a;
	struct d01_sfc_out o;
	unsigned char k[D01_SFC_KEY];
	char name[8];
	size_t n, idle, len;
	int i;

	memset(&a, 0, sizeof(a));
	CHECK(fx_open(&f, 3, 0, 0) == 0);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		key(name, k);
		d01_sfc_set(f.c, k, name, strlen(name), 60000 + i);
	}
	CHECK_INT(ask(&f, "k0", &a, &o), ==, D01_SFC_HIT); /* k0 used */
	key("k3", k);
	d01_sfc_set(f.c, k, "k3", 2, 1000);
	d01_sfc_count(f.c, &n, &idle);
	CHECK_INT(idle, ==, 3);
	key("k1", k);
	CHECK(d01_sfc_peek(f.c, k, &len) == NULL); /* least recently used */
	key("k0", k);
	CHECK(d01_sfc_peek(f.c, k, &len) != NULL);
	/* Entries in flight are never evicted and never count. */
	CHECK_INT(ask(&f, "flight", &a, &o), ==, D01_SFC_LEAD);
	d01_sfc_count(f.c, &n, &idle);
	CHECK_INT(n, ==, 4);
	d01_test_clock_advance(&f.clock, 1000);
	d01_sfc_count(f.c, &n, &idle);
	CHECK_INT(idle, ==, 2); /* k3 expired */
	d01_sfc_cancel(&a.w);
	d01_test_clock_advance(&f.clock, 60000);
	d01_sfc_count(f.c, &n, &idle);
	CHECK_INT(n, ==, 0);
end:
	fx_close(&f);
}

/* Askers per key, leader included, are bounded; other keys are not
 * held up. With defer_hits a hit comes from the loop too; a value put
 * with no TTL answers the waiters and is not kept. */
static void
t_bound_and_defer(void)
{
	struct fx f;
	struct asker a[5];
	struct d01_sfc_out o;
	unsigned char k[D01_SFC_KEY];
	struct d01_error err;
	size_t n, idle;

	memset(a, 0, sizeof(a));
	CHECK(fx_open(&f, 8, 3, 1) == 0);
	CHECK_INT(ask(&f, "k", &a[0], &o), ==, D01_SFC_LEAD);
	CHECK_INT(ask(&f, "k", &a[1], &o), ==, D01_SFC_WAIT);
	CHECK_INT(ask(&f, "k", &a[2], &o), ==, D01_SFC_WAIT);
	key("k", k);
	d01_error_clear(&err);
	CHECK_INT(d01_sfc_get(f.c, k, &a[3].w, heard, &a[3], &o, &err), ==,
	    D01_SFC_LIMIT);
	CHECK_INT(err.code, ==, D01_E_LIMIT);
	CHECK_INT(ask(&f, "other", &a[4], &o), ==, D01_SFC_LEAD);
	d01_sfc_put(&a[4].w, "o", 1, 1000);
	CHECK_INT(ask(&f, "other", &a[4], &o), ==, D01_SFC_WAIT);
	CHECK_INT(a[4].calls, ==, 0);
	run(&f);
	CHECK_INT(a[4].res, ==, D01_SFC_HIT);
	CHECK_STR(a[4].val, "o");
	d01_sfc_put(&a[0].w, "once", 4, 0);
	run(&f);
	CHECK_STR(a[1].val, "once");
	CHECK_STR(a[2].val, "once");
	CHECK_INT(ask(&f, "k", &a[0], &o), ==, D01_SFC_LEAD);
	d01_sfc_cancel(&a[0].w);
	d01_sfc_count(f.c, &n, &idle);
	CHECK_INT(n, ==, idle);
end:
	fx_close(&f);
}

int
main(void)
{
	RUN(t_value_and_ttl);
	RUN(t_leader_cancelled);
	RUN(t_leader_fails);
	RUN(t_waiters_cancelled);
	RUN(t_negative);
	RUN(t_lru);
	RUN(t_bound_and_defer);
	return harness_done();
}
