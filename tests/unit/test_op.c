/* SPDX-License-Identifier: ISC */
/*
 * providers/op.c, the op lifecycle, through a stub provider: the one place
 * a stub provider belongs, since what is tested is op.c, not a provider.
 * An op that never finishes is cut off at its deadline with the provider,
 * subject and step named, and released exactly once; cancel releases and
 * silences; a finish inside start is delivered after start returns; a
 * second finish or a finish before cancel never makes a second (or any)
 * callback; start's refusal releases and never calls back. Real providers
 * at a short deadline: test_rfc2136.c and test_cloudflare.c.
 */
#include <time.h>

#include <event2/event.h>

#include "harness.h"
#include "providers/env.h"
#include "providers/provider.h"

#define FQDN "_acme-challenge.stub.test."

enum mode {
	NEVER,	    /* registers nothing: only the deadline ends it */
	IN_START,   /* finishes (with stub.err) inside start */
	TWICE,	    /* finishes twice inside start */
	LATER,	    /* finishes from a timer of its own after 20 ms */
	REFUSE,	    /* start refuses */
	LATE_REFUSE /* finishes, then refuses anyway */
};

/* The stub's config: how to behave, and what op.c did to it. */
struct stub {
	enum mode mode;
	struct d01_error err; /* IN_START's outcome */
	int starts, releases;
};

struct stub_op {
	struct d01_op op;
	struct stub *stub;
	struct event *later;
};

static void
later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stub_op *o = arg;

	(void)fd;
	(void)what;
	d01_op_finish(&o->op, NULL);
}

static enum d01_err
stub_start(struct d01_op *op, void *cfg, const struct d01_challenge *ch,
    struct d01_error *err)
{
	struct stub_op *o = (struct stub_op *)op;
	struct timeval tv = {0, 20000};

	(void)ch;
	o->stub = cfg;
	o->stub->starts++;
	d01_op_step(op, "waiting for %s", "nothing");
	switch (o->stub->mode) {
	case NEVER:
		break;
	case IN_START:
		d01_op_finish(op, &o->stub->err);
		break;
	case TWICE:
		d01_op_finish(op, NULL);
		d01_op_finish(op, &o->stub->err);
		break;
	case LATER:
		if ((o->later = evtimer_new(op->env->base, later_cb, o)) ==
			NULL ||
		    evtimer_add(o->later, &tv) != 0)
			return d01_error_set(err, D01_E_NOMEM, "no timer");
		break;
	case REFUSE:
		return d01_error_set(err, D01_E_CONFIG, "stub: refused");
	case LATE_REFUSE:
		d01_op_finish(op, NULL);
		return d01_error_set(err, D01_E_CONFIG, "stub: refused");
	}
	return D01_OK;
}

static void
stub_release(struct d01_op *op)
{
	struct stub_op *o = (struct stub_op *)op;

	o->stub->releases++;
	if (o->later != NULL)
		event_free(o->later);
}

static const struct d01_provider stub_provider = {
    .name = "stub",
    .op_size = sizeof(struct stub_op),
    .start = stub_start,
    .release = stub_release,
};

static const struct d01_challenge ch = {
    .uid = "u", .fqdn = FQDN, .key = "v", .namespace = "ns"};

struct probe {
	struct event_base *base;
	int calls, started, early;
	struct d01_error err;
	struct timespec t0, t1;
};

static void
probe_cb(void *arg, const struct d01_error *err)
{
	struct probe *p = arg;

	p->calls++;
	p->early |= !p->started;
	p->err = *err;
	clock_gettime(CLOCK_MONOTONIC, &p->t1);
	event_base_loopbreak(p->base);
}

static long
elapsed_ms(const struct probe *p)
{
	return (long)(p->t1.tv_sec - p->t0.tv_sec) * 1000 +
	    (p->t1.tv_nsec - p->t0.tv_nsec) / 1000000;
}

static void
spin(struct event_base *base, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static struct d01_op *
start(struct d01_env *env, struct stub *s, long timeout_ms, struct probe *p)
{
	struct d01_op *op;

	memset(p, 0, sizeof(*p));
	p->base = env->base;
	clock_gettime(CLOCK_MONOTONIC, &p->t0);
	op = d01_provider_start(
	    &stub_provider, env, s, &ch, 1, timeout_ms, probe_cb, p, &p->err);
	p->started = 1;
	return op;
}

/* Never finishes: cut off at the deadline, named, released once. */
static void
t_deadline(void)
{
	struct d01_env env = {0};
	struct stub s = {.mode = NEVER};
	struct probe p;
	struct d01_op *op;
	long left;

	CHECK_INT(d01_env_open(&env, NULL, &(struct d01_error){0}), ==, D01_OK);
	CHECK((op = start(&env, &s, 200, &p)) != NULL);
	left = d01_op_remaining_ms(op);
	CHECK(left > 0 && left <= 200);
	/* a tenth of 200 ms is kept back from sub-requests */
	CHECK(d01_op_budget_ms(op) <= left - 20);
	spin(env.base, 10000); /* the callback breaks the loop */
	CHECK_INT(p.calls, ==, 1);
	CHECK_INT(p.early, ==, 0);
	CHECK_INT(p.err.code, ==, D01_E_TIMEOUT);
	CHECK(p.err.retryable);
	spin(env.base, 300); /* and never again */
	CHECK_INT(p.calls, ==, 1);
	CHECK_STR(p.err.msg,
	    "stub: present " FQDN ": timed out after 200 ms "
	    "while waiting for nothing");
	CHECK(elapsed_ms(&p) >= 190); /* a timer never fires early */
	CHECK(elapsed_ms(&p) < 10000);
	CHECK_INT(s.starts, ==, 1);
	CHECK_INT(s.releases, ==, 1);
end:
	d01_env_close(&env);
}

/* Cancel: released once, no callback, and the deadline never fires. */
static void
t_cancel(void)
{
	struct d01_env env = {0};
	struct stub s = {.mode = LATER};
	struct probe p;
	struct d01_op *op;

	CHECK_INT(d01_env_open(&env, NULL, &(struct d01_error){0}), ==, D01_OK);
	/* The provider would finish after 20 ms: cancelled first, its
	 * release frees the timer, so it never does. */
	CHECK((op = start(&env, &s, 100, &p)) != NULL);
	d01_provider_cancel(op);
	CHECK_INT(s.releases, ==, 1);
	spin(env.base, 300);
	CHECK_INT(p.calls, ==, 0);
	CHECK_INT(s.releases, ==, 1);
	/* Finished inside start, cancelled before the delivery: silent. */
	s.mode = IN_START;
	CHECK((op = start(&env, &s, 100, &p)) != NULL);
	CHECK_INT(s.releases, ==, 2); /* at the finish */
	d01_provider_cancel(op);
	CHECK_INT(s.releases, ==, 2); /* not twice */
	spin(env.base, 300);
	CHECK_INT(p.calls, ==, 0);
	d01_provider_cancel(NULL);
end:
	d01_env_close(&env);
}

/* A finish inside start arrives after start returned, from the loop. */
static void
t_finish_in_start(void)
{
	struct d01_env env = {0};
	struct stub s = {.mode = IN_START};
	struct probe p;

	CHECK_INT(d01_env_open(&env, NULL, &(struct d01_error){0}), ==, D01_OK);
	d01_error_set(&s.err, D01_E_AUTH, "no such key");
	CHECK(start(&env, &s, 100, &p) != NULL);
	CHECK_INT(p.calls, ==, 0);
	CHECK_INT(s.releases, ==, 1); /* sub-requests go at the finish */
	event_base_loop(env.base, EVLOOP_NONBLOCK);
	CHECK_INT(p.calls, ==, 1);
	CHECK_INT(p.early, ==, 0);
	CHECK_INT(p.err.code, ==, D01_E_AUTH);
	CHECK_STR(p.err.msg, "stub: present " FQDN ": no such key");
	/* Success too (the embedded provider's way), and the deadline
	 * timer is gone with the op. */
	d01_error_clear(&s.err);
	CHECK(start(&env, &s, 100, &p) != NULL);
	spin(env.base, 300);
	CHECK_INT(p.calls, ==, 1);
	CHECK_INT(p.err.code, ==, D01_OK);
	/* Finished twice: one callback, the first outcome. */
	s.mode = TWICE;
	d01_error_set(&s.err, D01_E_AUTH, "second");
	CHECK(start(&env, &s, 100, &p) != NULL);
	spin(env.base, 300);
	CHECK_INT(p.calls, ==, 1);
	CHECK_INT(p.err.code, ==, D01_OK);
	CHECK_INT(s.releases, ==, 3);
	/* Finished later, before the deadline: once, and not again when
	 * the deadline would have passed. */
	s.mode = LATER;
	CHECK(start(&env, &s, 150, &p) != NULL);
	spin(env.base, 5000);
	CHECK_INT(p.calls, ==, 1);
	spin(env.base, 300);
	CHECK_INT(p.calls, ==, 1);
	CHECK_INT(p.err.code, ==, D01_OK);
	CHECK_INT(s.releases, ==, 4);
end:
	d01_env_close(&env);
}

/* start's refusal: NULL with its error, released, never called back;
 * and no op without a deadline. */
static void
t_refused(void)
{
	struct d01_env env = {0};
	struct stub s = {.mode = REFUSE};
	struct probe p;

	CHECK_INT(d01_env_open(&env, NULL, &(struct d01_error){0}), ==, D01_OK);
	CHECK(start(&env, &s, 100, &p) == NULL);
	CHECK_INT(p.err.code, ==, D01_E_CONFIG);
	CHECK_STR(p.err.msg, "stub: refused");
	CHECK_INT(s.releases, ==, 1);
	s.mode = LATE_REFUSE; /* the refusal wins over an early finish */
	CHECK(start(&env, &s, 100, &p) == NULL);
	CHECK_INT(p.err.code, ==, D01_E_CONFIG);
	CHECK_INT(s.releases, ==, 2);
	spin(env.base, 300);
	CHECK_INT(p.calls, ==, 0);
	s.mode = NEVER;
	CHECK(start(&env, &s, 0, &p) == NULL);
	CHECK_INT(p.err.code, ==, D01_E_INTERNAL);
	CHECK_INT(s.starts, ==, 2); /* never reached the provider */
end:
	d01_env_close(&env);
}

int
main(void)
{
	RUN(t_deadline);
	RUN(t_cancel);
	RUN(t_finish_in_start);
	RUN(t_refused);
	return harness_done();
}
