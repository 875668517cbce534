/* SPDX-License-Identifier: ISC */
/* STS temporary credentials with a shared, expiring cache; see r53_sts.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/http_client.h"
#include "core/sigv4.h"
#include "core/xml.h"
#include "providers/route53/r53_sts.h"

#define SLOTS	      16
#define REFRESH_AHEAD 300 /* seconds before expiry */

struct r53_sts_wait {
	TAILQ_ENTRY(r53_sts_wait) link;
	struct slot *slot;
	struct event *ev; /* deferred delivery of a cached hit */
	r53_keys_fn cb;
	void *arg;
};

struct slot {
	char key[700];
	char *akid, *secret, *token;
	long long expires;
	struct d01_http_call *call; /* the one STS call in flight */
	TAILQ_HEAD(, r53_sts_wait) waiters;
	int used;
};

static struct slot slots[SLOTS];

static void
wipe(char **p)
{
	if (*p != NULL) {
		OPENSSL_cleanse(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
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

static void
deliver(struct slot *s, const struct d01_error *err)
{
	struct r53_sts_wait *w;
	struct r53_keys k = {s->akid, s->secret, s->token};

	while ((w = TAILQ_FIRST(&s->waiters)) != NULL) {
		TAILQ_REMOVE(&s->waiters, w, link);
		if (w->ev != NULL)
			event_free(w->ev);
		w->cb(w->arg, err, err->code == D01_OK ? &k : NULL);
		free(w);
	}
}

static void
sts_done(
    void *arg, const struct d01_error *e, const struct d01_http_response *resp)
{
	struct slot *s = arg;
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
	struct slot *s = w->slot;
	struct r53_keys k = {s->akid, s->secret, s->token};
	struct d01_error ok;

	(void)fd;
	(void)what;
	d01_error_clear(&ok);
	TAILQ_REMOVE(&s->waiters, w, link);
	event_free(w->ev);
	w->cb(w->arg, &ok, &k);
	free(w);
}

static char *
form_enc(const char *s)
{
	return d01_sigv4_uri_encode(s, strlen(s), 0);
}

/* Start the STS call for slot s. */
static int
sts_call(struct d01_env *env, struct slot *s, const struct r53_sts_req *r,
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

static void
slot_key(const struct r53_sts_req *r, char *key, size_t len)
{
	unsigned char md[32];
	char hex[17];
	const char *who = r->web_token ? r->web_token : r->base->akid;
	int i;

	/* The web identity token rotates: a new one is a new entry. */
	EVP_Digest(who, strlen(who), md, NULL, EVP_sha256(), NULL);
	for (i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(key, len, "%s|%.300s|%.300s|%s", r->web_token ? "web" : "role",
	    r->endpoint, r->role_arn, hex);
}

static struct slot *
slot_find(const char *key)
{
	struct slot *free_slot = NULL, *oldest = NULL;
	int i;

	for (i = 0; i < SLOTS; i++) {
		struct slot *s = &slots[i];

		if (s->used && strcmp(s->key, key) == 0)
			return s;
		if (!s->used && free_slot == NULL)
			free_slot = s;
		if (s->used && s->call == NULL && TAILQ_EMPTY(&s->waiters) &&
		    (oldest == NULL || s->expires < oldest->expires))
			oldest = s;
	}
	if (free_slot == NULL && (free_slot = oldest) != NULL) {
		wipe(&free_slot->akid);
		wipe(&free_slot->secret);
		wipe(&free_slot->token);
	}
	if (free_slot != NULL) {
		memset(free_slot, 0, sizeof(*free_slot));
		TAILQ_INIT(&free_slot->waiters);
		free_slot->used = 1;
		snprintf(free_slot->key, sizeof(free_slot->key), "%s", key);
	}
	return free_slot;
}

struct r53_sts_wait *
r53_sts_get(struct d01_env *env, const struct r53_sts_req *r, r53_keys_fn cb,
    void *arg, struct d01_error *err)
{
	struct r53_sts_wait *w;
	struct slot *s;
	char key[700];

	slot_key(r, key, sizeof(key));
	if ((s = slot_find(key)) == NULL) {
		d01_error_set(
		    err, D01_E_LIMIT, "STS: too many credential sets");
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	w->slot = s;
	w->cb = cb;
	w->arg = arg;
	if (s->call == NULL && s->akid != NULL &&
	    s->expires - REFRESH_AHEAD > (long long)time(NULL)) {
		if ((w->ev = event_new(env->base, -1, 0, hit_cb, w)) == NULL) {
			free(w);
			d01_error_set(err, D01_E_NOMEM, "out of memory");
			return NULL;
		}
		TAILQ_INSERT_TAIL(&s->waiters, w, link);
		event_active(w->ev, 0, 0);
		return w;
	}
	TAILQ_INSERT_TAIL(&s->waiters, w, link);
	/* The first asker starts the call; the others just wait on it. */
	if (s->call == NULL && sts_call(env, s, r, err) != 0) {
		TAILQ_REMOVE(&s->waiters, w, link);
		free(w);
		return NULL;
	}
	return w;
}

void
r53_sts_cancel(struct r53_sts_wait *w)
{
	struct slot *s;

	if (w == NULL)
		return;
	s = w->slot;
	TAILQ_REMOVE(&s->waiters, w, link);
	if (w->ev != NULL)
		event_free(w->ev);
	free(w);
	/* Nobody left to hear the answer: no need to keep asking. */
	if (TAILQ_EMPTY(&s->waiters) && s->call != NULL) {
		d01_http_cancel(s->call);
		s->call = NULL;
	}
}
