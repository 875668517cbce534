/* SPDX-License-Identifier: ISC */
/*
 * Private to providers/digitalocean/: the parsed config (do_config.c),
 * the API exchange and the pure reply parsers (do_api.c, which
 * tests/unit/test_digitalocean.c and tests/fuzz/fuzz_digitalocean_records.c
 * drive) and the op the state machine in digitalocean.c runs.
 */
#ifndef D01_PROVIDERS_DIGITALOCEAN_DO_INT_H
#define D01_PROVIDERS_DIGITALOCEAN_DO_INT_H

#include <jansson.h>

#include "core/dname.h"
#include "core/http_client.h"
#include "core/secret.h"
#include "core/text.h"
#include "providers/digitalocean/digitalocean.h"

#define DO_DEFAULT_BASE "https://api.digitalocean.com"
#define DO_URL_MAX	2560 /* longest URL we send or follow */
#define DO_SECRET_MAX	1024 /* longest token accepted */
#define DO_MAX_IDS	16   /* records of ours deleted per listing */
#define DO_QUOTE_MAX	200  /* bytes of the API's error text quoted */
#define DO_TTL_MIN	30   /* DigitalOcean refuses less */
#define DO_TTL_MAX	86400
#define DO_TTL_DEFAULT	60 /* cert-manager's built-in solver's */
#define DO_TTL_LEGO	30 /* lego's DO_TTL default, for the CLI */

/* The parsed `config`; every string owned (do_config_free). */
struct do_cfg {
	char *base_url;			/* no trailing slash */
	char *secret_name, *secret_key; /* tokenSecretRef */
	char *ca_pem;			/* caBundle, or NULL */
	int hide; /* a custom endpoint in serve: transport detail hidden */
	unsigned ttl;
};

/* do_config.c */
enum d01_err do_config_parse(struct d01_env *env, const json_t *config,
    void **cfg, struct d01_error *err);
void do_config_free(void *cfg);
/* lego's DO_TTL defaults to 30; the webhook's ttl to cert-manager's 60. */
enum d01_err do_env_fixup(json_t *config, struct d01_error *err);

enum do_step { DO_SECRET, DO_LIST, DO_CREATE, DO_DELETE };

/* One Present or CleanUp; see digitalocean.c for the steps. */
struct do_op {
	struct d01_op op; /* first: op.c allocates and frees the whole */
	const struct do_cfg *cfg;
	enum do_step st;
	char uid[64], ns[254];
	char fqdn[D01_DNAME_BUF]; /* without the trailing dot */
	char zone[D01_DNAME_BUF]; /* resolvedZone without the dot */
	char rel[D01_DNAME_BUF];  /* the name relative to the zone, or "@" */
	char value[256];
	char next[DO_URL_MAX]; /* the listing page to fetch, a full URL */
	char *secret;	       /* the token; wiped on release */
	int page, found, truncated, nids;
	long long ids[DO_MAX_IDS];
	struct d01_secret_req *sreq;
	struct d01_http_call *call;
};

/* do_api.c */

/* One API request (full URL, optional JSON body) with the bearer token,
 * within the op's budget. The call, or NULL with err filled. */
struct d01_http_call *do_api_start(struct do_op *o, const char *method,
    const char *url, const char *body, d01_http_fn cb, struct d01_error *err);

/*
 * A reply that is not a 2xx: err gets the status and DigitalOcean's own
 * {"id", "message"} (control bytes dropped, DO_QUOTE_MAX bytes at most;
 * never the raw body: a baseURL may be any service). D01_E_AUTH for
 * 401/403, D01_E_NOTFOUND for 404, D01_E_RATELIMIT for 429, else
 * D01_E_UPSTREAM; retryable for 429 and 5xx. Returns err->code.
 */
enum d01_err do_reply_error(
    long status, const char *body, size_t len, struct d01_error *err);

/*
 * Scan a records listing (the parsed reply) for TXT records whose
 * relative name is `rel` (any letter case) and whose data is exactly
 * `value`. Ids go into ids[] from *nids on, up to `max`. Returns the
 * number of matches, copied or not; -1 when the reply has no
 * domain_records array.
 */
int do_records_match(const json_t *root, const char *rel, const char *value,
    long long *ids, int max, int *nids);

/*
 * The listing's links.pages.next into out (n bytes): 1 when there is one
 * on the same origin (scheme, host and port) as `base_url`; 0 when there
 * is none; -1 when it points anywhere else or is not a plain URL (never
 * followed: the token would go with it).
 */
int do_next_link(const json_t *root, const char *base_url, char *out, size_t n);

#endif
