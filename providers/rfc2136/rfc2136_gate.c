/* SPDX-License-Identifier: ISC */
/* Per-nameserver UPDATE concurrency; see rfc2136_gate.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/rfc2136/rfc2136_gate.h"

/* Servers tracked at once; a gate is free again when nobody uses it. */
#define GATES 64

struct gate {
	char server[96];
	int inside;
	int waiting;
	TAILQ_HEAD(, rfc2136_waiter) queue;
};

/* The provider's state in the env (providers/env.h). */
struct rfc2136_gates {
	struct gate gate[GATES];
};

struct rfc2136_gates *
rfc2136_gates_new(void)
{
	return calloc(1, sizeof(struct rfc2136_gates));
}

void
rfc2136_gates_free(struct rfc2136_gates *gs)
{
	free(gs);
}

int
rfc2136_gate_enter(
    struct rfc2136_gates *gs, struct rfc2136_waiter *w, const char *server)
{
	struct gate *g, *gates = gs->gate, *free_gate = NULL;
	int i;

	for (i = 0; i < GATES; i++) {
		g = &gates[i];
		if (g->inside == 0 && g->waiting == 0) {
			if (free_gate == NULL)
				free_gate = g;
			continue;
		}
		if (strcmp(g->server, server) == 0)
			break;
	}
	if (i == GATES) {
		if (free_gate == NULL)
			return 1; /* 64 busy servers: let it through */
		g = free_gate;
		snprintf(g->server, sizeof(g->server), "%s", server);
		TAILQ_INIT(&g->queue);
	}
	if (g->inside < RFC2136_GATE_INFLIGHT) {
		g->inside++;
		w->gates = gs;
		w->slot = (int)(g - gates) + 1;
		w->queued = 0;
		return 1;
	}
	if (g->waiting >= RFC2136_GATE_QUEUE)
		return -1;
	g->waiting++;
	w->gates = gs;
	w->slot = (int)(g - gates) + 1;
	w->queued = 1;
	TAILQ_INSERT_TAIL(&g->queue, w, link);
	return 0;
}

void
rfc2136_gate_leave(struct rfc2136_waiter *w)
{
	struct gate *g;
	struct rfc2136_waiter *next;

	if (w->slot == 0)
		return;
	g = &w->gates->gate[w->slot - 1];
	w->slot = 0;
	if (w->queued) { /* cancelled while waiting */
		w->queued = 0;
		TAILQ_REMOVE(&g->queue, w, link);
		g->waiting--;
		return;
	}
	g->inside--;
	if ((next = TAILQ_FIRST(&g->queue)) == NULL)
		return;
	TAILQ_REMOVE(&g->queue, next, link);
	g->waiting--;
	g->inside++;
	next->queued = 0;
	next->resume(next->arg);
}
