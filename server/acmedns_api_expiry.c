/* SPDX-License-Identifier: ISC */
/*
 * Expiry of the values the acme-dns API wrote, with the memory store
 * only (a durable store expires its own values, as the kubernetes one
 * does): acme-dns clients such as acme.sh never delete, so without this
 * a name would fill up to the store's 64 values. Every value added
 * through the API is noted with its time; a timer (a quarter of
 * --embedded-record-ttl, 1-60 s) deletes those older than the TTL
 * through d01_provider_start() like any CleanUp, at most 16 at once. A
 * value posted again is noted afresh; one deleted through the API is
 * forgotten. At most MAX_NOTED are tracked (the oldest goes first).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/log.h"
#include "providers/embedded/embedded.h"
#include "providers/env.h"
#include "providers/provider.h"
#include "server/acmedns_api_int.h"

#define MAX_NOTED   100000
#define MAX_DELETES 16

struct noted {
	TAILQ_ENTRY(noted) link;
	struct d01_adns_expiry *x;
	struct d01_op *op; /* the delete in flight, or NULL */
	int64_t t;
	char *fqdn, *value;
};
TAILQ_HEAD(notedq, noted);

struct d01_adns_expiry {
	struct d01_env *env;
	long ttl_ms;
	struct notedq q, deleting;
	size_t n, ndeleting;
	struct event *tick;
};

static void
noted_free(struct noted *e)
{
	free(e->fqdn);
	free(e->value);
	free(e);
}

static struct noted *
find(struct d01_adns_expiry *x, const char *fqdn, const char *value)
{
	struct noted *e;

	TAILQ_FOREACH(e, &x->q, link)
	if (strcmp(e->value, value) == 0 && strcmp(e->fqdn, fqdn) == 0)
		return e;
	return NULL;
}

static void
deleted(void *arg, const struct d01_error *err)
{
	struct noted *e = arg;
	struct d01_adns_expiry *x = e->x;
	char q[600];

	e->op = NULL;
	if (err->code != D01_OK)
		d01_log(D01_LOG_WARN, "acmedns_expiry_failed", "reason=%s",
		    d01_log_quote(q, sizeof(q), err->msg));
	TAILQ_REMOVE(&x->deleting, e, link);
	x->ndeleting--;
	noted_free(e);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct d01_adns_expiry *x = arg;
	int64_t now = d01_clock_mono_ms(x->env->clock);
	struct d01_challenge ch = {0};
	struct d01_error err;
	struct noted *e;

	(void)fd;
	(void)what;
	while (x->ndeleting < MAX_DELETES && (e = TAILQ_FIRST(&x->q)) != NULL &&
	    now - e->t >= x->ttl_ms) {
		TAILQ_REMOVE(&x->q, e, link);
		x->n--;
		ch.uid = "acmedns-expiry";
		ch.fqdn = e->fqdn;
		ch.key = e->value;
		d01_error_clear(&err);
		e->op = d01_provider_start(&d01_provider_embedded, x->env, NULL,
		    &ch, 0, 10000, deleted, e, &err);
		if (e->op == NULL) {
			noted_free(e);
			continue;
		}
		TAILQ_INSERT_TAIL(&x->deleting, e, link);
		x->ndeleting++;
	}
}

struct d01_adns_expiry *
d01_adns_expiry_new(struct d01_env *env, long ttl_ms)
{
	struct d01_adns_expiry *x = calloc(1, sizeof(*x));
	long every = ttl_ms / 4;
	struct timeval tv;

	if (x == NULL)
		return NULL;
	x->env = env;
	x->ttl_ms = ttl_ms;
	TAILQ_INIT(&x->q);
	TAILQ_INIT(&x->deleting);
	every = every < 1000 ? 1000 : every > 60000 ? 60000 : every;
	tv.tv_sec = every / 1000;
	tv.tv_usec = (every % 1000) * 1000;
	if ((x->tick = event_new(env->base, -1, EV_PERSIST, on_tick, x)) ==
		NULL ||
	    event_add(x->tick, &tv) != 0) {
		d01_adns_expiry_free(x);
		return NULL;
	}
	return x;
}

void
d01_adns_expiry_note(
    struct d01_adns_expiry *x, const char *fqdn, const char *value)
{
	struct noted *e = find(x, fqdn, value);

	if (e != NULL) { /* posted again: its time starts over */
		TAILQ_REMOVE(&x->q, e, link);
		x->n--;
	} else {
		if ((e = calloc(1, sizeof(*e))) == NULL ||
		    (e->fqdn = strdup(fqdn)) == NULL ||
		    (e->value = strdup(value)) == NULL) {
			if (e != NULL)
				noted_free(e);
			return;
		}
		e->x = x;
	}
	e->t = d01_clock_mono_ms(x->env->clock);
	TAILQ_INSERT_TAIL(&x->q, e, link);
	if (++x->n > MAX_NOTED) {
		struct noted *old = TAILQ_FIRST(&x->q);

		TAILQ_REMOVE(&x->q, old, link);
		x->n--;
		noted_free(old);
	}
}

void
d01_adns_expiry_forget(
    struct d01_adns_expiry *x, const char *fqdn, const char *value)
{
	struct noted *e = find(x, fqdn, value);

	if (e == NULL)
		return;
	TAILQ_REMOVE(&x->q, e, link);
	x->n--;
	noted_free(e);
}

void
d01_adns_expiry_free(struct d01_adns_expiry *x)
{
	struct noted *e;

	if (x == NULL)
		return;
	if (x->tick != NULL)
		event_free(x->tick);
	while ((e = TAILQ_FIRST(&x->deleting)) != NULL) {
		TAILQ_REMOVE(&x->deleting, e, link);
		d01_provider_cancel(e->op);
		noted_free(e);
	}
	while ((e = TAILQ_FIRST(&x->q)) != NULL) {
		TAILQ_REMOVE(&x->q, e, link);
		noted_free(e);
	}
	free(x);
}
