/* SPDX-License-Identifier: ISC */
/*
 * Time, read through the env (env->clock) so that tests can drive it.
 * Two readings: monotonic milliseconds (ages, TTLs, deadlines of the
 * primitives) and wall-clock seconds (expiry times a server states, such
 * as STS's Expiration, and signature dates).
 *
 * The primitives (core/gate.h, core/sfcache.h) keep no timers: an entry's
 * expiry is a monotonic instant compared with the clock whenever the
 * primitive is used, so a test that advances its clock sees entries
 * expire at its next call, without sleeping. libcurl's own timing (the
 * HTTP client's attempts and budgets) and libevent's timers stay on real
 * time: they bound waits on real sockets.
 *
 * Ownership: d01_clock_real() is a constant, never freed. A test clock is
 * the test's (usually on its stack) and must outlive the env it is given
 * to (d01_env_opts.clock).
 */
#ifndef D01_CORE_CLOCK_H
#define D01_CORE_CLOCK_H

#include <stdint.h>

struct d01_clock {
	int64_t (*mono_ms)(const struct d01_clock *c);
	int64_t (*wall_s)(const struct d01_clock *c);
	/* Wall clock in ms: the embedded zones' SOA serials count 10 ms
	 * steps across restarts (providers/embedded/store.h). */
	int64_t (*wall_ms)(const struct d01_clock *c);
};

/* CLOCK_MONOTONIC and time(). */
const struct d01_clock *d01_clock_real(void);

static inline int64_t
d01_clock_mono_ms(const struct d01_clock *c)
{
	return c->mono_ms(c);
}

static inline int64_t
d01_clock_wall_s(const struct d01_clock *c)
{
	return c->wall_s(c);
}

static inline int64_t
d01_clock_wall_ms(const struct d01_clock *c)
{
	return c->wall_ms(c);
}

/* A clock that moves only when the test says so. */
struct d01_test_clock {
	struct d01_clock clock; /* first: pass &tc.clock */
	int64_t mono_ms;
	int64_t wall_ms;
};

/* Start at monotonic 1000 ms and the given wall time (Unix seconds). */
void d01_test_clock_init(struct d01_test_clock *tc, int64_t wall_s);
/* Move both readings forward by ms (>= 0). */
void d01_test_clock_advance(struct d01_test_clock *tc, int64_t ms);

#endif
