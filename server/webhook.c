/* SPDX-License-Identifier: ISC */
/*
 * POST /apis/<group>/v1alpha1/<solver>: decode a ChallengePayload, run
 * Present or CleanUp through the provider, answer with the payload's
 * `response` (webhook-api.md §2.2-§2.6).
 *
 * Malformed requests get a 400 Status; provider failures get a 201 with
 * response.success=false and a message naming the provider, the name and
 * the cause, which cert-manager copies into the Challenge. Every 2xx
 * carries `response`: a 2xx without it crashes cert-manager's controller.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "core/dname.h"
#include "core/log.h"
#include "server/server_int.h"
#include "server/status.h"

#define PAYLOAD_API_VERSION "webhook.acme.cert-manager.io/v1alpha1"
#define PAYLOAD_KIND	    "ChallengePayload"

struct call {
	struct d01_server *srv;
	struct d01_req *req;
	const struct d01_provider *prov;
	json_t *request; /* the decoded `request`, echoed back */
	void *cfg;
	struct d01_op *op;
	int present;
	struct timespec start;
	char uid[128];
	char fqdn[256], zone[256];
	struct d01_challenge ch;
};

static double
ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

static void
call_free(struct call *c)
{
	if (c->cfg != NULL)
		c->prov->config_free(c->cfg);
	json_decref(c->request);
	free(c);
}

/* Reply 201 with the outcome, log it, free the call. */
static void
call_finish(struct call *c, const struct d01_error *err)
{
	char qmsg[D01_ERROR_MSG_MAX + 8], qfqdn[300];
	json_t *resp, *payload;
	char *body;
	int ok = err->code == D01_OK;

	resp = json_pack("{s:s, s:b}", "uid", c->uid, "success", ok);
	if (resp != NULL && !ok)
		json_object_set_new(resp, "status",
		    json_pack("{s:{}, s:s, s:s, s:s, s:i}", "metadata",
			"status", "Failure", "message", err->msg, "reason",
			d01_strerror(err->code), "code", 500));
	payload = json_pack("{s:s, s:s, s:O, s:o}", "kind", PAYLOAD_KIND,
	    "apiVersion", PAYLOAD_API_VERSION, "request", c->request,
	    "response", resp);
	body = payload != NULL ? json_dumps(payload, JSON_COMPACT) : NULL;
	if (body != NULL)
		d01_req_reply(
		    c->req, 201, "application/json", body, strlen(body));
	else
		d01_status_reply(c->req, 500, "out of memory encoding reply");
	d01_log(ok ? D01_LOG_INFO : D01_LOG_WARN, "webhook",
	    "uid=%s action=%s solver=%s fqdn=%s result=%s duration_ms=%.3f%s%s",
	    c->uid[0] ? c->uid : "-", c->present ? "Present" : "CleanUp",
	    c->prov->name, d01_log_quote(qfqdn, sizeof(qfqdn), c->fqdn),
	    ok ? "ok" : "error", ms_since(&c->start), ok ? "" : " error=",
	    ok ? "" : d01_log_quote(qmsg, sizeof(qmsg), err->msg));
	free(body);
	json_decref(payload);
	call_free(c);
}

static void
call_done(void *arg, const struct d01_error *err)
{
	struct call *c = arg;

	c->op = NULL;
	call_finish(c, err);
}

/* Server shutdown deadline: stop the provider; the server replies. */
static void
call_abort(void *arg)
{
	struct call *c = arg;

	d01_provider_cancel(c->op);
	call_free(c);
}

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
decode_request(struct call *c, json_t *r, char *why, size_t whylen)
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
		strcmp(json_string_value(v), PAYLOAD_API_VERSION))) {
		snprintf(why, whylen,
		    "the API version in the data (%.100s) does not match the "
		    "expected API version (" PAYLOAD_API_VERSION ")",
		    json_is_string(v) ? json_string_value(v) : "?");
		return NULL;
	}
	v = json_object_get(root, "kind");
	if (v != NULL &&
	    (!json_is_string(v) ||
		strcmp(json_string_value(v), PAYLOAD_KIND) != 0)) {
		snprintf(why, whylen, "kind must be " PAYLOAD_KIND);
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

static int
content_type_json(const char *ct)
{
	size_t n = strlen("application/json");

	return strncasecmp(ct, "application/json", n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Decode the body into a new call; NULL after replying 4xx itself. */
static struct call *
call_new(struct d01_server *srv, struct d01_req *req,
    const struct d01_provider *prov)
{
	const char *ct = d01_req_header(req, "Content-Type"), *body;
	char why[300];
	struct call *c = NULL;
	json_t *root = NULL, *r;
	json_error_t jerr;
	size_t len;

	if (ct != NULL && !content_type_json(ct)) {
		d01_status_reply(req, 415,
		    "Content-Type must be "
		    "application/json");
		return NULL;
	}
	body = d01_req_body(req, &len);
	if (len == 0) {
		d01_status_reply(req, 400, "empty request body");
		return NULL;
	}
	if ((root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		snprintf(why, sizeof(why), "invalid JSON at line %d: %.200s",
		    jerr.line, jerr.text);
		goto bad;
	}
	if ((r = decode_payload(root, why, sizeof(why))) == NULL)
		goto bad;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		json_decref(root);
		d01_status_reply(req, 500, "out of memory");
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	c->srv = srv;
	c->req = req;
	c->prov = prov;
	c->request = json_incref(r);
	if (decode_request(c, r, why, sizeof(why)) != 0)
		goto bad;
	json_decref(root);
	return c;
bad:
	if (c != NULL)
		call_free(c);
	json_decref(root);
	d01_status_reply(req, 400, why);
	return NULL;
}

void
d01_webhook_handle(struct d01_server *srv, struct d01_req *req,
    const struct d01_provider *prov)
{
	struct d01_error err;
	struct call *c;
	json_t *config;

	if ((c = call_new(srv, req, prov)) == NULL)
		return;
	d01_error_clear(&err);
	config = json_object_get(c->request, "config");
	if (json_is_null(config))
		config = NULL;
	if (prov->config_parse(srv->env, config, &c->cfg, &err) != D01_OK) {
		c->cfg = NULL;
		call_finish(c, &err);
		return;
	}
	c->op = (c->present ? prov->present : prov->cleanup)(
	    srv->env, c->cfg, &c->ch, call_done, c, &err);
	if (c->op == NULL) {
		if (err.code == D01_OK) /* a provider bug; never succeed */
			d01_error_set(&err, D01_E_INTERNAL,
			    "%s: operation failed without a reason",
			    prov->name);
		call_finish(c, &err);
		return;
	}
	d01_req_on_abort(req, call_abort, c);
}
