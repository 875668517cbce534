/* SPDX-License-Identifier: ISC */
/* The keyed FIFO gate; see gate.h. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "core/gate.h"

struct d01_gate_key {
	LIST_ENTRY(d01_gate_key) link;
	unsigned char digest[32];
	unsigned holders; /* IN and READY */
	unsigned waiting;
	TAILQ_HEAD(, d01_gate_wait) queue;
};

struct d01_gate {
	struct d01_gate_cfg cfg;
	LIST_HEAD(, d01_gate_key) keys;
	size_t nkeys;
	TAILQ_HEAD(, d01_gate_wait) ready; /* places handed over, to call */
	struct event *wake;
};

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct d01_gate *g = arg;
	struct d01_gate_wait *w;

	(void)fd;
	(void)what;
	/* One at a time: a callback may leave, enter or free others. */
	while ((w = TAILQ_FIRST(&g->ready)) != NULL) {
		TAILQ_REMOVE(&g->ready, w, link);
		w->state = D01_GATE_IN;
		w->cb(w->arg);
	}
}

struct d01_gate *
d01_gate_new(struct event_base *base, const struct d01_gate_cfg *cfg)
{
	struct d01_gate *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	g->cfg = *cfg;
	if (g->cfg.inflight == 0)
		g->cfg.inflight = 1;
	LIST_INIT(&g->keys);
	TAILQ_INIT(&g->ready);
	if ((g->wake = event_new(base, -1, 0, wake_cb, g)) == NULL) {
		free(g);
		return NULL;
	}
	return g;
}

void
d01_gate_free(struct d01_gate *g)
{
	struct d01_gate_key *k;

	if (g == NULL)
		return;
	/* Waiters are their callers'; by now they have left. */
	while ((k = LIST_FIRST(&g->keys)) != NULL) {
		LIST_REMOVE(k, link);
		free(k);
	}
	event_free(g->wake);
	free(g);
}

static int
digest(const void *key, size_t len, unsigned char out[32])
{
	unsigned int n = 32;

	return EVP_Digest(key, len, out, &n, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

static struct d01_gate_key *
find(struct d01_gate *g, const unsigned char d[32])
{
	struct d01_gate_key *k;

	LIST_FOREACH(k, &g->keys, link)
	if (memcmp(k->digest, d, 32) == 0)
		return k;
	return NULL;
}

enum d01_gate_res
d01_gate_enter(struct d01_gate *g, struct d01_gate_wait *w, const void *key,
    size_t len, d01_gate_fn cb, void *arg)
{
	unsigned char d[32];
	struct d01_gate_key *k;

	w->state = D01_GATE_OUT;
	if (digest(key, len, d) != 0)
		return D01_GATE_GO; /* untracked, as when the table is full */
	if ((k = find(g, d)) == NULL) {
		if (g->nkeys >= g->cfg.max_keys ||
		    (k = calloc(1, sizeof(*k))) == NULL)
			return D01_GATE_GO;
		memcpy(k->digest, d, 32);
		TAILQ_INIT(&k->queue);
		LIST_INSERT_HEAD(&g->keys, k, link);
		g->nkeys++;
	}
	w->g = g;
	w->k = k;
	w->cb = cb;
	w->arg = arg;
	if (k->holders < g->cfg.inflight && k->waiting == 0) {
		k->holders++;
		w->state = D01_GATE_IN;
		return D01_GATE_GO;
	}
	if (k->waiting >= g->cfg.max_queued)
		return D01_GATE_FULL; /* k is busy: it stays */
	k->waiting++;
	w->state = D01_GATE_WAITING;
	TAILQ_INSERT_TAIL(&k->queue, w, link);
	return D01_GATE_QUEUED;
}

void
d01_gate_leave(struct d01_gate_wait *w)
{
	struct d01_gate *g = w->g;
	struct d01_gate_key *k = w->k;
	struct d01_gate_wait *next;

	switch (w->state) {
	case D01_GATE_OUT:
		return;
	case D01_GATE_WAITING:
		TAILQ_REMOVE(&k->queue, w, link);
		k->waiting--;
		break;
	case D01_GATE_READY:
		TAILQ_REMOVE(&g->ready, w, link);
		/* fall through: it held the place */
	case D01_GATE_IN:
		k->holders--;
		if ((next = TAILQ_FIRST(&k->queue)) != NULL) {
			TAILQ_REMOVE(&k->queue, next, link);
			k->waiting--;
			k->holders++;
			next->state = D01_GATE_READY;
			TAILQ_INSERT_TAIL(&g->ready, next, link);
			event_active(g->wake, 0, 0);
		}
		break;
	}
	w->state = D01_GATE_OUT;
	w->k = NULL;
	if (k->holders == 0 && k->waiting == 0) {
		LIST_REMOVE(k, link);
		g->nkeys--;
		free(k);
	}
}

void
d01_gate_count(struct d01_gate *g, const void *key, size_t len,
    unsigned *holders, unsigned *waiting)
{
	unsigned char d[32];
	struct d01_gate_key *k;

	*holders = *waiting = 0;
	if (digest(key, len, d) == 0 && (k = find(g, d)) != NULL) {
		*holders = k->holders;
		*waiting = k->waiting;
	}
}
