/* SPDX-License-Identifier: ISC */
/* The real clock and the test clock; see clock.h. */
#include <time.h>

#include "core/clock.h"

static int64_t
real_mono_ms(const struct d01_clock *c)
{
	struct timespec ts;

	(void)c;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
real_wall_s(const struct d01_clock *c)
{
	(void)c;
	return (int64_t)time(NULL);
}

static int64_t
real_wall_ms(const struct d01_clock *c)
{
	struct timespec ts;

	(void)c;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read-only: the real clock has no state of its own. */
static const struct d01_clock real = {real_mono_ms, real_wall_s, real_wall_ms};

const struct d01_clock *
d01_clock_real(void)
{
	return &real;
}

static int64_t
test_mono_ms(const struct d01_clock *c)
{
	return ((const struct d01_test_clock *)c)->mono_ms;
}

static int64_t
test_wall_s(const struct d01_clock *c)
{
	return ((const struct d01_test_clock *)c)->wall_ms / 1000;
}

static int64_t
test_wall_ms(const struct d01_clock *c)
{
	return ((const struct d01_test_clock *)c)->wall_ms;
}

void
d01_test_clock_init(struct d01_test_clock *tc, int64_t wall_s)
{
	tc->clock.mono_ms = test_mono_ms;
	tc->clock.wall_s = test_wall_s;
	tc->clock.wall_ms = test_wall_ms;
	tc->mono_ms = 1000;
	tc->wall_ms = wall_s * 1000;
}

void
d01_test_clock_advance(struct d01_test_clock *tc, int64_t ms)
{
	if (ms > 0) {
		tc->mono_ms += ms;
		tc->wall_ms += ms;
	}
}
