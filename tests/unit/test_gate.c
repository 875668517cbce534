/* SPDX-License-Identifier: ISC */
/*
 * The keyed gate (core/gate.h): N holders per key, FIFO beyond, waiters
 * bounded, a place handed over from the loop (never inside enter or
 * leave), leaving while queued or while the place is on its way.
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "core/gate.h"
#include "harness.h"

struct who {
	int id, calls;
	int *order, *norder;
	struct d01_gate_wait w;
};

static void
go(void *arg)
{
	struct who *x = arg;

	x->calls++;
	x->order[(*x->norder)++] = x->id;
}

static void
run(struct event_base *base)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
}

static enum d01_gate_res
enter(struct d01_gate *g, struct who *x, const char *key)
{
	return d01_gate_enter(g, &x->w, key, strlen(key), go, x);
}

/* Two in flight for "a", the rest in order; "b" is not held up. */
static void
t_fifo_and_inflight(void)
{
	const struct d01_gate_cfg cfg = {2, 16, 8};
	struct event_base *base = event_base_new();
	struct d01_gate *g = NULL;
	struct who x[6], b;
	int order[16], n = 0, i;
	unsigned h, q;

	memset(x, 0, sizeof(x));
	memset(&b, 0, sizeof(b));
	CHECK(base != NULL && (g = d01_gate_new(base, &cfg)) != NULL);
	for (i = 0; i < 6; i++) {
		x[i].id = i;
		x[i].order = order;
		x[i].norder = &n;
		CHECK_INT(enter(g, &x[i], "a"), ==,
		    i < 2 ? D01_GATE_GO : D01_GATE_QUEUED);
	}
	b.order = order;
	b.norder = &n;
	b.id = 100;
	CHECK_INT(enter(g, &b, "b"), ==, D01_GATE_GO);
	d01_gate_count(g, "a", 1, &h, &q);
	CHECK_INT(h, ==, 2);
	CHECK_INT(q, ==, 4);
	d01_gate_leave(&x[1].w);
	CHECK_INT(x[2].calls, ==, 0); /* not inside leave */
	d01_gate_leave(&x[0].w);
	/* Newcomers queue behind: the places are already promised. */
	d01_gate_count(g, "a", 1, &h, &q);
	CHECK_INT(h, ==, 2);
	CHECK_INT(q, ==, 2);
	run(base);
	CHECK_INT(n, ==, 2);
	CHECK_INT(order[0], ==, 2);
	CHECK_INT(order[1], ==, 3);
	d01_gate_leave(&x[3].w);
	d01_gate_leave(&x[2].w);
	run(base);
	CHECK_INT(n, ==, 4);
	CHECK_INT(order[2], ==, 4);
	CHECK_INT(order[3], ==, 5);
	for (i = 0; i < 6; i++)
		CHECK_INT(x[i].calls, ==, i < 2 ? 0 : 1);
	d01_gate_leave(&x[4].w);
	d01_gate_leave(&x[5].w);
	d01_gate_leave(&b.w);
	d01_gate_count(g, "a", 1, &h, &q);
	CHECK_INT(h + q, ==, 0);
end:
	d01_gate_free(g);
	if (base != NULL)
		event_base_free(base);
}

/* A queued waiter that leaves is never called, nor one whose place was
 * on its way; the place goes to the next in line. */
static void
t_cancel_waiter(void)
{
	const struct d01_gate_cfg cfg = {1, 16, 8};
	struct event_base *base = event_base_new();
	struct d01_gate *g = NULL;
	struct who x[4];
	int order[8], n = 0, i;
	unsigned h, q;

	memset(x, 0, sizeof(x));
	CHECK(base != NULL && (g = d01_gate_new(base, &cfg)) != NULL);
	for (i = 0; i < 4; i++) {
		x[i].id = i;
		x[i].order = order;
		x[i].norder = &n;
		CHECK_INT(enter(g, &x[i], "k"), ==,
		    i == 0 ? D01_GATE_GO : D01_GATE_QUEUED);
	}
	d01_gate_leave(&x[1].w); /* queued: leaves the line */
	d01_gate_leave(&x[0].w); /* the place goes to x[2] ... */
	CHECK_INT(x[2].w.state, ==, D01_GATE_READY);
	d01_gate_leave(&x[2].w); /* ... which leaves before its call */
	run(base);
	CHECK_INT(n, ==, 1);
	CHECK_INT(order[0], ==, 3);
	CHECK_INT(x[1].calls + x[2].calls, ==, 0);
	d01_gate_leave(&x[3].w);
	d01_gate_leave(&x[3].w); /* twice: a no-op */
	run(base);
	CHECK_INT(x[1].calls + x[2].calls, ==, 0);
	d01_gate_count(g, "k", 1, &h, &q);
	CHECK_INT(h + q, ==, 0); /* nobody left behind in the line */
end:
	d01_gate_free(g);
	if (base != NULL)
		event_base_free(base);
}

/* Waiters per key are bounded; tracked keys too (beyond: untracked). */
static void
t_bounds(void)
{
	const struct d01_gate_cfg cfg = {1, 2, 2};
	struct event_base *base = event_base_new();
	struct d01_gate *g = NULL;
	struct who x[6];
	int order[8], n = 0, i;

	memset(x, 0, sizeof(x));
	CHECK(base != NULL && (g = d01_gate_new(base, &cfg)) != NULL);
	for (i = 0; i < 6; i++) {
		x[i].order = order;
		x[i].norder = &n;
	}
	CHECK_INT(enter(g, &x[0], "k"), ==, D01_GATE_GO);
	CHECK_INT(enter(g, &x[1], "k"), ==, D01_GATE_QUEUED);
	CHECK_INT(enter(g, &x[2], "k"), ==, D01_GATE_QUEUED);
	CHECK_INT(enter(g, &x[3], "k"), ==, D01_GATE_FULL);
	CHECK_INT(x[3].w.state, ==, D01_GATE_OUT);
	CHECK_INT(enter(g, &x[4], "l"), ==, D01_GATE_GO);
	/* A third key is over max_keys: through, untracked. */
	CHECK_INT(enter(g, &x[5], "m"), ==, D01_GATE_GO);
	CHECK_INT(x[5].w.state, ==, D01_GATE_OUT);
	for (i = 0; i < 6; i++)
		d01_gate_leave(&x[i].w);
	run(base);
	CHECK_INT(n, ==, 0); /* everyone left before any call */
end:
	d01_gate_free(g);
	if (base != NULL)
		event_base_free(base);
}

int
main(void)
{
	RUN(t_fifo_and_inflight);
	RUN(t_cancel_waiter);
	RUN(t_bounds);
	return harness_done();
}
