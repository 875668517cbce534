/* SPDX-License-Identifier: ISC */
/*
 * STS temporary credentials with a shared, expiring cache; see r53_sts.h.
 *
 * Sessions live in a list, not a fixed table: an entry in flight never
 * keeps another key out (one tenant stalling calls against a black hole
 * must not lock the others out), idle completed sessions are bounded by
 * LRU, and askers are bounded per key. An entry is found by an HMAC of
 * everything that decides which session STS would hand out, the base
 * credentials included, so a session is only ever reused for
 * byte-identical credentials on the same side of the ambient line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/http_client.h"
#include "core/sigv4.h"
#include "core/xml.h"
#include "providers/route53/r53_int.h"

#define REFRESH_AHEAD 300 /* seconds before expiry */
#define MAX_IDLE      64  /* completed sessions kept; LRU beyond */
#define MAX_WAITERS   256 /* askers queued on one key */

struct r53_sts_wait {
	TAILQ_ENTRY(r53_sts_wait) link;
	struct sess *sess;
	struct event *ev; /* deferred delivery of a cached hit */
	r53_keys_fn cb;
	void *arg;
	int marked; /* among those the current delivery answers */
};

struct sess {
	TAILQ_ENTRY(sess) link; /* most recently used first */
	struct r53_sts *owner;
	unsigned char key[R53_DIGEST_LEN];
	char *akid, *secret, *token; /* NULL until STS answered */
	long long expires;
	struct d01_http_call *call; /* the one STS call in flight */
	TAILQ_HEAD(, r53_sts_wait) waiters;
	unsigned nwaiters;
	int busy; /* answering its waiters: not to be freed under them */
};

TAILQ_HEAD(sessq, sess);

/* Part of route53's state in the env (r53_int.h). */
struct r53_sts {
	struct sessq sessions;
	/* The HMAC key: random per env, so a digest kept in memory is no
	 * offline guessing oracle for the secret it covers. */
	unsigned char mac_key[32];
};

struct r53_sts *
r53_sts_new(void)
{
	struct r53_sts *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	TAILQ_INIT(&c->sessions);
	if (RAND_bytes(c->mac_key, sizeof(c->mac_key)) != 1) {
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

static void
wipe(char **p)
{
	if (*p != NULL) {
		OPENSSL_cleanse(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

int
r53_digest(const struct d01_env *env, const char *const *fields, size_t n,
    unsigned char out[R53_DIGEST_LEN])
{
	struct r53_sts *c = sts_of(env);
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	unsigned char len[9];
	size_t i, l, outl = 0;
	int rc = -1;

	if (c == NULL)
		return -1;
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (ctx = EVP_MAC_CTX_new(mac)) == NULL ||
	    EVP_MAC_init(ctx, c->mac_key, sizeof(c->mac_key), params) != 1)
		goto out;
	/* Each field length-prefixed (a NULL one marked apart from ""), so
	 * no two different field lists feed the MAC the same bytes. */
	for (i = 0; i < n; i++) {
		l = fields[i] != NULL ? strlen(fields[i]) : 0;
		len[0] = fields[i] != NULL;
		for (int b = 0; b < 8; b++)
			len[1 + b] =
			    (unsigned char)((uint64_t)l >> (56 - 8 * b));
		if (EVP_MAC_update(ctx, len, sizeof(len)) != 1 ||
		    (l > 0 &&
			EVP_MAC_update(
			    ctx, (const unsigned char *)fields[i], l) != 1))
			goto out;
	}
	if (EVP_MAC_final(ctx, out, &outl, R53_DIGEST_LEN) == 1 &&
	    outl == R53_DIGEST_LEN)
		rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
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

static long long
now_s(void)
{
	return (long long)time(NULL);
}

/* A session still good enough to hand out. */
static int
servable(const struct sess *e)
{
	return e->akid != NULL && e->expires - REFRESH_AHEAD > now_s();
}

static int
idle(const struct sess *e)
{
	return e->call == NULL && TAILQ_EMPTY(&e->waiters) && !e->busy;
}

static void
sess_free(struct sess *e)
{
	TAILQ_REMOVE(&e->owner->sessions, e, link);
	wipe(&e->akid);
	wipe(&e->secret);
	wipe(&e->token);
	OPENSSL_cleanse(e->key, sizeof(e->key));
	free(e);
}

/*
 * Drop idle entries with nothing worth keeping (a failed call, a session
 * past its refresh point: wiped, not left to linger), then the least
 * recently used idle sessions beyond MAX_IDLE. Entries in flight or
 * answering never count and are never dropped here.
 */
static void
sweep(struct r53_sts *c)
{
	struct sess *e, *prev;
	unsigned kept = 0;

	TAILQ_FOREACH(e, &c->sessions, link)
	if (idle(e) && servable(e))
		kept++;
	for (e = TAILQ_LAST(&c->sessions, sessq); e != NULL; e = prev) {
		prev = TAILQ_PREV(e, sessq, link);
		if (!idle(e))
			continue;
		if (!servable(e)) {
			sess_free(e);
		} else if (kept > MAX_IDLE) {
			sess_free(e);
			kept--;
		}
	}
}

/* Answer the waiters queued when the call ended. Askers arriving from
 * inside a callback queue behind them unmarked: they wait for their own
 * answer (a cache hit or a new call), not this one. */
static void
deliver(struct sess *e, const struct d01_error *err)
{
	struct r53_sts_wait *w;
	struct r53_keys k;

	TAILQ_FOREACH(w, &e->waiters, link)
	w->marked = 1;
	e->busy++;
	while ((w = TAILQ_FIRST(&e->waiters)) != NULL && w->marked) {
		TAILQ_REMOVE(&e->waiters, w, link);
		e->nwaiters--;
		if (w->ev != NULL)
			event_free(w->ev);
		k = (struct r53_keys){e->akid, e->secret, e->token};
		w->cb(w->arg, err, err->code == D01_OK ? &k : NULL);
		free(w);
	}
	e->busy--;
	sweep(e->owner);
}

static void
sts_done(
    void *arg, const struct d01_error *e, const struct d01_http_response *resp)
{
	struct sess *s = arg;
	struct d01_error err = *e;
	char *a = NULL, *sec = NULL, *t = NULL;
	long long exp = 0;

	s->call = NULL;
	if (err.code == D01_OK &&
	    r53_sts_parse(resp->body, resp->len, &a, &sec, &t, &exp, &err) ==
		0) {
		wipe(&s->akid);
		wipe(&s->secret);
		wipe(&s->token);
		s->akid = a;
		s->secret = sec;
		s->token = t;
		s->expires = exp;
	} else {
		wipe(&a);
		wipe(&sec);
		wipe(&t);
		if (err.code == D01_OK)
			d01_error_set(&err, D01_E_AUTH, "STS failed");
	}
	deliver(s, &err);
}

/* A cache hit, delivered from the loop like every other completion. */
static void
hit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct r53_sts_wait *w = arg;
	struct sess *s = w->sess;
	struct r53_keys k = {s->akid, s->secret, s->token};
	struct d01_error ok;

	(void)fd;
	(void)what;
	d01_error_clear(&ok);
	TAILQ_REMOVE(&s->waiters, w, link);
	s->nwaiters--;
	event_free(w->ev);
	s->busy++; /* k points into s */
	w->cb(w->arg, &ok, &k);
	s->busy--;
	free(w);
	sweep(s->owner);
}

static char *
form_enc(const char *s)
{
	return d01_sigv4_uri_encode(s, strlen(s), 0);
}

/* Start the STS call for entry s. */
static int
sts_call(struct d01_env *env, struct sess *s, const struct r53_sts_req *r,
    struct d01_error *err)
{
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
		    .when = time(NULL),
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
	s->call = d01_http_start(env->http, &req, sts_done, s, err);
	rc = s->call != NULL ? 0 : -1;
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

static struct sess *
sess_find(struct r53_sts *c, const unsigned char key[R53_DIGEST_LEN])
{
	struct sess *e;

	TAILQ_FOREACH(e, &c->sessions, link)
	if (CRYPTO_memcmp(e->key, key, R53_DIGEST_LEN) == 0)
		return e;
	return NULL;
}

struct r53_sts_wait *
r53_sts_get(struct d01_env *env, const struct r53_sts_req *r, r53_keys_fn cb,
    void *arg, struct d01_error *err)
{
	unsigned char key[R53_DIGEST_LEN];
	struct r53_sts_wait *w = NULL;
	struct r53_sts *c = sts_of(env);
	struct sess *s;

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
	sweep(c);
	if ((s = sess_find(c, key)) == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			goto nomem;
		s->owner = c;
		memcpy(s->key, key, sizeof(key));
		TAILQ_INIT(&s->waiters);
		TAILQ_INSERT_HEAD(&c->sessions, s, link);
	} else {
		/* Used: to the head of the LRU order. */
		TAILQ_REMOVE(&c->sessions, s, link);
		TAILQ_INSERT_HEAD(&c->sessions, s, link);
	}
	OPENSSL_cleanse(key, sizeof(key));
	if (s->nwaiters >= MAX_WAITERS) {
		d01_error_set(err, D01_E_LIMIT,
		    "STS: %d calls already wait for this session", MAX_WAITERS);
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		goto nomem;
	w->sess = s;
	w->cb = cb;
	w->arg = arg;
	if (s->call == NULL && servable(s)) {
		if ((w->ev = event_new(env->base, -1, 0, hit_cb, w)) == NULL)
			goto nomem;
		TAILQ_INSERT_TAIL(&s->waiters, w, link);
		s->nwaiters++;
		event_active(w->ev, 0, 0);
		return w;
	}
	TAILQ_INSERT_TAIL(&s->waiters, w, link);
	s->nwaiters++;
	/* The first asker starts the call; the others just wait on it. */
	if (s->call == NULL && sts_call(env, s, r, err) != 0) {
		TAILQ_REMOVE(&s->waiters, w, link);
		s->nwaiters--;
		free(w);
		sweep(c);
		return NULL;
	}
	return w;
nomem:
	free(w);
	sweep(c); /* a new entry nobody waits on goes again */
	d01_error_set(err, D01_E_NOMEM, "out of memory");
	return NULL;
}

void
r53_sts_cancel(struct r53_sts_wait *w)
{
	struct sess *s;

	if (w == NULL)
		return;
	s = w->sess;
	TAILQ_REMOVE(&s->waiters, w, link);
	s->nwaiters--;
	if (w->ev != NULL)
		event_free(w->ev);
	free(w);
	/* Nobody left to hear the answer: no need to keep asking. */
	if (TAILQ_EMPTY(&s->waiters) && s->call != NULL) {
		d01_http_cancel(s->call);
		s->call = NULL;
	}
	sweep(s->owner);
}

void
r53_sts_free(struct r53_sts *c)
{
	struct sess *e;

	if (c == NULL)
		return;
	/* Every op has gone, so has every waiter; a call nobody waits on
	 * was cancelled with its last waiter. Defensively, again. */
	while ((e = TAILQ_FIRST(&c->sessions)) != NULL) {
		d01_http_cancel(e->call);
		sess_free(e);
	}
	OPENSSL_cleanse(c->mac_key, sizeof(c->mac_key));
	free(c);
}

void
r53_sts_count(const struct d01_env *env, size_t *entries, size_t *idle_kept)
{
	const struct r53_sts *c = sts_of(env);
	const struct sess *e;

	*entries = *idle_kept = 0;
	if (c == NULL)
		return;
	TAILQ_FOREACH(e, &c->sessions, link)
	{
		++*entries;
		if (idle(e) && servable(e))
			++*idle_kept;
	}
}
