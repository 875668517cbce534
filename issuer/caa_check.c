/* SPDX-License-Identifier: ISC */
/* The CAA pre-check (caa_check.h): the judge, and the lookups of every
 * name of the due certificates, at most MAX_INFLIGHT at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "issuer/caa_check.h"
#include "issuer/issue.h"

#define MAX_INFLIGHT 8

/* Tags whose meaning we know (RFC 8659 §4, RFC 9495): a critical property
 * with any other tag forbids issuance (RFC 8659 §4.1). */
static int
tag_known(const char *tag)
{
	static const char *const known[] = {"issue", "issuewild", "iodef",
	    "contactemail", "contactphone", "issuemail", "issuevmc"};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(tag, known[i]) == 0)
			return 1;
	return 0;
}

/* validationmethods: a comma-separated list of method labels. */
static int
methods_allow_dns01(const char *list)
{
	const char *p = list, *e;

	for (;;) {
		e = strchr(p, ',');
		if ((e ? (size_t)(e - p) : strlen(p)) == 6 &&
		    strncmp(p, "dns-01", 6) == 0)
			return 1;
		if (e == NULL)
			return 0;
		p = e + 1;
	}
}

static int
id_known(const char *domain, const char *const *ids, size_t nids)
{
	size_t i;

	for (i = 0; domain[0] != '\0' && i < nids; i++)
		if (strcasecmp(domain, ids[i]) == 0)
			return 1;
	return 0;
}

/* Append "; rec" for every property of `kind` (NULL: critical unknown). */
static void
quote(char *out, size_t len, const char *owner,
    const struct d01_caa_prop *props, size_t n, const char *kind)
{
	char rec[300];
	size_t i, o = strlen(out);
	int first = 1;

	for (i = 0; i < n && o + 4 < len; i++) {
		if (kind != NULL ? strcmp(props[i].tag, kind) != 0
				 : (!(props[i].flags & D01_CAA_CRITICAL) ||
				       tag_known(props[i].tag)))
			continue;
		d01_caa_prop_text(&props[i], owner, rec, sizeof(rec));
		o += (size_t)snprintf(
		    out + o, len - o, "%s%s", first ? "" : "; ", rec);
		first = 0;
		if (o >= len)
			o = len - 1;
	}
}

enum d01_err
d01_caa_judge(const char *name, const char *owner,
    const struct d01_caa_prop *props, size_t n, const char *const *ids,
    size_t nids, const char *account, struct d01_error *err)
{
	struct d01_caa_issue v;
	const char *kind, *acct, *meth;
	char reason[200], recs[400] = "";
	size_t i, relevant = 0;
	int wild = strncmp(name, "*.", 2) == 0, any_wild = 0, bad_acct = 0,
	    bad_meth = 0;

	for (i = 0; i < n; i++) {
		if ((props[i].flags & D01_CAA_CRITICAL) &&
		    !tag_known(props[i].tag)) {
			quote(recs, sizeof(recs), owner, props, n, NULL);
			return d01_error_set(err, D01_E_FORBIDDEN,
			    "CAA at %s forbids %s: a critical property we do "
			    "not understand: %s",
			    owner, name, recs);
		}
		any_wild |= strcmp(props[i].tag, "issuewild") == 0;
	}
	/* RFC 8659 §4.3: issuewild, when present, replaces issue for
	 * wildcard names. */
	kind = wild && any_wild ? "issuewild" : "issue";
	for (i = 0; i < n; i++) {
		if (strcmp(props[i].tag, kind) != 0)
			continue;
		relevant++;
		if (d01_caa_issue_parse(
			props[i].value, props[i].value_len, &v) != 0 ||
		    !id_known(v.domain, ids, nids))
			continue;
		/* RFC 8657 §3 and §4: each narrows this property only. */
		acct = d01_caa_issue_param(&v, "accounturi");
		meth = d01_caa_issue_param(&v, "validationmethods");
		if (acct != NULL &&
		    (account == NULL || strcmp(acct, account))) {
			bad_acct = 1;
			continue;
		}
		if (meth != NULL && !methods_allow_dns01(meth)) {
			bad_meth = 1;
			continue;
		}
		return D01_OK;
	}
	if (relevant == 0)
		return D01_OK; /* no property of this kind: no restriction */
	if (bad_acct)
		snprintf(reason, sizeof(reason),
		    "its accounturi is not this account (%.120s)",
		    account ? account : "unknown");
	else if (bad_meth)
		snprintf(reason, sizeof(reason),
		    "its validationmethods do not include dns-01");
	else
		snprintf(reason, sizeof(reason),
		    "no %s property names this CA (%.60s%s)", kind,
		    nids ? ids[0] : "", nids > 1 ? ", ..." : "");
	quote(recs, sizeof(recs), owner, props, n, kind);
	return d01_error_set(err, D01_E_FORBIDDEN,
	    "CAA at %s forbids %s: %s: %s", owner, name, reason, recs);
}

struct item {
	struct d01_caa_check *c;
	struct d01_issue_job *job;
	const char *name;
	struct d01_caa_lookup *l;
};

struct d01_caa_check {
	struct d01_caa_check_opts o;
	struct item *items;
	size_t nitems, next, inflight;
	struct event *ev; /* delivers `done` when nothing was to check */
	void (*done)(void *arg);
	void *arg;
};

void
d01_caa_check_cancel(struct d01_caa_check *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nitems; i++)
		d01_caa_lookup_cancel(c->items[i].l);
	if (c->ev != NULL)
		event_free(c->ev);
	free(c->items);
	free(c);
}

static void
refuse(struct d01_issue_job *job, const struct d01_error *err)
{
	if (job->result.code != D01_OK)
		return;
	job->result = *err;
	job->finished = 1;
}

static void launch(struct d01_caa_check *c);

static void
deliver(struct d01_caa_check *c)
{
	void (*done)(void *) = c->done;
	void *arg = c->arg;

	d01_caa_check_cancel(c);
	done(arg);
}

static void
lookup_done(void *arg, const struct d01_error *err, const char *owner,
    const struct d01_caa_prop *props, size_t n)
{
	struct item *it = arg;
	struct d01_caa_check *c = it->c;
	struct d01_error e;

	it->l = NULL;
	c->inflight--;
	d01_error_clear(&e);
	if (err->code != D01_OK) {
		e = *err;
		d01_error_prefix(&e, "CAA pre-check for %s: ", it->name);
		snprintf(e.msg + strlen(e.msg), sizeof(e.msg) - strlen(e.msg),
		    " (--skip-caa-check skips it)");
		refuse(it->job, &e);
	} else if (d01_caa_judge(it->name, owner, props, n, c->o.ids, c->o.nids,
		       c->o.account, &e) != D01_OK) {
		refuse(it->job, &e);
	}
	launch(c);
}

/* Start lookups up to the bound; deliver when all are in. */
static void
launch(struct d01_caa_check *c)
{
	struct d01_caa_lookup_opts lo = {0};
	struct d01_error err;
	struct item *it;

	while (c->inflight < MAX_INFLIGHT && c->next < c->nitems) {
		it = &c->items[c->next++];
		if (it->job->result.code != D01_OK)
			continue; /* refused already */
		lo.name = it->name;
		lo.servers = c->o.servers;
		lo.nservers = c->o.nservers;
		lo.resolver = c->o.resolver;
		lo.ns_port = c->o.ns_port;
		lo.timeout_ms = c->o.timeout_ms;
		d01_error_clear(&err);
		it->l = d01_caa_lookup_start(
		    c->o.base, c->o.dns, &lo, lookup_done, it, &err);
		if (it->l == NULL) {
			d01_error_prefix(
			    &err, "CAA pre-check for %s: ", it->name);
			refuse(it->job, &err);
		} else {
			c->inflight++;
		}
	}
	if (c->inflight == 0 && c->next == c->nitems) {
		if (c->ev == NULL)
			deliver(c);
		else /* still inside start: from the loop */
			event_active(c->ev, EV_TIMEOUT, 0);
	}
}

static void
ev_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	deliver(arg);
}

struct d01_caa_check *
d01_caa_check_start(const struct d01_caa_check_opts *o,
    struct d01_issue_job *jobs, size_t njobs, void (*done)(void *arg),
    void *arg, struct d01_error *err)
{
	struct d01_caa_check *c = calloc(1, sizeof(*c));
	size_t i, j, n = 0;

	for (i = 0; i < njobs; i++)
		n += jobs[i].due == 1 ? jobs[i].nnames : 0;
	if (c == NULL ||
	    (c->items = calloc(n ? n : 1, sizeof(*c->items))) == NULL ||
	    (c->ev = event_new(o->base, -1, 0, ev_cb, c)) == NULL) {
		d01_caa_check_cancel(c);
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	c->o = *o;
	c->done = done;
	c->arg = arg;
	for (i = 0; i < njobs; i++)
		for (j = 0; jobs[i].due == 1 && j < jobs[i].nnames; j++) {
			c->items[c->nitems].c = c;
			c->items[c->nitems].job = &jobs[i];
			c->items[c->nitems++].name = jobs[i].names[j];
		}
	launch(c);
	if (c->next == c->nitems && c->inflight == 0)
		return c; /* delivery pending on c->ev */
	/* From here on `done` is called directly from a lookup's callback,
	 * which already runs from the loop. */
	event_free(c->ev);
	c->ev = NULL;
	return c;
}
