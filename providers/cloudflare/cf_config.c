/* SPDX-License-Identifier: ISC */
/* The cloudflare provider's `config` (cert-manager's field names plus
 * zoneID, ttl, baseURL, caBundle) and the API envelope. */
#include <stdlib.h>
#include <string.h>

#include "core/secret.h"
#include "providers/cloudflare/cloudflare.h"

static char *
dup_or_null(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) && json_string_length(v) > 0
	    ? strdup(json_string_value(v))
	    : NULL;
}

void
cf_config_free(void *p)
{
	struct cf_cfg *c = p;

	if (c == NULL)
		return;
	free(c->base_url);
	free(c->email);
	free(c->secret_name);
	free(c->secret_key);
	free(c->zone_id);
	free(c->ca_bundle);
	free(c->inline_secret);
	free(c);
}

static enum d01_err
parse_ttl(struct cf_cfg *c, const json_t *config, struct d01_error *err)
{
	json_t *ttl = json_object_get(config, "ttl");
	json_int_t v;

	c->ttl = 60;
	if (ttl == NULL || json_is_null(ttl))
		return D01_OK;
	v = json_is_integer(ttl) ? json_integer_value(ttl) : -1;
	if (v != 1 && (v < 60 || v > 86400))
		return d01_error_set(err, D01_E_CONFIG,
		    "cloudflare: ttl must be 1 (automatic) or 60-86400");
	c->ttl = (unsigned)v;
	return D01_OK;
}

enum d01_err
cf_config_parse(struct d01_env *env, const json_t *config, void **out,
    struct d01_error *err)
{
	struct d01_secret_ref tok, key;
	struct cf_cfg *c;
	int has_tok, has_key;

	(void)env;
	if (!json_is_object(config))
		return d01_error_set(err, D01_E_CONFIG,
		    "cloudflare: config with apiTokenSecretRef (or email and "
		    "apiKeySecretRef) is required");
	has_tok = json_object_get(config, "apiTokenSecretRef") != NULL;
	has_key = json_object_get(config, "apiKeySecretRef") != NULL;
	if (has_tok == has_key)
		return d01_error_set(err, D01_E_CONFIG,
		    "cloudflare: set exactly one of apiTokenSecretRef and "
		    "apiKeySecretRef");
	if ((has_tok &&
		d01_secret_ref_parse(config, "apiTokenSecretRef", &tok, err) !=
		    D01_OK) ||
	    (has_key &&
		d01_secret_ref_parse(config, "apiKeySecretRef", &key, err) !=
		    D01_OK)) {
		d01_error_prefix(err, "cloudflare: ");
		return err->code;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	c->use_token = has_tok;
	c->email = dup_or_null(config, "email");
	c->zone_id = dup_or_null(config, "zoneID");
	c->ca_bundle = dup_or_null(config, "caBundle");
	c->base_url = dup_or_null(config, "baseURL");
	if (c->base_url == NULL)
		c->base_url = strdup(CF_DEFAULT_BASE);
	c->secret_name = strdup(has_tok ? tok.name : key.name);
	c->secret_key = strdup(has_tok ? tok.key : key.key);
	if (!has_tok && c->email == NULL) {
		d01_error_set(err, D01_E_CONFIG,
		    "cloudflare: apiKeySecretRef needs email");
		goto fail;
	}
	if (c->base_url == NULL || c->secret_name == NULL ||
	    c->secret_key == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto fail;
	}
	/* A trailing slash would double in every path. */
	if (c->base_url[0] != '\0' &&
	    c->base_url[strlen(c->base_url) - 1] == '/')
		c->base_url[strlen(c->base_url) - 1] = '\0';
	if (strncmp(c->base_url, "https://", 8) != 0 &&
	    strncmp(c->base_url, "http://", 7) != 0) {
		d01_error_set(err, D01_E_CONFIG,
		    "cloudflare: baseURL must be an http(s) URL");
		goto fail;
	}
	if (parse_ttl(c, config, err) != D01_OK)
		goto fail;
	*out = c;
	return D01_OK;
fail:
	cf_config_free(c);
	return err->code;
}

json_t *
cf_envelope(long status, const char *body, size_t len, json_t **root,
    int *total_pages, int *cf_code, struct d01_error *err)
{
	json_t *errs, *e, *res;
	char list[400] = "";
	size_t i, o = 0;

	*cf_code = 0;
	*root = json_loadb(body, len, 0, NULL);
	res = json_object_get(*root, "result");
	if (json_is_true(json_object_get(*root, "success")) && status < 300) {
		if (total_pages != NULL)
			*total_pages = (int)json_integer_value(json_object_get(
			    json_object_get(*root, "result_info"),
			    "total_pages"));
		return res;
	}
	errs = json_object_get(*root, "errors");
	for (i = 0; i < json_array_size(errs) && o < sizeof(list) - 1; i++) {
		int n;

		e = json_array_get(errs, i);
		if (i == 0)
			*cf_code =
			    (int)json_integer_value(json_object_get(e, "code"));
		n = snprintf(list + o, sizeof(list) - o, "%s[%lld] %.150s",
		    i ? "; " : "",
		    (long long)json_integer_value(json_object_get(e, "code")),
		    json_string_value(json_object_get(e, "message"))
			? json_string_value(json_object_get(e, "message"))
			: "");
		if (n > 0)
			o += (size_t)n;
	}
	d01_error_set(err,
	    status == 401 || status == 403 ? D01_E_AUTH
		: status == 429		   ? D01_E_RATELIMIT
					   : D01_E_UPSTREAM,
	    "HTTP %ld: %s", status,
	    list[0] ? list : (*root ? "request failed" : "not a JSON reply"));
	err->status = status;
	return NULL;
}
