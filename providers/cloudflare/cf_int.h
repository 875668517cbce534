/* SPDX-License-Identifier: ISC */
/*
 * Private to providers/cloudflare/: the parsed config (cf_config.c), the
 * API exchange and reply parsing (cf_api.c) and the op the state machine
 * in cloudflare.c drives.
 */
#ifndef D01_CF_INT_H
#define D01_CF_INT_H

#include <jansson.h>

#include "core/dname.h"
#include "core/http_client.h"
#include "core/secret.h"
#include "core/text.h"
#include "providers/cloudflare/cloudflare.h"

#define CF_DEFAULT_BASE "https://api.cloudflare.com/client/v4"
#define CF_ID_MAX	64   /* zone and record IDs: 32 hex in practice */
#define CF_SECRET_MAX	1024 /* longest token or key accepted */
#define CF_MAX_IDS	16   /* records of ours deleted per listing */
#define CF_QUOTE_MAX	200  /* bytes of the API's error text quoted */

/* The parsed `config`; every string is owned (cf_config_free). */
struct cf_cfg {
	char *base_url;			/* no trailing slash */
	char *email;			/* with the Global API key only */
	char *secret_name, *secret_key; /* apiTokenSecretRef/apiKeySecretRef */
	int use_token;
	char *zone_id; /* pinned zone, or NULL */
	char *ca_pem;  /* caBundle: PEM text to trust, or NULL */
	int custom;    /* base_url is not Cloudflare's own API */
	unsigned ttl;  /* 1 (automatic) or 60..86400 */
};

/* cf_config.c */
enum d01_err cf_config_parse(struct d01_env *env, const json_t *config,
    void **cfg, struct d01_error *err);
void cf_config_free(void *cfg);
/* The rules of the CF_* variables (provider.h, env_fixup): a token, or
 * email + Global API key; the token wins when both are there. */
enum d01_err cf_env_fixup(json_t *config, struct d01_error *err);

/* 1 when `s` is a plausible API identifier: [A-Za-z0-9_-], 1..63 bytes.
 * IDs go into URL paths, so anything else is refused. */
int cf_id_valid(const char *s);

enum cf_step { CF_SECRET, CF_ZONE, CF_LIST, CF_CREATE, CF_DELETE };

/* One Present or CleanUp; see cloudflare.c for the steps. */
struct cf_op {
	struct d01_op op;    /* first: op.c allocates and frees the whole */
	struct d01_env *env; /* op.env, for brevity */
	const struct cf_cfg *cfg;
	enum cf_step st;
	char uid[64];
	char name[D01_DNAME_BUF]; /* the FQDN without the trailing dot */
	char zone[D01_DNAME_BUF]; /* resolvedZone without the dot, or "" */
	char value[256], ns[254];
	char candidate[D01_DNAME_BUF]; /* zone name being looked up */
	size_t walk;		       /* offset of the next walk candidate */
	int tried_resolved, zone_from_memo;
	int leading;			/* our zone lookup others wait on */
	int abandoned;			/* lookups waited on that failed */
	int solo;			/* ask for ourselves, wait no more */
	struct d01_http_memo_wait wait; /* waiting on another's lookup */
	char zone_id[CF_ID_MAX];
	char *secret;	   /* the token or key; wiped on free */
	char cred_tag[33]; /* hex prefix of SHA-256(email, secret) */
	int page, found, relisted, truncated;
	int nids;
	char ids[CF_MAX_IDS][CF_ID_MAX];
	struct d01_secret_req *sreq;
	struct d01_http_call *call;
};

/* cloudflare.c: the state machine's shared steps */

/* Run the current step. */
void cf_step(struct cf_op *o);
/* End the op with err (NULL: success), scrubbed of the secret and naming
 * the zone; then leave o alone (d01_op_finish). */
void cf_finish(struct cf_op *o, struct d01_error *err);
/* The current step's API request; on failure the op finishes. */
void cf_request(
    struct cf_op *o, const char *method, const char *path, const char *body);

/* cf_zone.c: finding the zone ID (CF_ZONE) */

/* Set the first zone candidate (at start). */
void cf_zone_first(struct cf_op *o);
/* Run CF_ZONE: may wait on another op's lookup, then cf_step() again. */
void cf_zone_step(struct cf_op *o);
/* A /zones reply (res NULL: err says why): found, next candidate, or
 * err set when no candidate is left. */
void cf_zone_reply(struct cf_op *o, json_t *res, struct d01_error *err);
/* A listing failed with a remembered zone ID the API no longer knows:
 * forget it and go back to CF_ZONE (1), or not that case (0). */
int cf_zone_stale(struct cf_op *o, long status, int code);
/* Stop waiting on another op's lookup; abandon ours if we lead one. */
void cf_zone_release(struct cf_op *o);

/* cf_api.c */

/*
 * Send one API request for `o` (method, path below baseURL, optional JSON
 * body) with its credentials, within the op's budget (d01_op_budget_ms).
 * Returns the call (completion in cb(o, ...)), or NULL with err filled.
 */
struct d01_http_call *cf_api_start(struct cf_op *o, const char *method,
    const char *path, const char *body, d01_http_fn cb, struct d01_error *err);

/* out = hex of the first 16 bytes of SHA-256(email NUL secret). */
void cf_cred_tag(const char *email, const char *secret, char out[33]);

/* Copy a name without its trailing dot (the API's spelling); NULL: "". */
void cf_undot(char *dst, size_t n, const char *src);

/*
 * The envelope of every reply. On success (`success: true` and a 2xx)
 * return `result` (borrowed from *root, which the caller decrefs) and set
 * *total_pages when given. Otherwise return NULL with err filled: the HTTP
 * status and Cloudflare's "[code] message" list (error_chain included),
 * control characters dropped, CF_QUOTE_MAX bytes at most (never the raw
 * body: a baseURL may be any service); retryable for 429 and 5xx. *cf_code gets
 * the first error code (0 if none).
 */
json_t *cf_envelope(long status, const char *body, size_t len, json_t **root,
    int *total_pages, int *cf_code, struct d01_error *err);

/* The id of the zone named `name` in a /zones result; 0, or -1. */
int cf_zone_pick(const json_t *result, const char *name, char *id, size_t n);

/*
 * Scan a dns_records result for TXT records named `name` whose content is
 * `value` exactly, bare or in double quotes (older tools stored it bare).
 * Copies up to `max` ids into ids[] (counting on from *nids) and returns
 * how many matched, copied or not.
 */
int cf_records_match(const json_t *result, const char *name, const char *value,
    char ids[][CF_ID_MAX], int max, int *nids);

#endif
