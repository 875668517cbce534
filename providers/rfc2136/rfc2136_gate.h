/* SPDX-License-Identifier: ISC */
/*
 * At most RFC2136_GATE_INFLIGHT UPDATEs in flight per nameserver; the
 * rest wait in FIFO order. A server applies the updates of a zone one at
 * a time anyway, and past a point it stops answering: BIND drops every
 * UPDATE beyond its update-quota (100 at once) by design, and under 128
 * concurrent webhook calls BIND 9.18 left some UPDATEs without any reply
 * to three tries (failed challenges after 6 s) with nothing in its log
 * or the kernel's UDP drop counters. With the gate: no failures, same
 * throughput (bench/results/2026-11-29.md).
 *
 * Ownership: the gates are the provider's state in the env (made by its
 * init, freed by its fini, after every op has left); the waiter lives in
 * the caller's op; the gate only links it.
 */
#ifndef D01_RFC2136_GATE_H
#define D01_RFC2136_GATE_H

#include <sys/queue.h>

#define RFC2136_GATE_INFLIGHT 32
#define RFC2136_GATE_QUEUE    4096 /* waiting per server before refusing */

struct rfc2136_gates;

struct rfc2136_gates *rfc2136_gates_new(void); /* NULL: out of memory */
void rfc2136_gates_free(struct rfc2136_gates *gs);

struct rfc2136_waiter {
	TAILQ_ENTRY(rfc2136_waiter) link;
	struct rfc2136_gates *gates; /* set while inside or waiting */
	int slot;   /* gate index + 1 while inside or waiting; 0 outside */
	int queued; /* waiting for a place */
	void (*resume)(void *arg); /* a place became free: go */
	void *arg;
};

/*
 * Enter the gate of `server` ("addr:port"). Returns 1: go now; 0: queued,
 * w->resume(w->arg) runs later, from rfc2136_gate_leave() of another
 * waiter (it must not call back synchronously into the provider); -1: the
 * queue is full.
 */
int rfc2136_gate_enter(
    struct rfc2136_gates *gs, struct rfc2136_waiter *w, const char *server);

/* Leave (done, failed or cancelled, inside or queued). No-op outside. */
void rfc2136_gate_leave(struct rfc2136_waiter *w);

#endif
