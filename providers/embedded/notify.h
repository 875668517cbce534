/* SPDX-License-Identifier: ISC */
/*
 * NOTIFY (RFC 1996) to the secondaries of the embedded zones: after a
 * zone changes, every --notify target gets a NOTIFY (opcode 4, AA, the
 * zone's apex/SOA as the question, its SOA in the answer as a hint) over
 * UDP, so it transfers at once instead of at its SOA refresh.
 *
 * Coalesced: a zone starts at most one round per D01_NOTIFY_COALESCE_MS
 * while changes keep coming (a burst of Presents is one NOTIFY). Each
 * target is retried with backoff (1, 2, 4, 8, 16 s: D01_NOTIFY_RETRIES
 * retries) until a NOTIFY response with the round's ID comes from it;
 * a newer round replaces an older one's retries. Nothing blocks: sends
 * are non-blocking datagrams, one timer drives every due action.
 *
 * The schedule reads the env's clock (core/clock.h), so a unit test
 * drives it with a test clock and d01_notify_tick, capturing the sends.
 *
 * Ownership: the d01_notify is the embedded provider's; the store and
 * clock are borrowed and must outlive it.
 */
#ifndef D01_EMBEDDED_NOTIFY_H
#define D01_EMBEDDED_NOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"

struct event_base;
struct d01_clock;
struct d01_txtstore;
struct d01_txtzone;

#define D01_NOTIFY_MAX_TARGETS 16
#define D01_NOTIFY_COALESCE_MS 1000
#define D01_NOTIFY_RETRY_MS    1000 /* first retry; doubles each time */
#define D01_NOTIFY_RETRIES     5

struct d01_notify;

/* Where a message goes: the real sendto, or a test's capture. */
typedef void (*d01_notify_send_fn)(void *arg, const struct sockaddr *to,
    socklen_t tolen, const uint8_t *msg, size_t len);

/*
 * Targets "ADDR" or "ADDR:PORT" ("192.0.2.1", "[2001:db8::1]:5300";
 * default port 53; addresses only: no blocking name look-up). With base
 * NULL there are no sockets and no timer: the caller sets a sender and
 * calls d01_notify_tick (tests). NULL with err for a bad target.
 */
struct d01_notify *d01_notify_new(struct event_base *base,
    const struct d01_clock *clock, const struct d01_txtstore *store,
    const char *const *targets, size_t n, struct d01_error *err);
void d01_notify_free(struct d01_notify *nf);

void d01_notify_set_sender(
    struct d01_notify *nf, d01_notify_send_fn fn, void *arg);

/* Zone z (one of the store's) changed: d01_txtstore_on_change's fn. */
void d01_notify_changed(void *nf, const struct d01_txtzone *z);

/* Do what is due at the clock's now; the monotonic ms of the next due
 * action, or -1 when nothing is pending. */
int64_t d01_notify_tick(struct d01_notify *nf);

/* A datagram from `from`: a NOTIFY response ends its target's retries. */
void d01_notify_input(struct d01_notify *nf, const struct sockaddr *from,
    const uint8_t *msg, size_t len);

/* Rounds still being retried (tests and the log). */
size_t d01_notify_pending(const struct d01_notify *nf);

#endif
