/* SPDX-License-Identifier: ISC */
/*
 * Which Cloudflare zone holds the name: the pinned zoneID, else the
 * client's memo, else GET /zones?name= for resolvedZone first (cert-manager
 * found it by SOA; every call for the zone asks the same question, so a
 * burst costs one request: the first asker leads and the others wait on
 * the memo), then the FQDN and each parent. Found IDs are remembered per
 * API and credential, names that are no zone briefly too, and a
 * remembered ID the API no longer knows is forgotten and looked up again.
 */
#include <string.h>

#include "core/log.h"
#include "providers/cloudflare/cf_int.h"

#define ZONE_TTL_MS   300000 /* zone IDs are remembered 5 minutes */
#define NOZONE_TTL_MS 60000  /* and names that are no zone, 1 minute */

/* Memo key of a zone: per API, per credential, per zone name. Safe across
 * tenants (issue 12 audit): cred_tag digests the WHOLE credential (email
 * and key, or the token), so knowing another tenant's email or token
 * prefix finds nothing, and a hit only saves the lookup: every later
 * request is still sent with the caller's own credential. */
static void
zone_key(const struct cf_op *o, const char *zone, char *key, size_t n)
{
	snprintf(
	    key, n, "cloudflare|%s|%s|%s", o->cfg->base_url, o->cred_tag, zone);
}

/*
 * The next zone candidate: resolvedZone first (cert-manager found it by
 * SOA, and every call for the zone then asks the same question), then the
 * FQDN and each parent, skipping wildcards and TLDs. 0, or -1 when none
 * is left.
 */
static int
next_candidate(struct cf_op *o)
{
	const char *c, *dot;

	if (!o->tried_resolved && o->zone[0] != '\0') {
		o->tried_resolved = 1;
		snprintf(o->candidate, sizeof(o->candidate), "%s", o->zone);
		return 0;
	}
	o->tried_resolved = 1;
	while (o->walk < strlen(o->name)) {
		c = o->name + o->walk;
		dot = strchr(c, '.');
		o->walk = dot ? (size_t)(dot - o->name) + 1 : strlen(o->name);
		if (dot == NULL || strncmp(c, "*.", 2) == 0 ||
		    strcmp(c, o->zone) == 0)
			continue;
		snprintf(o->candidate, sizeof(o->candidate), "%s", c);
		return 0;
	}
	return -1;
}

/* The zone ID is known: note where it came from, go list. */
static void
zone_found(struct cf_op *o, const char *id, const char *source)
{
	char quid[80], qzone[300], qid[80];

	snprintf(o->zone_id, sizeof(o->zone_id), "%s", id);
	if (strcmp(source, "config") == 0 && o->zone[0] == '\0')
		snprintf(o->candidate, sizeof(o->candidate), "zoneID %s", id);
	d01_log(D01_LOG_DEBUG, "cloudflare_zone",
	    "uid=%s zone=%s id=%s source=%s",
	    d01_log_quote(quid, sizeof(quid), o->uid),
	    d01_log_quote(qzone, sizeof(qzone), o->candidate),
	    d01_log_quote(qid, sizeof(qid), o->zone_id), source);
	o->st = CF_LIST;
	o->page = 1;
}

static void
no_zone(struct cf_op *o, struct d01_error *err)
{
	o->candidate[0] = '\0';
	d01_error_set(err, D01_E_NOTFOUND,
	    "no Cloudflare zone contains this name (does the token have "
	    "Zone:Read on it?)");
}

/* Stop waiting on another op's lookup; give up ours if we lead one. */
void
cf_zone_release(struct cf_op *o)
{
	char key[1024];

	d01_http_memo_unwait(&o->wait);
	if (o->leading) {
		o->leading = 0;
		zone_key(o, o->candidate, key, sizeof(key));
		d01_http_memo_abandon(o->env->http, key);
	}
}

/*
 * The lookup we waited on ended. When its leader gave up (cancelled, or
 * the request failed) we queue once more, so one new leader asks; if that
 * one gives up too, every op asks for itself.
 */
static void
zone_waited(void *arg, int found)
{
	struct cf_op *o = arg;

	if (!found)
		o->solo = o->abandoned++ > 0;
	cf_step(o);
}

void
cf_zone_reply(struct cf_op *o, json_t *res, struct d01_error *err)
{
	char id[CF_ID_MAX], key[1024];

	if (res == NULL)
		return; /* err says why */
	zone_key(o, o->candidate, key, sizeof(key));
	o->leading = 0; /* the put below ends our lookup for the waiters */
	if (cf_zone_pick(res, o->candidate, id, sizeof(id)) == 0) {
		d01_http_memo_put(o->env->http, key, id, ZONE_TTL_MS);
		zone_found(o, id, "api");
		return;
	}
	/* Not a zone: remembered as "" so waiters and later calls move on. */
	d01_http_memo_put(o->env->http, key, "", NOZONE_TTL_MS);
	if (next_candidate(o) != 0) {
		no_zone(o, err);
	}
}

/* A remembered zone ID the API no longer knows: forget it, look again. */
int
cf_zone_stale(struct cf_op *o, long status, int code)
{
	char key[1024];

	/* Only the first call with a remembered ID can tell: the listing.
	 * (A 404 on DELETE means the record is gone, not the zone.) */
	if (!o->zone_from_memo || o->st != CF_LIST ||
	    (status != 404 && code != 7003))
		return 0;
	zone_key(o, o->candidate, key, sizeof(key));
	d01_http_memo_forget(o->env->http, key);
	o->zone_from_memo = 0;
	o->tried_resolved = 0;
	o->walk = 0;
	next_candidate(o);
	o->st = CF_ZONE;
	return 1;
}

/* The zone of the current candidate: memo (or wait for the op already
 * asking), else ask the API, leading the others that come meanwhile. */
void
cf_zone_step(struct cf_op *o)
{
	char key[1024], id[CF_ID_MAX], q[3 * D01_DNAME_BUF], path[1024];
	enum d01_http_memo_res r;
	struct d01_error err;

	if (o->cfg->zone_id != NULL) {
		zone_found(o, o->cfg->zone_id, "config");
		cf_step(o);
		return;
	}
	for (;;) {
		zone_key(o, o->candidate, key, sizeof(key));
		if (o->solo)
			r = d01_http_memo_get(
				o->env->http, key, id, sizeof(id)) == 0
			    ? D01_HTTP_MEMO_HIT
			    : D01_HTTP_MEMO_LEAD;
		else
			r = d01_http_memo_lookup(o->env->http, key, id,
			    sizeof(id), &o->wait, zone_waited, o);
		if (r == D01_HTTP_MEMO_WAIT) {
			d01_op_step(&o->op,
			    "waiting for another request's lookup of zone %s",
			    o->candidate);
			return;
		}
		if (r == D01_HTTP_MEMO_LEAD)
			break;
		if (id[0] != '\0') {
			o->zone_from_memo = 1;
			zone_found(o, id, "memo");
			cf_step(o);
			return;
		}
		if (next_candidate(o) != 0) { /* remembered: no zone */
			no_zone(o, &err);
			cf_finish(o, &err);
			return;
		}
	}
	o->leading = !o->solo;
	d01_url_escape(q, sizeof(q), o->candidate);
	snprintf(path, sizeof(path), "/zones?name=%s&per_page=50", q);
	cf_request(o, "GET", path, NULL);
}

void
cf_zone_first(struct cf_op *o)
{
	next_candidate(o);
}
