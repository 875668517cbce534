/* SPDX-License-Identifier: ISC */
/*
 * The per-source limits of the acme-dns API (acmedns_api_limit.h): a
 * chained hash table under a per-process random seed (so nobody can
 * choose addresses that share a chain without knowing it) and an LRU
 * list. Not core/sfcache.h: its LRU evicts any idle entry, which would
 * hand an attacker with many addresses a full bucket back; here only
 * entries at rest go.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <openssl/rand.h>

#include "core/clock.h"
#include "server/acmedns_api_limit.h"

#define KEY_LEN	   9  /* family, then 8 bytes: IPv4, or an IPv6 /64 */
#define EVICT_SCAN 64 /* oldest entries looked at for one at rest */

struct bucket {
	double tokens;
	int64_t t;
};

struct d01_adns_src {
	TAILQ_ENTRY(d01_adns_src) lru;
	struct d01_adns_src *next; /* hash chain */
	unsigned char key[KEY_LEN];
	unsigned jobs;
	struct bucket fail, reg;
};

struct d01_adns_limit {
	const struct d01_clock *clock;
	struct d01_adns_limit_cfg cfg;
	struct d01_adns_src **slots;
	size_t mask, n;
	TAILQ_HEAD(, d01_adns_src) lru;
	uint64_t seed;
	struct d01_adns_src overflow; /* never in the table */
	struct bucket total;	      /* registrations, server-wide */
};

/* The bucket at `now`, `per_min` a minute up to as many. */
static void
refill(struct bucket *b, long per_min, int64_t now)
{
	double cap = (double)per_min;

	if (now > b->t)
		b->tokens =
		    fmin(cap, b->tokens + (double)(now - b->t) * cap / 60000.0);
	b->t = now;
}

static int
full(struct bucket *b, long per_min, int64_t now)
{
	if (per_min <= 0)
		return 1;
	refill(b, per_min, now);
	return b->tokens >= (double)per_min;
}

/* Seconds until one token is there (>= 1). */
static long
retry_of(const struct bucket *b, long per_min)
{
	double s = (1.0 - b->tokens) * 60.0 / (double)per_min;
	long r = (long)ceil(s);

	return r < 1 ? 1 : r;
}

/* Take one token; 0 with *retry_s when there is none. */
static int
take(struct bucket *b, long per_min, int64_t now, long *retry_s)
{
	if (per_min <= 0)
		return 1;
	refill(b, per_min, now);
	if (b->tokens < 1.0) {
		*retry_s = retry_of(b, per_min);
		return 0;
	}
	b->tokens -= 1.0;
	return 1;
}

static void
src_init(struct d01_adns_limit *l, struct d01_adns_src *s, int64_t now)
{
	s->jobs = 0;
	s->fail = (struct bucket){(double)l->cfg.fail_per_min, now};
	s->reg = (struct bucket){(double)l->cfg.reg_per_min, now};
}

static int
at_rest(struct d01_adns_limit *l, struct d01_adns_src *s, int64_t now)
{
	return s->jobs == 0 && full(&s->fail, l->cfg.fail_per_min, now) &&
	    full(&s->reg, l->cfg.reg_per_min, now);
}

static void
key_of(const struct d01_ipaddr *ip, unsigned char key[KEY_LEN])
{
	memset(key, 0, KEY_LEN);
	key[0] = (unsigned char)ip->family;
	if (ip->family == 4)
		memcpy(key + 1, ip->a, 4);
	else if (ip->family == 6)
		memcpy(key + 1, ip->a, 8); /* one /64 is one source */
}

static size_t
slot_of(const struct d01_adns_limit *l, const unsigned char key[KEY_LEN])
{
	uint64_t h = l->seed;
	size_t i;

	/* FNV-1a over the seeded state, then a 64-bit finalizer. */
	for (i = 0; i < KEY_LEN; i++)
		h = (h ^ key[i]) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h & l->mask;
}

static void
unlink_src(struct d01_adns_limit *l, struct d01_adns_src *s)
{
	struct d01_adns_src **pp = &l->slots[slot_of(l, s->key)];

	while (*pp != s)
		pp = &(*pp)->next;
	*pp = s->next;
	TAILQ_REMOVE(&l->lru, s, lru);
	l->n--;
}

/* The entry of ip, made (or taken over from one at rest) when there is
 * none; the overflow entry when the table is full of busy ones. */
static struct d01_adns_src *
lookup(struct d01_adns_limit *l, const struct d01_ipaddr *ip, int64_t now)
{
	unsigned char key[KEY_LEN];
	struct d01_adns_src *s;
	size_t slot, i;

	key_of(ip, key);
	slot = slot_of(l, key);
	for (s = l->slots[slot]; s != NULL; s = s->next)
		if (memcmp(s->key, key, KEY_LEN) == 0) {
			TAILQ_REMOVE(&l->lru, s, lru);
			TAILQ_INSERT_TAIL(&l->lru, s, lru);
			return s;
		}
	if (l->n >= l->cfg.max_sources) {
		i = 0;
		TAILQ_FOREACH(s, &l->lru, lru)
		{
			if (at_rest(l, s, now) || ++i >= EVICT_SCAN)
				break;
		}
		if (s == NULL || !at_rest(l, s, now))
			return &l->overflow;
		unlink_src(l, s);
	} else if ((s = calloc(1, sizeof(*s))) == NULL)
		return &l->overflow;
	memcpy(s->key, key, KEY_LEN);
	src_init(l, s, now);
	s->next = l->slots[slot];
	l->slots[slot] = s;
	TAILQ_INSERT_TAIL(&l->lru, s, lru);
	l->n++;
	return s;
}

struct d01_adns_limit *
d01_adns_limit_new(
    const struct d01_clock *clock, const struct d01_adns_limit_cfg *cfg)
{
	struct d01_adns_limit *l = calloc(1, sizeof(*l));
	size_t nslots = 16;
	int64_t now = d01_clock_mono_ms(clock);

	if (l == NULL)
		return NULL;
	l->clock = clock;
	l->cfg = *cfg;
	if (l->cfg.max_sources < 1)
		l->cfg.max_sources = 1;
	while (nslots < 2 * l->cfg.max_sources)
		nslots *= 2;
	TAILQ_INIT(&l->lru);
	if ((l->slots = calloc(nslots, sizeof(*l->slots))) == NULL ||
	    RAND_bytes((unsigned char *)&l->seed, sizeof(l->seed)) != 1) {
		d01_adns_limit_free(l);
		return NULL;
	}
	l->mask = nslots - 1;
	src_init(l, &l->overflow, now);
	l->total = (struct bucket){(double)cfg->reg_total_per_min, now};
	return l;
}

void
d01_adns_limit_free(struct d01_adns_limit *l)
{
	struct d01_adns_src *s;

	if (l == NULL)
		return;
	while ((s = TAILQ_FIRST(&l->lru)) != NULL) {
		TAILQ_REMOVE(&l->lru, s, lru);
		free(s);
	}
	free(l->slots);
	free(l);
}

enum d01_adns_lim
d01_adns_limit_job_begin(struct d01_adns_limit *l, const struct d01_ipaddr *ip,
    struct d01_adns_src **src, long *retry_s)
{
	int64_t now = d01_clock_mono_ms(l->clock);
	struct d01_adns_src *s = lookup(l, ip, now);

	*src = NULL;
	if (s->jobs >= l->cfg.max_jobs) {
		*retry_s = 1;
		return D01_ADNS_LIM_BUSY;
	}
	if (l->cfg.fail_per_min > 0) {
		refill(&s->fail, l->cfg.fail_per_min, now);
		if (s->fail.tokens < 1.0) {
			*retry_s = retry_of(&s->fail, l->cfg.fail_per_min);
			return D01_ADNS_LIM_FAILS;
		}
	}
	s->jobs++;
	*src = s;
	return D01_ADNS_LIM_OK;
}

void
d01_adns_limit_job_end(
    struct d01_adns_limit *l, struct d01_adns_src *src, int failed)
{
	int64_t now = d01_clock_mono_ms(l->clock);

	if (src == NULL)
		return;
	src->jobs--;
	/* Charged after the fact, so several jobs at once may take the
	 * bucket below zero (by max_jobs - 1 at most): it then refills
	 * for longer. */
	if (failed && l->cfg.fail_per_min > 0) {
		refill(&src->fail, l->cfg.fail_per_min, now);
		src->fail.tokens -= 1.0;
	}
}

enum d01_adns_lim
d01_adns_limit_register(
    struct d01_adns_limit *l, const struct d01_ipaddr *ip, long *retry_s)
{
	int64_t now = d01_clock_mono_ms(l->clock);
	struct d01_adns_src *s = lookup(l, ip, now);
	long total = l->cfg.reg_total_per_min;

	/* The server's bucket is looked at first and charged only with the
	 * source's, so a source out of budget spends none of it. */
	if (total > 0) {
		refill(&l->total, total, now);
		if (l->total.tokens < 1.0) {
			*retry_s = retry_of(&l->total, total);
			return D01_ADNS_LIM_REG;
		}
	}
	if (!take(&s->reg, l->cfg.reg_per_min, now, retry_s))
		return D01_ADNS_LIM_REG;
	if (total > 0)
		l->total.tokens -= 1.0;
	return D01_ADNS_LIM_OK;
}

size_t
d01_adns_limit_sources(const struct d01_adns_limit *l)
{
	return l->n;
}
