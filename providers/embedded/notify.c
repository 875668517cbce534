/* SPDX-License-Identifier: ISC */
/*
 * NOTIFY to the secondaries (notify.h): per zone a due time for the next
 * round, per zone and target the round's ID and retry schedule. One timer
 * is armed for the earliest due action; the store's change hook only
 * marks a zone due, so the NOTIFY leaves after the change's callback has
 * finished and carries the serial of everything it did.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "core/clock.h"
#include "core/log.h"
#include "providers/embedded/notify.h"
#include "providers/embedded/store.h"
#include "providers/embedded/xfr.h"

#define MAX_ZONES  D01_STORE_MAX_ZONES
#define MAX_MSG	   1024 /* header + question + one SOA */
#define UDP_BURST  16
#define OPCODE_NOT 4

struct target {
	struct sockaddr_storage ss;
	socklen_t sl;
	char str[64]; /* as given, for the log */
};

/* One zone's round at one target. */
struct attempt {
	int active;
	uint16_t id;
	unsigned sends;
	int64_t next; /* mono ms of the next send (or of giving up) */
	uint32_t serial;
};

struct zstate {
	int64_t due;  /* mono ms the next round starts; 0: none due */
	int64_t last; /* when the last round started; 0: never */
};

struct d01_notify {
	struct event_base *base;
	const struct d01_clock *clock;
	const struct d01_txtstore *store;
	struct target t[D01_NOTIFY_MAX_TARGETS];
	size_t nt;
	struct zstate z[MAX_ZONES];
	struct attempt a[MAX_ZONES][D01_NOTIFY_MAX_TARGETS];
	evutil_socket_t fd4, fd6;
	struct event *ev4, *ev6, *timer;
	d01_notify_send_fn send;
	void *send_arg;
};

static int64_t
now_ms(const struct d01_notify *nf)
{
	return d01_clock_mono_ms(nf->clock);
}

/* "ADDR" or "ADDR:PORT", port 53 by default; -1 when malformed. */
static int
target_parse(const char *s, struct target *t)
{
	int sl = sizeof(t->ss);

	memset(t, 0, sizeof(*t));
	if (evutil_parse_sockaddr_port(s, (struct sockaddr *)&t->ss, &sl) != 0)
		return -1;
	t->sl = (socklen_t)sl;
	if (t->ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&t->ss;

		if (in->sin_port == 0)
			in->sin_port = htons(53);
	} else if (t->ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&t->ss;

		if (in6->sin6_port == 0)
			in6->sin6_port = htons(53);
	} else {
		return -1;
	}
	snprintf(t->str, sizeof(t->str), "%.63s", s);
	return 0;
}

static int
same_peer(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return 0;
	if (b->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a,
					 *y = (const void *)b;

		return x->sin_port == y->sin_port &&
		    x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (b->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a,
					  *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return 0;
}

/* The NOTIFY for zone z with ID id; its length, 0 on failure. */
static size_t
notify_msg(const struct d01_txtzone *z, uint16_t id, uint8_t *out, size_t cap)
{
	size_t n, soa;

	if (cap < 12 + 255 + 4)
		return 0;
	memset(out, 0, 12);
	out[0] = (uint8_t)(id >> 8);
	out[1] = (uint8_t)id;
	out[2] = (uint8_t)(OPCODE_NOT << 3 | 0x04); /* NOTIFY, AA */
	out[5] = 1;				    /* QDCOUNT */
	if ((n = d01_xfr_name_wire(z->name, out + 12, 255)) == 0)
		return 0;
	n += 12;
	out[n++] = 0;
	out[n++] = 6; /* SOA */
	out[n++] = 0;
	out[n++] = 1; /* IN */
	/* RFC 1996 §3.7: the SOA as a hint; secondaries still ask. */
	if ((soa = d01_xfr_soa_rr(z, out + n, cap - n)) == 0)
		return n;
	out[7] = 1; /* ANCOUNT */
	return n + soa;
}

static void
send_one(struct d01_notify *nf, size_t zi, size_t ti)
{
	const struct d01_txtzone *z = d01_txtstore_zone(nf->store, zi);
	struct target *t = &nf->t[ti];
	struct attempt *a = &nf->a[zi][ti];
	uint8_t msg[MAX_MSG];
	size_t len;
	evutil_socket_t fd;

	if (z == NULL || (len = notify_msg(z, a->id, msg, sizeof(msg))) == 0)
		return;
	d01_log(D01_LOG_DEBUG, "notify_send",
	    "zone=%s target=%s serial=%u attempt=%u", z->name, t->str,
	    a->serial, a->sends);
	if (nf->send != NULL) {
		nf->send(
		    nf->send_arg, (struct sockaddr *)&t->ss, t->sl, msg, len);
		return;
	}
	fd = t->ss.ss_family == AF_INET ? nf->fd4 : nf->fd6;
	/* A full buffer or an unreachable target: the retry covers it. */
	if (fd >= 0)
		(void)sendto(fd, msg, len, 0, (struct sockaddr *)&t->ss, t->sl);
}

/* The earliest pending action, or -1. */
static int64_t
next_due(const struct d01_notify *nf)
{
	int64_t next = -1;
	size_t zi, ti;

	for (zi = 0; zi < MAX_ZONES; zi++) {
		if (nf->z[zi].due != 0 && (next < 0 || nf->z[zi].due < next))
			next = nf->z[zi].due;
		for (ti = 0; ti < nf->nt; ti++)
			if (nf->a[zi][ti].active &&
			    (next < 0 || nf->a[zi][ti].next < next))
				next = nf->a[zi][ti].next;
	}
	return next;
}

static void
arm(struct d01_notify *nf)
{
	int64_t next = next_due(nf), wait;
	struct timeval tv;

	if (nf->timer == NULL)
		return;
	if (next < 0) {
		evtimer_del(nf->timer);
		return;
	}
	wait = next - now_ms(nf);
	if (wait < 0)
		wait = 0;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	evtimer_add(nf->timer, &tv);
}

static void
round_start(struct d01_notify *nf, size_t zi, int64_t now)
{
	const struct d01_txtzone *z = d01_txtstore_zone(nf->store, zi);
	struct attempt *a;
	size_t ti;

	nf->z[zi].due = 0;
	nf->z[zi].last = now;
	for (ti = 0; ti < nf->nt; ti++) {
		a = &nf->a[zi][ti];
		a->active = 1;
		evutil_secure_rng_get_bytes(&a->id, sizeof(a->id));
		a->sends = 0;
		a->next = now;
		a->serial = z != NULL ? z->serial : 0;
	}
}

int64_t
d01_notify_tick(struct d01_notify *nf)
{
	int64_t now = now_ms(nf);
	struct attempt *a;
	size_t zi, ti;

	for (zi = 0; zi < MAX_ZONES; zi++) {
		if (nf->z[zi].due != 0 && nf->z[zi].due <= now)
			round_start(nf, zi, now);
		for (ti = 0; ti < nf->nt; ti++) {
			a = &nf->a[zi][ti];
			if (!a->active || a->next > now)
				continue;
			if (a->sends > D01_NOTIFY_RETRIES) {
				a->active = 0;
				d01_log(D01_LOG_WARN, "notify_unanswered",
				    "zone=%s target=%s serial=%u sends=%u",
				    d01_txtstore_zone(nf->store, zi)->name,
				    nf->t[ti].str, a->serial, a->sends);
				continue;
			}
			a->sends++;
			send_one(nf, zi, ti);
			a->next = now +
			    ((int64_t)D01_NOTIFY_RETRY_MS << (a->sends - 1));
		}
	}
	return next_due(nf);
}

void
d01_notify_changed(void *arg, const struct d01_txtzone *z)
{
	struct d01_notify *nf = arg;
	int64_t now = now_ms(nf), due;
	size_t zi, n = d01_txtstore_zone_count(nf->store);

	for (zi = 0; zi < n && zi < MAX_ZONES; zi++)
		if (d01_txtstore_zone(nf->store, zi) == z)
			break;
	if (zi == n || zi == MAX_ZONES || nf->nt == 0 || nf->z[zi].due != 0)
		return; /* not ours, nobody to tell, or a round is due */
	due =
	    nf->z[zi].last != 0 ? nf->z[zi].last + D01_NOTIFY_COALESCE_MS : now;
	nf->z[zi].due = due > now ? due : now;
	if (nf->z[zi].due == 0)
		nf->z[zi].due = 1; /* 0 means "none" */
	arm(nf);
}

void
d01_notify_input(struct d01_notify *nf, const struct sockaddr *from,
    const uint8_t *msg, size_t len)
{
	struct attempt *a;
	uint16_t id;
	size_t zi, ti;

	if (len < 12 || (msg[2] & 0x80) == 0 ||
	    ((msg[2] >> 3) & 0x0f) != OPCODE_NOT)
		return;
	id = (uint16_t)(msg[0] << 8 | msg[1]);
	for (ti = 0; ti < nf->nt; ti++) {
		if (!same_peer(&nf->t[ti].ss, from))
			continue;
		for (zi = 0; zi < MAX_ZONES; zi++) {
			a = &nf->a[zi][ti];
			if (!a->active || a->id != id)
				continue;
			a->active = 0;
			if ((msg[3] & 0x0f) != 0)
				d01_log(D01_LOG_WARN, "notify_refused",
				    "zone=%s target=%s rcode=%d",
				    d01_txtstore_zone(nf->store, zi)->name,
				    nf->t[ti].str, msg[3] & 0x0f);
		}
	}
	arm(nf);
}

size_t
d01_notify_pending(const struct d01_notify *nf)
{
	size_t zi, ti, n = 0;

	for (zi = 0; zi < MAX_ZONES; zi++)
		for (ti = 0; ti < nf->nt; ti++)
			n += nf->a[zi][ti].active != 0;
	return n;
}

void
d01_notify_set_sender(struct d01_notify *nf, d01_notify_send_fn fn, void *arg)
{
	nf->send = fn;
	nf->send_arg = arg;
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	d01_notify_tick(arg);
	arm(arg);
}

static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	uint8_t buf[512];
	ssize_t n;
	int i;

	(void)what;
	for (i = 0; i < UDP_BURST; i++) {
		sl = sizeof(ss);
		n = recvfrom(
		    fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl);
		if (n < 0)
			return;
		d01_notify_input(arg, (struct sockaddr *)&ss, buf, (size_t)n);
	}
}

/* A non-blocking datagram socket of family and its read event. */
static int
sock_open(
    struct d01_notify *nf, int family, evutil_socket_t *fd, struct event **ev)
{
	struct sockaddr_storage any;
	socklen_t sl;

	memset(&any, 0, sizeof(any));
	any.ss_family = (sa_family_t)family;
	sl = family == AF_INET ? sizeof(struct sockaddr_in)
			       : sizeof(struct sockaddr_in6);
	*fd = socket(family, SOCK_DGRAM, 0);
	/* Bound now (an ephemeral port) so responses can be read at once. */
	if (*fd < 0 || evutil_make_socket_nonblocking(*fd) != 0 ||
	    evutil_make_socket_closeonexec(*fd) != 0 ||
	    bind(*fd, (struct sockaddr *)&any, sl) != 0)
		return -1;
	if ((*ev = event_new(
		 nf->base, *fd, EV_READ | EV_PERSIST, read_cb, nf)) == NULL ||
	    event_add(*ev, NULL) != 0)
		return -1;
	return 0;
}

struct d01_notify *
d01_notify_new(struct event_base *base, const struct d01_clock *clock,
    const struct d01_txtstore *store, const char *const *targets, size_t n,
    struct d01_error *err)
{
	struct d01_notify *nf;
	size_t i;
	int v4 = 0, v6 = 0;

	if (n > D01_NOTIFY_MAX_TARGETS) {
		d01_error_set(err, D01_E_CONFIG,
		    "more than %d --notify targets", D01_NOTIFY_MAX_TARGETS);
		return NULL;
	}
	if ((nf = calloc(1, sizeof(*nf))) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	nf->base = base;
	nf->clock = clock;
	nf->store = store;
	nf->fd4 = nf->fd6 = -1;
	for (i = 0; i < n; i++) {
		if (target_parse(targets[i], &nf->t[i]) != 0) {
			d01_error_set(err, D01_E_CONFIG,
			    "--notify %.200s: expected ADDR or ADDR:PORT, "
			    "e.g. 192.0.2.1 or [2001:db8::1]:53",
			    targets[i]);
			goto fail;
		}
		v4 |= nf->t[i].ss.ss_family == AF_INET;
		v6 |= nf->t[i].ss.ss_family == AF_INET6;
	}
	nf->nt = n;
	if (base == NULL)
		return nf;
	if ((nf->timer = evtimer_new(base, timer_cb, nf)) == NULL ||
	    (v4 && sock_open(nf, AF_INET, &nf->fd4, &nf->ev4) != 0) ||
	    (v6 && sock_open(nf, AF_INET6, &nf->fd6, &nf->ev6) != 0)) {
		d01_error_set(
		    err, D01_E_NETWORK, "NOTIFY socket: %s", strerror(errno));
		goto fail;
	}
	return nf;
fail:
	d01_notify_free(nf);
	return NULL;
}

void
d01_notify_free(struct d01_notify *nf)
{
	if (nf == NULL)
		return;
	if (nf->timer != NULL)
		event_free(nf->timer);
	if (nf->ev4 != NULL)
		event_free(nf->ev4);
	if (nf->ev6 != NULL)
		event_free(nf->ev6);
	if (nf->fd4 >= 0)
		evutil_closesocket(nf->fd4);
	if (nf->fd6 >= 0)
		evutil_closesocket(nf->fd6);
	free(nf);
}
