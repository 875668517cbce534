/* SPDX-License-Identifier: ISC */
/* The single-flight TTL cache; see sfcache.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/clock.h"
#include "core/sfcache.h"

enum { W_OUT, W_LEADER, W_WAITING, W_READY };

enum ent_state {
	E_FLIGHT, /* being computed */
	E_VALUE,
	E_NEG,
	E_DEAD, /* unfindable; freed once nobody is attached */
};

struct d01_sfc_ent {
	TAILQ_ENTRY(d01_sfc_ent) lru; /* most recently used first */
	LIST_ENTRY(d01_sfc_ent) bucket;
	unsigned char key[D01_SFC_KEY];
	enum ent_state st;
	int keep;	    /* settled with a TTL > 0 */
	unsigned char *val; /* E_VALUE (or a DEAD one's last) */
	size_t len;
	struct d01_error err;	     /* E_NEG, or the failure heard */
	int64_t expires;	     /* monotonic ms; E_VALUE, E_NEG */
	struct d01_sfc_wait *leader; /* NULL: detached or handed over */
	TAILQ_HEAD(, d01_sfc_wait) waiters;
	unsigned attached; /* waits of any state pointing here */
};

TAILQ_HEAD(entq, d01_sfc_ent);

struct d01_sfc {
	struct d01_sfc_cfg cfg;
	const struct d01_clock *clock;
	struct entq lru;
	LIST_HEAD(, d01_sfc_ent) * buckets;
	size_t nbuckets; /* a power of two */
	TAILQ_HEAD(, d01_sfc_wait) ready;
	struct event *wake;
	int64_t next_sweep;
};

static int64_t
now_ms(const struct d01_sfc *c)
{
	return d01_clock_mono_ms(c->clock);
}

static size_t
slot(const struct d01_sfc *c, const unsigned char *key)
{
	return ((size_t)key[0] << 8 | key[1]) & (c->nbuckets - 1);
}

static void
wipe_value(struct d01_sfc_ent *e)
{
	if (e->val != NULL) {
		OPENSSL_cleanse(e->val, e->len);
		free(e->val);
	}
	e->val = NULL;
	e->len = 0;
}

/* Unfindable from now on; freed at once when nobody is attached. */
static void
ent_drop(struct d01_sfc *c, struct d01_sfc_ent *e)
{
	if (e->st != E_DEAD) {
		LIST_REMOVE(e, bucket);
		e->st = E_DEAD;
	}
	if (e->attached > 0)
		return;
	TAILQ_REMOVE(&c->lru, e, lru);
	wipe_value(e);
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
}

static int
live(const struct d01_sfc *c, const struct d01_sfc_ent *e, int64_t now)
{
	(void)c;
	return e->st == E_FLIGHT ||
	    ((e->st == E_VALUE || e->st == E_NEG) && e->expires > now);
}

static int
idle(const struct d01_sfc_ent *e)
{
	return (e->st == E_VALUE || e->st == E_NEG) && e->attached == 0;
}

/* Expired entries out (wiped), then the least recently used idle ones
 * beyond max_idle. */
static void
trim(struct d01_sfc *c)
{
	struct d01_sfc_ent *e, *prev;
	int64_t now = now_ms(c);
	size_t nidle = 0;

	for (e = TAILQ_LAST(&c->lru, entq); e != NULL; e = prev) {
		prev = TAILQ_PREV(e, entq, lru);
		if (e->st != E_DEAD && !live(c, e, now))
			ent_drop(c, e);
		else if (idle(e))
			nidle++;
	}
	for (e = TAILQ_LAST(&c->lru, entq);
	     e != NULL && nidle > c->cfg.max_idle; e = prev) {
		prev = TAILQ_PREV(e, entq, lru);
		if (idle(e)) {
			ent_drop(c, e);
			nidle--;
		}
	}
	c->next_sweep = now + 1000;
}

static struct d01_sfc_ent *
find(struct d01_sfc *c, const unsigned char *key)
{
	struct d01_sfc_ent *e;

	LIST_FOREACH(e, &c->buckets[slot(c, key)], bucket)
	if (CRYPTO_memcmp(e->key, key, D01_SFC_KEY) == 0) {
		if (live(c, e, now_ms(c)))
			return e;
		ent_drop(c, e); /* expired: wiped as we pass */
		return NULL;
	}
	return NULL;
}

static struct d01_sfc_ent *
ent_new(struct d01_sfc *c, const unsigned char *key)
{
	struct d01_sfc_ent *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	memcpy(e->key, key, D01_SFC_KEY);
	e->st = E_FLIGHT;
	TAILQ_INIT(&e->waiters);
	TAILQ_INSERT_HEAD(&c->lru, e, lru);
	LIST_INSERT_HEAD(&c->buckets[slot(c, key)], e, bucket);
	return e;
}

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct d01_sfc *c = arg;
	struct d01_sfc_wait *w;
	struct d01_sfc_ent *e;
	struct d01_sfc_out out;

	(void)fd;
	(void)what;
	/* One at a time: a callback may cancel, ask or settle others. */
	while ((w = TAILQ_FIRST(&c->ready)) != NULL) {
		TAILQ_REMOVE(&c->ready, w, link);
		e = w->e;
		memset(&out, 0, sizeof(out));
		out.res = w->answer;
		if (out.res == D01_SFC_LEAD) {
			w->state = W_LEADER;
			w->cb(w->arg, &out);
			continue;
		}
		out.val = e->val;
		out.len = e->len;
		out.err = &e->err;
		w->state = W_OUT;
		w->e = NULL;
		/* e stays attached (so alive) through the call; w may be
		 * freed by it. */
		w->cb(w->arg, &out);
		if (--e->attached == 0 && e->st == E_DEAD)
			ent_drop(c, e);
	}
	trim(c);
}

static void
ready(struct d01_sfc *c, struct d01_sfc_wait *w, enum d01_sfc_res res)
{
	w->state = W_READY;
	w->answer = res;
	TAILQ_INSERT_TAIL(&c->ready, w, link);
	event_active(c->wake, 0, 0);
}

struct d01_sfc *
d01_sfc_new(struct event_base *base, const struct d01_clock *clock,
    const struct d01_sfc_cfg *cfg)
{
	struct d01_sfc *c = calloc(1, sizeof(*c));
	size_t i;

	if (c == NULL)
		return NULL;
	c->cfg = *cfg;
	c->clock = clock != NULL ? clock : d01_clock_real();
	for (c->nbuckets = 16;
	     c->nbuckets < cfg->max_idle && c->nbuckets < 65536;)
		c->nbuckets *= 2;
	TAILQ_INIT(&c->lru);
	TAILQ_INIT(&c->ready);
	if ((c->buckets = calloc(c->nbuckets, sizeof(*c->buckets))) == NULL ||
	    (c->wake = event_new(base, -1, 0, wake_cb, c)) == NULL) {
		free(c->buckets);
		free(c);
		return NULL;
	}
	for (i = 0; i < c->nbuckets; i++)
		LIST_INIT(&c->buckets[i]);
	return c;
}

void
d01_sfc_free(struct d01_sfc *c)
{
	struct d01_sfc_ent *e;

	if (c == NULL)
		return;
	/* Waits belong to their callers, who are gone by now. */
	while ((e = TAILQ_FIRST(&c->lru)) != NULL) {
		e->attached = 0;
		ent_drop(c, e);
	}
	event_free(c->wake);
	free(c->buckets);
	free(c);
}

static void
attach(struct d01_sfc_ent *e, struct d01_sfc_wait *w, d01_sfc_fn cb, void *arg)
{
	w->e = e;
	w->cb = cb;
	w->arg = arg;
	e->attached++;
}

enum d01_sfc_res
d01_sfc_get(struct d01_sfc *c, const unsigned char key[D01_SFC_KEY],
    struct d01_sfc_wait *w, d01_sfc_fn cb, void *arg, struct d01_sfc_out *out,
    struct d01_error *err)
{
	struct d01_sfc_ent *e;

	memset(out, 0, sizeof(*out));
	if (now_ms(c) >= c->next_sweep)
		trim(c);
	if ((e = find(c, key)) != NULL && c->cfg.max_askers > 0 &&
	    e->attached >= c->cfg.max_askers) {
		d01_error_set(err, D01_E_LIMIT,
		    "%u callers already wait for this entry",
		    c->cfg.max_askers);
		return D01_SFC_LIMIT;
	}
	memset(w, 0, sizeof(*w));
	w->c = c;
	if (e != NULL && e->st != E_FLIGHT) {
		TAILQ_REMOVE(&c->lru, e, lru); /* used: to the front */
		TAILQ_INSERT_HEAD(&c->lru, e, lru);
		out->res = e->st == E_VALUE ? D01_SFC_HIT : D01_SFC_NEG;
		if (c->cfg.defer_hits) {
			attach(e, w, cb, arg);
			ready(c, w, out->res);
			out->res = D01_SFC_WAIT;
			return D01_SFC_WAIT;
		}
		out->val = e->val;
		out->len = e->len;
		out->err = &e->err;
		return out->res;
	}
	if (e != NULL) {
		attach(e, w, cb, arg);
		w->state = W_WAITING;
		TAILQ_INSERT_TAIL(&e->waiters, w, link);
		return out->res = D01_SFC_WAIT;
	}
	if ((e = ent_new(c, key)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return D01_SFC_LIMIT;
	}
	attach(e, w, cb, arg);
	w->state = W_LEADER;
	e->leader = w;
	return out->res = D01_SFC_LEAD;
}

/* End e's flight: every waiter hears `res` from the loop. */
static void
settle(struct d01_sfc *c, struct d01_sfc_ent *e, enum d01_sfc_res res)
{
	struct d01_sfc_wait *w;

	if (e->leader != NULL) {
		w = e->leader;
		e->leader = NULL;
		if (w->state == W_READY) /* handed LEAD, not yet told */
			TAILQ_REMOVE(&c->ready, w, link);
		w->state = W_OUT;
		w->e = NULL;
		e->attached--;
	}
	while ((w = TAILQ_FIRST(&e->waiters)) != NULL) {
		TAILQ_REMOVE(&e->waiters, w, link);
		ready(c, w, res);
	}
}

/* Store val for ttl_ms (<= 0: answer the flight, keep nothing). */
static void
store(struct d01_sfc *c, struct d01_sfc_ent *e, enum ent_state st,
    const void *val, size_t len, long ttl_ms)
{
	unsigned char *copy = NULL;
	int flight = e->st == E_FLIGHT;

	if (st == E_VALUE && (copy = malloc(len > 0 ? len : 1)) == NULL) {
		if (flight) {
			d01_error_set(&e->err, D01_E_NOMEM, "out of memory");
			settle(c, e, D01_SFC_FAIL);
		}
		ent_drop(c, e);
		return;
	}
	if (copy != NULL && len > 0)
		memcpy(copy, val, len);
	wipe_value(e);
	e->val = copy;
	e->len = len;
	e->st = st;
	e->keep = ttl_ms > 0;
	e->expires = now_ms(c) + (ttl_ms > 0 ? ttl_ms : 0);
	if (flight)
		settle(c, e, st == E_VALUE ? D01_SFC_HIT : D01_SFC_NEG);
	if (!e->keep)
		ent_drop(c, e);
	trim(c);
}

void
d01_sfc_put(
    struct d01_sfc_wait *leader, const void *val, size_t len, long ttl_ms)
{
	if (leader->state != W_LEADER)
		return;
	store(leader->c, leader->e, E_VALUE, val, len, ttl_ms);
}

void
d01_sfc_neg(
    struct d01_sfc_wait *leader, const struct d01_error *why, long ttl_ms)
{
	if (leader->state != W_LEADER)
		return;
	leader->e->err = *why;
	store(leader->c, leader->e, E_NEG, NULL, 0, ttl_ms);
}

static void
fail(struct d01_sfc *c, struct d01_sfc_ent *e, const struct d01_error *err)
{
	e->err = *err;
	settle(c, e, D01_SFC_FAIL);
	ent_drop(c, e);
}

void
d01_sfc_fail(struct d01_sfc_wait *leader, const struct d01_error *err)
{
	if (leader->state == W_LEADER)
		fail(leader->c, leader->e, err);
}

/* e lost its leader: the first waiter leads (told from the loop). */
static void
hand_over(struct d01_sfc *c, struct d01_sfc_ent *e)
{
	struct d01_sfc_wait *next = TAILQ_FIRST(&e->waiters);

	e->leader = next;
	if (next == NULL) {
		ent_drop(c, e);
		return;
	}
	TAILQ_REMOVE(&e->waiters, next, link);
	ready(c, next, D01_SFC_LEAD);
}

void
d01_sfc_cancel(struct d01_sfc_wait *w)
{
	struct d01_sfc *c = w->c;
	struct d01_sfc_ent *e = w->e;
	int led;

	if (w->state == W_OUT || e == NULL)
		return;
	led = e->leader == w;
	if (w->state == W_WAITING)
		TAILQ_REMOVE(&e->waiters, w, link);
	else if (w->state == W_READY)
		TAILQ_REMOVE(&c->ready, w, link);
	w->state = W_OUT;
	w->e = NULL;
	e->attached--;
	if (led)
		hand_over(c, e);
	else if (e->st == E_DEAD && e->attached == 0)
		ent_drop(c, e);
}

void
d01_sfc_detach(struct d01_sfc_wait *leader)
{
	if (leader->state != W_LEADER)
		return;
	leader->e->leader = NULL;
	leader->e->attached--;
	leader->state = W_OUT;
	leader->e = NULL;
}

void
d01_sfc_set(struct d01_sfc *c, const unsigned char key[D01_SFC_KEY],
    const void *val, size_t len, long ttl_ms)
{
	struct d01_sfc_ent *e = find(c, key);

	if (e == NULL) {
		if (ttl_ms <= 0 || (e = ent_new(c, key)) == NULL)
			return;
		e->st = E_VALUE; /* no flight to end */
	}
	store(c, e, E_VALUE, val, len, ttl_ms);
}

void
d01_sfc_fail_key(struct d01_sfc *c, const unsigned char key[D01_SFC_KEY],
    const struct d01_error *err)
{
	struct d01_sfc_ent *e = find(c, key);

	if (e != NULL && e->st == E_FLIGHT)
		fail(c, e, err);
}

void
d01_sfc_forget(struct d01_sfc *c, const unsigned char key[D01_SFC_KEY])
{
	struct d01_sfc_ent *e = find(c, key);

	if (e != NULL && e->st != E_FLIGHT)
		ent_drop(c, e);
}

const void *
d01_sfc_peek(
    struct d01_sfc *c, const unsigned char key[D01_SFC_KEY], size_t *len)
{
	struct d01_sfc_ent *e = find(c, key);

	if (e == NULL || e->st != E_VALUE)
		return NULL;
	*len = e->len;
	return e->val;
}

void
d01_sfc_count(struct d01_sfc *c, size_t *entries, size_t *nidle)
{
	const struct d01_sfc_ent *e;

	trim(c);
	*entries = *nidle = 0;
	TAILQ_FOREACH(e, &c->lru, lru)
	{
		if (e->st == E_DEAD)
			continue;
		++*entries;
		if (idle(e))
			++*nidle;
	}
}

int
d01_sfc_key_str(const char *s, unsigned char key[D01_SFC_KEY])
{
	unsigned int n = D01_SFC_KEY;

	return EVP_Digest(s, strlen(s), key, &n, EVP_sha256(), NULL) == 1 ? 0
									  : -1;
}

int
d01_sfc_key_fields(const unsigned char *mac_key, size_t mac_len,
    const char *const *fields, size_t n, unsigned char key[D01_SFC_KEY])
{
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	unsigned char len[9];
	size_t i, l, outl = 0;
	int rc = -1, b;

	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (ctx = EVP_MAC_CTX_new(mac)) == NULL ||
	    EVP_MAC_init(ctx, mac_key, mac_len, params) != 1)
		goto out;
	for (i = 0; i < n; i++) {
		l = fields[i] != NULL ? strlen(fields[i]) : 0;
		len[0] = fields[i] != NULL;
		for (b = 0; b < 8; b++)
			len[1 + b] =
			    (unsigned char)((uint64_t)l >> (56 - 8 * b));
		if (EVP_MAC_update(ctx, len, sizeof(len)) != 1 ||
		    (l > 0 &&
			EVP_MAC_update(
			    ctx, (const unsigned char *)fields[i], l) != 1))
			goto out;
	}
	if (EVP_MAC_final(ctx, key, &outl, D01_SFC_KEY) == 1 &&
	    outl == D01_SFC_KEY)
		rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}
