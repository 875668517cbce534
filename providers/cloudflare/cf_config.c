/* SPDX-License-Identifier: ISC */
/*
 * The cloudflare provider's `config`: cert-manager's field names
 * (apiTokenSecretRef, or email + apiKeySecretRef) plus zoneID, ttl,
 * baseURL and caBundle. Everything that later lands in a header or a URL
 * is checked here so a config can never inject either, and a baseURL
 * other than Cloudflare's own must be allowed by the operator
 * (core/endpoint.h): it would receive the tenant's token.
 */
#include <stdlib.h>
#include <string.h>

#include "core/endpoint.h"
#include "providers/cloudflare/cf_int.h"

static const char *const cf_defaults[] = {"api.cloudflare.com", NULL};

int
cf_id_valid(const char *s)
{
	size_t n = strspn(s,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

	return n > 0 && n < CF_ID_MAX && s[n] == '\0';
}

/* No control bytes or spaces: safe inside a header value or a URL. */
static int
printable(const char *s, int allow_space)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f ||
		    (*s == ' ' && !allow_space))
			return 0;
	return 1;
}

/* Optional string field: NULL when absent/null, *bad when mistyped. */
static char *
opt_str(const json_t *config, const char *field, int *bad)
{
	json_t *v = json_object_get(config, field);
	char *s;

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > 1024 ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		*bad = 1;
		return NULL;
	}
	if ((s = strdup(json_string_value(v))) == NULL)
		*bad = 2;
	return s;
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
	free(c->ca_pem);
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

/* The two secret refs: exactly one; the email goes with the key. */
static enum d01_err
parse_auth(struct cf_cfg *c, const json_t *config, struct d01_error *err)
{
	struct d01_secret_ref ref;
	int has_tok = json_object_get(config, "apiTokenSecretRef") != NULL;
	int has_key = json_object_get(config, "apiKeySecretRef") != NULL;

	if (has_tok == has_key)
		return d01_error_set(err, D01_E_CONFIG,
		    "cloudflare: set exactly one of apiTokenSecretRef and "
		    "apiKeySecretRef");
	if (d01_secret_ref_parse(config,
		has_tok ? "apiTokenSecretRef" : "apiKeySecretRef", &ref,
		err) != D01_OK) {
		d01_error_prefix(err, "cloudflare: ");
		return err->code;
	}
	c->use_token = has_tok;
	if ((c->secret_name = strdup(ref.name)) == NULL ||
	    (c->secret_key = strdup(ref.key)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	if (!has_tok && c->email == NULL)
		return d01_error_set(err, D01_E_CONFIG,
		    "cloudflare: apiKeySecretRef needs email");
	if (c->email != NULL && !printable(c->email, 0))
		return d01_error_set(err, D01_E_CONFIG,
		    "cloudflare: email must not contain spaces or control "
		    "characters");
	return D01_OK;
}

/* baseURL: http(s), nothing that could end the URL or split a line,
 * and an endpoint the policy allows. */
static enum d01_err
parse_base(struct d01_env *env, struct cf_cfg *c, struct d01_error *err)
{
	size_t n;

	if (c->base_url == NULL &&
	    (c->base_url = strdup(CF_DEFAULT_BASE)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	/* A trailing slash would double in every path. */
	if ((n = strlen(c->base_url)) > 0 && c->base_url[n - 1] == '/')
		c->base_url[n - 1] = '\0';
	if ((strncmp(c->base_url, "https://", 8) != 0 &&
		strncmp(c->base_url, "http://", 7) != 0) ||
	    !printable(c->base_url, 0) || strpbrk(c->base_url, "?#") != NULL ||
	    strlen(c->base_url) > 512)
		return d01_error_set(err, D01_E_CONFIG,
		    "cloudflare: baseURL must be an http(s) URL without query "
		    "or fragment");
	return d01_endpoint_check(env ? env->endpoints : NULL, "cloudflare",
	    "baseURL", c->base_url, cf_defaults, &c->custom, err);
}

enum d01_err
cf_config_parse(struct d01_env *env, const json_t *config, void **out,
    struct d01_error *err)
{
	struct cf_cfg *c;
	int bad = 0;

	if (!json_is_object(config))
		return d01_error_set(err, D01_E_CONFIG,
		    "cloudflare: config with apiTokenSecretRef (or email and "
		    "apiKeySecretRef) is required");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	c->email = opt_str(config, "email", &bad);
	c->zone_id = opt_str(config, "zoneID", &bad);
	c->base_url = opt_str(config, "baseURL", &bad);
	if (bad) {
		d01_error_set(err, bad == 2 ? D01_E_NOMEM : D01_E_CONFIG,
		    "cloudflare: email, zoneID and baseURL must be non-empty "
		    "strings");
		goto fail;
	}
	if (parse_auth(c, config, err) != D01_OK ||
	    parse_base(env, c, err) != D01_OK ||
	    d01_ca_pem_config(config, "cloudflare", &c->ca_pem, err) !=
		D01_OK ||
	    parse_ttl(c, config, err) != D01_OK)
		goto fail;
	if (c->zone_id != NULL && !cf_id_valid(c->zone_id)) {
		d01_error_set(err, D01_E_CONFIG,
		    "cloudflare: zoneID must be letters, digits, '-' or '_'");
		goto fail;
	}
	*out = c;
	return D01_OK;
fail:
	cf_config_free(c);
	return err->code;
}

enum d01_err
cf_env_fixup(json_t *config, struct d01_error *err)
{
	if (json_object_get(config, "apiTokenSecretRef") != NULL) {
		json_object_del(config, "email");
		json_object_del(config, "apiKeySecretRef");
		return D01_OK;
	}
	if (json_object_get(config, "email") == NULL ||
	    json_object_get(config, "apiKeySecretRef") == NULL)
		return d01_error_set(err, D01_E_CONFIG,
		    "neither CF_DNS_API_TOKEN nor CF_API_EMAIL + CF_API_KEY "
		    "is set");
	return D01_OK;
}
