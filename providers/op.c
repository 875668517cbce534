/* SPDX-License-Identifier: ISC */
/* The start/end protocol of provider ops; see provider.h. */
#include <string.h>

#include "providers/provider.h"

void
d01_op_init(struct d01_op *op, const struct d01_provider *p, int present,
    d01_done_fn cb, void *arg)
{
	op->provider = p;
	op->cb = cb;
	op->arg = arg;
	op->present = present;
	op->starting = 0;
	op->ended = 0;
	d01_error_clear(&op->start_err);
}

struct d01_op *
d01_op_begin(struct d01_op *op, void (*first)(void *), void *first_arg,
    struct d01_error *err)
{
	op->starting = 1;
	first(first_arg);
	op->starting = 0;
	if (!op->ended)
		return op;
	/* Never call back before start returns: an op that ended already
	 * is start's failure. It cannot have succeeded without I/O. */
	if (op->start_err.code == D01_OK)
		d01_error_set(&op->start_err, D01_E_INTERNAL,
		    "%s: finished before it started", op->provider->name);
	if (err != NULL)
		*err = op->start_err;
	op->provider->cancel(op);
	return NULL;
}

int
d01_op_end(struct d01_op *op, const struct d01_error *err, const char *subject,
    struct d01_op_end *end)
{
	struct d01_error e;

	d01_error_clear(&e);
	if (err != NULL && err->code != D01_OK) {
		e = *err;
		d01_error_prefix(&e, "%s: %s %s: ", op->provider->name,
		    op->present ? "present" : "cleanup", subject);
	}
	if (op->starting) {
		op->ended = 1;
		op->start_err = e;
		return 0;
	}
	end->cb = op->cb;
	end->arg = op->arg;
	end->err = e;
	return 1;
}

void
d01_op_deliver(const struct d01_op_end *end)
{
	end->cb(end->arg, &end->err);
}

struct d01_op *
d01_provider_start(const struct d01_provider *p, struct d01_env *env, void *cfg,
    const struct d01_challenge *ch, int present, d01_done_fn cb, void *arg,
    struct d01_error *err)
{
	return p->start(env, cfg, ch, present, cb, arg, err);
}
