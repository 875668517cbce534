/* SPDX-License-Identifier: ISC */
/*
 * A keyed gate: at most `inflight` holders per key at once, the others
 * wait in FIFO order, at most `max_queued` of them per key. Used for
 * rfc2136's UPDATEs per nameserver (32 in flight) and route53's change
 * batches per name (one at a time).
 *
 * Async shape: d01_gate_enter() answers GO (the caller holds a place
 * now), QUEUED (its callback runs later, once, from the loop, when a
 * place is its own), or FULL. A callback never runs inside enter or
 * leave: a place handed to a waiter is reserved for it at once and the
 * call made from the gate's event, so a holder leaving from deep inside
 * its own completion never re-enters another op.
 *
 * Keys are compared as SHA-256 digests of the bytes given; the gate keeps
 * no key text. Keys are tracked only while someone holds or waits; past
 * `max_keys` tracked keys enter answers GO without tracking (the callers'
 * own protocol still holds: a server's quota, a compare-and-swap).
 *
 * Ownership: the gate is its owner's (a provider's state in the env);
 * every waiter is embedded in its caller's op, which must leave before it
 * is freed, and the gate must outlive every waiter.
 */
#ifndef D01_CORE_GATE_H
#define D01_CORE_GATE_H

#include <stddef.h>
#include <sys/queue.h>

struct event_base;
struct d01_gate;
struct d01_gate_key;

struct d01_gate_cfg {
	unsigned inflight;   /* holders per key (>= 1) */
	unsigned max_queued; /* waiters per key before FULL */
	size_t max_keys;     /* keys tracked at once */
};

typedef void (*d01_gate_fn)(void *arg); /* the place is yours: go */

enum d01_gate_state {
	D01_GATE_OUT = 0, /* neither holding nor waiting */
	D01_GATE_IN,	  /* holding a place */
	D01_GATE_WAITING, /* queued */
	D01_GATE_READY,	  /* holding; the callback is about to run */
};

/* Embedded in the caller's op; zero it before first use. */
struct d01_gate_wait {
	TAILQ_ENTRY(d01_gate_wait) link;
	struct d01_gate *g;
	struct d01_gate_key *k;
	enum d01_gate_state state;
	d01_gate_fn cb;
	void *arg;
};

/* NULL when out of memory. */
struct d01_gate *d01_gate_new(
    struct event_base *base, const struct d01_gate_cfg *cfg);
/* Every waiter must have left. */
void d01_gate_free(struct d01_gate *g);

enum d01_gate_res {
	D01_GATE_FULL = -1, /* max_queued waiters already; w stays OUT */
	D01_GATE_QUEUED = 0,
	D01_GATE_GO = 1, /* also when untracked: then w stays OUT */
};

/* Enter the gate for `key` (len bytes). w must be OUT. */
enum d01_gate_res d01_gate_enter(struct d01_gate *g, struct d01_gate_wait *w,
    const void *key, size_t len, d01_gate_fn cb, void *arg);

/* Leave: a holder gives its place to the next waiter; a waiter (or one
 * whose callback has not run yet) leaves the queue and is never called.
 * No-op when OUT. */
void d01_gate_leave(struct d01_gate_wait *w);

/* For tests: holders and waiters of `key`. */
void d01_gate_count(struct d01_gate *g, const void *key, size_t len,
    unsigned *holders, unsigned *waiting);

#endif
