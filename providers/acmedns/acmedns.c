/* SPDX-License-Identifier: ISC */
/*
 * acmedns Present/CleanUp on the async HTTP client:
 *   SECRET  read the accounts JSON (accountSecretRef in resourceNamespace)
 *           and pick the account of dnsName (then without "*.")
 *   MEMO    one POST per account, subdomain and value (below)
 *   UPDATE  POST {host}/update {"subdomain", "txt"} with X-Api-User and
 *           X-Api-Key
 * CleanUp does nothing: acme-dns has no delete, and keeps only the two
 * newest values of a subdomain (README, "acmedns").
 *
 * Why the memo: acme-dns replaces the older of its two values on every
 * update, so posting a value a second time (a retried Present) would push
 * out the other value (the wildcard's sibling, another cluster's). A
 * Present of a value this process has posted with the same account within
 * ADNS_MEMO_MS is answered from a single-flight cache (core/sfcache.h),
 * keyed on a digest of host, whole credential, subdomain and value;
 * identical Presents in flight at once send one POST.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/endpoint.h"
#include "core/http_client.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/secret.h"
#include "core/sfcache.h"
#include "providers/acmedns/acmedns.h"
#include "providers/acmedns/acmedns_int.h"
#include "providers/env.h"

#define ADNS_MEMO_MS	 (10L * 60 * 1000) /* as long as a challenge lives */
#define ADNS_MEMO_IDLE	 1024
#define ADNS_MEMO_ASKERS 256
#define PER_CALL_MS	 10000 /* one attempt; the op's budget caps it */

/* The parsed `config`; owned (adns_config_free). */
struct adns_cfg {
	char *host;			/* base URL, no trailing slash */
	char *secret_name, *secret_key; /* accountSecretRef */
	char *ca_pem;			/* caBundle, or NULL */
	int hide; /* transport detail to the debug log only */
};

struct adns_op {
	struct d01_op op; /* first: op.c allocates and frees the whole */
	const struct adns_cfg *cfg;
	struct d01_sfc *memo;
	char uid[64], ns[254];
	char domain[D01_DNAME_BUF]; /* dnsName, or the FQDN less its label */
	char value[ADNS_TXT_LEN + 1];
	struct adns_account acct; /* wiped in release */
	unsigned char key[D01_SFC_KEY];
	struct d01_sfc_wait wait;
	struct d01_secret_req *sreq;
	struct d01_http_call *call;
};

static const struct adns_cfg *
cfg_of(const struct adns_op *o)
{
	return o->cfg;
}

/* --- config ----------------------------------------------------------- */

static void
adns_config_free(void *p)
{
	struct adns_cfg *c = p;

	if (c == NULL)
		return;
	free(c->host);
	free(c->secret_name);
	free(c->secret_key);
	free(c->ca_pem);
	free(c);
}

/* host: an http(s) URL without query, fragment, spaces or control bytes,
 * allowed by the operator: acme-dns has no public default, so in `serve`
 * every host must be listed with --allow-provider-endpoint. */
static enum d01_err
parse_host(struct d01_env *env, struct adns_cfg *c, const json_t *config,
    struct d01_error *err)
{
	const json_t *v = json_object_get(config, "host");
	const char *s = json_string_value(v);
	size_t n, i;
	int custom;

	if (s == NULL || json_string_length(v) == 0 ||
	    json_string_length(v) > 512 || strlen(s) != json_string_length(v))
		return d01_error_set(err, D01_E_CONFIG,
		    "acmedns: host (the acme-dns server's URL) is required");
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return d01_error_set(err, D01_E_CONFIG,
			    "acmedns: host must not contain spaces or control "
			    "characters");
	if ((strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0) ||
	    strpbrk(s, "?#") != NULL)
		return d01_error_set(err, D01_E_CONFIG,
		    "acmedns: host must be an http(s) URL without query or "
		    "fragment");
	if ((c->host = strdup(s)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	if ((n = strlen(c->host)) > 0 && c->host[n - 1] == '/')
		c->host[n - 1] = '\0'; /* would double in the path */
	if (d01_endpoint_check(env ? env->endpoints : NULL, "acmedns", "host",
		c->host, NULL, &custom, err) != D01_OK)
		return err->code;
	/* Every host is custom; only the CLI (everything allowed, its user
	 * is the operator) sees the transport's own words. */
	c->hide = !d01_endpoints_ambient_anywhere(env ? env->endpoints : NULL);
	return D01_OK;
}

static enum d01_err
adns_config_parse(struct d01_env *env, const json_t *config, void **out,
    struct d01_error *err)
{
	struct d01_secret_ref ref;
	struct adns_cfg *c;

	if (!json_is_object(config))
		return d01_error_set(err, D01_E_CONFIG,
		    "acmedns: config with host and accountSecretRef is "
		    "required");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	if (parse_host(env, c, config, err) != D01_OK)
		goto fail;
	if (d01_secret_ref_parse(config, "accountSecretRef", &ref, err) !=
	    D01_OK) {
		d01_error_prefix(err, "acmedns: ");
		goto fail;
	}
	if ((c->secret_name = strdup(ref.name)) == NULL ||
	    (c->secret_key = strdup(ref.key)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto fail;
	}
	if (d01_ca_pem_config(config, "acmedns", &c->ca_pem, err) != D01_OK)
		goto fail;
	*out = c;
	return D01_OK;
fail:
	adns_config_free(c);
	return err->code;
}

/* --- process-wide state: the memo ------------------------------------- */

static enum d01_err
adns_init(struct d01_env *env, const struct d01_env_opts *opts, void **state,
    struct d01_error *err)
{
	const struct d01_sfc_cfg cfg = {ADNS_MEMO_IDLE, ADNS_MEMO_ASKERS, 0};

	(void)opts;
	if ((*state = d01_sfc_new(env->base, env->clock, &cfg)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	return D01_OK;
}

static void
adns_fini(struct d01_env *env, void *state)
{
	(void)env;
	d01_sfc_free(state);
}

/* --- the op ----------------------------------------------------------- */

static void
adns_release(struct d01_op *op)
{
	struct adns_op *o = (struct adns_op *)op;

	d01_secret_cancel(o->sreq);
	d01_http_cancel(o->call);
	/* A leader that goes hands the flight to the next asker. */
	d01_sfc_cancel(&o->wait);
	OPENSSL_cleanse(&o->acct, sizeof(o->acct));
	OPENSSL_cleanse(o->key, sizeof(o->key));
}

static void
adns_finish(struct adns_op *o, struct d01_error *err)
{
	if (err != NULL && err->code != D01_OK) {
		/* acme-dns may echo what it was sent. */
		d01_redact(err->msg, sizeof(err->msg), o->acct.password);
		d01_redact(err->msg, sizeof(err->msg), o->acct.username);
	}
	d01_op_finish(&o->op, err);
}

static void
update_done(
    void *arg, const struct d01_error *e, const struct d01_http_response *resp)
{
	struct adns_op *o = arg;
	struct d01_error err = *e;

	o->call = NULL;
	if (err.code != D01_OK && cfg_of(o)->hide) /* no port-scan oracle */
		d01_endpoint_hide_transport(&err, "acmedns", o->uid);
	if (err.code == D01_OK && (resp->status < 200 || resp->status > 299))
		adns_reply_error(resp->status, resp->body, resp->len, &err);
	if (err.code != D01_OK) {
		d01_error_prefix(&err, "%s: ", o->op.step);
		d01_sfc_fail(&o->wait, &err); /* same key, same failure */
		adns_finish(o, &err);
		return;
	}
	d01_sfc_put(&o->wait, "1", 1, ADNS_MEMO_MS);
	adns_finish(o, NULL);
}

static void
step_update(struct adns_op *o)
{
	char url[600], user[ADNS_USER_MAX + 16], pass[ADNS_PASS_MAX + 16];
	const char *hdrs[5];
	struct d01_http_request req = {0};
	struct d01_error err;
	json_t *j;
	char *body = NULL;

	d01_error_clear(&err);
	d01_op_step(&o->op, "posting the value to %s/update", cfg_of(o)->host);
	j = json_pack(
	    "{s:s, s:s}", "subdomain", o->acct.subdomain, "txt", o->value);
	if (j == NULL || (body = json_dumps(j, JSON_COMPACT)) == NULL) {
		json_decref(j);
		d01_error_set(&err, D01_E_NOMEM, "out of memory");
		goto fail;
	}
	json_decref(j);
	snprintf(url, sizeof(url), "%s/update", cfg_of(o)->host);
	/* Both were checked: printable, no spaces, bounded. */
	snprintf(user, sizeof(user), "X-Api-User: %s", o->acct.username);
	snprintf(pass, sizeof(pass), "X-Api-Key: %s", o->acct.password);
	hdrs[0] = user;
	hdrs[1] = pass;
	hdrs[2] = "Content-Type: application/json";
	hdrs[3] = "Accept: application/json";
	hdrs[4] = NULL;
	req.method = "POST";
	req.url = url;
	req.headers = hdrs;
	req.body = body;
	req.body_len = strlen(body);
	req.ca_pem = cfg_of(o)->ca_pem;
	req.budget_ms = d01_op_budget_ms(&o->op);
	req.timeout_ms =
	    req.budget_ms < PER_CALL_MS ? req.budget_ms : PER_CALL_MS;
	if (req.budget_ms <= 0)
		d01_error_set(&err, D01_E_TIMEOUT, "out of time");
	else
		o->call =
		    d01_http_start(o->op.env->http, &req, update_done, o, &err);
	OPENSSL_cleanse(pass, sizeof(pass));
	OPENSSL_cleanse(user, sizeof(user));
	free(body);
	if (o->call != NULL)
		return;
fail:
	d01_sfc_fail(&o->wait, &err);
	adns_finish(o, &err);
}

/* What the memo answered: posted already, the other's failure, or ours
 * to post. */
static void
memo_answer(struct adns_op *o, const struct d01_sfc_out *out)
{
	struct d01_error err;

	switch (out->res) {
	case D01_SFC_HIT:
		d01_log(D01_LOG_DEBUG, "acmedns_present_repeat",
		    "uid=%s subdomain=%s: posted already; not posted again, "
		    "which would push the other value out",
		    o->uid, o->acct.subdomain);
		adns_finish(o, NULL);
		return;
	case D01_SFC_LEAD:
		step_update(o);
		return;
	case D01_SFC_FAIL:
	case D01_SFC_NEG:
		err = *out->err;
		adns_finish(o, &err);
		return;
	default:
		d01_error_set(&err, D01_E_INTERNAL, "unexpected memo answer");
		adns_finish(o, &err);
		return;
	}
}

static void
memo_cb(void *arg, const struct d01_sfc_out *out)
{
	memo_answer(arg, out);
}

/* The memo key: SHA-256 over host, the whole credential, subdomain and
 * value, each NUL-terminated so no two tuples run together. */
static int
memo_key(struct adns_op *o)
{
	const char *parts[] = {cfg_of(o)->host, o->acct.username,
	    o->acct.password, o->acct.subdomain, o->value};
	unsigned int n = D01_SFC_KEY;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t i;
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);

	for (i = 0; ok && i < sizeof(parts) / sizeof(parts[0]); i++)
		ok = EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]) + 1);
	ok = ok && EVP_DigestFinal_ex(ctx, o->key, &n) && n == D01_SFC_KEY;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

static void
secret_done(void *arg, const struct d01_error *e, const char *value, size_t len)
{
	struct adns_op *o = arg;
	struct d01_error err = *e;
	struct d01_sfc_out out;

	o->sreq = NULL;
	if (err.code == D01_OK &&
	    adns_account_find(value, len, o->domain, &o->acct, &err) != D01_OK)
		d01_error_prefix(&err, "secret %s/%s key %s: ", o->ns,
		    cfg_of(o)->secret_name, cfg_of(o)->secret_key);
	if (err.code == D01_OK && memo_key(o) != 0)
		d01_error_set(&err, D01_E_INTERNAL, "SHA-256 failed");
	if (err.code != D01_OK) {
		adns_finish(o, &err);
		return;
	}
	d01_op_step(&o->op, "waiting for the same Present in flight");
	switch (
	    d01_sfc_get(o->memo, o->key, &o->wait, memo_cb, o, &out, &err)) {
	case D01_SFC_WAIT:
		return;
	case D01_SFC_LIMIT:
		adns_finish(o, &err);
		return;
	default:
		memo_answer(o, &out);
		return;
	}
}

/* The accounts file is keyed by the domain; the CLI has no dnsName, so
 * the FQDN less "_acme-challenge." stands in for it. */
static void
set_domain(struct adns_op *o, const struct d01_challenge *ch)
{
	const char *s = ch->dns_name;

	if (s == NULL || *s == '\0') {
		s = ch->fqdn;
		if (strncmp(s, "_acme-challenge.", 16) == 0)
			s += 16;
	}
	snprintf(o->domain, sizeof(o->domain), "%s", s);
}

static enum d01_err
start(struct d01_op *op, void *cfg, const struct d01_challenge *ch,
    struct d01_error *err)
{
	struct adns_op *o = (struct adns_op *)op;
	struct d01_secret_ref ref;
	char q[80];

	o->cfg = cfg;
	snprintf(o->uid, sizeof(o->uid), "%s", ch->uid ? ch->uid : "");
	if (!op->present) {
		/* acme-dns has no delete: the value stays until two newer
		 * ones replace it, and no resolver trusts it after the
		 * challenge. */
		d01_log(D01_LOG_DEBUG, "acmedns_cleanup",
		    "uid=%s fqdn=%s: acme-dns cannot delete a value; it stays "
		    "until two newer values for the subdomain replace it",
		    d01_log_quote(q, sizeof(q), o->uid), ch->fqdn);
		d01_op_finish(op, NULL);
		return D01_OK;
	}
	if (op->env->http == NULL)
		return d01_error_set(
		    err, D01_E_INTERNAL, "acmedns: no HTTP client");
	if (!adns_txt_valid(ch->key))
		return d01_error_set(err, D01_E_INVAL,
		    "acmedns: acme-dns accepts only TXT values of exactly %d "
		    "base64url characters (an ACME key authorization digest)",
		    ADNS_TXT_LEN);
	o->memo = d01_env_provider_state(op->env, &d01_provider_acmedns);
	memcpy(o->value, ch->key, ADNS_TXT_LEN + 1);
	snprintf(o->ns, sizeof(o->ns), "%s", ch->namespace);
	set_domain(o, ch);
	ref.name = cfg_of(o)->secret_name;
	ref.key = cfg_of(o)->secret_key;
	d01_op_step(&o->op, "reading the accounts %s/%s", o->ns, ref.name);
	o->sreq =
	    d01_secret_get(op->env->secrets, o->ns, &ref, secret_done, o, err);
	if (o->sreq == NULL) {
		d01_error_prefix(err, "acmedns: ");
		return err->code;
	}
	return D01_OK;
}

/* lego's names. ACME_DNS_STORAGE_PATH names the accounts file; the CLI
 * reads it into its in-memory secret store (a webhook config can only
 * name a Secret). */
static const struct d01_envvar adns_envvars[] = {
    {"ACME_DNS_API_BASE", NULL, "host", D01_ENVVAR_STRING, 1},
    {"ACME_DNS_STORAGE_PATH", NULL, "accountSecretRef", D01_ENVVAR_SECRET_FILE,
	1},
    {"ACME_DNS_CA_BUNDLE", NULL, "caBundle", D01_ENVVAR_STRING, 0},
    {NULL, NULL, NULL, D01_ENVVAR_STRING, 0},
};

const struct d01_provider d01_provider_acmedns = {
    .name = "acmedns",
    .summary = "an acme-dns server (POST /update; keeps two values, no "
	       "delete)",
    .envvars = adns_envvars,
    .init = adns_init,
    .fini = adns_fini,
    .config_parse = adns_config_parse,
    .config_free = adns_config_free,
    .op_size = sizeof(struct adns_op),
    .start = start,
    .release = adns_release,
};
