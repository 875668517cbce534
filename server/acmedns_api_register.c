/* SPDX-License-Identifier: ISC */
/*
 * POST /register of the acme-dns API (acme-dns's order: 404
 * registration_disabled when closed, 401 forbidden for a wrong token or
 * source, malformed_json_payload, invalid_allowfrom_cidr, then 429 for a
 * source over its registrations or bcrypt jobs, 201): a new UUID user
 * and subdomain, a random password hashed on the bcrypt workers, the
 * account written through the store back end (or the local table).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "core/log.h"
#include "core/recstore.h"
#include "httpd/http.h"
#include "providers/embedded/accounts.h"
#include "providers/embedded/embedded.h"
#include "providers/env.h"
#include "server/acmedns_api_int.h"

static int
new_uuid(char out[D01_ADNS_UUID_LEN + 1])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, D01_ADNS_UUID_LEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
	    b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

/* 40 characters of acme-dns's 64-letter alphabet: a byte's low six bits
 * pick one uniformly. */
static int
new_password(char out[D01_ADNS_KEY_LEN + 1])
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char r[D01_ADNS_KEY_LEN];
	size_t i;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	for (i = 0; i < sizeof(r); i++)
		out[i] = abc[r[i] & 63];
	out[D01_ADNS_KEY_LEN] = '\0';
	OPENSSL_cleanse(r, sizeof(r));
	return 0;
}

static void
registered(struct d01_adns_call *c)
{
	struct d01_acmedns_api *api = c->api;
	char *text;
	size_t cap = strlen(c->allowfrom) + 512;
	int n;

	/* Every field is from a known alphabet (UUIDs, the password's, the
	 * checked domain, the allowfrom array jansson wrote), so the text
	 * is built here, in one buffer that is wiped: no JSON library copy
	 * of the password is left behind. */
	if ((text = malloc(cap)) == NULL) {
		d01_adns_call_error(c, 500, "out_of_memory");
		return;
	}
	n = snprintf(text, cap,
	    "{\"username\":\"%s\",\"password\":\"%s\",\"fulldomain\":"
	    "\"%s.%s\",\"subdomain\":\"%s\",\"allowfrom\":%s}",
	    c->user, c->pw, c->sub, api->domain, c->sub, c->allowfrom);
	d01_log(D01_LOG_INFO, "acmedns_registered", "user=%s subdomain=%s",
	    c->user, c->sub);
	d01_req_reply(c->req, 201, "application/json", text, (size_t)n);
	c->req = NULL;
	OPENSSL_cleanse(text, cap);
	free(text);
	d01_adns_call_free(c);
}

static void
register_failed(struct d01_adns_call *c, const struct d01_error *err)
{
	char q[600];

	d01_log(D01_LOG_WARN, "acmedns_register_failed", "user=%s reason=%s",
	    c->user, d01_log_quote(q, sizeof(q), err->msg));
	d01_adns_call_error(c, 500, "db_error");
}

static void
acct_written(void *arg, const struct d01_error *err)
{
	struct d01_adns_call *c = arg;

	c->acct_write = NULL;
	if (err->code != D01_OK)
		register_failed(c, err);
	else
		registered(c);
}

static void
hashed(void *arg, int ok, const char *hash)
{
	struct d01_adns_call *c = arg;
	struct d01_acmedns_api *api = c->api;
	const struct d01_recstore_backend *be;
	struct d01_recstore_acct a;
	struct d01_error err;

	c->job = NULL;
	d01_adns_limit_job_end(api->lim, c->src, 0);
	c->src = NULL;
	d01_error_clear(&err);
	if (!ok) {
		d01_error_set(&err, D01_E_INTERNAL, "bcrypt failed");
		register_failed(c, &err);
		return;
	}
	snprintf(c->hash, sizeof(c->hash), "%s", hash);
	a = (struct d01_recstore_acct){c->user, c->hash, c->sub, c->allowfrom};
	be = d01_embedded_backend(api->env);
	if (be != NULL && be->acct_start != NULL) {
		c->be = be;
		c->acct_write = be->acct_start(
		    be->ctx, &a, api->o->op_ms, acct_written, c, &err);
		if (c->acct_write == NULL)
			register_failed(c, &err);
		return;
	}
	if (d01_acctab_put(d01_embedded_accounts(api->env), &a, &err) !=
	    D01_OK) {
		register_failed(c, &err);
		return;
	}
	registered(c);
}

/* Bearer <token>, compared through SHA-256 in constant time. */
static int
token_ok(struct d01_acmedns_api *api, struct d01_req *req)
{
	const char *h = d01_req_header(req, "Authorization");
	unsigned char d[SHA256_DIGEST_LENGTH];

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	SHA256((const unsigned char *)h + 7, strlen(h + 7), d);
	return CRYPTO_memcmp(d, api->token_sha, sizeof(d)) == 0;
}

static char *
allowfrom_text(const struct d01_adns_register *r)
{
	json_t *a = json_array();
	char *s;
	size_t i;

	for (i = 0; a != NULL && i < r->ncidrs; i++)
		json_array_append_new(a, json_string(r->text[i]));
	s = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return s;
}

void
d01_adns_do_register(struct d01_acmedns_api *api, struct d01_req *req)
{
	struct d01_adns_register *reg = NULL;
	struct d01_ipaddr ip;
	struct d01_adns_call *c = NULL;
	const char *body;
	size_t len;
	long retry_s = 1;
	int have = d01_adns_client_of(api, req, &ip) == 0;

	if (api->mode == REG_CLOSED) {
		d01_adns_reply_error(req, 404, "registration_disabled");
		return;
	}
	if ((api->nreg_from > 0 &&
		!(have && d01_cidr_any(api->reg_from, api->nreg_from, &ip))) ||
	    (api->mode == REG_TOKEN && !token_ok(api, req))) {
		d01_adns_reply_error(req, 401, "forbidden");
		return;
	}
	body = d01_req_body(req, &len);
	if ((reg = malloc(sizeof(*reg))) == NULL ||
	    (c = calloc(1, sizeof(*c))) == NULL)
		goto nomem;
	switch (d01_adns_parse_register(body, len, reg)) {
	case D01_ADNS_REG_MALFORMED:
		d01_adns_reply_error(req, 400, "malformed_json_payload");
		goto out;
	case D01_ADNS_REG_BAD_CIDR:
		d01_adns_reply_error(req, 400, "invalid_allowfrom_cidr");
		goto out;
	case D01_ADNS_REG_OK:
		break;
	}
	c->api = api;
	c->req = req;
	d01_adns_source_of(&ip, have, req, &c->source);
	/* Before any bcrypt: a job of this source's, then its budget. */
	if (d01_adns_hold_job(c) != 0)
		goto out;
	if (d01_adns_limit_register(api->lim, &c->source, &retry_s) !=
	    D01_ADNS_LIM_OK) {
		d01_adns_reply_limited(req, retry_s);
		c->req = NULL;
		goto out;
	}
	if ((c->allowfrom = allowfrom_text(reg)) == NULL ||
	    new_uuid(c->user) != 0 || new_uuid(c->sub) != 0 ||
	    new_password(c->pw) != 0)
		goto nomem;
	if ((c->job = d01_adns_crypt_hash(api->crypt, c->pw, hashed, c)) ==
	    NULL) {
		d01_req_add_header(req, "Retry-After", "1");
		d01_adns_reply_error(req, 503, "unavailable");
		goto out;
	}
	d01_req_on_abort(req, d01_adns_call_abort, c);
	free(reg);
	return;
nomem:
	d01_adns_reply_error(req, 500, "out_of_memory");
out:
	free(reg);
	if (c != NULL) {
		c->req = NULL;
		d01_adns_call_free(c);
	}
}
