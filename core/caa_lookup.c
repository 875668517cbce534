/* SPDX-License-Identifier: ISC */
/*
 * The relevant CAA RRset of a name (caa.h), one state machine:
 *   SOA -> NS -> ADDR -> ASK -> (climb or CNAME) -> SOA or ASK ...
 * Discovery asks the resolver (RD=1) as the TXT checker does; ASK sends
 * the CAA question to one authoritative server after another (RD=0)
 * until one answers. A level's servers are reused while the next name
 * stays inside the zone they serve.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/caa.h"
#include "core/dname.h"

#define MAX_NS	    8
#define MAX_CNAMES  8
#define MAX_QUERIES 128 /* every question of one lookup, all kinds */

enum state { C_SOA, C_NS, C_ADDR, C_ASK };

struct d01_caa_lookup {
	struct event_base *base;
	struct d01_dns *dns;
	enum state st;
	/* cur: the level of the climb; q: the name asked (cur after CNAMEs);
	 * zone: the zone whose servers are in srv (discovered). */
	char cur[D01_DNAME_BUF], q[D01_DNAME_BUF], zone[D01_DNAME_BUF];
	int explicit_srv, ns_port, cnames, queries, answered, timeout_ms;
	struct d01_dns_server resolver;
	struct d01_dns_server srv[D01_CAA_MAX_SERVERS];
	size_t nsrv, next_srv;
	char ns[MAX_NS][D01_DNAME_BUF];
	int nns, next_ns, want_aaaa;
	struct d01_dns_req *req;
	struct event *timer; /* first step, then the deadline */
	int started;
	struct d01_caa_prop props[D01_CAA_RRSET_MAX];
	size_t nprops;
	d01_caa_fn cb;
	void *arg;
};

static void step(struct d01_caa_lookup *l);

void
d01_caa_lookup_cancel(struct d01_caa_lookup *l)
{
	if (l == NULL)
		return;
	d01_dns_cancel(l->req);
	if (l->timer != NULL)
		event_free(l->timer);
	free(l);
}

static void finish(struct d01_caa_lookup *l, enum d01_err code, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* Deliver and free. D01_OK with nprops == 0: no CAA anywhere. */
static void
finish(struct d01_caa_lookup *l, enum d01_err code, const char *fmt, ...)
{
	struct d01_error err;
	d01_caa_fn cb = l->cb;
	void *arg = l->arg;
	va_list ap;

	d01_error_clear(&err);
	if (code != D01_OK) {
		va_start(ap, fmt);
		d01_error_vset(&err, code, fmt, ap);
		va_end(ap);
	}
	d01_dns_cancel(l->req);
	l->req = NULL;
	event_free(l->timer);
	l->timer = NULL;
	/* The result lives in l: call back, then free. */
	cb(arg, &err, code == D01_OK && l->nprops ? l->q : "", l->props,
	    code == D01_OK ? l->nprops : 0);
	free(l);
}

static void
ask(struct d01_caa_lookup *l, const char *name, ldns_rr_type type, int rd,
    const struct d01_dns_server *to, d01_dns_fn cb)
{
	struct d01_dns_opts opts;
	struct d01_error err;
	ldns_pkt *q = NULL;

	d01_error_clear(&err);
	d01_dns_opts_default(&opts);
	opts.tries = 2;
	if (++l->queries > MAX_QUERIES) {
		finish(l, D01_E_LIMIT, "CAA lookup for %s: over %d questions",
		    l->cur, MAX_QUERIES);
		return;
	}
	if (ldns_pkt_query_new_frm_str(&q, name, type, LDNS_RR_CLASS_IN,
		rd ? LDNS_RD : 0) == LDNS_STATUS_OK)
		l->req = d01_dns_send(l->dns, q, to, NULL, &opts, cb, l, &err);
	else
		d01_error_set(&err, D01_E_INVAL, "cannot query %s", name);
	ldns_pkt_free(q);
	if (l->req == NULL)
		finish(l, err.code, "CAA lookup: %s: %s", name, err.msg);
}

/* The next name to ask: same servers while it stays in their zone. */
static void
next_name(struct d01_caa_lookup *l)
{
	if (l->explicit_srv ||
	    (l->zone[0] && d01_dname_in_zone(l->q, l->zone))) {
		l->next_srv = 0;
		l->st = C_ASK;
	} else {
		snprintf(l->zone, sizeof(l->zone), "%s", l->q);
		l->nsrv = 0;
		l->st = C_SOA;
	}
	step(l);
}

/* No CAA at this level: go to the parent, or end at the top. */
static void
climb(struct d01_caa_lookup *l)
{
	const char *dot = strchr(l->cur, '.');

	if (dot == NULL || dot[1] == '\0') {
		finish(l, D01_OK, "none");
		return;
	}
	memmove(l->cur, dot + 1, strlen(dot + 1) + 1);
	snprintf(l->q, sizeof(l->q), "%s", l->cur);
	next_name(l);
}

/* A level nobody serves: empty once a lower level was answered. */
static void
unserved(struct d01_caa_lookup *l, const char *why)
{
	if (l->answered) {
		climb(l);
		return;
	}
	finish(l, D01_E_NOTFOUND, "CAA lookup for %s: %s", l->q, why);
}

static void
discovery_reply(void *arg, const struct d01_error *err, ldns_pkt *p)
{
	struct d01_caa_lookup *l = arg;
	ldns_rr_list *ans = NULL;
	const char *dot;
	size_t i;
	int found = 0;

	l->req = NULL;
	if (err->code != D01_OK) {
		finish(l, err->code, "CAA lookup for %s: %s", l->q, err->msg);
		return;
	}
	ans = ldns_pkt_answer(p);
	for (i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ans, i);

		if (l->st == C_SOA &&
		    ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA &&
		    d01_dns_owner_is(rr, l->zone))
			found = 1;
		if (l->st == C_NS && ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS &&
		    l->nns < MAX_NS &&
		    d01_dns_rdata_name(rr, l->ns[l->nns], D01_DNAME_BUF) == 0)
			l->nns++;
	}
	if (l->st == C_SOA) {
		if (found) {
			l->nns = l->next_ns = l->want_aaaa = 0;
			l->st = C_NS;
		} else if ((dot = strchr(l->zone, '.')) != NULL &&
		    dot[1] != '\0') {
			memmove(l->zone, dot + 1, strlen(dot + 1) + 1);
		} else {
			l->zone[0] = '\0';
			unserved(l, "no zone (SOA) found");
			return;
		}
	} else if (l->nns == 0) {
		unserved(l, "the zone has no NS records");
		return;
	} else {
		l->st = C_ADDR;
	}
	step(l);
}

static void
add_server(struct d01_caa_lookup *l, const ldns_rr *rr)
{
	struct d01_dns_server srv;
	size_t i;

	if (l->nsrv == D01_CAA_MAX_SERVERS ||
	    d01_dns_rr_server(rr, l->ns_port, &srv) != 0)
		return;
	for (i = 0; i < l->nsrv; i++)
		if (strcmp(l->srv[i].label, srv.label) == 0)
			return;
	l->srv[l->nsrv++] = srv;
}

static void
addr_reply(void *arg, const struct d01_error *err, ldns_pkt *p)
{
	struct d01_caa_lookup *l = arg;
	ldns_rr_list *ans;
	ldns_rr_type ty;
	size_t i;

	l->req = NULL;
	if (err->code == D01_OK) {
		ans = ldns_pkt_answer(p);
		for (i = 0; i < ldns_rr_list_rr_count(ans); i++) {
			ty = ldns_rr_get_type(ldns_rr_list_rr(ans, i));
			if (ty == LDNS_RR_TYPE_A || ty == LDNS_RR_TYPE_AAAA)
				add_server(l, ldns_rr_list_rr(ans, i));
		}
	}
	if (!l->want_aaaa) {
		l->want_aaaa = 1;
	} else {
		l->want_aaaa = 0;
		l->next_ns++;
	}
	if (l->next_ns == l->nns) {
		if (l->nsrv == 0) {
			finish(l, D01_E_NOTFOUND,
			    "CAA lookup for %s: no address for the NS of %s",
			    l->q, l->zone);
			return;
		}
		l->next_srv = 0;
		l->st = C_ASK;
	}
	step(l);
}

/* Keep the CAA RRs owned by `name` in the answer; 1 when there are. */
static int
take_caa(struct d01_caa_lookup *l, ldns_pkt *p, const char *name)
{
	ldns_rr_list *ans = ldns_pkt_answer(p);
	ldns_buffer *b;
	size_t i;

	l->nprops = 0;
	for (i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ans, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CAA ||
		    !d01_dns_owner_is(rr, name) ||
		    l->nprops == D01_CAA_RRSET_MAX)
			continue;
		if ((b = ldns_buffer_new(D01_CAA_VALUE_MAX + 64)) == NULL)
			continue;
		/* A record we cannot read is kept as a critical property
		 * of no known tag: it forbids, and is quoted as such. */
		if (ldns_rr_rdata2buffer_wire(b, rr) != LDNS_STATUS_OK ||
		    d01_caa_prop_parse(ldns_buffer_begin(b),
			ldns_buffer_position(b), &l->props[l->nprops]) != 0) {
			memset(&l->props[l->nprops], 0, sizeof(l->props[0]));
			l->props[l->nprops].flags = D01_CAA_CRITICAL;
			snprintf(l->props[l->nprops].tag,
			    sizeof(l->props[0].tag), "malformed");
		}
		l->nprops++;
		ldns_buffer_free(b);
	}
	return l->nprops > 0;
}

static void
caa_reply(void *arg, const struct d01_error *err, ldns_pkt *p)
{
	struct d01_caa_lookup *l = arg;
	char name[D01_DNAME_BUF];
	ldns_rr_list *ans;
	ldns_rr *rr;
	size_t i;
	int rcode, moved = 1;

	l->req = NULL;
	rcode = err->code == D01_OK ? (int)ldns_pkt_get_rcode(p) : -1;
	if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
		/* Another server of the zone may answer. */
		if (++l->next_srv < l->nsrv) {
			step(l);
			return;
		}
		/* This server does not serve the name (a level above the
		 * zones given with --nameserver, say). */
		if (rcode == LDNS_RCODE_REFUSED || rcode == LDNS_RCODE_NOTAUTH)
			unserved(l, "refused by every server");
		else
			finish(l, err->code ? err->code : D01_E_UPSTREAM,
			    "CAA lookup for %s: %s", l->q,
			    err->code ? err->msg : d01_rcode_name(rcode));
		return;
	}
	l->answered = 1;
	/* Follow the CNAME chain inside the answer, then look for CAA. */
	snprintf(name, sizeof(name), "%s", l->q);
	while (moved) {
		if (take_caa(l, p, name)) {
			snprintf(l->q, sizeof(l->q), "%s", name);
			finish(l, D01_OK, "found");
			return;
		}
		moved = 0;
		ans = ldns_pkt_answer(p);
		for (i = 0; i < ldns_rr_list_rr_count(ans); i++) {
			rr = ldns_rr_list_rr(ans, i);
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
			    d01_dns_owner_is(rr, name)) {
				if (++l->cnames > MAX_CNAMES ||
				    d01_dns_rdata_name(
					rr, name, sizeof(name)) != 0) {
					finish(l, D01_E_PROTOCOL,
					    "CAA lookup for %s: CNAME chain "
					    "too long or bad",
					    l->cur);
					return;
				}
				moved = 1;
				break;
			}
		}
	}
	if (strcmp(name, l->q) != 0) {
		/* The chain leaves this server's answer: ask for its end. */
		snprintf(l->q, sizeof(l->q), "%s", name);
		next_name(l);
		return;
	}
	climb(l);
}

static void
step(struct d01_caa_lookup *l)
{
	switch (l->st) {
	case C_SOA:
		ask(l, l->zone, LDNS_RR_TYPE_SOA, 1, &l->resolver,
		    discovery_reply);
		break;
	case C_NS:
		ask(l, l->zone, LDNS_RR_TYPE_NS, 1, &l->resolver,
		    discovery_reply);
		break;
	case C_ADDR:
		ask(l, l->ns[l->next_ns],
		    l->want_aaaa ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A, 1,
		    &l->resolver, addr_reply);
		break;
	case C_ASK:
		ask(l, l->q, LDNS_RR_TYPE_CAA, 0, &l->srv[l->next_srv],
		    caa_reply);
		break;
	}
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct d01_caa_lookup *l = arg;
	struct timeval tv;

	(void)fd;
	(void)what;
	if (!l->started) {
		l->started = 1;
		/* From now on the timer is the deadline. */
		tv.tv_sec = l->timeout_ms / 1000;
		tv.tv_usec = (l->timeout_ms % 1000) * 1000;
		evtimer_add(l->timer, &tv);
		step(l);
		return;
	}
	finish(l, D01_E_TIMEOUT, "CAA lookup for %s: timed out", l->cur);
}

struct d01_caa_lookup *
d01_caa_lookup_start(struct event_base *base, struct d01_dns *dns,
    const struct d01_caa_lookup_opts *o, d01_caa_fn cb, void *arg,
    struct d01_error *err)
{
	struct d01_caa_lookup *l;
	struct timeval now = {0, 0};
	const char *name = o->name;
	size_t i;

	if (name != NULL && strncmp(name, "*.", 2) == 0)
		name += 2;
	if (name == NULL ||
	    d01_dname_normalise(
		(char[D01_DNAME_BUF]){0}, D01_DNAME_BUF, name) != 0 ||
	    (o->nservers == 0 && o->resolver == NULL) ||
	    o->nservers > D01_CAA_MAX_SERVERS || o->timeout_ms <= 0) {
		d01_error_set(err, D01_E_CONFIG,
		    "CAA lookup: need a valid name, a timeout, and "
		    "nameservers or a resolver");
		return NULL;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->timer = evtimer_new(base, timer_cb, l)) == NULL) {
		free(l);
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	l->base = base;
	l->dns = dns;
	d01_dname_normalise(l->cur, sizeof(l->cur), name);
	snprintf(l->q, sizeof(l->q), "%s", l->cur);
	l->ns_port = o->ns_port > 0 ? o->ns_port : 53;
	if (o->resolver != NULL)
		l->resolver = *o->resolver;
	for (i = 0; i < o->nservers; i++)
		l->srv[i] = o->servers[i];
	l->nsrv = o->nservers;
	l->explicit_srv = o->nservers > 0;
	l->st = l->explicit_srv ? C_ASK : C_SOA;
	snprintf(l->zone, sizeof(l->zone), "%s", l->explicit_srv ? "" : l->q);
	l->cb = cb;
	l->arg = arg;
	/* The first step runs from the loop, never inside this call. */
	l->timeout_ms = o->timeout_ms;
	evtimer_add(l->timer, &now);
	return l;
}
