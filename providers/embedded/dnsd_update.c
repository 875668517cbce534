/* SPDX-License-Identifier: ISC */
/*
 * The decision on a DNS UPDATE (see dnsd_update.h), pure: ldns parses the
 * sections (zone = question, prerequisites = answer, updates =
 * authority), the TSIG RR is checked by dnsd_tsig.c on the raw bytes.
 * Names are compared in the store's form (lower-case, absolute).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>

#include "core/dns.h"
#include "providers/embedded/dnsd.h"
#include "providers/embedded/dnsd_update.h"
#include "providers/embedded/store.h"
#include "providers/embedded/tsigkeys.h"

#define HDR	   12
#define OP_QUERY   0
#define OP_UPDATE  5
#define PLAIN_UDP  512
#define EDNS_LIMIT 1232 /* dnsd_answer.c's own cap */

static int
refuse(struct d01_update *u, int rcode, const char *why)
{
	u->rcode = rcode;
	u->why = why;
	return rcode;
}

/* Lower-case presentation form of a wire name; -1 on failure. */
static int
name_of(const ldns_rdf *rd, char *buf, size_t len)
{
	char *s;
	size_t n, i;

	if (rd == NULL || ldns_rdf_get_type(rd) != LDNS_RDF_TYPE_DNAME ||
	    (s = ldns_rdf2str(rd)) == NULL)
		return -1;
	n = strlen(s);
	if (n + 1 > len) {
		LDNS_FREE(s);
		return -1;
	}
	for (i = 0; i <= n; i++)
		buf[i] = (char)tolower((unsigned char)s[i]);
	LDNS_FREE(s);
	return 0;
}

/* The zone section's end: header plus the one question. 0 if malformed. */
static size_t
zone_end(const uint8_t *q, size_t len)
{
	size_t pos = HDR;

	if (len < HDR || q[4] != 0 || q[5] != 1)
		return 0;
	while (pos < len && q[pos] != 0) {
		if ((q[pos] & 0xc0) != 0)
			return 0; /* nothing to point back to yet */
		pos += 1 + (size_t)q[pos];
	}
	return pos + 5 <= len ? pos + 5 : 0;
}

void
d01_update_check(const struct d01_txtstore *store, const struct d01_keyring *kr,
    const uint8_t *q, size_t len, int64_t now, struct d01_update *u)
{
	const struct d01_txtzone *z;
	ldns_pkt *p = NULL;
	const ldns_rr *zrr;
	size_t off;
	int found;

	memset(u, 0, sizeof(*u));
	u->rcode = -1;
	if (len > D01_UPDATE_MAX_MSG) {
		refuse(u, LDNS_RCODE_FORMERR, "too-long");
		return;
	}
	if ((found = d01_tsig_find(q, len, &off)) < 0 ||
	    d01_dns_parse(q, len, &p) != D01_OK) {
		refuse(u, LDNS_RCODE_FORMERR, "malformed");
		goto out;
	}
	/* TSIG before anything else (RFC 8945 §5.2): nothing about the zones
	 * is told to a client that has not proved its key. */
	if (!found) {
		refuse(u, LDNS_RCODE_REFUSED, "unsigned");
		goto out;
	}
	if (d01_tsig_check(kr, q, len, off, now, &u->tsig) != 0) {
		refuse(u, LDNS_RCODE_FORMERR, "malformed-TSIG");
		goto out;
	}
	u->is_signed = 1;
	if (u->tsig.error != 0) {
		refuse(u, D01_RCODE_NOTAUTH,
		    u->tsig.error == D01_TSIG_E_BADKEY	     ? "BADKEY"
			: u->tsig.error == D01_TSIG_E_BADSIG ? "BADSIG"
							     : "BADTIME");
		goto out;
	}
	/* §3.1.1: exactly one zone, of type SOA. */
	if (ldns_pkt_qdcount(p) != 1 ||
	    (zrr = ldns_rr_list_rr(ldns_pkt_question(p), 0)) == NULL ||
	    ldns_rr_get_type(zrr) != LDNS_RR_TYPE_SOA ||
	    name_of(ldns_rr_owner(zrr), u->zone, sizeof(u->zone)) != 0) {
		refuse(u, LDNS_RCODE_FORMERR, "zone-section");
		goto out;
	}
	/* §3.1.2: a zone we are not authoritative for: NOTAUTH. */
	z = d01_txtstore_find_zone(store, u->zone);
	if (z == NULL || strcmp(z->name, u->zone) != 0 ||
	    ldns_rr_get_class(zrr) != LDNS_RR_CLASS_IN)
		refuse(u, D01_RCODE_NOTAUTH, "zone-not-served");
out:
	ldns_pkt_free(p);
}

/* Does the store, now, hold an RRset of `type` at `name` in zone z? */
static int
rrset_exists(const struct d01_txtstore *store, const struct d01_txtzone *z,
    const char *name, ldns_rr_type type)
{
	size_t n = 0;

	if (type == LDNS_RR_TYPE_SOA || type == LDNS_RR_TYPE_NS)
		return strcmp(name, z->name) == 0;
	if (type == LDNS_RR_TYPE_TXT)
		return d01_txtstore_values(store, name, &n) != NULL && n > 0;
	return 0;
}

/* §3.2.4 "name is in use": at least one RR (an empty non-terminal has
 * none). The apex holds SOA and NS. */
static int
name_in_use(const struct d01_txtstore *store, const struct d01_txtzone *z,
    const char *name)
{
	return rrset_exists(store, z, name, LDNS_RR_TYPE_SOA) ||
	    rrset_exists(store, z, name, LDNS_RR_TYPE_TXT);
}

/* The one character-string of a TXT RR as a C string; -1 when it has
 * several, none, an empty one or a NUL byte (the store cannot hold it). */
static int
txt_value(const ldns_rr *rr, char *out, size_t len)
{
	const ldns_rdf *rd;
	size_t n;

	if (ldns_rr_rd_count(rr) != 1 || (rd = ldns_rr_rdf(rr, 0)) == NULL ||
	    ldns_rdf_get_type(rd) != LDNS_RDF_TYPE_STR || ldns_rdf_size(rd) < 2)
		return -1;
	n = ldns_rdf_data(rd)[0];
	if (n == 0 || n + 1 != ldns_rdf_size(rd) || n + 1 > len ||
	    memchr(ldns_rdf_data(rd) + 1, '\0', n) != NULL)
		return -1;
	memcpy(out, ldns_rdf_data(rd) + 1, n);
	out[n] = '\0';
	return 0;
}

/* The name of rr, inside zone z (not a child zone), into buf; else
 * NOTZONE; -1 when the name cannot be read (FORMERR). */
static int
rr_name(const struct d01_txtstore *store, const struct d01_txtzone *z,
    const ldns_rr *rr, char *buf, size_t len)
{
	if (name_of(ldns_rr_owner(rr), buf, len) != 0)
		return LDNS_RCODE_FORMERR;
	if (d01_txtstore_find_zone(store, buf) != z)
		return D01_RCODE_NOTZONE;
	return 0;
}

/*
 * §3.2.3 value-dependent: every RRset named by the prerequisites with
 * the zone's class must equal the local one. Only TXT (the store's), NS
 * and SOA exist; the latter two are compared by their text.
 */
static int
value_prereqs(const struct d01_txtstore *store, const struct d01_txtzone *z,
    const ldns_rr_list *pre)
{
	char name[D01_DNAME_BUF], other[D01_DNAME_BUF], v[256];
	const char *const *vals;
	size_t i, j, k, n, count, matched;
	const ldns_rr *a, *b;
	ldns_rr_type t;

	for (i = 0; i < ldns_rr_list_rr_count(pre); i++) {
		a = ldns_rr_list_rr(pre, i);
		if (ldns_rr_get_class(a) != LDNS_RR_CLASS_IN)
			continue;
		t = ldns_rr_get_type(a);
		if (name_of(ldns_rr_owner(a), name, sizeof(name)) != 0)
			return LDNS_RCODE_FORMERR;
		/* The set of this (name, type): the distinct values given. */
		count = 0;
		matched = 0;
		for (j = 0; j < ldns_rr_list_rr_count(pre); j++) {
			b = ldns_rr_list_rr(pre, j);
			if (ldns_rr_get_class(b) != LDNS_RR_CLASS_IN ||
			    ldns_rr_get_type(b) != t ||
			    name_of(ldns_rr_owner(b), other, sizeof(other)) ||
			    strcmp(name, other) != 0)
				continue;
			for (k = 0; k < j; k++) /* a duplicate counts once */
				if (ldns_rr_compare(
					ldns_rr_list_rr(pre, k), b) == 0)
					break;
			if (k < j)
				continue;
			count++;
			if (t != LDNS_RR_TYPE_TXT)
				continue;
			if (txt_value(b, v, sizeof(v)) != 0)
				return D01_RCODE_NXRRSET;
			vals = d01_txtstore_values(store, name, &n);
			for (k = 0; k < n; k++)
				if (strcmp(vals[k], v) == 0)
					matched++;
		}
		if (t == LDNS_RR_TYPE_TXT) {
			vals = d01_txtstore_values(store, name, &n);
			if (matched != count || n != count)
				return D01_RCODE_NXRRSET;
		} else if (!rrset_exists(store, z, name, t) || count != 1) {
			return D01_RCODE_NXRRSET;
		} else {
			/* NS: the host; SOA: MNAME (the same host) and
			 * the serial. */
			char *s = ldns_rdf2str(ldns_rr_rdf(a, 0));
			int same;

			same = s != NULL && strcasecmp(s, z->ns) == 0 &&
			    (t == LDNS_RR_TYPE_NS ||
				(ldns_rr_rd_count(a) == 7 &&
				    ldns_rdf2native_int32(ldns_rr_rdf(a, 2)) ==
					z->serial));
			LDNS_FREE(s);
			if (!same)
				return D01_RCODE_NXRRSET;
		}
	}
	return 0;
}

/* §3.2: the prerequisite section, in the RFC's order. */
static int
prereqs(const struct d01_txtstore *store, const struct d01_txtzone *z,
    const ldns_rr_list *pre)
{
	char name[D01_DNAME_BUF];
	size_t i, rdlen;
	const ldns_rr *rr;
	ldns_rr_type t;
	ldns_rr_class c;
	int rc;

	if (ldns_rr_list_rr_count(pre) > D01_UPDATE_MAX_RRS)
		return LDNS_RCODE_REFUSED;
	for (i = 0; i < ldns_rr_list_rr_count(pre); i++) {
		rr = ldns_rr_list_rr(pre, i);
		t = ldns_rr_get_type(rr);
		c = ldns_rr_get_class(rr);
		rdlen = ldns_rr_rd_count(rr);
		if (ldns_rr_ttl(rr) != 0)
			return LDNS_RCODE_FORMERR;
		if ((rc = rr_name(store, z, rr, name, sizeof(name))) != 0)
			return rc;
		if (c == LDNS_RR_CLASS_ANY) {
			if (rdlen != 0)
				return LDNS_RCODE_FORMERR;
			if (t == LDNS_RR_TYPE_ANY) {
				if (!name_in_use(store, z, name))
					return LDNS_RCODE_NXDOMAIN;
			} else if (!rrset_exists(store, z, name, t)) {
				return D01_RCODE_NXRRSET;
			}
		} else if (c == LDNS_RR_CLASS_NONE) {
			if (rdlen != 0)
				return LDNS_RCODE_FORMERR;
			if (t == LDNS_RR_TYPE_ANY) {
				if (name_in_use(store, z, name))
					return D01_RCODE_YXDOMAIN;
			} else if (rrset_exists(store, z, name, t)) {
				return D01_RCODE_YXRRSET;
			}
		} else if (c != LDNS_RR_CLASS_IN) {
			return LDNS_RCODE_FORMERR;
		}
	}
	return value_prereqs(store, z, pre);
}

/* §3.4.1 prescan of one update RR. */
static int
prescan(const ldns_rr *rr)
{
	ldns_rr_type t = ldns_rr_get_type(rr);
	ldns_rr_class c = ldns_rr_get_class(rr);
	int meta = t == LDNS_RR_TYPE_ANY || t == LDNS_RR_TYPE_AXFR ||
	    t == LDNS_RR_TYPE_IXFR || t == LDNS_RR_TYPE_MAILA ||
	    t == LDNS_RR_TYPE_MAILB || t == LDNS_RR_TYPE_OPT ||
	    t == LDNS_RR_TYPE_TSIG;

	if (c == LDNS_RR_CLASS_IN)
		return meta ? LDNS_RCODE_FORMERR : 0;
	if (c == LDNS_RR_CLASS_ANY)
		return ldns_rr_ttl(rr) != 0 || ldns_rr_rd_count(rr) != 0 ||
			(meta && t != LDNS_RR_TYPE_ANY)
		    ? LDNS_RCODE_FORMERR
		    : 0;
	if (c == LDNS_RR_CLASS_NONE)
		return ldns_rr_ttl(rr) != 0 || meta ? LDNS_RCODE_FORMERR : 0;
	return LDNS_RCODE_FORMERR;
}

/* Is (fqdn, value) held once the changes planned so far are applied? */
static int
held_after(const struct d01_txtstore *store, const struct d01_update *u,
    const char *fqdn, const char *value)
{
	const char *const *vals;
	size_t i, n;

	for (i = u->nchanges; i-- > 0;)
		if (strcmp(u->changes[i].fqdn, fqdn) == 0 &&
		    strcmp(u->changes[i].value, value) == 0)
			return u->changes[i].add;
	vals = d01_txtstore_values(store, fqdn, &n);
	for (i = 0; i < n; i++)
		if (strcmp(vals[i], value) == 0)
			return 1;
	return 0;
}

static int
plan_one(struct d01_update *u, int add, const char *fqdn, const char *value)
{
	struct d01_update_change *c;

	if (u->nchanges == D01_UPDATE_MAX_CHANGES)
		return -1;
	c = &u->changes[u->nchanges++];
	c->add = add;
	snprintf(c->fqdn, sizeof(c->fqdn), "%s", fqdn);
	snprintf(c->value, sizeof(c->value), "%s", value);
	return 0;
}

/* Delete the TXT RRset at fqdn: every value held there by then. */
static int
plan_delete_all(
    const struct d01_txtstore *store, struct d01_update *u, const char *fqdn)
{
	const char *const *vals;
	char v[256];
	size_t i, n, planned = u->nchanges;

	vals = d01_txtstore_values(store, fqdn, &n);
	for (i = 0; i < n; i++) {
		snprintf(v, sizeof(v), "%s", vals[i]);
		if (held_after(store, u, fqdn, v) && plan_one(u, 0, fqdn, v))
			return -1;
	}
	for (i = 0; i < planned; i++)
		if (strcmp(u->changes[i].fqdn, fqdn) == 0 &&
		    u->changes[i].add &&
		    held_after(store, u, fqdn, u->changes[i].value) &&
		    plan_one(u, 0, fqdn, u->changes[i].value))
			return -1;
	return 0;
}

/* §3.4.1 prescan and the policy, then §3.4.2 as a list of changes. */
static int
updates(const struct d01_txtstore *store, const struct d01_keyring *kr,
    const struct d01_txtzone *z, struct d01_update *u, const ldns_rr_list *up)
{
	char name[D01_DNAME_BUF], v[256];
	size_t i, n = ldns_rr_list_rr_count(up);
	const ldns_rr *rr;
	int rc;

	if (n > D01_UPDATE_MAX_RRS)
		return refuse(u, LDNS_RCODE_REFUSED, "too-many-updates");
	for (i = 0; i < n; i++) {
		rr = ldns_rr_list_rr(up, i);
		if ((rc = rr_name(store, z, rr, name, sizeof(name))) != 0)
			return refuse(u, rc, "update-name");
		if ((rc = prescan(rr)) != 0)
			return refuse(u, rc, "prescan");
	}
	for (i = 0; i < n; i++) {
		rr = ldns_rr_list_rr(up, i);
		rr_name(store, z, rr, name, sizeof(name));
		if (!d01_keyring_allows(kr, u->tsig.key, z->name, name))
			return refuse(u, LDNS_RCODE_REFUSED, "out-of-policy");
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT)
			return refuse(u, LDNS_RCODE_REFUSED, "not-TXT");
		if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_ANY &&
		    txt_value(rr, v, sizeof(v)) != 0)
			return refuse(
			    u, LDNS_RCODE_REFUSED, "TXT-not-one-string");
	}
	for (i = 0; i < n; i++) {
		rr = ldns_rr_list_rr(up, i);
		rr_name(store, z, rr, name, sizeof(name));
		if (ldns_rr_get_class(rr) == LDNS_RR_CLASS_ANY)
			rc = plan_delete_all(store, u, name);
		else if (txt_value(rr, v, sizeof(v)) != 0)
			rc = -1;
		else if (ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN)
			rc = held_after(store, u, name, v)
			    ? 0
			    : plan_one(u, 1, name, v);
		else /* NONE: remove that one value, if held */
			rc = !held_after(store, u, name, v)
			    ? 0
			    : plan_one(u, 0, name, v);
		if (rc != 0)
			return refuse(
			    u, LDNS_RCODE_REFUSED, "too-many-changes");
	}
	return 0;
}

void
d01_update_plan(const struct d01_txtstore *store, const struct d01_keyring *kr,
    const uint8_t *q, size_t len, struct d01_update *u)
{
	const struct d01_txtzone *z;
	ldns_pkt *p = NULL;
	int rc;

	u->nchanges = 0;
	if ((z = d01_txtstore_find_zone(store, u->zone)) == NULL ||
	    strcmp(z->name, u->zone) != 0) {
		refuse(u, D01_RCODE_NOTAUTH, "zone-not-served");
		return;
	}
	if (d01_dns_parse(q, len, &p) != D01_OK) {
		refuse(u, LDNS_RCODE_FORMERR, "malformed");
		return;
	}
	if ((rc = prereqs(store, z, ldns_pkt_answer(p))) != 0)
		refuse(u, rc, "prerequisite");
	else
		updates(store, kr, z, u, ldns_pkt_authority(p));
	ldns_pkt_free(p);
}

void
d01_update_decide(const struct d01_txtstore *store,
    const struct d01_keyring *kr, const uint8_t *q, size_t len, int64_t now,
    struct d01_update *u)
{
	d01_update_check(store, kr, q, len, now, u);
	if (u->rcode < 0)
		d01_update_plan(store, kr, q, len, u);
}

/* Header (QR, opcode, rcode) and the question/zone section echoed. */
static size_t
reply_head(const uint8_t *q, size_t len, int rcode, uint8_t *out, size_t cap)
{
	size_t end = zone_end(q, len), n = end != 0 ? end : HDR;

	if (len < HDR || cap < n)
		return 0;
	memcpy(out, q, n);
	out[2] = (uint8_t)(0x80 | (q[2] & 0x79)); /* QR, opcode, RD */
	out[3] = (uint8_t)(rcode & 0x0f);
	out[4] = 0;
	out[5] = end != 0;
	memset(out + 6, 0, 6);
	return n;
}

static size_t
reply(const struct d01_tsig_req *tsig, const uint8_t *q, size_t len, int rcode,
    uint8_t *out, size_t cap, int64_t now)
{
	size_t n = reply_head(q, len, rcode, out, cap);

	if (n == 0 || tsig == NULL)
		return n;
	return d01_tsig_sign_reply(tsig, out, n, cap, now);
}

size_t
d01_update_reply(const struct d01_update *u, const uint8_t *q, size_t len,
    int rcode, uint8_t *out, size_t cap, int64_t now)
{
	return reply(
	    u->is_signed ? &u->tsig : NULL, q, len, rcode, out, cap, now);
}

/* The UDP size the client can take (RFC 6891), capped as dnsd_answer.c
 * caps it; the OPT RR sits in the additional section before the TSIG. */
static size_t
udp_limit(const uint8_t *q, size_t off)
{
	size_t pos = HDR, limit = PLAIN_UDP, size;
	unsigned i, total;

	while (pos < off && q[pos] != 0) {
		if ((q[pos] & 0xc0) != 0)
			return limit;
		pos += 1 + (size_t)q[pos];
	}
	pos += 5;
	total = (unsigned)q[6] << 8 | q[7];
	total += ((unsigned)q[8] << 8 | q[9]) + ((unsigned)q[10] << 8 | q[11]);
	for (i = 0; i < total && pos < off; i++) {
		while (pos < off && q[pos] != 0 && (q[pos] & 0xc0) != 0xc0)
			pos += 1 + (size_t)q[pos];
		pos += pos < off && q[pos] != 0 ? 2 : 1;
		if (pos + 10 > off)
			return limit;
		if (q[pos] == 0 && q[pos + 1] == 41) {
			size = (size_t)q[pos + 2] << 8 | q[pos + 3];
			if (size > PLAIN_UDP)
				limit = size < EDNS_LIMIT ? size : EDNS_LIMIT;
		}
		pos += 10 + ((size_t)q[pos + 8] << 8 | q[pos + 9]);
	}
	return limit;
}

size_t
d01_dnsd_signed_answer(const struct d01_txtstore *store,
    const struct d01_keyring *kr, const uint8_t *q, size_t len, uint8_t *out,
    size_t cap, int tcp, int64_t now)
{
	struct d01_tsig_req tsig;
	uint8_t stripped[D01_UPDATE_MAX_MSG];
	size_t off, n, limit, room;

	if (len < HDR || (q[2] & 0x80) != 0)
		return 0;
	if (d01_tsig_find(q, len, &off) != 1 || off > sizeof(stripped) ||
	    d01_tsig_check(kr, q, len, off, now, &tsig) != 0)
		return reply(NULL, q, len, LDNS_RCODE_FORMERR, out, cap, now);
	if (tsig.error != 0)
		return reply(&tsig, q, len, D01_RCODE_NOTAUTH, out, cap, now);
	/* The query as if unsigned: the TSIG RR gone, ARCOUNT one less. */
	memcpy(stripped, q, off);
	n = ((size_t)q[10] << 8 | q[11]) - 1;
	stripped[10] = (uint8_t)(n >> 8);
	stripped[11] = (uint8_t)n;
	limit = tcp ? cap : udp_limit(stripped, off);
	if (limit > cap)
		limit = cap;
	room = d01_tsig_reply_size(&tsig);
	if (limit <= room + HDR)
		return 0;
	n = d01_dnsd_answer(store, stripped, off, out, limit - room, tcp);
	if (n == 0)
		return 0;
	return d01_tsig_sign_reply(&tsig, out, n, limit, now);
}
