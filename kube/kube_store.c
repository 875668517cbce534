/* SPDX-License-Identifier: ISC */
/*
 * The mirror of the Kubernetes store (kube_store.h): LIST (paged, applied
 * to the local store all at once when the last page is in), then WATCH
 * from the list's resourceVersion with bookmarks, resumed from the last
 * version seen when it ends, and a new LIST on 410 Gone. A 1 s tick keeps
 * the staleness state and runs expiry. Writes are in kube_store_write.c,
 * the table of objects and its bookkeeping in kube_store_table.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "core/clock.h"
#include "core/log.h"
#include "kube/kube.h"
#include "kube/kube_store_int.h"

#define LIST_PAGE      100
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000
#define MAX_EXPIRING   16

const double d01_kstore_buckets[D01_KSTORE_NBUCKETS] = {
    0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30};

static void list_start(struct d01_kube_store *s);
static void watch_start(struct d01_kube_store *s);

/* --- list and watch ------------------------------------------------- */

static void
sync_ok(struct d01_kube_store *s)
{
	s->last_ok_ms = d01_clock_mono_ms(s->clock);
	s->backoff_ms = 0;
	if (s->stale) {
		s->stale = 0;
		d01_log(D01_LOG_INFO, "kstore_fresh",
		    "namespace=%s msg=\"list/watch of the Kubernetes store "
		    "works again\"",
		    s->ns);
	}
}

/* Try again later: a LIST when none has been applied or one is due,
 * else a WATCH from the last version. */
static void
retry_later(struct d01_kube_store *s)
{
	struct timeval tv;
	uint32_t r = 0;
	long d;

	s->backoff_ms = s->backoff_ms == 0 ? BACKOFF_MIN_MS : s->backoff_ms * 2;
	if (s->backoff_ms > BACKOFF_MAX_MS)
		s->backoff_ms = BACKOFF_MAX_MS;
	RAND_bytes((unsigned char *)&r, sizeof(r));
	d = s->backoff_ms / 2 + (long)(r % (uint32_t)(s->backoff_ms / 2 + 1));
	tv.tv_sec = d / 1000;
	tv.tv_usec = (d % 1000) * 1000;
	evtimer_add(s->retry, &tv);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct d01_kube_store *s = arg;

	(void)fd;
	(void)what;
	if (!s->listed || s->need_relist)
		list_start(s);
	else
		watch_start(s);
}

/* The last page is in: swap the mirror for the list, all in this one
 * callback, so the DNS server never answers from half of it. Objects
 * this replica created after the list's version stay (their watch
 * event is still to come). */
static void
list_apply(struct d01_kube_store *s)
{
	struct ks_table *nt = s->pending, *old = s->t;
	uint64_t lrv = ks_parse_rv(s->pending_rv);
	struct ks_entry *e, *n, *ne;
	struct d01_error err;
	size_t i;

	/* Edit the local store from the old mirror to the list rather than
	 * clear it and add everything again: no churn of 10,000s of
	 * allocations, and a value in both keeps its one copy, now
	 * referenced by the list's entry. */
	for (i = 0; i < KS_NBUCKETS; i++)
		for (e = old->b[i]; e != NULL; e = n) {
			n = e->next;
			ne = ks_find(nt, e->id);
			if (ne == NULL && lrv != 0 && e->rv > lrv) {
				ks_del(old, e); /* ours, newer than the list */
				ks_put(nt, e);
				continue;
			}
			if (!e->held)
				continue;
			if (ne == NULL) {
				s->sink.remove(
				    s->sink.ctx, e->fqdn, e->value, &err);
				continue;
			}
			free((char *)ne->fqdn);
			ne->fqdn = e->fqdn;
			ne->value = e->value;
			ne->held = 1;
			e->held = 0;
			e->fqdn = NULL;
		}
	for (i = 0; i < KS_NBUCKETS; i++)
		for (e = nt->b[i]; e != NULL; e = e->next) {
			if (e->held)
				continue;
			if (ks_hold(s, e, &err) != D01_OK)
				continue; /* full: logged at the write */
			if (ks_find(old, e->id) == NULL)
				ks_observe_convergence(s, e);
		}
	ks_table_free(old);
	s->t = nt;
	s->pending = NULL;
	snprintf(s->rv, sizeof(s->rv), "%s", s->pending_rv);
	if (s->listed)
		s->st.relists++;
	s->listed = 1;
	s->need_relist = 0;
	d01_log(D01_LOG_DEBUG, "kstore_listed",
	    "namespace=%s objects=%zu resource_version=%s", s->ns, s->t->n,
	    s->rv);
}

static void list_page(struct d01_kube_store *s, const char *cont);

static void
list_done(void *arg, const struct d01_error *err, json_t *obj)
{
	struct d01_kube_store *s = arg;
	json_t *items, *it;
	const char *rv, *cont;
	struct ks_entry *e;
	size_t i;

	s->list = NULL;
	if (err->code != D01_OK) {
		d01_log(D01_LOG_WARN, "kstore_list", "namespace=%s msg=\"%s\"",
		    s->ns, err->msg);
		ks_table_free(s->pending);
		s->pending = NULL;
		retry_later(s);
		return;
	}
	items = json_object_get(obj, "items");
	rv = json_string_value(json_object_get(
	    json_object_get(obj, "metadata"), "resourceVersion"));
	cont = json_string_value(
	    json_object_get(json_object_get(obj, "metadata"), "continue"));
	if (s->pending_rv[0] == '\0' && rv != NULL)
		snprintf(s->pending_rv, sizeof(s->pending_rv), "%s", rv);
	json_array_foreach(items, i, it)
	{
		if ((e = ks_entry_parse(s, it)) == NULL)
			continue;
		if (s->pending->n >= D01_KSTORE_MAX_OBJS ||
		    ks_find(s->pending, e->id) != NULL) {
			ks_entry_free(e);
			continue;
		}
		ks_put(s->pending, e);
	}
	sync_ok(s);
	if (cont != NULL && *cont != '\0') {
		list_page(s, cont);
		return;
	}
	list_apply(s);
	watch_start(s);
}

static void
list_page(struct d01_kube_store *s, const char *cont)
{
	char path[2048];
	struct d01_error err;

	if (cont != NULL && strlen(cont) > 1024) {
		d01_error_set(&err, D01_E_PROTOCOL, "continue token too long");
		list_done(s, &err, NULL);
		return;
	}
	snprintf(path, sizeof(path), "%s?labelSelector=%s&limit=%d%s%s",
	    s->base_path, s->selector, LIST_PAGE, cont ? "&continue=" : "",
	    cont ? cont : "");
	if ((s->list = d01_kube_request(
		 s->k, path, NULL, list_done, s, &err)) == NULL) {
		ks_table_free(s->pending);
		s->pending = NULL;
		retry_later(s);
	}
}

static void
list_start(struct d01_kube_store *s)
{
	ks_table_free(s->pending);
	s->pending_rv[0] = '\0';
	if ((s->pending = calloc(1, sizeof(*s->pending))) == NULL) {
		retry_later(s);
		return;
	}
	list_page(s, NULL);
}

static void
watch_open(void *arg)
{
	struct d01_kube_store *s = arg;

	s->connected = 1;
	sync_ok(s);
}

static int
watch_event(void *arg, json_t *ev)
{
	struct d01_kube_store *s = arg;
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");
	const char *rv = json_string_value(json_object_get(
	    json_object_get(obj, "metadata"), "resourceVersion"));
	const char *name = json_string_value(
	    json_object_get(json_object_get(obj, "metadata"), "name"));
	struct ks_entry *e;

	if (type == NULL || !json_is_object(obj))
		return 0;
	if (strcmp(type, "ERROR") == 0) {
		/* 410 Gone: our version is too old to resume from. */
		if (json_integer_value(json_object_get(obj, "code")) == 410)
			s->need_relist = 1;
		return 1;
	}
	if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
		if ((e = ks_entry_parse(s, obj)) != NULL)
			ks_apply_entry(s, e, 1);
	} else if (strcmp(type, "DELETED") == 0 && name != NULL) {
		ks_remove_local(s, name);
	} else if (strcmp(type, "BOOKMARK") != 0) {
		return 0;
	}
	if (rv != NULL && strlen(rv) < sizeof(s->rv))
		snprintf(s->rv, sizeof(s->rv), "%s", rv);
	return 0;
}

static void
watch_end(void *arg, const struct d01_error *err)
{
	struct d01_kube_store *s = arg;

	s->watch = NULL;
	if (s->connected)
		sync_ok(s); /* it worked until now */
	s->connected = 0;
	s->st.watch_restarts++;
	if (err->status == 410)
		s->need_relist = 1;
	if (s->need_relist) {
		list_start(s);
		return;
	}
	if (err->code == D01_OK) {
		watch_start(s); /* the server's timeout: go on at once */
		return;
	}
	if (err->code != D01_E_CANCELLED)
		d01_log(D01_LOG_DEBUG, "kstore_watch",
		    "namespace=%s msg=\"%s\"", s->ns, err->msg);
	retry_later(s);
}

static void
watch_start(struct d01_kube_store *s)
{
	struct d01_kube_watch_cbs cbs = {watch_open, watch_event, watch_end, s};
	char path[2048];
	struct d01_error err;

	snprintf(path, sizeof(path),
	    "%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s"
	    "&timeoutSeconds=%ld&labelSelector=%s",
	    s->base_path, s->rv, s->watch_s, s->selector);
	if ((s->watch = d01_kube_watch_start(
		 s->k, path, (s->watch_s + 15) * 1000, &cbs, &err)) == NULL)
		retry_later(s);
}

/* Once a second: staleness, and expiry when due. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct d01_kube_store *s = arg;
	int64_t now = d01_clock_mono_ms(s->clock);

	(void)fd;
	(void)what;
	if (s->connected)
		s->last_ok_ms = now;
	if (!s->stale && now - s->last_ok_ms >= s->stale_ms) {
		s->stale = 1;
		d01_log(D01_LOG_WARN, "kstore_stale",
		    "namespace=%s msg=\"no working list/watch of the "
		    "Kubernetes store for %ld s: DNS answers from the last "
		    "known state\"",
		    s->ns, s->stale_ms / 1000);
	}
	if (s->listed && now >= s->next_expiry_ms) {
		ks_expire(s);
		/* A quarter of the TTL, between 1 s and 10 s: a scan of
		 * 10,000 values costs well under a millisecond. */
		s->next_expiry_ms = now +
		    (s->ttl_s >= 40	    ? 10000
			    : s->ttl_s >= 4 ? s->ttl_s * 250
					    : 1000);
	}
}

/* --- life ----------------------------------------------------------- */

static int
make_paths(struct d01_kube_store *s)
{
	size_t i, len = 64;
	char lab[64];
	char *p;

	for (i = 0; i < s->nzones; i++)
		len += 68;
	if ((s->selector = malloc(len)) == NULL)
		return -1;
	p = s->selector;
	p += sprintf(p, "dns01.io%%2Fzone%%20in%%20%%28");
	for (i = 0; i < s->nzones; i++) {
		ks_zone_label(s->zones[i], lab);
		p += sprintf(p, "%s%s", i ? "%2C" : "", lab);
	}
	sprintf(p, "%%29");
	len = strlen(s->ns) + 128;
	if ((s->base_path = malloc(len)) == NULL)
		return -1;
	snprintf(s->base_path, len, "/apis/%s/%s/namespaces/%s/%s",
	    D01_KSTORE_GROUP, D01_KSTORE_VERSION, s->ns, D01_KSTORE_PLURAL);
	return 0;
}

struct d01_kube_store *
d01_kube_store_new(struct d01_kube *k, const struct d01_recstore_sink *sink,
    const struct d01_kube_store_opts *o, struct d01_error *err)
{
	static const struct timeval now = {0, 0}, sec = {1, 0};
	struct d01_kube_store *s;
	size_t i;

	if (o->ns == NULL || !d01_kube_name_ok(o->ns) || strlen(o->ns) > 63 ||
	    strchr(o->ns, '.') != NULL) {
		d01_error_set(err, D01_E_CONFIG,
		    "--embedded-store-namespace %.100s is not a namespace "
		    "name",
		    o->ns ? o->ns : "(none)");
		return NULL;
	}
	if (o->nzones == 0) {
		d01_error_set(err, D01_E_CONFIG,
		    "the kubernetes store needs --embedded-zone");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto nomem;
	LIST_INIT(&s->writes);
	s->k = k;
	s->sink = *sink;
	s->clock = o->clock;
	s->ttl_s = o->ttl_s > 0 ? o->ttl_s : 86400;
	s->watch_s = o->watch_s > 0 ? o->watch_s : 60;
	s->stale_ms = o->stale_ms > 0 ? o->stale_ms : D01_KSTORE_STALE_MS;
	s->nzones = o->nzones;
	if ((s->ns = strdup(o->ns)) == NULL ||
	    (s->writer = strdup(o->writer ? o->writer : "dns01")) == NULL ||
	    (s->zones = calloc(o->nzones, sizeof(char *))) == NULL ||
	    (s->t = calloc(1, sizeof(*s->t))) == NULL)
		goto nomem;
	for (i = 0; i < o->nzones; i++)
		if ((s->zones[i] = strdup(o->zones[i])) == NULL)
			goto nomem;
	if (make_paths(s) != 0 ||
	    (s->retry = evtimer_new(d01_kube_base(k), retry_cb, s)) == NULL ||
	    (s->tick = event_new(
		 d01_kube_base(k), -1, EV_PERSIST, tick_cb, s)) == NULL)
		goto nomem;
	s->last_ok_ms = d01_clock_mono_ms(s->clock);
	evtimer_add(s->retry, &now); /* the first LIST, from the loop */
	evtimer_add(s->tick, &sec);
	return s;
nomem:
	d01_kube_store_free(s);
	d01_error_set(err, D01_E_NOMEM, "out of memory");
	return NULL;
}

void
d01_kube_store_free(struct d01_kube_store *s)
{
	size_t i;

	if (s == NULL)
		return;
	ks_writes_cancel(s);
	d01_kube_cancel(s->list);
	d01_kube_watch_cancel(s->watch);
	if (s->retry != NULL)
		event_free(s->retry);
	if (s->tick != NULL)
		event_free(s->tick);
	ks_table_free(s->pending);
	ks_table_free(s->t);
	for (i = 0; s->zones != NULL && i < s->nzones; i++)
		free(s->zones[i]);
	free(s->zones);
	free(s->ns);
	free(s->writer);
	free(s->base_path);
	free(s->selector);
	free(s);
}

void
d01_kube_store_stats(
    const struct d01_kube_store *s, struct d01_kube_store_stats *st)
{
	int64_t now = d01_clock_mono_ms(s->clock);

	*st = s->st;
	st->records = s->t->n;
	st->stale = s->stale;
	st->since_sync_s =
	    s->connected ? 0 : (double)(now - s->last_ok_ms) / 1000.0;
}
