/* SPDX-License-Identifier: ISC */
/*
 * STS temporary credentials with a shared, expiring cache; see r53_sts.h.
 *
 * Sessions live in the env's single-flight cache (core/sfcache.h), not a
 * fixed table: an entry in flight never keeps another key out (one tenant
 * stalling calls against a black hole must not lock the others out), idle
 * completed sessions are bounded by LRU, and askers are bounded per key.
 * An entry is found by an HMAC of
 * everything that decides which session STS would hand out, the base
 * credentials included, so a session is only ever reused for
 * byte-identical credentials on the same side of the ambient line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/secret.h"
#include "core/clock.h"
#include "core/http_client.h"
#include "core/sfcache.h"
#include "core/sigv4.h"
#include "core/xml.h"
#include "providers/route53/r53_int.h"

#define REFRESH_AHEAD 300 /* seconds before expiry */
#define MAX_IDLE      64  /* completed sessions kept; LRU beyond */
#define MAX_WAITERS   256 /* askers queued on one key */

/* One asker. It keeps its own copy of the request: when the leader is
 * cancelled, the next asker makes the STS call itself (core/sfcache.h). */
struct r53_sts_wait {
	struct d01_sfc_wait sw;
	struct d01_env *env;
	struct d01_http_call *call; /* leading: the STS call in flight */
	char *endpoint, *ca_pem, *role_arn, *web_token;
	char *akid, *secret, *token; /* base keys (AssumeRole) */
	int has_base, ambient;
	r53_keys_fn cb;
	void *arg;
};

/* Part of route53's state in the env (r53_int.h). */
struct r53_sts {
	/* Sessions by HMAC of everything that decides them; the value is
	 * "akid\0secret\0token\0", wiped by the cache. Failures are not
	 * cached. */
	struct d01_sfc *cache;
	/* The HMAC key: random per env, so a digest kept in memory is no
	 * offline guessing oracle for the secret it covers. */
	unsigned char mac_key[32];
};

struct r53_sts *
r53_sts_new(struct d01_env *env)
{
	const struct d01_sfc_cfg cfg = {MAX_IDLE, MAX_WAITERS, 1};
	struct r53_sts *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if (RAND_bytes(c->mac_key, sizeof(c->mac_key)) != 1 ||
	    (c->cache = d01_sfc_new(env->base, env->clock, &cfg)) == NULL) {
		OPENSSL_cleanse(c->mac_key, sizeof(c->mac_key));
		free(c);
		return NULL;
	}
	return c;
}

static struct r53_sts *
sts_of(const struct d01_env *env)
{
	struct r53_state *st = r53_state_of(env);

	return st != NULL ? st->sts : NULL;
}

int
r53_digest(const struct d01_env *env, const char *const *fields, size_t n,
    unsigned char out[R53_DIGEST_LEN])
{
	struct r53_sts *c = sts_of(env);

	if (c == NULL)
		return -1;
	return d01_sfc_key_fields(
	    c->mac_key, sizeof(c->mac_key), fields, n, out);
}

/* ISO 8601 UTC ("2026-11-28T23:00:00Z", fractions ignored) -> Unix, or
 * 0 when malformed. Field widths keep sscanf from overflowing an int, the
 * ranges keep the struct tm arithmetic defined. */
static long long
iso8601(const char *s)
{
	struct tm tm = {0};

	if (s == NULL ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
		&tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6 ||
	    tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour < 0 ||
	    tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 ||
	    tm.tm_sec < 0 || tm.tm_sec > 60)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm);
}

int
r53_sts_parse(const char *body, size_t len, char **akid, char **secret,
    char **token, long long *expires, struct d01_error *err)
{
	struct d01_xml *root = d01_xml_parse(body, len, err), *res, *c;
	const char *a, *s, *t;

	*akid = *secret = *token = NULL;
	if (root == NULL)
		return -1;
	res = root->child; /* AssumeRole(WithWebIdentity)Result */
	while (res != NULL && strstr(res->name, "Result") == NULL)
		res = res->next;
	c = d01_xml_child(res, "Credentials");
	a = d01_xml_text(c, "AccessKeyId");
	s = d01_xml_text(c, "SecretAccessKey");
	t = d01_xml_text(c, "SessionToken");
	*expires = iso8601(d01_xml_text(c, "Expiration"));
	if (a == NULL || s == NULL || t == NULL || *a == '\0' || *s == '\0' ||
	    *expires == 0) {
		const char *code = d01_xml_text(root, "Error/Code");
		const char *msg = d01_xml_text(root, "Error/Message");

		d01_error_set(err, D01_E_AUTH, "STS: %.60s: %.200s",
		    code ? code : "no credentials in the reply",
		    msg ? msg : "");
		d01_xml_free(root);
		return -1;
	}
	*akid = strdup(a);
	*secret = strdup(s);
	*token = strdup(t);
	d01_xml_free(root);
	return *akid && *secret && *token ? 0 : -1;
}

static char *
form_enc(const char *s)
{
	return d01_sigv4_uri_encode(s, strlen(s), 0);
}

/* Start the STS call for entry s. */
static void sts_done(
    void *arg, const struct d01_error *e, const struct d01_http_response *resp);

/* Start the STS call for the leader w, from its copy of the request. */
static int
sts_call(struct r53_sts_wait *w, struct d01_error *err)
{
	const struct r53_keys base = {w->akid, w->secret, w->token};
	const struct r53_sts_req rq = {w->endpoint, w->ca_pem, w->role_arn,
	    w->web_token, w->has_base ? &base : NULL, w->ambient};
	const struct r53_sts_req *r = &rq;
	char body[8192], url[600], date[64], auth[700], tok[2200], host[300];
	char *role = form_enc(r->role_arn), *wt = NULL;
	const char *hdrs[6];
	const char *h = strstr(r->endpoint, "://");
	struct d01_http_request req = {0};
	size_t n = 0;
	int rc = -1;

	snprintf(host, sizeof(host), "%s", h ? h + 3 : r->endpoint);
	host[strcspn(host, "/")] = '\0';
	if (role == NULL ||
	    (r->web_token && (wt = form_enc(r->web_token)) == NULL))
		goto out;
	snprintf(body, sizeof(body),
	    "Action=%s&Version=2011-06-15&RoleArn=%s&RoleSessionName=dns01"
	    "&DurationSeconds=3600%s%s",
	    wt ? "AssumeRoleWithWebIdentity" : "AssumeRole", role,
	    wt ? "&WebIdentityToken=" : "", wt ? wt : "");
	snprintf(url, sizeof(url), "%s/", r->endpoint);
	hdrs[n++] = "Content-Type: application/x-www-form-urlencoded";
	if (wt == NULL) { /* AssumeRole is signed with the base keys */
		const struct d01_sigv4_header sh[2] = {{"Host", host},
		    {"Content-Type", "application/x-www-form-urlencoded"}};
		struct d01_sigv4_input in = {.method = "POST",
		    .path = "/",
		    .query = "",
		    .headers = sh,
		    .nheaders = 2,
		    .payload = (const uint8_t *)body,
		    .payload_len = strlen(body),
		    .region = "us-east-1",
		    .service = "sts",
		    .access_key = r->base->akid,
		    .secret_key = r->base->secret,
		    .session_token = r->base->token,
		    .when = (time_t)d01_clock_wall_s(w->env->clock),
		    .normalize = 1};
		struct d01_sigv4_output o = {0};

		if (d01_sigv4_sign(&in, &o, err) != D01_OK)
			goto out;
		snprintf(date, sizeof(date), "X-Amz-Date: %s", o.amz_date);
		snprintf(
		    auth, sizeof(auth), "Authorization: %s", o.authorization);
		d01_sigv4_output_clear(&o);
		hdrs[n++] = date;
		hdrs[n++] = auth;
		if (r->base->token != NULL) {
			snprintf(tok, sizeof(tok), "X-Amz-Security-Token: %s",
			    r->base->token);
			hdrs[n++] = tok;
		}
	}
	hdrs[n] = NULL;
	req.method = "POST";
	req.url = url;
	req.headers = hdrs;
	req.body = body;
	req.body_len = strlen(body);
	req.ca_pem = r->ca_pem;
	req.budget_ms = 15000;
	w->call = d01_http_start(w->env->http, &req, sts_done, w, err);
	rc = w->call != NULL ? 0 : -1;
out:
	OPENSSL_cleanse(body, sizeof(body));
	free(role);
	if (wt != NULL) {
		OPENSSL_cleanse(wt, strlen(wt));
		free(wt);
	}
	return rc;
}

/*
 * What decides the session STS hands out: the action, the STS endpoint
 * and the trust used to reach it, the role, and the caller's identity in
 * full: the web identity token, or the base key ID, secret and session
 * token. Ambient credentials are marked apart, so even the very same
 * keys given in an issuer's config never share a session with them.
 */
static int
sess_key(const struct d01_env *env, const struct r53_sts_req *r,
    unsigned char key[R53_DIGEST_LEN])
{
	const struct r53_keys *b = r->base;
	const char *f[] = {"r53-sts-v1", r->web_token ? "web" : "role",
	    r->ambient ? "ambient" : "config", r->endpoint, r->ca_pem,
	    r->role_arn, r->web_token, b ? b->akid : NULL, b ? b->secret : NULL,
	    b ? b->token : NULL};

	return r53_digest(env, f, sizeof(f) / sizeof(f[0]), key);
}

static void
wait_free(struct r53_sts_wait *w)
{
	d01_secret_wipe(&w->endpoint);
	d01_secret_wipe(&w->ca_pem);
	d01_secret_wipe(&w->role_arn);
	d01_secret_wipe(&w->web_token);
	d01_secret_wipe(&w->akid);
	d01_secret_wipe(&w->secret);
	d01_secret_wipe(&w->token);
	free(w);
}

/* A copy of the request (strings may be NULL). 0, or -1 out of memory. */
static int
wait_copy(struct r53_sts_wait *w, const struct r53_sts_req *r)
{
	const char *src[7] = {r->endpoint, r->ca_pem, r->role_arn, r->web_token,
	    r->base ? r->base->akid : NULL, r->base ? r->base->secret : NULL,
	    r->base ? r->base->token : NULL};
	char **dst[7] = {&w->endpoint, &w->ca_pem, &w->role_arn, &w->web_token,
	    &w->akid, &w->secret, &w->token};
	size_t i;

	w->has_base = r->base != NULL;
	w->ambient = r->ambient;
	for (i = 0; i < 7; i++)
		if (src[i] != NULL && (*dst[i] = strdup(src[i])) == NULL)
			return -1;
	return 0;
}

/* The keys in a cached value: "akid\0secret\0token\0". */
static int
keys_of(const struct d01_sfc_out *out, struct r53_keys *k)
{
	const char *p = out->val, *end = p + out->len;

	if (out->len < 3 || end[-1] != '\0')
		return -1;
	k->akid = p;
	p += strlen(p) + 1;
	if (p >= end)
		return -1;
	k->secret = p;
	p += strlen(p) + 1;
	if (p >= end)
		return -1;
	k->token = *p != '\0' ? p : NULL;
	return 0;
}

/* The answer to w, then w is gone (the caller's handle with it). */
static void
answer(struct r53_sts_wait *w, const struct d01_error *err,
    const struct r53_keys *k)
{
	w->cb(w->arg, err, err->code == D01_OK ? k : NULL);
	wait_free(w);
}

static void
sts_done(
    void *arg, const struct d01_error *e, const struct d01_http_response *resp)
{
	struct r53_sts_wait *w = arg;
	struct d01_error err = *e;
	char *a = NULL, *sec = NULL, *t = NULL, *v = NULL;
	long long exp = 0;
	size_t la, ls, lt;
	long ttl;

	w->call = NULL;
	if (err.code == D01_OK &&
	    r53_sts_parse(resp->body, resp->len, &a, &sec, &t, &exp, &err) ==
		0) {
		la = strlen(a) + 1, ls = strlen(sec) + 1, lt = strlen(t) + 1;
		/* Kept until REFRESH_AHEAD before it expires (STS states wall
		 * time); already inside that window: handed out, not kept. */
		ttl = (long)(exp - REFRESH_AHEAD -
			  d01_clock_wall_s(w->env->clock)) *
		    1000;
		if ((v = malloc(la + ls + lt)) == NULL) {
			d01_error_set(&err, D01_E_NOMEM, "out of memory");
		} else {
			memcpy(v, a, la);
			memcpy(v + la, sec, ls);
			memcpy(v + la + ls, t, lt);
			d01_sfc_put(&w->sw, v, la + ls + lt, ttl);
			OPENSSL_cleanse(v, la + ls + lt);
			free(v);
		}
	} else if (err.code == D01_OK) {
		d01_error_set(&err, D01_E_AUTH, "STS failed");
	}
	if (err.code != D01_OK) /* not cached: fixing IAM helps at once */
		d01_sfc_fail(&w->sw, &err);
	answer(w, &err, &(struct r53_keys){a, sec, t});
	d01_secret_wipe(&a);
	d01_secret_wipe(&sec);
	d01_secret_wipe(&t);
}

/* What the cache says to an asker, from the loop. */
static void
cached(void *arg, const struct d01_sfc_out *out)
{
	struct r53_sts_wait *w = arg;
	struct d01_error err;
	struct r53_keys k;

	d01_error_clear(&err);
	switch (out->res) {
	case D01_SFC_LEAD: /* the leader was cancelled: our turn */
		if (sts_call(w, &err) == 0)
			return;
		d01_sfc_fail(&w->sw, &err);
		break;
	case D01_SFC_HIT:
		if (keys_of(out, &k) == 0) {
			answer(w, &err, &k);
			return;
		}
		d01_error_set(&err, D01_E_INTERNAL, "STS: bad cache entry");
		break;
	default:
		err = *out->err;
	}
	answer(w, &err, NULL);
}

struct r53_sts_wait *
r53_sts_get(struct d01_env *env, const struct r53_sts_req *r, r53_keys_fn cb,
    void *arg, struct d01_error *err)
{
	unsigned char key[R53_DIGEST_LEN];
	struct r53_sts_wait *w = NULL;
	struct r53_sts *c = sts_of(env);
	struct d01_sfc_out out;

	if (c == NULL) {
		d01_error_set(err, D01_E_INTERNAL, "STS: no state (env)");
		return NULL;
	}
	if (r->web_token == NULL && r->base == NULL) {
		d01_error_set(err, D01_E_INTERNAL, "STS: no credentials");
		return NULL;
	}
	if (sess_key(env, r, key) != 0) {
		d01_error_set(err, D01_E_INTERNAL, "STS: cannot derive a key");
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL || wait_copy(w, r) != 0) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto fail;
	}
	w->env = env;
	w->cb = cb;
	w->arg = arg;
	switch (d01_sfc_get(c->cache, key, &w->sw, cached, w, &out, err)) {
	case D01_SFC_WAIT:
		OPENSSL_cleanse(key, sizeof(key));
		return w;
	case D01_SFC_LEAD:
		/* The first asker makes the call; the others wait on it. */
		if (sts_call(w, err) == 0) {
			OPENSSL_cleanse(key, sizeof(key));
			return w;
		}
		d01_sfc_fail(&w->sw, err);
		break;
	default:
		if (err->code == D01_E_LIMIT)
			d01_error_set(err, D01_E_LIMIT,
			    "STS: %d calls already wait for this session",
			    MAX_WAITERS);
	}
fail:
	OPENSSL_cleanse(key, sizeof(key));
	if (w != NULL)
		wait_free(w);
	return NULL;
}

void
r53_sts_cancel(struct r53_sts_wait *w)
{
	if (w == NULL)
		return;
	/* Nobody hears our answer: stop asking; a waiter takes over. */
	d01_http_cancel(w->call);
	d01_sfc_cancel(&w->sw);
	wait_free(w);
}

void
r53_sts_free(struct r53_sts *c)
{
	if (c == NULL)
		return;
	/* Every op has gone, so has every asker. */
	d01_sfc_free(c->cache);
	OPENSSL_cleanse(c->mac_key, sizeof(c->mac_key));
	free(c);
}

void
r53_sts_count(const struct d01_env *env, size_t *entries, size_t *idle_kept)
{
	const struct r53_sts *c = sts_of(env);

	*entries = *idle_kept = 0;
	if (c != NULL)
		d01_sfc_count(c->cache, entries, idle_kept);
}
