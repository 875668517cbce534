/* SPDX-License-Identifier: ISC */
/*
 * The op lifecycle of every provider (op.h;
 * docs/DESIGN.md, "The op lifecycle"). One event per op serves as its
 * deadline timer and, once the op has finished, as the deferred delivery:
 * a finish inside start or inside a sub-request's callback is never
 * delivered from that stack.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/log.h"
#include "providers/provider.h"

#define RESERVE_MAX_MS 2000

/* Once per op: the provider lets go of its sub-requests. */
static void
release(struct d01_op *op)
{
	if (op->released)
		return;
	op->released = 1;
	if (op->provider->release != NULL)
		op->provider->release(op);
}

static void
op_free(struct d01_op *op)
{
	if (op->ev != NULL)
		event_free(op->ev);
	free(op);
}

/* Hand the outcome to the caller: the op is freed first, so the callback
 * may do anything, cancel included (of other ops). */
static void
deliver(struct d01_op *op)
{
	d01_done_fn cb = op->cb;
	void *arg = op->arg;
	struct d01_error result = op->result;

	op_free(op);
	cb(arg, &result);
}

static void
prefix(struct d01_op *op, struct d01_error *e)
{
	d01_error_prefix(e, "%s: %s %s: ", op->provider->name,
	    op->present ? "present" : "cleanup", op->subject);
}

/* The deadline passed (the op still runs), or the finished op's turn. */
static void
fire(evutil_socket_t fd, short what, void *arg)
{
	struct d01_op *op = arg;

	(void)fd;
	(void)what;
	if (!op->finished) {
		op->finished = 1;
		d01_error_set(&op->result, D01_E_TIMEOUT,
		    "timed out after %ld ms%s%s", op->timeout_ms,
		    op->step[0] ? " while " : "", op->step);
		op->result.retryable = 1;
		prefix(op, &op->result);
		release(op);
	}
	deliver(op);
}

void
d01_op_finish(struct d01_op *op, const struct d01_error *err)
{
	char qp[64], qs[D01_OP_STEP_MAX + 8];

	if (op->finished) {
		/* A provider bug, but never a second callback. */
		d01_log(D01_LOG_WARN, "op", "provider=%s finished twice (%s)",
		    d01_log_quote(qp, sizeof(qp), op->provider->name),
		    d01_log_quote(qs, sizeof(qs), op->step));
		return;
	}
	op->finished = 1;
	d01_error_clear(&op->result);
	if (err != NULL && err->code != D01_OK) {
		op->result = *err;
		prefix(op, &op->result);
	}
	release(op);
	/* The timer becomes the delivery: from the loop, after start. */
	event_del(op->ev);
	event_active(op->ev, EV_TIMEOUT, 0);
}

void
d01_op_step(struct d01_op *op, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(op->step, sizeof(op->step), fmt, ap);
	va_end(ap);
}

void
d01_op_subject(struct d01_op *op, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(op->subject, sizeof(op->subject), fmt, ap);
	va_end(ap);
}

long
d01_op_remaining_ms(const struct d01_op *op)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long)(op->deadline.tv_sec - now.tv_sec) * 1000 +
	    (op->deadline.tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

long
d01_op_budget_ms(const struct d01_op *op)
{
	long reserve = op->timeout_ms / 10;

	if (reserve > RESERVE_MAX_MS)
		reserve = RESERVE_MAX_MS;
	return d01_op_remaining_ms(op) - reserve;
}

struct d01_op *
d01_provider_start(const struct d01_provider *p, struct d01_env *env, void *cfg,
    const struct d01_challenge *ch, int present, long timeout_ms,
    d01_done_fn cb, void *arg, struct d01_error *err)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	struct d01_error e;
	struct d01_op *op;

	d01_error_clear(&e);
	if (timeout_ms <= 0 || p->op_size < sizeof(*op) || env == NULL ||
	    env->base == NULL) {
		d01_error_set(&e, D01_E_INTERNAL,
		    "%s: an op needs a loop and a deadline (%ld ms)", p->name,
		    timeout_ms);
		goto fail;
	}
	if ((op = calloc(1, p->op_size)) == NULL ||
	    (op->ev = event_new(env->base, -1, 0, fire, op)) == NULL ||
	    event_add(op->ev, &tv) != 0) {
		if (op != NULL)
			op_free(op);
		d01_error_set(&e, D01_E_NOMEM, "%s: out of memory", p->name);
		goto fail;
	}
	op->provider = p;
	op->env = env;
	op->present = present;
	op->cb = cb;
	op->arg = arg;
	op->timeout_ms = timeout_ms;
	clock_gettime(CLOCK_MONOTONIC, &op->deadline);
	op->deadline.tv_sec += timeout_ms / 1000;
	op->deadline.tv_nsec += (timeout_ms % 1000) * 1000000;
	if (op->deadline.tv_nsec >= 1000000000) {
		op->deadline.tv_sec++;
		op->deadline.tv_nsec -= 1000000000;
	}
	d01_op_subject(op, "%s", ch->fqdn != NULL ? ch->fqdn : "");
	if (p->start(op, cfg, ch, &e) != D01_OK) {
		if (e.code == D01_OK) /* a provider bug; never succeed */
			d01_error_set(&e, D01_E_INTERNAL,
			    "%s: refused without a reason", p->name);
		release(op);
		op_free(op);
		goto fail;
	}
	return op;
fail:
	if (err != NULL)
		*err = e;
	return NULL;
}

void
d01_provider_cancel(struct d01_op *op)
{
	if (op == NULL)
		return;
	release(op);
	op_free(op);
}
