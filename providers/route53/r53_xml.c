/* SPDX-License-Identifier: ISC */
/* Route 53 XML: reading zones, record sets and errors; writing change
 * batches (element order matters to the API). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "core/dname.h"
#include "core/xml.h"
#include "providers/route53/route53.h"

/* Route 53 answers with the FQDN, trailing dot, lower case (it escapes
 * odd bytes as \ooo, which an ACME name never has). */
static int
same_name(const char *a, const char *fqdn)
{
	char n[D01_DNAME_BUF];

	return d01_dname_normalise(n, sizeof(n), a) == 0 &&
	    strcmp(n, fqdn) == 0;
}

int
r53_parse_zones(const char *body, size_t len, const char *fqdn, char *zone_id,
    size_t idlen, struct d01_error *err)
{
	struct d01_xml *root = d01_xml_parse(body, len, err), *z;
	char name[D01_DNAME_BUF];
	size_t best = 0;
	const char *id;

	if (root == NULL)
		return -1;
	for (z = d01_xml_path(root, "HostedZones/HostedZone"); z != NULL;
	     z = d01_xml_next_same(z)) {
		const char *zn = d01_xml_text(z, "Name");
		const char *priv = d01_xml_text(z, "Config/PrivateZone");

		/* Public zones only: a private one is not what the CA sees. */
		if (zn == NULL || (priv && strcmp(priv, "true") == 0) ||
		    d01_dname_normalise(name, sizeof(name), zn) != 0 ||
		    !d01_dname_in_zone(fqdn, name) || strlen(name) <= best)
			continue;
		if ((id = d01_xml_text(z, "Id")) == NULL)
			continue;
		if (strncmp(id, "/hostedzone/", 12) == 0)
			id += 12;
		snprintf(zone_id, idlen, "%s", id);
		best = strlen(name);
	}
	d01_xml_free(root);
	if (best == 0)
		d01_error_set(err, D01_E_NOTFOUND,
		    "no public hosted zone contains this name");
	return best > 0 ? 0 : -1;
}

/* "\"abc\"" -> abc, undoing \" and \\ escapes. */
static void
unquote(const char *v, char *out, size_t cap)
{
	size_t o = 0;

	if (*v == '"')
		v++;
	for (; *v != '\0' && o + 1 < cap; v++) {
		if (*v == '\\' && v[1] != '\0')
			v++;
		else if (*v == '"')
			continue; /* closing quote, or between strings */
		out[o++] = *v;
	}
	out[o] = '\0';
}

int
r53_parse_sets(const char *body, size_t len, const char *fqdn,
    struct r53_set *sets, int max, struct d01_error *err)
{
	struct d01_xml *root = d01_xml_parse(body, len, err), *s, *r;
	int n = 0;

	if (root == NULL)
		return -1;
	for (s = d01_xml_path(root, "ResourceRecordSets/ResourceRecordSet");
	     s != NULL && n < max; s = d01_xml_next_same(s)) {
		const char *name = d01_xml_text(s, "Name");
		const char *type = d01_xml_text(s, "Type");
		const char *sid = d01_xml_text(s, "SetIdentifier");
		const char *mv = d01_xml_text(s, "MultiValueAnswer");
		const char *ttl = d01_xml_text(s, "TTL");
		struct r53_set *set = &sets[n];

		if (name == NULL || type == NULL || !same_name(name, fqdn) ||
		    strcmp(type, "TXT") != 0)
			continue;
		memset(set, 0, sizeof(*set));
		snprintf(
		    set->set_id, sizeof(set->set_id), "%s", sid ? sid : "");
		set->multivalue = mv != NULL && strcmp(mv, "true") == 0;
		set->ttl = ttl ? strtol(ttl, NULL, 10) : 300;
		for (r = d01_xml_path(s, "ResourceRecords/ResourceRecord");
		     r != NULL && set->nvalues < R53_MAX_VALUES;
		     r = d01_xml_next_same(r))
			if (d01_xml_text(r, "Value") != NULL)
				unquote(d01_xml_text(r, "Value"),
				    set->values[set->nvalues++],
				    sizeof(set->values[0]));
		n++;
	}
	d01_xml_free(root);
	return n;
}

int
r53_parse_error(
    const char *body, size_t len, long status, struct d01_error *err)
{
	struct d01_error perr;
	struct d01_xml *root = d01_xml_parse(body, len, &perr);
	const char *code = NULL, *msg = NULL;
	int icb = 0;

	if (root != NULL && strcmp(root->name, "InvalidChangeBatch") == 0) {
		code = "InvalidChangeBatch";
		msg = d01_xml_text(root, "Messages/Message");
	} else if (root != NULL) {
		code = d01_xml_text(root, "Error/Code");
		msg = d01_xml_text(root, "Error/Message");
	}
	icb = code != NULL && strcmp(code, "InvalidChangeBatch") == 0;
	/* Throttling comes as HTTP 400 on Route 53: retry it ourselves. */
	if (code != NULL &&
	    (strcmp(code, "Throttling") == 0 ||
		strcmp(code, "PriorRequestNotComplete") == 0))
		icb = 2;
	d01_error_set(err,
	    status == 403				  ? D01_E_AUTH
		: code && strcmp(code, "Throttling") == 0 ? D01_E_RATELIMIT
							  : D01_E_UPSTREAM,
	    "HTTP %ld: %.60s: %.200s", status, code ? code : "error",
	    msg ? msg : "(no message)");
	err->status = status;
	d01_xml_free(root);
	return icb;
}

/* A TXT value in Route 53's format ("..." with \" and \\), XML-escaped. */
static void
add_value(struct evbuffer *b, const char *v)
{
	char q[600] = "\"", x[2000] = "";
	size_t o = 1;

	for (; *v != '\0' && o + 3 < sizeof(q); v++) {
		if (*v == '"' || *v == '\\')
			q[o++] = '\\';
		q[o++] = *v;
	}
	q[o++] = '"';
	q[o] = '\0';
	d01_xml_escape(x, sizeof(x), q);
	evbuffer_add_printf(
	    b, "<ResourceRecord><Value>%s</Value></ResourceRecord>", x);
}

static void
add_change(struct evbuffer *b, const char *action, const char *fqdn,
    const struct r53_set *s)
{
	char sid[1000] = "";
	int i;

	evbuffer_add_printf(b,
	    "<Change><Action>%s</Action><ResourceRecordSet><Name>%s</Name>"
	    "<Type>TXT</Type>",
	    action, fqdn);
	if (s->set_id[0] != '\0') {
		d01_xml_escape(sid, sizeof(sid), s->set_id);
		evbuffer_add_printf(
		    b, "<SetIdentifier>%s</SetIdentifier>", sid);
	}
	if (s->multivalue)
		evbuffer_add_printf(b,
		    "<MultiValueAnswer>true"
		    "</MultiValueAnswer>");
	evbuffer_add_printf(b, "<TTL>%ld</TTL><ResourceRecords>", s->ttl);
	for (i = 0; i < s->nvalues; i++)
		add_value(b, s->values[i]);
	evbuffer_add_printf(b,
	    "</ResourceRecords></ResourceRecordSet>"
	    "</Change>");
}

static int
has_value(const struct r53_set *s, const char *v)
{
	int i;

	for (i = 0; i < s->nvalues; i++)
		if (strcmp(s->values[i], v) == 0)
			return 1;
	return 0;
}

/* Plan the changes; returns how many went into b. */
static int
plan(struct evbuffer *b, const char *fqdn, const struct r53_set *sets,
    int nsets, const char *value, int present, unsigned ttl)
{
	struct r53_set next;
	int i, mv = 0;

	for (i = 0; i < nsets; i++)
		mv |= sets[i].set_id[0] != '\0';
	memset(&next, 0, sizeof(next));
	if (mv) { /* one multivalue set per value, keyed by the value */
		snprintf(next.set_id, sizeof(next.set_id), "\"%s\"", value);
		for (i = 0; i < nsets; i++)
			if (strcmp(sets[i].set_id, next.set_id) == 0)
				break;
		if (present == (i < nsets))
			return 0;
		if (!present) {
			add_change(b, "DELETE", fqdn, &sets[i]);
			return 1;
		}
		next.multivalue = 1;
		next.ttl = ttl;
		next.nvalues = 1;
		snprintf(next.values[0], sizeof(next.values[0]), "%s", value);
		add_change(b, "CREATE", fqdn, &next);
		return 1;
	}
	if (nsets == 0 || !has_value(&sets[0], value)) {
		if (!present)
			return 0;
		if (nsets == 0) {
			next.ttl = ttl;
		} else {
			next = sets[0]; /* keep the owner's TTL */
			if (next.nvalues == R53_MAX_VALUES)
				return -1;
			add_change(b, "DELETE", fqdn, &sets[0]);
		}
		snprintf(next.values[next.nvalues++], sizeof(next.values[0]),
		    "%s", value);
		add_change(b, "CREATE", fqdn, &next);
		return 1;
	}
	if (present)
		return 0;
	/* Compare-and-swap: DELETE must match exactly what is there. */
	add_change(b, "DELETE", fqdn, &sets[0]);
	for (i = 0; i < sets[0].nvalues; i++)
		if (strcmp(sets[0].values[i], value) != 0)
			memcpy(next.values[next.nvalues++], sets[0].values[i],
			    sizeof(next.values[0]));
	if (next.nvalues > 0) {
		next.ttl = sets[0].ttl;
		add_change(b, "CREATE", fqdn, &next);
	}
	return 1;
}

char *
r53_change_batch(const char *fqdn, const struct r53_set *sets, int nsets,
    const char *value, int present, unsigned ttl, int *noop)
{
	struct evbuffer *b = evbuffer_new();
	char *out = NULL;
	size_t n;
	int rc;

	*noop = 0;
	if (b == NULL)
		return NULL;
	evbuffer_add_printf(b,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<ChangeResourceRecordSetsRequest xmlns=\"https://route53."
	    "amazonaws.com/doc/2013-04-01/\"><ChangeBatch><Comment>dns01 %s"
	    "</Comment><Changes>",
	    present ? "present" : "cleanup");
	rc = plan(b, fqdn, sets, nsets, value, present, ttl);
	if (rc == 0)
		*noop = 1;
	if (rc > 0) {
		evbuffer_add_printf(b,
		    "</Changes></ChangeBatch>"
		    "</ChangeResourceRecordSetsRequest>");
		n = evbuffer_get_length(b);
		if ((out = malloc(n + 1)) != NULL) {
			evbuffer_remove(b, out, n);
			out[n] = '\0';
		}
	}
	evbuffer_free(b);
	return out;
}

int
r53_parse_change(
    const char *body, size_t len, char *id, size_t idlen, int *insync)
{
	struct d01_error err;
	struct d01_xml *root = d01_xml_parse(body, len, &err);
	const char *i = d01_xml_text(root, "ChangeInfo/Id");
	const char *st = d01_xml_text(root, "ChangeInfo/Status");
	int rc = -1;

	if (i != NULL && st != NULL) {
		if (strncmp(i, "/change/", 8) == 0)
			i += 8;
		snprintf(id, idlen, "%s", i);
		*insync = strcmp(st, "INSYNC") == 0;
		rc = 0;
	}
	d01_xml_free(root);
	return rc;
}
