/* SPDX-License-Identifier: ISC */
/*
 * The TXT checker as one state machine (see txtcheck.h):
 *   CNAME -> SOA -> NS -> ADDR -> POLL <-> WAIT
 * Discovery steps send one query at a time through the resolver; a POLL
 * round asks every server at once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "core/dname.h"
#include "core/txtcheck.h"

#define MAX_CNAMES 16
#define MAX_NS	   8

enum state { T_CNAME, T_SOA, T_NS, T_ADDR, T_POLL, T_WAIT };

struct server {
	struct d01_txtcheck *t;
	struct d01_dns_server addr;
	char name[D01_DNAME_BUF]; /* NS host name, or "" when explicit */
	struct d01_dns_req *req;
	int agreed;
	int skipped;   /* discovered, but we cannot even send to it */
	char said[64]; /* last answer, for the summary */
};

struct d01_txtcheck {
	struct event_base *base;
	struct d01_dns *dns;
	enum state st;
	char name[D01_DNAME_BUF], zone[D01_DNAME_BUF], value[256];
	int absent, ns_port, cnames, interval_ms, interval_max, pending;
	struct d01_dns_server resolver;
	char ns[MAX_NS][D01_DNAME_BUF];
	int nns, next_ns, want_aaaa;
	struct server srv[D01_TXTCHECK_MAX_SERVERS];
	size_t nsrv;
	struct d01_dns_req *req; /* discovery query */
	struct event *timer;	 /* between rounds */
	struct timeval deadline;
	d01_txtcheck_fn cb;
	void *arg;
};

static void step(struct d01_txtcheck *t);

static void
check_free(struct d01_txtcheck *t)
{
	size_t i;

	d01_dns_cancel(t->req);
	for (i = 0; i < t->nsrv; i++)
		d01_dns_cancel(t->srv[i].req);
	if (t->timer != NULL)
		event_free(t->timer);
	free(t);
}

void
d01_txtcheck_cancel(struct d01_txtcheck *t)
{
	if (t != NULL)
		check_free(t);
}

static void finish(struct d01_txtcheck *t, enum d01_err code, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static void
finish(struct d01_txtcheck *t, enum d01_err code, const char *fmt, ...)
{
	struct d01_error err;
	d01_txtcheck_fn cb = t->cb;
	void *arg = t->arg;
	va_list ap;

	char summary[1024];

	va_start(ap, fmt);
	vsnprintf(summary, sizeof(summary), fmt, ap);
	va_end(ap);
	d01_error_set(&err, code, "%s", summary);
	/* Free first: the callback may start a new check right away. */
	check_free(t);
	cb(arg, &err, summary);
}

/* First RR of `type` in the answer owned by `owner`, or NULL. */
static ldns_rr *
answer_rr(ldns_pkt *p, ldns_rr_type type, const char *owner)
{
	ldns_rr_list *ans = ldns_pkt_answer(p);
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ans, i);

		if (ldns_rr_get_type(rr) == type && d01_dns_owner_is(rr, owner))
			return rr;
	}
	return NULL;
}

static void
discovery_reply(void *arg, const struct d01_error *err, ldns_pkt *p)
{
	struct d01_txtcheck *t = arg;
	ldns_rr *rr;
	ldns_rr_list *l;
	const char *dot;
	size_t i;

	t->req = NULL;
	if (err->code != D01_OK) {
		finish(t, err->code, "looking up %s: %s", t->name, err->msg);
		return;
	}
	switch (t->st) {
	case T_CNAME:
		if ((rr = answer_rr(p, LDNS_RR_TYPE_CNAME, t->name)) == NULL) {
			snprintf(t->zone, sizeof(t->zone), "%s", t->name);
			t->st = T_SOA;
		} else if (++t->cnames > MAX_CNAMES ||
		    d01_dns_rdata_name(rr, t->name, sizeof(t->name)) != 0) {
			finish(
			    t, D01_E_PROTOCOL, "CNAME chain too long or bad");
			return;
		}
		break;
	case T_SOA:
		if (answer_rr(p, LDNS_RR_TYPE_SOA, t->zone) != NULL) {
			t->st = T_NS;
		} else if ((dot = strchr(t->zone, '.')) != NULL &&
		    dot[1] != '\0') {
			memmove(t->zone, dot + 1, strlen(dot + 1) + 1);
		} else {
			finish(t, D01_E_NOTFOUND, "no zone (SOA) found for %s",
			    t->name);
			return;
		}
		break;
	case T_NS:
		l = ldns_pkt_rr_list_by_type(
		    p, LDNS_RR_TYPE_NS, LDNS_SECTION_ANSWER);
		for (i = 0; l != NULL && i < ldns_rr_list_rr_count(l) &&
		     t->nns < MAX_NS;
		     i++)
			if (d01_dns_rdata_name(ldns_rr_list_rr(l, i),
				t->ns[t->nns], D01_DNAME_BUF) == 0)
				t->nns++;
		ldns_rr_list_deep_free(l);
		if (t->nns == 0) {
			finish(t, D01_E_NOTFOUND, "zone %s has no NS records",
			    t->zone);
			return;
		}
		t->st = T_ADDR;
		break;
	default:
		break;
	}
	step(t);
}

static void
add_server(struct d01_txtcheck *t, const ldns_rr *rr, int ns)
{
	struct d01_dns_server srv;
	size_t i;

	if (t->nsrv == D01_TXTCHECK_MAX_SERVERS ||
	    d01_dns_rr_server(rr, t->ns_port, &srv) != 0)
		return;
	for (i = 0; i < t->nsrv; i++) /* two NS names, one address */
		if (strcmp(t->srv[i].addr.label, srv.label) == 0)
			return;
	t->srv[t->nsrv].addr = srv;
	/* Both are D01_DNAME_BUF arrays; t->ns[ns] is NUL-terminated. */
	memcpy(t->srv[t->nsrv].name, t->ns[ns], sizeof(t->srv[0].name));
	t->nsrv++;
}

static void
addr_reply(void *arg, const struct d01_error *err, ldns_pkt *p)
{
	struct d01_txtcheck *t = arg;
	ldns_rr_list *ans;
	size_t i;

	t->req = NULL;
	if (err->code == D01_OK) {
		ans = ldns_pkt_answer(p);
		for (i = 0; i < ldns_rr_list_rr_count(ans); i++) {
			ldns_rr_type ty =
			    ldns_rr_get_type(ldns_rr_list_rr(ans, i));
			if (ty == LDNS_RR_TYPE_A || ty == LDNS_RR_TYPE_AAAA)
				add_server(
				    t, ldns_rr_list_rr(ans, i), t->next_ns);
		}
	}
	/* A failed address lookup only loses that address; the round
	 * fails later if no server is left at all. */
	if (!t->want_aaaa) {
		t->want_aaaa = 1; /* AAAA of the same NS next */
	} else {
		t->want_aaaa = 0;
		t->next_ns++;
	}
	if (t->next_ns == t->nns) {
		if (t->nsrv == 0) {
			finish(t, D01_E_NOTFOUND,
			    "no address found for the NS of %s", t->zone);
			return;
		}
		t->st = T_POLL;
	}
	step(t);
}

/* Build "a:53 (ns1.) said NXDOMAIN; b:53 agreed" into out. */
static void
describe(const struct d01_txtcheck *t, char *out, size_t len)
{
	size_t i, o = 0;
	int n;

	out[0] = '\0';
	for (i = 0; i < t->nsrv && o < len; i++) {
		const struct server *s = &t->srv[i];

		n = snprintf(out + o, len - o, "%s%s%s%s%s %s", i ? ", " : "",
		    s->addr.label, s->name[0] ? " (" : "", s->name,
		    s->name[0] ? ")" : "",
		    s->agreed && !s->skipped ? "agrees" : s->said);
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

/* Every answer of a round is in: done, out of time, or wait. Servers
 * skipped as unreachable from here do not count. */
static void
round_done(struct d01_txtcheck *t)
{
	char who[900];
	struct timeval now;
	size_t i, agreed = 0, asked = 0;

	for (i = 0; i < t->nsrv; i++) {
		asked += !t->srv[i].skipped;
		agreed += !t->srv[i].skipped && t->srv[i].agreed;
	}
	describe(t, who, sizeof(who));
	if (agreed == asked) {
		finish(t, D01_OK, "%s %s on %zu/%zu servers: %s", t->name,
		    t->absent ? "gone" : "visible", agreed, asked, who);
		return;
	}
	event_base_gettimeofday_cached(t->base, &now);
	if (!evutil_timercmp(&now, &t->deadline, <)) {
		finish(t, D01_E_TIMEOUT, "%s not %s on %zu/%zu servers: %s",
		    t->name, t->absent ? "gone" : "visible", asked - agreed,
		    asked, who);
		return;
	}
	t->st = T_WAIT;
	step(t);
}

static void
poll_reply(void *arg, const struct d01_error *err, ldns_pkt *p)
{
	struct server *s = arg;
	struct d01_txtcheck *t = s->t;
	int has;

	s->req = NULL;
	if (err->code != D01_OK) {
		s->agreed = 0;
		snprintf(s->said, sizeof(s->said), "did not answer");
	} else {
		has = d01_txtcheck_reply_has(p, t->name, t->value);
		s->agreed = t->absent ? has == 0 : has == 1;
		snprintf(s->said, sizeof(s->said), "said %s",
		    has < 0   ? d01_rcode_name(ldns_pkt_get_rcode(p))
			: has ? "the value is there"
			: ldns_pkt_get_rcode(p) == LDNS_RCODE_NXDOMAIN
			? "NXDOMAIN"
			: "the value is not there");
	}
	if (--t->pending == 0)
		round_done(t);
}

/* Ask `name`/`type` through the resolver (recursion desired). */
static void
ask(struct d01_txtcheck *t, const char *name, ldns_rr_type type, d01_dns_fn cb)
{
	struct d01_error err;
	ldns_pkt *q = NULL;

	d01_error_clear(&err);
	if (ldns_pkt_query_new_frm_str(
		&q, name, type, LDNS_RR_CLASS_IN, LDNS_RD) == LDNS_STATUS_OK)
		t->req = d01_dns_send(
		    t->dns, q, &t->resolver, NULL, NULL, cb, t, &err);
	else
		d01_error_set(&err, D01_E_INVAL, "cannot query %s", name);
	ldns_pkt_free(q);
	if (t->req == NULL)
		finish(t, err.code, "looking up %s: %s", name, err.msg);
}

static void
poll_round(struct d01_txtcheck *t)
{
	struct d01_dns_opts opts;
	struct d01_error err;
	ldns_pkt *q = NULL;
	size_t i;

	d01_dns_opts_default(&opts);
	opts.tries = 1; /* the next round is the retry */
	if (ldns_pkt_query_new_frm_str(&q, t->name, LDNS_RR_TYPE_TXT,
		LDNS_RR_CLASS_IN, 0) != LDNS_STATUS_OK) {
		finish(t, D01_E_INVAL, "cannot query %s", t->name);
		return;
	}
	for (i = 0; i < t->nsrv; i++) {
		struct server *s = &t->srv[i];

		if (s->skipped)
			continue;
		d01_error_clear(&err);
		s->t = t;
		s->req = d01_dns_send(
		    t->dns, q, &s->addr, NULL, &opts, poll_reply, s, &err);
		if (s->req != NULL) {
			t->pending++;
		} else if (s->name[0] != '\0' && err.code == D01_E_NETWORK) {
			/* e.g. an AAAA address on a host without IPv6,
			 * skipped as a resolver would skip it. */
			s->skipped = 1;
			snprintf(s->said, sizeof(s->said),
			    "unreachable from here (skipped)");
		} else {
			break;
		}
	}
	ldns_pkt_free(q);
	if (i < t->nsrv)
		finish(t, err.code, "%s", err.msg);
	else if (t->pending == 0)
		finish(t, D01_E_NETWORK,
		    "no authoritative server of %s is reachable from here",
		    t->zone);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct d01_txtcheck *t = arg;

	(void)fd;
	(void)what;
	if (t->st == T_WAIT)
		t->st = T_POLL;
	step(t);
}

/* The pause before the next round: the current interval, never past the
 * deadline; the interval then grows by half, up to 8x the first one. */
static void
wait_round(struct d01_txtcheck *t)
{
	struct timeval now,
	    left = {0, 0},
	    tv = {t->interval_ms / 1000, (t->interval_ms % 1000) * 1000};

	event_base_gettimeofday_cached(t->base, &now);
	if (evutil_timercmp(&t->deadline, &now, >))
		evutil_timersub(&t->deadline, &now, &left);
	if (evutil_timercmp(&left, &tv, <))
		tv = left;
	evtimer_add(t->timer, &tv);
	if (t->interval_ms < t->interval_max)
		t->interval_ms = t->interval_ms * 3 / 2;
}

static void
step(struct d01_txtcheck *t)
{
	struct timeval now;

	if (t->st != T_POLL && t->st != T_WAIT) {
		/* Discovery counts against the same overall bound. */
		event_base_gettimeofday_cached(t->base, &now);
		if (!evutil_timercmp(&now, &t->deadline, <)) {
			finish(t, D01_E_TIMEOUT,
			    "looking up the servers of %s: out of time",
			    t->name);
			return;
		}
	}
	switch (t->st) {
	case T_CNAME:
		ask(t, t->name, LDNS_RR_TYPE_CNAME, discovery_reply);
		break;
	case T_SOA:
		ask(t, t->zone, LDNS_RR_TYPE_SOA, discovery_reply);
		break;
	case T_NS:
		ask(t, t->zone, LDNS_RR_TYPE_NS, discovery_reply);
		break;
	case T_ADDR:
		ask(t, t->ns[t->next_ns],
		    t->want_aaaa ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A,
		    addr_reply);
		break;
	case T_POLL:
		poll_round(t);
		break;
	case T_WAIT:
		wait_round(t);
		break;
	}
}

struct d01_txtcheck *
d01_txtcheck_start(struct event_base *base, struct d01_dns *dns,
    const struct d01_txtcheck_opts *o, d01_txtcheck_fn cb, void *arg,
    struct d01_error *err)
{
	struct d01_txtcheck *t;
	struct timeval now,
	    tv = {o->timeout_ms / 1000, (o->timeout_ms % 1000) * 1000};
	size_t i;

	if (d01_dname_normalise(
		(char[D01_DNAME_BUF]){0}, D01_DNAME_BUF, o->fqdn) != 0 ||
	    strlen(o->value) > 255 ||
	    (o->nservers == 0 && o->resolver == NULL) ||
	    o->nservers > D01_TXTCHECK_MAX_SERVERS) {
		d01_error_set(err, D01_E_CONFIG,
		    "check: need a valid name, a value of at most 255 bytes, "
		    "and nameservers or a resolver");
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->timer = evtimer_new(base, timer_cb, t)) == NULL) {
		free(t);
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	t->base = base;
	t->dns = dns;
	d01_dname_normalise(t->name, sizeof(t->name), o->fqdn);
	snprintf(t->value, sizeof(t->value), "%s", o->value);
	t->absent = o->absent;
	t->ns_port = o->ns_port > 0 ? o->ns_port : 53;
	t->interval_ms = o->interval_ms > 0 ? o->interval_ms : 1000;
	t->interval_max = t->interval_ms * 8;
	if (o->resolver != NULL)
		t->resolver = *o->resolver;
	for (i = 0; i < o->nservers; i++)
		t->srv[i].addr = o->servers[i];
	t->nsrv = o->nservers;
	t->cb = cb;
	t->arg = arg;
	event_base_gettimeofday_cached(base, &now);
	evutil_timeradd(&now, &tv, &t->deadline);
	/* Start from the loop, never inside this call: the first step may
	 * fail at once, and cb must not run before we return. */
	t->st = t->nsrv > 0 ? T_POLL : T_CNAME;
	tv.tv_sec = tv.tv_usec = 0;
	evtimer_add(t->timer, &tv);
	return t;
}
