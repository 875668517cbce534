/* SPDX-License-Identifier: ISC */
/*
 * cloudflare Present/CleanUp as a state machine on the async HTTP client:
 *   SECRET  resolve the token or key
 *   ZONE    pinned zoneID, the cache, or GET /zones?name= walking up
 *   LIST    GET the TXT records at the name, following pages
 *   CREATE  POST one record holding the value (Present, when absent)
 *   DELETE  DELETE each record holding the value (CleanUp)
 * The whole operation has one deadline so a webhook call answers in time.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "core/dname.h"
#include "core/http_client.h"
#include "core/secret.h"
#include "providers/cloudflare/cloudflare.h"

#define OP_BUDGET_MS 25000
#define MAX_IDS	     16
#define CACHE_SIZE   64
#define CACHE_TTL_S  300

enum cf_step { CF_SECRET, CF_ZONE, CF_LIST, CF_CREATE, CF_DELETE };

struct cf_op {
	struct d01_op op; /* first: d01_provider_cancel() casts back */
	struct d01_env *env;
	const struct cf_cfg *cfg;
	enum cf_step st;
	int present;
	char name[D01_DNAME_BUF], value[256], ns[254];
	char candidate[D01_DNAME_BUF], zone_id[64];
	char *secret;
	int page, total_pages, found, nids;
	char ids[MAX_IDS][64];
	struct timespec deadline;
	struct d01_secret_req *sreq;
	struct d01_http_call *call;
	d01_done_fn cb;
	void *arg;
	int starting;
	struct d01_error start_err;
};

/* name -> zone id, per base URL; small and bounded, oldest replaced. */
static struct {
	char key[300];
	char id[64];
	time_t expires;
} cache[CACHE_SIZE];

static void step(struct cf_op *o);

static const char *
cache_get(const char *base, const char *zone)
{
	char key[300];
	time_t now = time(NULL);
	int i;

	snprintf(key, sizeof(key), "%.40s|%s", base, zone);
	for (i = 0; i < CACHE_SIZE; i++)
		if (cache[i].expires > now && strcmp(cache[i].key, key) == 0)
			return cache[i].id;
	return NULL;
}

static void
cache_put(const char *base, const char *zone, const char *id)
{
	int i, victim = 0;

	for (i = 1; i < CACHE_SIZE; i++)
		if (cache[i].expires < cache[victim].expires)
			victim = i;
	snprintf(cache[victim].key, sizeof(cache[victim].key), "%.40s|%s", base,
	    zone);
	snprintf(cache[victim].id, sizeof(cache[victim].id), "%s", id);
	cache[victim].expires = time(NULL) + CACHE_TTL_S;
}

static void
op_free(struct cf_op *o)
{
	d01_secret_cancel(o->sreq);
	d01_http_cancel(o->call);
	if (o->secret != NULL) {
		OPENSSL_cleanse(o->secret, strlen(o->secret));
		free(o->secret);
	}
	free(o);
}

static void
done(struct cf_op *o, struct d01_error *err)
{
	struct d01_error ok;
	d01_done_fn cb = o->cb;
	void *arg = o->arg;

	if (err == NULL) {
		d01_error_clear(&ok);
		err = &ok;
	} else if (err->code != D01_OK) {
		d01_error_prefix(err,
		    "cloudflare: %s %s: ", o->present ? "present" : "cleanup",
		    o->name);
	}
	if (o->starting) { /* never call back before start returns */
		o->start_err = *err;
		return;
	}
	o->sreq = NULL;
	o->call = NULL;
	op_free(o);
	cb(arg, err);
}

static long
ms_left(const struct cf_op *o)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (o->deadline.tv_sec - now.tv_sec) * 1000 +
	    (o->deadline.tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

static void http_done(void *arg, const struct d01_error *err,
    const struct d01_http_response *resp);

/* One API call: method + path (+ JSON body) with our credentials. */
static void
api(struct cf_op *o, const char *method, const char *path, const char *body)
{
	char url[1024], auth[600], email[300];
	const char *hdrs[5];
	struct d01_http_request req = {0};
	struct d01_error err;
	size_t n = 0;

	snprintf(url, sizeof(url), "%s%s", o->cfg->base_url, path);
	if (o->cfg->use_token) {
		snprintf(
		    auth, sizeof(auth), "Authorization: Bearer %s", o->secret);
	} else {
		snprintf(
		    email, sizeof(email), "X-Auth-Email: %s", o->cfg->email);
		snprintf(auth, sizeof(auth), "X-Auth-Key: %s", o->secret);
		hdrs[n++] = email;
	}
	hdrs[n++] = auth;
	hdrs[n++] = "Accept: application/json";
	if (body != NULL)
		hdrs[n++] = "Content-Type: application/json";
	hdrs[n] = NULL;
	req.method = method;
	req.url = url;
	req.headers = hdrs;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.ca_bundle = o->cfg->ca_bundle;
	req.budget_ms = ms_left(o);
	req.timeout_ms = req.budget_ms < 10000 ? req.budget_ms : 10000;
	d01_error_clear(&err);
	if (req.budget_ms <= 0)
		d01_error_set(&err, D01_E_TIMEOUT, "out of time");
	else
		o->call =
		    d01_http_start(o->env->http, &req, http_done, o, &err);
	OPENSSL_cleanse(auth, sizeof(auth));
	if (o->call == NULL)
		done(o, &err);
}

/* A credential must be usable as a header value (cert-manager does the
 * same check: a newline from `kubectl create secret` is the usual cause). */
static int
header_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static void
secret_done(void *arg, const struct d01_error *e, const char *value, size_t len)
{
	struct cf_op *o = arg;
	struct d01_error err = *e;

	(void)len;
	o->sreq = NULL;
	if (err.code == D01_OK && !header_safe(value))
		d01_error_set(&err, D01_E_CONFIG,
		    "the API %s in secret %s/%s contains a control character",
		    o->cfg->use_token ? "token" : "key", o->ns,
		    o->cfg->secret_name);
	if (err.code == D01_OK && (o->secret = strdup(value)) == NULL)
		d01_error_set(&err, D01_E_NOMEM, "out of memory");
	if (err.code != D01_OK) {
		done(o, &err);
		return;
	}
	o->st = CF_ZONE;
	step(o);
}

/* Climb one label; 0 when no candidate is left (a TLD is no zone). */
static int
climb(char *c)
{
	char *dot = strchr(c, '.');

	if (dot == NULL || strchr(dot + 1, '.') == NULL)
		return 0;
	memmove(c, dot + 1, strlen(dot + 1) + 1);
	return 1;
}

/* Does a record's content hold our value (quoted or not)? */
static int
content_matches(const struct cf_op *o, const char *content)
{
	size_t n = strlen(o->value);

	if (content == NULL)
		return 0;
	if (strcmp(content, o->value) == 0)
		return 1;
	return strlen(content) == n + 2 && content[0] == '"' &&
	    content[n + 1] == '"' && strncmp(content + 1, o->value, n) == 0;
}

/* Collect matching records of one page; decide what comes next. */
static void
list_page(struct cf_op *o, json_t *result)
{
	size_t i;

	for (i = 0; i < json_array_size(result); i++) {
		json_t *r = json_array_get(result, i);
		const char *id = json_string_value(json_object_get(r, "id"));

		if (!content_matches(
			o, json_string_value(json_object_get(r, "content"))) ||
		    id == NULL)
			continue;
		o->found = 1;
		if (!o->present && o->nids < MAX_IDS)
			snprintf(
			    o->ids[o->nids++], sizeof(o->ids[0]), "%s", id);
	}
	if (json_array_size(result) > 0 && o->page < o->total_pages) {
		o->page++;
		return; /* st stays CF_LIST */
	}
	o->st = o->present ? CF_CREATE : CF_DELETE;
}

static void
http_done(
    void *arg, const struct d01_error *e, const struct d01_http_response *resp)
{
	struct cf_op *o = arg;
	struct d01_error err = *e;
	json_t *root = NULL, *res;
	int code = 0, pages = 0;

	o->call = NULL;
	if (err.code != D01_OK) {
		done(o, &err);
		return;
	}
	res = cf_envelope(
	    resp->status, resp->body, resp->len, &root, &pages, &code, &err);
	switch (o->st) {
	case CF_ZONE:
		if (res != NULL && json_array_size(res) > 0 &&
		    json_is_string(
			json_object_get(json_array_get(res, 0), "id"))) {
			snprintf(o->zone_id, sizeof(o->zone_id), "%s",
			    json_string_value(
				json_object_get(json_array_get(res, 0), "id")));
			cache_put(o->cfg->base_url, o->candidate, o->zone_id);
			o->st = CF_LIST;
		} else if (res != NULL && !climb(o->candidate)) {
			d01_error_set(&err, D01_E_NOTFOUND,
			    "no Cloudflare zone contains this name (does the "
			    "token have Zone:Read on it?)");
		}
		break;
	case CF_LIST:
		if (res != NULL) {
			o->total_pages = pages;
			list_page(o, res);
		}
		break;
	case CF_CREATE:
		/* 81057/81058: the record exists already: that is success. */
		if (res != NULL || code == 81057 || code == 81058) {
			json_decref(root);
			done(o, NULL);
			return;
		}
		break;
	case CF_DELETE:
		if (res != NULL || code == 81044) /* already gone */
			o->nids--;
		break;
	default:
		break;
	}
	json_decref(root);
	if (err.code != D01_OK) {
		done(o, &err);
		return;
	}
	step(o);
}

static void
step(struct cf_op *o)
{
	struct d01_secret_ref ref = {o->cfg->secret_name, o->cfg->secret_key};
	struct d01_error err;
	const char *id;
	char path[600], quoted[260], *body;
	json_t *j;

	switch (o->st) {
	case CF_SECRET:
		d01_error_clear(&err);
		o->sreq = d01_secret_get(
		    o->env->secrets, o->ns, &ref, secret_done, o, &err);
		if (o->sreq == NULL)
			done(o, &err);
		return;
	case CF_ZONE:
		if ((id = o->cfg->zone_id) != NULL ||
		    (id = cache_get(o->cfg->base_url, o->candidate)) != NULL) {
			snprintf(o->zone_id, sizeof(o->zone_id), "%s", id);
			o->st = CF_LIST;
			step(o);
			return;
		}
		snprintf(path, sizeof(path), "/zones?name=%s", o->candidate);
		api(o, "GET", path, NULL);
		return;
	case CF_LIST:
		snprintf(path, sizeof(path),
		    "/zones/%s/"
		    "dns_records?type=TXT&name=%s&per_page=100&page=%d",
		    o->zone_id, o->name, o->page);
		api(o, "GET", path, NULL);
		return;
	case CF_CREATE:
		if (o->found) {
			done(o, NULL); /* idempotent Present */
			return;
		}
		/* Quoted, as Cloudflare's TXT schema now asks (providers.md
		 * §1); matching accepts both forms. */
		snprintf(quoted, sizeof(quoted), "\"%s\"", o->value);
		j = json_pack("{s:s, s:s, s:s, s:i}", "type", "TXT", "name",
		    o->name, "content", quoted, "ttl", (int)o->cfg->ttl);
		body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		if (body == NULL) {
			d01_error_set(&err, D01_E_NOMEM, "out of memory");
			done(o, &err);
			return;
		}
		snprintf(
		    path, sizeof(path), "/zones/%s/dns_records", o->zone_id);
		api(o, "POST", path, body);
		free(body);
		return;
	case CF_DELETE:
		if (o->nids == 0) {
			done(o, NULL); /* nothing (left) of ours */
			return;
		}
		snprintf(path, sizeof(path), "/zones/%s/dns_records/%s",
		    o->zone_id, o->ids[o->nids - 1]);
		api(o, "DELETE", path, NULL);
		return;
	}
}

static struct d01_op *
start(struct d01_env *env, void *cfg, const struct d01_challenge *ch,
    int present, d01_done_fn cb, void *arg, struct d01_error *err)
{
	struct cf_op *o;
	size_t n;

	if (env->http == NULL) {
		d01_error_set(
		    err, D01_E_INTERNAL, "cloudflare: no HTTP client");
		return NULL;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	o->op.provider = &d01_provider_cloudflare;
	o->env = env;
	o->cfg = cfg;
	o->present = present;
	o->cb = cb;
	o->arg = arg;
	o->page = 1;
	/* The API speaks names without the trailing dot. */
	snprintf(o->name, sizeof(o->name), "%s", ch->fqdn);
	if ((n = strlen(o->name)) > 0 && o->name[n - 1] == '.')
		o->name[n - 1] = '\0';
	memcpy(o->candidate, o->name, sizeof(o->candidate));
	snprintf(o->value, sizeof(o->value), "%s", ch->key);
	snprintf(o->ns, sizeof(o->ns), "%s", ch->namespace);
	clock_gettime(CLOCK_MONOTONIC, &o->deadline);
	o->deadline.tv_sec += OP_BUDGET_MS / 1000;
	d01_error_clear(&o->start_err);
	o->st = CF_SECRET;
	if (o->cfg->inline_secret != NULL) {
		if ((o->secret = strdup(o->cfg->inline_secret)) == NULL) {
			free(o);
			d01_error_set(err, D01_E_NOMEM, "out of memory");
			return NULL;
		}
		o->st = CF_ZONE;
	}
	o->starting = 1;
	step(o);
	o->starting = 0;
	if (o->start_err.code != D01_OK) {
		if (err != NULL)
			*err = o->start_err;
		op_free(o);
		return NULL;
	}
	return &o->op;
}

static struct d01_op *
cf_present(struct d01_env *env, void *cfg, const struct d01_challenge *ch,
    d01_done_fn cb, void *arg, struct d01_error *err)
{
	return start(env, cfg, ch, 1, cb, arg, err);
}

static struct d01_op *
cf_cleanup(struct d01_env *env, void *cfg, const struct d01_challenge *ch,
    d01_done_fn cb, void *arg, struct d01_error *err)
{
	return start(env, cfg, ch, 0, cb, arg, err);
}

static void
cf_cancel(struct d01_op *op)
{
	op_free((struct cf_op *)op);
}

const struct d01_provider d01_provider_cloudflare = {
    .name = "cloudflare",
    .summary = "Cloudflare API v4, one TXT record per value",
    .config_parse = cf_config_parse,
    .config_free = cf_config_free,
    .present = cf_present,
    .cleanup = cf_cleanup,
    .cancel = cf_cancel,
};
