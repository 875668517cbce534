/* SPDX-License-Identifier: ISC */
/*
 * The client's memo: a small, bounded, expiring map from string keys to
 * short string values, for identifiers an API client would otherwise look
 * up on every call (a Cloudflare zone ID per zone name and credential),
 * with single flight: while one caller looks a key up, the others asking
 * for it wait on the entry instead of asking upstream too. It lives in the
 * client because the client is the one per-process object every provider
 * already shares; nothing here does I/O.
 */
#include <string.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "core/http_client_int.h"

static void
key_hash(const char *key, unsigned char out[32])
{
	unsigned int n = 32;

	if (EVP_Digest(key, strlen(key), out, &n, EVP_sha256(), NULL) != 1)
		memset(out, 0, 32); /* never matches a live entry's hash */
}

/* Expired or empty; an entry being looked up never expires. */
static int
expired(const struct d01_http_memo_ent *e, const struct timespec *now)
{
	if (e->pending)
		return 0;
	return e->expires.tv_sec < now->tv_sec ||
	    (e->expires.tv_sec == now->tv_sec &&
		e->expires.tv_nsec <= now->tv_nsec);
}

/* The entry holding `kh` (live, pending or stale), or NULL. */
static struct d01_http_memo_ent *
find(struct d01_http *h, const unsigned char kh[32])
{
	size_t i;

	for (i = 0; i < D01_HTTP_MEMO_SIZE; i++)
		if (memcmp(h->memo[i].key, kh, 32) == 0 &&
		    (h->memo[i].pending || h->memo[i].expires.tv_sec != 0))
			return &h->memo[i];
	return NULL;
}

/* A slot for a new key: an expired one, else the one expiring first;
 * never a pending one. NULL when every slot is pending. */
static struct d01_http_memo_ent *
victim(struct d01_http *h, const struct timespec *now)
{
	struct d01_http_memo_ent *v = NULL, *e;
	size_t i;

	for (i = 0; i < D01_HTTP_MEMO_SIZE; i++) {
		e = &h->memo[i];
		if (e->pending)
			continue;
		if (expired(e, now))
			return e;
		if (v == NULL || e->expires.tv_sec < v->expires.tv_sec)
			v = e;
	}
	return v;
}

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct d01_http *h = arg;
	struct d01_http_memo_wait *w;

	(void)fd;
	(void)what;
	/* A callback may unwait others or queue more: take one at a time. */
	while ((w = h->memo_ready) != NULL) {
		d01_http_memo_unwait(w);
		w->cb(w->arg, w->found);
	}
}

static void
push(struct d01_http_memo_wait **head, struct d01_http_memo_wait *w)
{
	w->next = *head;
	if (*head != NULL)
		(*head)->prevp = &w->next;
	*head = w;
	w->prevp = head;
}

/* End the lookup of `e`: its waiters are called back from the loop. */
static void
settle(struct d01_http *h, struct d01_http_memo_ent *e, int found)
{
	struct d01_http_memo_wait *w;

	e->pending = 0;
	while ((w = e->waiters) != NULL) {
		d01_http_memo_unwait(w);
		w->found = found;
		w->ready = 1;
		push(&h->memo_ready, w);
	}
	if (h->memo_ready != NULL)
		event_active(h->memo_wake, 0, 0);
}

int
d01_http_memo_init(struct d01_http *h)
{
	memset(h->memo, 0, sizeof(h->memo));
	h->memo_ready = NULL;
	h->memo_wake = event_new(h->base, -1, 0, wake_cb, h);
	return h->memo_wake != NULL ? 0 : -1;
}

void
d01_http_memo_fini(struct d01_http *h)
{
	size_t i;

	/* Waiters belong to their callers, who should be gone by now. */
	while (h->memo_ready != NULL)
		d01_http_memo_unwait(h->memo_ready);
	for (i = 0; i < D01_HTTP_MEMO_SIZE; i++)
		while (h->memo[i].waiters != NULL)
			d01_http_memo_unwait(h->memo[i].waiters);
	if (h->memo_wake != NULL)
		event_free(h->memo_wake);
}

int
d01_http_memo_get(struct d01_http *h, const char *key, char *out, size_t outlen)
{
	struct d01_http_memo_ent *e;
	unsigned char kh[32];
	struct timespec now;
	size_t n;

	key_hash(key, kh);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((e = find(h, kh)) == NULL || e->pending || expired(e, &now) ||
	    (n = strlen(e->value)) >= outlen)
		return -1;
	memcpy(out, e->value, n + 1);
	return 0;
}

enum d01_http_memo_res
d01_http_memo_lookup(struct d01_http *h, const char *key, char *out,
    size_t outlen, struct d01_http_memo_wait *w, d01_http_memo_fn cb, void *arg)
{
	struct d01_http_memo_ent *e;
	struct timespec now;

	memset(w, 0, sizeof(*w));
	w->h = h;
	w->cb = cb;
	w->arg = arg;
	key_hash(key, w->key);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((e = find(h, w->key)) != NULL && e->pending) {
		push(&e->waiters, w);
		return D01_HTTP_MEMO_WAIT;
	}
	if (e != NULL && !expired(e, &now) && strlen(e->value) < outlen) {
		memcpy(out, e->value, strlen(e->value) + 1);
		return D01_HTTP_MEMO_HIT;
	}
	if (e == NULL && (e = victim(h, &now)) == NULL)
		return D01_HTTP_MEMO_LEAD; /* all slots busy: lead alone */
	memset(e, 0, sizeof(*e));
	memcpy(e->key, w->key, sizeof(e->key));
	e->pending = 1;
	return D01_HTTP_MEMO_LEAD;
}

void
d01_http_memo_put(
    struct d01_http *h, const char *key, const char *value, long ttl_ms)
{
	struct d01_http_memo_ent *e;
	unsigned char kh[32];
	struct timespec now;
	int was_pending;

	key_hash(key, kh);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((e = find(h, kh)) == NULL && (e = victim(h, &now)) == NULL)
		return;
	was_pending = e->pending;
	if (strlen(value) >= sizeof(e->value) || ttl_ms <= 0) {
		if (was_pending)
			d01_http_memo_abandon(h, key);
		return;
	}
	if (!was_pending)
		memset(e, 0, sizeof(*e));
	memcpy(e->key, kh, sizeof(kh));
	memcpy(e->value, value, strlen(value) + 1);
	e->expires.tv_sec = now.tv_sec + ttl_ms / 1000;
	e->expires.tv_nsec = now.tv_nsec + (ttl_ms % 1000) * 1000000;
	if (e->expires.tv_nsec >= 1000000000) {
		e->expires.tv_sec++;
		e->expires.tv_nsec -= 1000000000;
	}
	if (was_pending)
		settle(h, e, 1);
}

void
d01_http_memo_abandon(struct d01_http *h, const char *key)
{
	struct d01_http_memo_ent *e;
	unsigned char kh[32];

	key_hash(key, kh);
	if ((e = find(h, kh)) == NULL || !e->pending)
		return;
	settle(h, e, 0);
	memset(e, 0, sizeof(*e));
}

void
d01_http_memo_forget(struct d01_http *h, const char *key)
{
	struct d01_http_memo_ent *e;
	unsigned char kh[32];

	key_hash(key, kh);
	if ((e = find(h, kh)) != NULL && !e->pending)
		memset(e, 0, sizeof(*e));
}

void
d01_http_memo_unwait(struct d01_http_memo_wait *w)
{
	if (w == NULL || w->prevp == NULL)
		return;
	*w->prevp = w->next;
	if (w->next != NULL)
		w->next->prevp = w->prevp;
	w->next = NULL;
	w->prevp = NULL;
}
