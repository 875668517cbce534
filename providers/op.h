/* SPDX-License-Identifier: ISC */
/*
 * One provider op's life, the same for every provider (providers/op.c;
 * docs/DESIGN.md, "The op lifecycle"):
 *
 *  - the caller starts it through d01_provider_start() with a deadline;
 *    op.c allocates the provider's op struct (p->op_size, zeroed, the
 *    header below first), arms the one timer and calls p->start;
 *  - the provider runs its steps, naming each (d01_op_step), and ends the
 *    op exactly once with d01_op_finish(), from anywhere, start included;
 *  - op.c then calls the provider's release hook at once (its sub-requests
 *    are cancelled, nothing calls back into it afterwards) and delivers
 *    the outcome from the loop, never inside start or finish;
 *  - at the deadline op.c releases the op and delivers D01_E_TIMEOUT
 *    naming the provider, the subject and the step it was in;
 *  - d01_provider_cancel() releases it and nothing is delivered.
 *
 * Ownership: op.c owns the op's memory; the provider owns what it put in
 * its part of the struct and frees that in release, never the op itself.
 */
#ifndef D01_PROVIDERS_OP_H
#define D01_PROVIDERS_OP_H

#include <time.h>

#include "core/dname.h"
#include "core/err.h"

struct d01_env;
struct d01_provider;
struct event;

/* Completion callback; `err->code == D01_OK` on success. err is borrowed. */
typedef void (*d01_done_fn)(void *arg, const struct d01_error *err);

#define D01_OP_STEP_MAX	   128
#define D01_OP_SUBJECT_MAX (2 * D01_DNAME_BUF + 16)

/*
 * The header of every provider op, its first member (so op.c and
 * d01_provider_cancel() can treat any op alike). Providers read
 * `provider`, `env` and `present`, and write `step` / `subject` only
 * through the functions below; the rest is op.c's.
 */
struct d01_op {
	const struct d01_provider *provider;
	struct d01_env *env;
	int present; /* 1 Present, 0 CleanUp */
	/* What failures and timeouts name: "<provider>: <present|cleanup>
	 * <subject>: ..." and "... while <step>". */
	char subject[D01_OP_SUBJECT_MAX]; /* ch->fqdn unless the provider
					   * says otherwise */
	char step[D01_OP_STEP_MAX];	  /* "" before the first step */

	/* op.c's own */
	d01_done_fn cb;
	void *arg;
	struct event *ev; /* the deadline, then the deferred delivery */
	struct timespec deadline;
	long timeout_ms;
	int finished; /* the outcome is in result */
	int released; /* the provider's release hook ran */
	struct d01_error result;
};

/*
 * End the op with `err` (NULL or D01_OK: success; a failure gets
 * "<provider>: <present|cleanup> <subject>: " in front). Call exactly
 * once, then leave the op's sub-requests alone: the release hook runs
 * before this returns and the callback later, from the loop. A second
 * call is ignored. The op's memory stays valid until this returns.
 */
void d01_op_finish(struct d01_op *op, const struct d01_error *err);

/* What the op does now, for a timeout's message: "looking up the zone",
 * "sending the UPDATE to 192.0.2.1:53". printf-style, truncated. */
void d01_op_step(struct d01_op *op, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* What the op acts on, as its messages name it (default: the FQDN). */
void d01_op_subject(struct d01_op *op, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Milliseconds until the deadline, >= 0. */
long d01_op_remaining_ms(const struct d01_op *op);

/*
 * The budget to give one sub-request (an HTTP call): what is left minus a
 * reserve (a tenth of the op's time, at most 2 s), so that a sub-request
 * that runs out reports its own, more precise error before the op's
 * deadline cuts everything off. <= 0: no time left.
 */
long d01_op_budget_ms(const struct d01_op *op);

#endif
