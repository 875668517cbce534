/* SPDX-License-Identifier: ISC */
/*
 * POST /apis/<group>/v1alpha1/<solver>: decode a ChallengePayload, run
 * Present or CleanUp through the provider, answer with the payload's
 * `response` (cert-manager's ChallengePayload, webhook.acme.cert-manager.io
 * v1alpha1).
 *
 * Malformed requests get a 400 Status; provider failures get a 201 with
 * response.success=false and a message naming the provider, the name and
 * the cause, which cert-manager copies into the Challenge. Every 2xx
 * carries `response`: a 2xx without it crashes cert-manager's controller.
 *
 * Every op gets a deadline (--provider-timeout, 25 s by default: inside
 * cert-manager's 30 s), so the answer comes before the caller gives up; a
 * client that says how long it waits (client-go's ?timeout=, a Go
 * duration) gets five sixths of that at most, leaving room for the reply.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "core/dname.h"
#include "core/log.h"
#include "server/payload.h"
#include "server/server_int.h"
#include "server/status.h"

struct call {
	struct d01_server *srv;
	struct d01_req *req;
	const struct d01_provider *prov;
	struct d01_payload p;
	void *cfg;
	struct d01_op *op;
	struct timespec start;
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
	d01_payload_clear(&c->p);
	free(c);
}

/* Reply 201 with the outcome, log it, free the call. */
static void
call_finish(struct call *c, const struct d01_error *err)
{
	char qmsg[D01_ERROR_MSG_MAX + 8], qfqdn[300], quid[160];
	json_t *resp, *payload;
	char *body;
	int ok = err->code == D01_OK;

	resp = json_pack("{s:s, s:b}", "uid", c->p.uid, "success", ok);
	if (resp != NULL && !ok)
		json_object_set_new(resp, "status",
		    json_pack("{s:{}, s:s, s:s, s:s, s:i}", "metadata",
			"status", "Failure", "message", err->msg, "reason",
			d01_strerror(err->code), "code", 500));
	payload = json_pack("{s:s, s:s, s:O, s:o}", "kind", D01_PAYLOAD_KIND,
	    "apiVersion", D01_PAYLOAD_API_VERSION, "request", c->p.request,
	    "response", resp);
	body = payload != NULL ? json_dumps(payload, JSON_COMPACT) : NULL;
	if (body != NULL)
		d01_req_reply(
		    c->req, 201, "application/json", body, strlen(body));
	else
		d01_status_reply(c->req, 500, "out of memory encoding reply");
	d01_log(ok ? D01_LOG_INFO : D01_LOG_WARN, "webhook",
	    "uid=%s action=%s solver=%s fqdn=%s result=%s duration_ms=%.3f%s%s",
	    d01_log_quote(quid, sizeof(quid), c->p.uid),
	    c->p.present ? "Present" : "CleanUp", c->prov->name,
	    d01_log_quote(qfqdn, sizeof(qfqdn), c->p.fqdn), ok ? "ok" : "error",
	    ms_since(&c->start), ok ? "" : " error=",
	    ok ? "" : d01_log_quote(qmsg, sizeof(qmsg), err->msg));
	d01_metrics_webhook(c->srv->metrics, c->prov, c->p.present, err->code,
	    ms_since(&c->start) / 1e3);
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

/* A Go duration ("30s", "1m0s", "1.5s", "500ms") in ms; -1 if it is not
 * one or is out of range. n bytes of s; units h, m, s, ms, us, ns. */
static long
go_duration_ms(const char *s, size_t n)
{
	static const struct {
		const char *u;
		double ms;
	} units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"ms", 1}, {"h", 3600e3},
	    {"m", 60e3}, {"s", 1e3}};
	double total = 0, v, scale;
	size_t i, k, ul = 0;

	if (n == 0)
		return -1;
	for (i = 0; i < n;) {
		v = 0;
		scale = 1;
		if (s[i] < '0' || s[i] > '9')
			return -1;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			if ((v = v * 10 + (s[i] - '0')) > 1e9)
				return -1;
		if (i < n && s[i] == '.')
			for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
				v += (s[i] - '0') * (scale /= 10);
		for (k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
			ul = strlen(units[k].u);
			if (n - i >= ul && strncmp(s + i, units[k].u, ul) == 0)
				break;
		}
		if (k == sizeof(units) / sizeof(units[0]))
			return -1;
		i += ul;
		if ((total += v * units[k].ms) > 86400e3)
			return -1;
	}
	return (long)total;
}

/* The op's deadline: the server's, or less when the client waits less. */
static long
op_timeout_ms(const struct d01_server *srv, const struct d01_req *req)
{
	const char *q = d01_req_head(req)->query, *v;
	long t = srv->cfg.op_timeout_ms > 0 ? srv->cfg.op_timeout_ms
					    : D01_OP_TIMEOUT_WEBHOOK_MS,
	     c;

	for (v = q; v != NULL && *v != '\0';) {
		if (strncmp(v, "timeout=", 8) == 0) {
			c = go_duration_ms(v + 8, strcspn(v + 8, "&"));
			if (c > 0 && c / 6 * 5 < t)
				t = c / 6 * 5 > 0 ? c / 6 * 5 : 1;
			break;
		}
		if ((v = strchr(v, '&')) != NULL)
			v++;
	}
	return t;
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
	struct call *c;
	size_t len;

	if (ct != NULL && !content_type_json(ct)) {
		d01_status_reply(
		    req, 415, "Content-Type must be application/json");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		d01_status_reply(req, 500, "out of memory");
		return NULL;
	}
	body = d01_req_body(req, &len);
	if (d01_payload_decode(body, len, &c->p, why, sizeof(why)) != 0) {
		free(c);
		d01_status_reply(req, 400, why);
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	c->srv = srv;
	c->req = req;
	c->prov = prov;
	return c;
}

/* A name the `embedded` solver may not write: in the acme-dns API's
 * domain, whose subdomains belong to its accounts (server.h). */
static int
reserved(const struct d01_server *srv, const struct d01_provider *prov,
    const struct d01_challenge *ch, struct d01_error *err)
{
	char name[D01_DNAME_BUF];

	if (srv->acmedns_domain[0] == '\0' ||
	    strcmp(prov->name, "embedded") != 0)
		return 0;
	/* A name that does not normalise is the provider's to refuse. */
	if (d01_dname_normalise(name, sizeof(name), ch->fqdn) != 0 ||
	    !d01_dname_in_zone(name, srv->acmedns_domain))
		return 0;
	d01_error_set(err, D01_E_FORBIDDEN,
	    "embedded: %s lies in the acme-dns domain %s, whose names belong "
	    "to the acme-dns API's accounts",
	    name, srv->acmedns_domain);
	return 1;
}

void
d01_webhook_handle(struct d01_server *srv, struct d01_req *req,
    const struct d01_provider *prov)
{
	struct d01_error err;
	struct call *c;

	if ((c = call_new(srv, req, prov)) == NULL)
		return;
	d01_error_clear(&err);
	if (reserved(srv, prov, &c->p.ch, &err)) {
		call_finish(c, &err);
		return;
	}
	if (prov->config_parse(srv->env, c->p.config, &c->cfg, &err) !=
	    D01_OK) {
		c->cfg = NULL;
		call_finish(c, &err);
		return;
	}
	c->op = d01_provider_start(prov, srv->env, c->cfg, &c->p.ch,
	    c->p.present, op_timeout_ms(srv, req), call_done, c, &err);
	if (c->op == NULL) {
		call_finish(c, &err);
		return;
	}
	d01_req_on_abort(req, call_abort, c);
}
