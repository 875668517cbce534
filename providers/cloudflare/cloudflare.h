/* SPDX-License-Identifier: ISC */
/*
 * The `cloudflare` provider (API v4): one TXT record per value. Present
 * looks for a record with the name and value and creates one only when
 * there is none; CleanUp deletes only records holding the value; other
 * records at the name are never touched.
 */
#ifndef D01_CLOUDFLARE_H
#define D01_CLOUDFLARE_H

#include "providers/provider.h"

extern const struct d01_provider d01_provider_cloudflare;

#define CF_DEFAULT_BASE "https://api.cloudflare.com/client/v4"

struct cf_cfg {
	char *base_url; /* no trailing slash */
	char *email;	/* with the Global API key; NULL for tokens */
	char *secret_name, *secret_key; /* apiTokenSecretRef/apiKeySecretRef */
	int use_token;
	char *zone_id;	 /* pinned zone, or NULL */
	char *ca_bundle; /* PEM to trust, or NULL */
	unsigned ttl;	 /* 1 (automatic) or 60..86400 */
	/* For the CLI: a credential given directly (env), not via a ref. */
	char *inline_secret;
};

/* cf_config.c */
enum d01_err cf_config_parse(struct d01_env *env, const json_t *config,
    void **cfg, struct d01_error *err);
void cf_config_free(void *cfg);

/*
 * cf_api.c: the envelope. Parse a response body; on success return the
 * `result` (borrowed from *root, which the caller decrefs) and fill
 * *total_pages when given; on failure fill err with the HTTP status and
 * Cloudflare's "[code] message" list. *cf_code gets the first error code.
 */
json_t *cf_envelope(long status, const char *body, size_t len, json_t **root,
    int *total_pages, int *cf_code, struct d01_error *err);

#endif
