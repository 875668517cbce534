/* SPDX-License-Identifier: ISC */
/* Per-name serialisation of route53 writes; see r53_int.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/route53/r53_int.h"

#define SLOTS 64

struct lock {
	char key[400];
	struct r53_op *holder;
	TAILQ_HEAD(, r53_op) queue;
};

/* Part of route53's state in the env (r53_int.h). */
struct r53_locks {
	struct lock slot[SLOTS];
};

struct r53_locks *
r53_locks_new(void)
{
	struct r53_locks *ls = calloc(1, sizeof(*ls));
	int i;

	if (ls != NULL)
		for (i = 0; i < SLOTS; i++)
			TAILQ_INIT(&ls->slot[i].queue);
	return ls;
}

void
r53_locks_free(struct r53_locks *ls)
{
	free(ls);
}

int
r53_lock_acquire(struct r53_op *o)
{
	char key[400];
	struct lock *l, *locks = o->state->locks->slot, *free_slot = NULL;
	int i;

	if (o->lock != 0)
		return 1; /* already holding (a CAS retry) */
	snprintf(key, sizeof(key), "%s|%s", o->zone_id, o->fqdn);
	for (i = 0; i < SLOTS; i++) {
		l = &locks[i];
		if (l->holder != NULL && strcmp(l->key, key) == 0) {
			o->lock = i + 1;
			o->waiting = 1;
			TAILQ_INSERT_TAIL(&l->queue, o, lock_link);
			return 0;
		}
		if (l->holder == NULL && free_slot == NULL)
			free_slot = l;
	}
	if (free_slot == NULL)
		return 1; /* table full: the compare-and-swap still holds */
	snprintf(free_slot->key, sizeof(free_slot->key), "%s", key);
	free_slot->holder = o;
	o->lock = (int)(free_slot - locks) + 1;
	return 1;
}

void
r53_lock_release(struct r53_op *o)
{
	struct lock *l;
	struct r53_op *next;

	if (o->lock == 0)
		return;
	l = &o->state->locks->slot[o->lock - 1];
	o->lock = 0;
	if (o->waiting) { /* cancelled while queued */
		TAILQ_REMOVE(&l->queue, o, lock_link);
		o->waiting = 0;
		return;
	}
	if ((next = TAILQ_FIRST(&l->queue)) == NULL) {
		l->holder = NULL;
		return;
	}
	TAILQ_REMOVE(&l->queue, next, lock_link);
	next->waiting = 0;
	l->holder = next;
	r53_resume(next);
}
