/* SPDX-License-Identifier: ISC */
/*
 * The acme-dns API's set-up (acmedns_api.h): options checked against the
 * env, the registration token, TLS (with the certificate reloaded as the
 * webhook's is) or plain HTTP on purpose, one listener per address, the
 * bcrypt workers and the two small caches; and its graceful stop. The
 * requests themselves are in acmedns_api_req.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/file.h"
#include "core/log.h"
#include "core/recstore.h"
#include "core/secret.h"
#include "httpd/certwatch.h"
#include "httpd/http.h"
#include "httpd/tls.h"
#include "providers/embedded/embedded.h"
#include "providers/embedded/store.h"
#include "providers/env.h"
#include "server/acmedns_api_int.h"

#define TOKEN_MAX     4096
#define WORKERS	      2
#define CRYPT_QUEUE   64    /* bcrypt jobs waiting or running; 503 past */
#define VERIFIED_IDLE 4096  /* remembered good passwords */
#define BUCKETS_IDLE  65536 /* accounts with a partly used rate budget */
#define SOURCES	      4096  /* source addresses (acmedns_api_limit.h) */
#define SOURCE_JOBS   2	    /* bcrypt jobs at once a source */
#define BODY_MAX      4096
#define CONNS_MAX     512
#define INFLIGHT_MAX  256

static void
http_error(struct d01_req *req, int status, const char *why, void *arg)
{
	(void)arg;
	(void)why;
	switch (status) {
	case 413:
		d01_adns_reply_error(req, status, "payload_too_large");
		break;
	case 503:
		d01_adns_reply_error(req, status, "unavailable");
		break;
	default:
		d01_adns_reply_error(req, status, "bad_request");
	}
}

/* --acmedns-domain: lower-case, no trailing dot, inside a served zone. */
static int
domain_setup(struct d01_acmedns_api *api, struct d01_error *err)
{
	const struct d01_txtstore *ts = d01_embedded_store(api->env);
	char fq[260];
	size_t n, i;

	if (api->o->domain == NULL || (n = strlen(api->o->domain)) == 0 ||
	    n > 200) {
		d01_error_set(err, D01_E_CONFIG,
		    "--acmedns-listen needs --acmedns-domain");
		return -1;
	}
	for (i = 0; i < n; i++) {
		api->domain[i] =
		    (char)tolower((unsigned char)api->o->domain[i]);
		/* It goes into JSON replies as it is. */
		if (!isalnum((unsigned char)api->domain[i]) &&
		    strchr("-_.", api->domain[i]) == NULL) {
			d01_error_set(err, D01_E_CONFIG,
			    "--acmedns-domain: letters, digits, '-', '_' and "
			    "'.' only");
			return -1;
		}
	}
	api->domain[n] = '\0';
	if (api->domain[n - 1] == '.')
		api->domain[n - 1] = '\0';
	snprintf(fq, sizeof(fq), "%s.", api->domain);
	if (ts == NULL ||
	    d01_txtstore_find_zone((struct d01_txtstore *)ts, fq) == NULL) {
		d01_error_set(err, D01_E_CONFIG,
		    "--acmedns-domain %s is not an --embedded-zone nor a name "
		    "under one",
		    api->domain);
		return -1;
	}
	return 0;
}

/* Where accounts can live: memory (lost on restart) or a back end that
 * keeps them; never one without (kubernetes). */
static int
store_check(struct d01_acmedns_api *api, struct d01_error *err)
{
	const struct d01_recstore_backend *be = d01_embedded_backend(api->env);

	if (be != NULL && be->acct_start == NULL) {
		d01_error_set(err, D01_E_CONFIG,
		    "the acme-dns API needs a store that keeps accounts: "
		    "--embedded-store memory, postgres://... or sqlite:PATH, "
		    "not kubernetes");
		return -1;
	}
	if (be != NULL)
		return 0;
	d01_log(D01_LOG_WARN, "acmedns_memory_store",
	    "msg=\"acme-dns accounts and values live in this process "
	    "only: they are lost on restart\"");
	if (api->o->ttl_ms > 0 &&
	    (api->expiry = d01_adns_expiry_new(api->env, api->o->ttl_ms)) ==
		NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return -1;
	}
	return 0;
}

static int
cidrs(const struct d01_strlist *l, struct d01_cidr *out, size_t *n,
    const char *flag, struct d01_error *err)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (d01_cidr_parse(l->v[i], &out[i]) != 0) {
			d01_error_set(err, D01_E_CONFIG,
			    "%s: '%.64s' is not a CIDR (ADDR/BITS)", flag,
			    l->v[i]);
			return -1;
		}
	*n = l->n;
	return 0;
}

/* The registration mode, and the token (its SHA-256 only is kept, so
 * that comparing needs no equal lengths). */
static int
registration_setup(struct d01_acmedns_api *api, struct d01_error *err)
{
	const struct d01_acmedns_opts *o = api->o;
	const char *m = o->registration;
	char *text = NULL;
	size_t len = 0;

	if (m == NULL)
		m = o->token_file != NULL ? "token" : "closed";
	if (strcmp(m, "open") == 0)
		api->mode = REG_OPEN;
	else if (strcmp(m, "token") == 0)
		api->mode = REG_TOKEN;
	else if (strcmp(m, "closed") == 0)
		api->mode = REG_CLOSED;
	else {
		d01_error_set(err, D01_E_CONFIG,
		    "--acmedns-registration must be open, token or closed");
		return -1;
	}
	if (api->mode != REG_TOKEN)
		return 0;
	if (o->token_file == NULL) {
		d01_error_set(err, D01_E_CONFIG,
		    "--acmedns-registration token needs "
		    "--acmedns-registration-token-file");
		return -1;
	}
	if (d01_file_read(o->token_file, TOKEN_MAX, &text, &len, err) != D01_OK)
		return -1;
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		len--;
	if (len < 16) {
		d01_error_set(err, D01_E_CONFIG,
		    "--acmedns-registration-token-file: the token must be at "
		    "least 16 characters");
		d01_secret_wipe(&text);
		return -1;
	}
	SHA256((const unsigned char *)text, len, api->token_sha);
	d01_secret_wipe(&text);
	return 0;
}

static void
reload_ctx(SSL_CTX *ctx, void *arg)
{
	struct d01_acmedns_api *api = arg;
	size_t i;

	for (i = 0; i < api->nhttpd; i++)
		d01_httpd_set_ssl_ctx(api->httpd[i], ctx);
}

static int
tls_setup(struct d01_acmedns_api *api, struct d01_error *err)
{
	const struct d01_acmedns_opts *o = api->o;

	if (o->cert == NULL && o->key == NULL) {
		if (o->insecure_http)
			return 0;
		d01_error_set(err, D01_E_CONFIG,
		    "--acmedns-listen needs --acmedns-tls-cert-file and "
		    "--acmedns-tls-private-key-file, or "
		    "--acmedns-insecure-http to serve plain HTTP");
		return -1;
	}
	if (o->cert == NULL || o->key == NULL || o->insecure_http) {
		d01_error_set(err, D01_E_CONFIG,
		    "--acmedns-tls-cert-file and "
		    "--acmedns-tls-private-key-file "
		    "go together, and not with --acmedns-insecure-http");
		return -1;
	}
	if ((api->ssl_ctx = d01_tls_server_ctx(o->cert, o->key, 0, err)) ==
	    NULL)
		return -1;
	return 0;
}

/* "ADDR:PORT" or "[V6]:PORT" into addr and port. */
static int
split_listen(const char *s, char *addr, size_t n, int *port)
{
	const char *colon = strrchr(s, ':'), *a = s;
	size_t alen;
	char *end;
	long p;

	if (colon == NULL)
		return -1;
	alen = (size_t)(colon - s);
	if (*s == '[') {
		if (alen < 2 || s[alen - 1] != ']')
			return -1;
		a = s + 1;
		alen -= 2;
	}
	if (alen == 0 || alen >= n)
		return -1;
	memcpy(addr, a, alen);
	addr[alen] = '\0';
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || p < 1 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

static int
listen_setup(struct d01_acmedns_api *api, struct d01_error *err)
{
	struct d01_http_limits lim;
	char addr[64];
	size_t i;
	int port;

	d01_http_limits_default(&lim);
	lim.max_body = BODY_MAX;
	lim.max_body_total = (size_t)BODY_MAX * CONNS_MAX;
	lim.max_head = 8u << 10;
	lim.max_line = 2u << 10;
	lim.max_conns = CONNS_MAX;
	lim.max_inflight = INFLIGHT_MAX;
	lim.idle_timeout_ms = 30000;
	lim.request_timeout_ms = 15000;
	for (i = 0; i < api->o->listen.n; i++) {
		if (split_listen(
			api->o->listen.v[i], addr, sizeof(addr), &port) != 0) {
			d01_error_set(err, D01_E_CONFIG,
			    "--acmedns-listen: '%.64s' is not ADDR:PORT",
			    api->o->listen.v[i]);
			return -1;
		}
		if ((api->httpd[i] = d01_httpd_new(api->env->base, api->ssl_ctx,
			 &lim, d01_adns_route, http_error, api, err)) == NULL)
			return -1;
		api->nhttpd++;
		if (d01_httpd_listen(api->httpd[i], addr, port, err) != D01_OK)
			return -1;
	}
	return 0;
}

static int
state_setup(struct d01_acmedns_api *api, struct d01_error *err)
{
	const struct d01_sfc_cfg vc = {VERIFIED_IDLE, 256, 0};
	const struct d01_sfc_cfg bc = {BUCKETS_IDLE, 1, 0};
	const struct d01_adns_limit_cfg lc = {SOURCES, SOURCE_JOBS,
	    api->o->fail_rate, api->o->reg_rate, 10 * api->o->reg_rate};
	char decoy_pw[D01_ADNS_KEY_LEN + 1];
	unsigned char r[D01_ADNS_KEY_LEN];
	size_t i;

	if (api->o->bcrypt_cost < 4 || api->o->bcrypt_cost > 31) {
		d01_error_set(
		    err, D01_E_CONFIG, "--acmedns-bcrypt-cost must be 4-31");
		return -1;
	}
	if (RAND_bytes(api->mac, sizeof(api->mac)) != 1 ||
	    RAND_bytes(r, sizeof(r)) != 1) {
		d01_error_set(err, D01_E_INTERNAL, "no random bytes");
		return -1;
	}
	for (i = 0; i < sizeof(r); i++)
		decoy_pw[i] = (char)('a' + r[i] % 26);
	decoy_pw[sizeof(r)] = '\0';
	/* Start-up, before the loop runs: one bcrypt here is fine. */
	if (d01_adns_crypt_hash_now(
		decoy_pw, (int)api->o->bcrypt_cost, api->decoy) != 0) {
		d01_error_set(err, D01_E_INTERNAL,
		    "libcrypt cannot make a bcrypt ($2b$) hash");
		return -1;
	}
	api->crypt = d01_adns_crypt_new(api->env->base, WORKERS, CRYPT_QUEUE,
	    (int)api->o->bcrypt_cost, err);
	if (api->crypt == NULL)
		return -1;
	if ((api->lim = d01_adns_limit_new(api->env->clock, &lc)) == NULL ||
	    (api->verified = d01_sfc_new(
		 api->env->base, api->env->clock, &vc)) == NULL ||
	    (api->buckets = d01_sfc_new(
		 api->env->base, api->env->clock, &bc)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return -1;
	}
	return 0;
}

struct d01_acmedns_api *
d01_acmedns_api_new(struct d01_env *env, const struct d01_acmedns_opts *o,
    struct d01_error *err)
{
	struct d01_acmedns_api *api = calloc(1, sizeof(*api));
	char qd[300];

	if (api == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	api->env = env;
	api->o = o;
	if (domain_setup(api, err) != 0 || store_check(api, err) != 0 ||
	    registration_setup(api, err) != 0 ||
	    cidrs(&o->reg_allowfrom, api->reg_from, &api->nreg_from,
		"--acmedns-registration-allowfrom", err) != 0 ||
	    cidrs(&o->trusted_proxies, api->proxies, &api->nproxies,
		"--acmedns-trusted-proxy", err) != 0 ||
	    state_setup(api, err) != 0 || tls_setup(api, err) != 0 ||
	    listen_setup(api, err) != 0)
		goto fail;
	if (api->ssl_ctx != NULL &&
	    (api->watch = d01_certwatch_new(env->base, o->cert, o->key, 0,
		 (int)o->reload_ms, reload_ctx, api, err)) == NULL)
		goto fail;
	d01_log(D01_LOG_INFO, "acmedns_ready",
	    "listen=%zu tls=%s domain=%s registration=%s rate_per_min=%ld",
	    api->nhttpd, api->ssl_ctx != NULL ? "yes" : "no",
	    d01_log_quote(qd, sizeof(qd), api->domain),
	    api->mode == REG_OPEN	 ? "open"
		: api->mode == REG_TOKEN ? "token"
					 : "closed",
	    o->rate);
	return api;
fail:
	d01_acmedns_api_free(api);
	return NULL;
}

static void
one_drained(void *arg)
{
	struct d01_acmedns_api *api = arg;

	if (--api->draining == 0 && api->done != NULL)
		api->done(api->done_arg);
}

void
d01_acmedns_api_shutdown(struct d01_acmedns_api *api, int deadline_ms,
    void (*done)(void *), void *arg)
{
	size_t i;

	api->done = done;
	api->done_arg = arg;
	api->draining = api->nhttpd + 1; /* +1: none may finish inside */
	for (i = 0; i < api->nhttpd; i++)
		d01_httpd_shutdown(
		    api->httpd[i], deadline_ms, one_drained, api);
	one_drained(api);
}

void
d01_acmedns_api_free(struct d01_acmedns_api *api)
{
	size_t i;

	if (api == NULL)
		return;
	d01_certwatch_free(api->watch);
	/* Requests in progress are aborted here (their hooks cancel their
	 * jobs and ops) before the workers and caches go. */
	for (i = 0; i < api->nhttpd; i++)
		d01_httpd_free(api->httpd[i]);
	d01_adns_crypt_free(api->crypt);
	d01_adns_limit_free(api->lim);
	d01_adns_expiry_free(api->expiry);
	if (api->verified != NULL)
		d01_sfc_free(api->verified);
	if (api->buckets != NULL)
		d01_sfc_free(api->buckets);
	SSL_CTX_free(api->ssl_ctx);
	OPENSSL_cleanse(api->mac, sizeof(api->mac));
	free(api);
}
