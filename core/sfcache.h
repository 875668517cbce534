/* SPDX-License-Identifier: ISC */
/*
 * A single-flight TTL cache: values by key, each kept for its own TTL;
 * while one caller (the leader) computes a missing value, the others
 * asking for the same key wait for it instead of asking upstream too.
 * Used for the HTTP client's memo of zone IDs (core/http_client_memo.c),
 * Route 53's STS sessions (providers/route53/r53_sts.c) and the
 * Kubernetes SubjectAccessReview decisions (kube/authz.c).
 *
 * - Keys are D01_SFC_KEY-byte digests the caller builds, including a
 *   digest of the whole credential where a credential decides the value
 *   (docs/DESIGN.md, "Tenancy: every namespace is an adversary"); they
 *   are compared in constant time and wiped with the entry.
 * - Values are bytes the cache copies, and wipes (OPENSSL_cleanse) when
 *   they expire, are replaced or evicted, or the cache is freed. Expiry
 *   is checked against the clock (core/clock.h) whenever the cache is
 *   used: expired entries are dropped as they are met and every entry at
 *   least once a second of clock time while the cache is in use.
 * - Negative entries (a remembered failure, with its own TTL) answer
 *   D01_SFC_NEG with the stored error.
 * - Bounded: at most `max_idle` entries with a value and nobody attached
 *   are kept, the least recently used beyond that are evicted. Entries
 *   with a flight or askers attached never count and are never evicted:
 *   each belongs to a live caller, so one tenant's stuck flights never
 *   keep another key out. At most `max_askers` callers (leader included)
 *   per key; past it, D01_SFC_LIMIT.
 *
 * The leader ends its flight with put (value, waiters hear HIT), neg
 * (negative entry, NEG), fail (nothing cached, every waiter hears FAIL
 * with the leader's error: the same key means the same inputs, so the
 * same failure) or cancel: leadership passes to the first waiter, which
 * hears LEAD and computes the value itself; with no waiter the flight is
 * dropped.
 *
 * Async shape: a waiter's callback runs exactly once, from the loop,
 * never inside a call into the cache; d01_sfc_cancel() before it ran
 * means never. With `defer_hits`, hits and negatives are delivered the
 * same way (for callers whose own interface promises that); without, get
 * answers them at once, the value borrowed until the next call into the
 * cache.
 *
 * Ownership: the cache is its owner's (the env's HTTP client, a
 * provider's state, the authorizer); every d01_sfc_wait is embedded in
 * its caller's op and must be cancelled (or have been answered with
 * anything but LEAD, or its flight ended) before that op is freed.
 */
#ifndef D01_CORE_SFCACHE_H
#define D01_CORE_SFCACHE_H

#include <stddef.h>
#include <sys/queue.h>

#include "core/err.h"

#define D01_SFC_KEY 32

struct event_base;
struct d01_clock;
struct d01_sfc;
struct d01_sfc_ent;

struct d01_sfc_cfg {
	size_t max_idle;     /* entries kept with nobody attached (LRU) */
	unsigned max_askers; /* per key, leader included; 0: unbounded */
	int defer_hits;	     /* HIT and NEG through cb too */
};

enum d01_sfc_res {
	D01_SFC_LIMIT = -1, /* too many askers for this key, or out of
			       memory; err filled */
	D01_SFC_HIT,	    /* val/len */
	D01_SFC_NEG,	    /* err: the remembered failure */
	D01_SFC_LEAD,	    /* compute it; end with put/neg/fail/cancel */
	D01_SFC_WAIT,	    /* from get only: cb runs later */
	D01_SFC_FAIL,	    /* err: the leader's failure */
};

/* What a caller hears; everything borrowed for the call (callback) or
 * until the next call into the cache (get). */
struct d01_sfc_out {
	enum d01_sfc_res res;
	const void *val;
	size_t len;
	const struct d01_error *err;
};

typedef void (*d01_sfc_fn)(void *arg, const struct d01_sfc_out *out);

/* Embedded in the caller's op; zero it before first use. */
struct d01_sfc_wait {
	TAILQ_ENTRY(d01_sfc_wait) link;
	struct d01_sfc *c;
	struct d01_sfc_ent *e;
	int state;		 /* OUT, LEADER, WAITING, READY (sfcache.c) */
	enum d01_sfc_res answer; /* what READY will hear */
	d01_sfc_fn cb;
	void *arg;
};

/* NULL when out of memory. clock and base are borrowed. */
struct d01_sfc *d01_sfc_new(struct event_base *base,
    const struct d01_clock *clock, const struct d01_sfc_cfg *cfg);
/* Every wait must have ended; values are wiped. */
void d01_sfc_free(struct d01_sfc *c);

/*
 * Ask for `key`. HIT/NEG: *out filled (not with defer_hits); LEAD: w
 * leads the flight; WAIT: cb(arg, out) runs later with HIT, NEG, FAIL or
 * LEAD (handed over); LIMIT: err filled (D01_E_LIMIT, or D01_E_NOMEM),
 * w untouched. w must not be in use.
 */
enum d01_sfc_res d01_sfc_get(struct d01_sfc *c,
    const unsigned char key[D01_SFC_KEY], struct d01_sfc_wait *w, d01_sfc_fn cb,
    void *arg, struct d01_sfc_out *out, struct d01_error *err);

/* The leader's end. put/neg with ttl_ms <= 0 answer the waiters but keep
 * nothing. Out of memory for the copy: the waiters hear FAIL. */
void d01_sfc_put(
    struct d01_sfc_wait *leader, const void *val, size_t len, long ttl_ms);
void d01_sfc_neg(
    struct d01_sfc_wait *leader, const struct d01_error *why, long ttl_ms);
void d01_sfc_fail(struct d01_sfc_wait *leader, const struct d01_error *err);

/* Leader: hand over to the first waiter (or drop the flight); waiter:
 * never called. No-op for a wait not in use. */
void d01_sfc_cancel(struct d01_sfc_wait *w);

/* Let the flight go on without a leader handle: it then ends only by
 * key, with d01_sfc_set or d01_sfc_fail_key (the HTTP client's memo,
 * whose callers name keys, not handles). */
void d01_sfc_detach(struct d01_sfc_wait *leader);

/* By key. set: store (ending a flight as put would); fail_key: end a
 * flight as fail would; forget: drop a value or negative entry; peek: a
 * live value (not a negative) borrowed until the next call, or NULL. */
void d01_sfc_set(struct d01_sfc *c, const unsigned char key[D01_SFC_KEY],
    const void *val, size_t len, long ttl_ms);
void d01_sfc_fail_key(struct d01_sfc *c, const unsigned char key[D01_SFC_KEY],
    const struct d01_error *err);
void d01_sfc_forget(struct d01_sfc *c, const unsigned char key[D01_SFC_KEY]);
const void *d01_sfc_peek(
    struct d01_sfc *c, const unsigned char key[D01_SFC_KEY], size_t *len);

/* For tests and metrics: entries held (in flight or with a live value),
 * and of those the idle ones (a value, nobody attached). */
void d01_sfc_count(struct d01_sfc *c, size_t *entries, size_t *idle);

/* SHA-256 of a string, for keys with nothing secret in them. 0 or -1. */
int d01_sfc_key_str(const char *s, unsigned char key[D01_SFC_KEY]);

/*
 * A key for credentials: HMAC-SHA256 under `mac_key` (random per env, so
 * a key kept in memory says nothing about the secret it stands for) of
 * `fields`, each length-prefixed and a NULL one marked apart from "", so
 * no two different field lists feed the MAC the same bytes. 0 or -1.
 */
int d01_sfc_key_fields(const unsigned char *mac_key, size_t mac_len,
    const char *const *fields, size_t n, unsigned char key[D01_SFC_KEY]);

#endif
