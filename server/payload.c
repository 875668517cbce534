/* SPDX-License-Identifier: ISC */
/* ChallengePayload decoding and validation; see payload.h. */
#include <stdio.h>
#include <string.h>

#include "server/payload.h"

/*
 * Optional string member: NULL when absent or null, else the string; -1
 * (with why filled) when present with another type or too long.
 */
static int
opt_string(json_t *obj, const char *key, size_t max, const char **out,
    char *why, size_t whylen)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		snprintf(why, whylen, "request.%s must be a string", key);
		return -1;
	}
	if (json_string_length(v) > max) {
		snprintf(why, whylen, "request.%s is longer than %zu bytes",
		    key, max);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* A TXT value we are willing to publish: printable ASCII, 1..255 bytes. */
static int
key_valid(const char *k)
{
	size_t n = strlen(k), i;

	for (i = 0; i < n; i++)
		if ((unsigned char)k[i] < 0x20 || (unsigned char)k[i] > 0x7e)
			return 0;
	return n > 0 && n <= 255;
}

/* Fill the call from `request`; returns 0, or -1 with why filled. */
static int
decode_request(struct d01_payload *c, json_t *r, char *why, size_t whylen)
{
	const char *uid, *action, *type, *dns_name, *key, *ns, *fqdn, *zone;
	json_t *amb = json_object_get(r, "allowAmbientCredentials");

	if (opt_string(r, "uid", sizeof(c->uid) - 1, &uid, why, whylen) ||
	    opt_string(r, "action", 16, &action, why, whylen) ||
	    opt_string(r, "type", 16, &type, why, whylen) ||
	    opt_string(r, "dnsName", 253, &dns_name, why, whylen) ||
	    opt_string(r, "key", 4096, &key, why, whylen) ||
	    opt_string(r, "resourceNamespace", 253, &ns, why, whylen) ||
	    opt_string(r, "resolvedFQDN", 1024, &fqdn, why, whylen) ||
	    opt_string(r, "resolvedZone", 1024, &zone, why, whylen))
		return -1;
	if (action == NULL ||
	    (strcmp(action, "Present") != 0 &&
		strcmp(action, "CleanUp") != 0)) {
		snprintf(why, whylen,
		    "request.action must be \"Present\" or \"CleanUp\"");
		return -1;
	}
	c->present = action[0] == 'P';
	if (type != NULL && strcmp(type, "dns-01") != 0) {
		snprintf(why, whylen, "request.type must be \"dns-01\"");
		return -1;
	}
	if (amb != NULL && !json_is_boolean(amb) && !json_is_null(amb)) {
		snprintf(why, whylen,
		    "request.allowAmbientCredentials must be a boolean");
		return -1;
	}
	if (key == NULL || !key_valid(key)) {
		snprintf(why, whylen,
		    "request.key must be 1 to 255 printable "
		    "ASCII characters");
		return -1;
	}
	if (fqdn == NULL ||
	    d01_dname_normalise(c->fqdn, sizeof(c->fqdn), fqdn) != 0) {
		snprintf(why, whylen,
		    "request.resolvedFQDN must be a valid domain name");
		return -1;
	}
	if (zone != NULL &&
	    (d01_dname_normalise(c->zone, sizeof(c->zone), zone) != 0 ||
		!d01_dname_in_zone(c->fqdn, c->zone))) {
		snprintf(why, whylen,
		    "request.resolvedZone must be a domain "
		    "name containing resolvedFQDN");
		return -1;
	}
	snprintf(c->uid, sizeof(c->uid), "%s", uid ? uid : "");
	c->ch.uid = c->uid;
	c->ch.dns_name = dns_name ? dns_name : "";
	c->ch.fqdn = c->fqdn;
	c->ch.zone = zone ? c->zone : NULL;
	c->ch.key = key;
	c->ch.namespace = ns ? ns : "";
	c->ch.allow_ambient = json_is_true(amb);
	return 0;
}

/* Check the envelope; returns `request` (borrowed) or NULL with why. */
static json_t *
decode_payload(json_t *root, char *why, size_t whylen)
{
	json_t *v, *r;

	if (!json_is_object(root)) {
		snprintf(why, whylen, "body must be a JSON object");
		return NULL;
	}
	v = json_object_get(root, "apiVersion");
	if (v != NULL &&
	    (!json_is_string(v) ||
		strcmp(json_string_value(v), D01_PAYLOAD_API_VERSION))) {
		snprintf(why, whylen,
		    "the API version in the data (%.100s) does not match the "
		    "expected API version (" D01_PAYLOAD_API_VERSION ")",
		    json_is_string(v) ? json_string_value(v) : "?");
		return NULL;
	}
	v = json_object_get(root, "kind");
	if (v != NULL &&
	    (!json_is_string(v) ||
		strcmp(json_string_value(v), D01_PAYLOAD_KIND) != 0)) {
		snprintf(why, whylen, "kind must be " D01_PAYLOAD_KIND);
		return NULL;
	}
	if (!json_is_object(r = json_object_get(root, "request"))) {
		snprintf(why, whylen,
		    "request is required and must be an "
		    "object");
		return NULL;
	}
	return r;
}

int
d01_payload_decode(const char *body, size_t len, struct d01_payload *p,
    char *why, size_t whylen)
{
	json_t *root, *r;
	json_error_t jerr;

	memset(p, 0, sizeof(*p));
	if (len == 0) {
		snprintf(why, whylen, "empty request body");
		return -1;
	}
	/* Duplicate keys are how two parsers disagree about one request. */
	if ((root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		snprintf(why, whylen, "invalid JSON at line %d: %.200s",
		    jerr.line, jerr.text);
		return -1;
	}
	if ((r = decode_payload(root, why, whylen)) == NULL) {
		json_decref(root);
		return -1;
	}
	p->request = json_incref(r);
	json_decref(root);
	if (decode_request(p, r, why, whylen) != 0) {
		d01_payload_clear(p);
		return -1;
	}
	p->config = json_object_get(r, "config");
	if (json_is_null(p->config))
		p->config = NULL;
	return 0;
}

void
d01_payload_clear(struct d01_payload *p)
{
	json_decref(p->request);
	memset(p, 0, sizeof(*p));
}
