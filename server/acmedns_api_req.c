/* SPDX-License-Identifier: ISC */
/*
 * The acme-dns API's requests. acme-dns's order is kept where it shows:
 * POST /register answers malformed_json_payload, then
 * invalid_allowfrom_cidr, then 201; POST /update answers 401 "forbidden"
 * for every failure of the user, key, password, source address or
 * subdomain (a caller learns nothing about which), then bad_subdomain,
 * then bad_txt. Ours on top: registration modes (404
 * registration_disabled when closed, 401 forbidden for a wrong token or
 * source: acmedns_api_register.c), 429 too_many_requests per account and per
 * source address (acmedns_api_limit.h: bcrypt jobs, failed passwords,
 * registrations; before any bcrypt), 503 unavailable when the bcrypt queue is
 * full, DELETE /update.
 *
 * A request that must wait (bcrypt, the store) becomes a `struct d01_adns_call`
 * owned by the request: every way it ends (reply, or the server aborting
 * it on shutdown) frees the call and cancels what it waits on.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/recstore.h"
#include "httpd/http.h"
#include "providers/embedded/accounts.h"
#include "providers/embedded/embedded.h"
#include "providers/env.h"
#include "providers/provider.h"
#include "server/acmedns_api_int.h"

#define VERIFIED_TTL_MS (5L * 60 * 1000) /* an acme.sh run's updates */
#define XFF_MAX		2048

void
d01_adns_reply_error(struct d01_req *req, int status, const char *what)
{
	char body[96];
	int n = snprintf(body, sizeof(body), "{\"error\": \"%s\"}", what);

	d01_req_reply(req, status, "application/json", body, (size_t)n);
}

void
d01_adns_call_free(struct d01_adns_call *c)
{
	d01_adns_crypt_cancel(c->job);
	if (c->src != NULL)
		d01_adns_limit_job_end(c->api->lim, c->src, 0);
	d01_sfc_cancel(&c->wait);
	d01_provider_cancel(c->op);
	if (c->acct_write != NULL)
		c->be->cancel(c->acct_write);
	free(c->allowfrom);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

void
d01_adns_call_abort(void *arg)
{
	d01_adns_call_free(arg);
}

void
d01_adns_call_error(struct d01_adns_call *c, int status, const char *what)
{
	d01_adns_reply_error(c->req, status, what);
	c->req = NULL;
	d01_adns_call_free(c);
}

/* The client address (behind trusted proxies, X-Forwarded-For's every
 * line joined in order); 0, or -1 when there is none to believe. */
int
d01_adns_client_of(
    struct d01_acmedns_api *api, struct d01_req *req, struct d01_ipaddr *ip)
{
	const struct d01_http_head *h = d01_req_head(req);
	char xff[XFF_MAX];
	size_t i, len = 0, n;
	int any = 0;

	xff[0] = '\0';
	for (i = 0; i < h->nheaders; i++) {
		if (strcasecmp(h->headers[i].name, "X-Forwarded-For") != 0)
			continue;
		n = strlen(h->headers[i].value);
		if (len + n + 2 > sizeof(xff)) {
			strcpy(xff, "!"); /* too long: believe none of it */
			break;
		}
		if (any)
			xff[len++] = ',';
		memcpy(xff + len, h->headers[i].value, n + 1);
		len += n;
		any = 1;
	}
	return d01_adns_client_addr(d01_req_peer(req), any ? xff : NULL,
	    api->proxies, api->nproxies, ip);
}

/* Whom the per-source limits charge: the client, else the peer itself
 * (a trusted proxy sending an unreadable list pays for it; family 0, one
 * shared entry, if even the peer does not parse). */
void
d01_adns_source_of(const struct d01_ipaddr *client, int have_client,
    struct d01_req *req, struct d01_ipaddr *src)
{
	if (have_client)
		*src = *client;
	else if (d01_adns_client_addr(d01_req_peer(req), NULL, NULL, 0, src) !=
	    0)
		src->family = 0;
}

/* 429 for a source over its limits, as for an account over its rate. */
void
d01_adns_reply_limited(struct d01_req *req, long retry_s)
{
	char retry[24];

	snprintf(retry, sizeof(retry), "%ld", retry_s);
	d01_req_add_header(req, "Retry-After", retry);
	d01_adns_reply_error(req, 429, "too_many_requests");
}

/* Hold a bcrypt job of c's source; 0, or -1 with the 429 sent and c
 * still the caller's (its req cleared). */
int
d01_adns_hold_job(struct d01_adns_call *c)
{
	long retry_s = 1;

	if (d01_adns_limit_job_begin(
		c->api->lim, &c->source, &c->src, &retry_s) == D01_ADNS_LIM_OK)
		return 0;
	d01_adns_reply_limited(c->req, retry_s);
	c->req = NULL;
	return -1;
}

/* --- POST|DELETE /update ----------------------------------------------- */

/* A token bucket per account: `rate` a minute, as many at once. The
 * state lives in a bounded TTL map (core/sfcache.h) until it is full
 * again; an account evicted under pressure starts full. 1: go on. */
static int
rate_ok(struct d01_acmedns_api *api, const char *user, long *retry_s)
{
	struct bucket {
		double tokens;
		int64_t t;
	} b;
	unsigned char key[D01_SFC_KEY];
	const void *v;
	double cap = (double)api->o->rate, per_ms = cap / 60000.0;
	int64_t now = d01_clock_mono_ms(api->env->clock);
	size_t len;

	if (api->o->rate <= 0 || d01_sfc_key_str(user, key) != 0)
		return 1;
	b.tokens = cap;
	if ((v = d01_sfc_peek(api->buckets, key, &len)) != NULL &&
	    len == sizeof(b)) {
		memcpy(&b, v, sizeof(b));
		b.tokens = fmin(cap, b.tokens + (double)(now - b.t) * per_ms);
	}
	if (b.tokens < 1.0) {
		*retry_s = (long)ceil((1.0 - b.tokens) / per_ms / 1000.0);
		return 0;
	}
	b.tokens -= 1.0;
	b.t = now;
	d01_sfc_set(api->buckets, key, &b, sizeof(b),
	    (long)((cap - b.tokens) / per_ms) + 1);
	return 1;
}

static void
written(void *arg, const struct d01_error *err)
{
	struct d01_adns_call *c = arg;
	char body[128], q[600];
	int n;

	c->op = NULL;
	if (err->code != D01_OK) {
		d01_log(D01_LOG_WARN, "acmedns_update_failed",
		    "user=%s subdomain=%s reason=%s", c->user, c->sub,
		    d01_log_quote(q, sizeof(q), err->msg));
		d01_adns_call_error(c, 500, "db_error");
		return;
	}
	d01_log(D01_LOG_INFO, "acmedns_update", "user=%s subdomain=%s op=%s",
	    c->user, c->sub, c->present ? "add" : "delete");
	if (c->api->expiry != NULL && c->present)
		d01_adns_expiry_note(c->api->expiry, c->fqdn, c->body.txt);
	else if (c->api->expiry != NULL)
		d01_adns_expiry_forget(c->api->expiry, c->fqdn, c->body.txt);
	n = snprintf(body, sizeof(body), "{\"txt\": \"%s\"}", c->body.txt);
	d01_req_reply(c->req, 200, "application/json", body, (size_t)n);
	c->req = NULL;
	d01_adns_call_free(c);
}

/* The password matched: the account's other checks, then the write. */
static void
authed(struct d01_adns_call *c)
{
	struct d01_acmedns_api *api = c->api;
	const struct d01_recstore_acct *a =
	    d01_acctab_get(d01_embedded_accounts(api->env), c->user);
	struct d01_cidr allow[D01_ADNS_MAX_CIDRS];
	struct d01_challenge ch = {0};
	struct d01_error err;
	char retry[24];
	long retry_s = 1;
	int n;

	/* Changed or gone while the password was checked. */
	if (a == NULL || strcmp(a->hash, c->hash) != 0)
		goto forbidden;
	n = d01_adns_allowfrom_load(a->allowfrom, allow, D01_ADNS_MAX_CIDRS);
	if (n < 0 ||
	    (n > 0 &&
		!(c->have_client &&
		    d01_cidr_any(allow, (size_t)n, &c->client))))
		goto forbidden;
	if (strcmp(c->body.subdomain, a->subdomain) != 0)
		goto forbidden;
	snprintf(c->sub, sizeof(c->sub), "%s", a->subdomain);
	if (!d01_adns_valid_subdomain(c->sub)) {
		d01_adns_call_error(c, 400, "bad_subdomain");
		return;
	}
	if (!rate_ok(api, c->user, &retry_s)) {
		snprintf(retry, sizeof(retry), "%ld", retry_s);
		d01_req_add_header(c->req, "Retry-After", retry);
		d01_adns_call_error(c, 429, "too_many_requests");
		return;
	}
	if (!d01_adns_valid_txt(c->body.txt)) {
		d01_adns_call_error(c, 400, "bad_txt");
		return;
	}
	snprintf(c->fqdn, sizeof(c->fqdn), "%s.%s.", c->sub, api->domain);
	ch.uid = "acmedns-api";
	ch.fqdn = c->fqdn;
	ch.key = c->body.txt;
	d01_error_clear(&err);
	c->op = d01_provider_start(&d01_provider_embedded, api->env, NULL, &ch,
	    c->present, api->o->op_ms, written, c, &err);
	if (c->op == NULL)
		written(c, &err);
	return;
forbidden:
	d01_adns_call_error(c, 401, "forbidden");
}

static void
verify_done(void *arg, int ok, const char *hash)
{
	struct d01_adns_call *c = arg;
	struct d01_error e;

	(void)hash;
	c->job = NULL;
	/* An unknown user is a failure too: random usernames cost the
	 * decoy's bcrypt. */
	d01_adns_limit_job_end(c->api->lim, c->src, !c->known || !ok);
	c->src = NULL;
	if (!c->known) {
		d01_adns_call_error(c, 401, "forbidden");
		return;
	}
	if (ok) {
		d01_sfc_put(&c->wait, "1", 1, VERIFIED_TTL_MS);
		authed(c);
		return;
	}
	d01_error_set(&e, D01_E_AUTH, "wrong password");
	d01_sfc_fail(&c->wait, &e);
	d01_adns_call_error(c, 401, "forbidden");
}

static void
start_verify(struct d01_adns_call *c)
{
	if (d01_adns_hold_job(c) != 0) {
		d01_sfc_cancel(&c->wait); /* a waiter may lead and try */
		d01_adns_call_free(c);
		return;
	}
	c->job = d01_adns_crypt_verify(
	    c->api->crypt, c->pw, c->hash, verify_done, c);
	if (c->job != NULL)
		return;
	d01_sfc_cancel(&c->wait); /* a waiter may lead and try */
	d01_req_add_header(c->req, "Retry-After", "1");
	d01_adns_call_error(c, 503, "unavailable");
}

static void
verified_cb(void *arg, const struct d01_sfc_out *out)
{
	struct d01_adns_call *c = arg;

	switch (out->res) {
	case D01_SFC_HIT:
		authed(c);
		break;
	case D01_SFC_LEAD:
		start_verify(c);
		break;
	default:
		d01_adns_call_error(c, 401, "forbidden");
	}
}

static void
do_update(struct d01_acmedns_api *api, struct d01_req *req, int present)
{
	const char *user = d01_req_header(req, "X-Api-User");
	const char *key = d01_req_header(req, "X-Api-Key");
	const struct d01_recstore_acct *a;
	const char *fields[3];
	unsigned char k[D01_SFC_KEY];
	struct d01_sfc_out out;
	struct d01_error err;
	struct d01_adns_call *c;
	const char *body;
	size_t len;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		d01_adns_reply_error(req, 500, "out_of_memory");
		return;
	}
	c->api = api;
	c->req = req;
	c->present = present;
	body = d01_req_body(req, &len);
	d01_adns_parse_update(body, len, &c->body);
	c->have_client = d01_adns_client_of(api, req, &c->client) == 0;
	d01_adns_source_of(&c->client, c->have_client, req, &c->source);
	if (user == NULL || key == NULL ||
	    d01_adns_uuid_canon(user, c->user) != 0 ||
	    !d01_adns_valid_key(key)) {
		d01_adns_call_error(c, 401, "forbidden");
		return;
	}
	memcpy(c->pw, key, D01_ADNS_KEY_LEN + 1);
	d01_req_on_abort(req, d01_adns_call_abort, c);
	a = d01_acctab_get(d01_embedded_accounts(api->env), c->user);
	c->known = a != NULL;
	/* An unknown user costs one bcrypt too: no timing oracle. */
	snprintf(
	    c->hash, sizeof(c->hash), "%s", a != NULL ? a->hash : api->decoy);
	if (!c->known) {
		start_verify(c);
		return;
	}
	/* Keyed on the whole credential and the hash it matched, under a
	 * per-process key: another password for this user never hits. */
	fields[0] = c->user;
	fields[1] = c->pw;
	fields[2] = c->hash;
	d01_error_clear(&err);
	if (d01_sfc_key_fields(api->mac, sizeof(api->mac), fields, 3, k) != 0) {
		d01_adns_call_error(c, 500, "internal_error");
		return;
	}
	switch (d01_sfc_get(
	    api->verified, k, &c->wait, verified_cb, c, &out, &err)) {
	case D01_SFC_HIT:
		authed(c);
		break;
	case D01_SFC_LEAD:
		start_verify(c);
		break;
	case D01_SFC_WAIT:
		break;
	default:
		d01_req_add_header(req, "Retry-After", "1");
		d01_adns_call_error(c, 503, "unavailable");
	}
	OPENSSL_cleanse(k, sizeof(k));
}

/* --- routing ----------------------------------------------------------- */

void
d01_adns_route(struct d01_req *req, void *arg)
{
	struct d01_acmedns_api *api = arg;
	const char *path = d01_req_path(req), *m = d01_req_method(req);

	if (strcmp(path, "/health") == 0) {
		if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
			d01_req_reply(req, 200, "text/plain", "", 0);
		else
			d01_adns_reply_error(req, 405, "method_not_allowed");
	} else if (strcmp(path, "/register") == 0) {
		if (strcmp(m, "POST") == 0)
			d01_adns_do_register(api, req);
		else
			d01_adns_reply_error(req, 405, "method_not_allowed");
	} else if (strcmp(path, "/update") == 0) {
		if (strcmp(m, "POST") == 0 || strcmp(m, "DELETE") == 0)
			do_update(api, req, strcmp(m, "POST") == 0);
		else
			d01_adns_reply_error(req, 405, "method_not_allowed");
	} else
		d01_adns_reply_error(req, 404, "not_found");
}
