/* SPDX-License-Identifier: ISC */
/*
 * The digitalocean provider's `config`: cert-manager's tokenSecretRef,
 * plus baseURL (default DigitalOcean's API; anything else must be allowed
 * by the operator, core/endpoint.h: it would receive the tenant's token),
 * ttl and caBundle.
 */
#include <stdlib.h>
#include <string.h>

#include "core/endpoint.h"
#include "providers/digitalocean/do_int.h"

static const char *const do_defaults[] = {"api.digitalocean.com", NULL};

void
do_config_free(void *p)
{
	struct do_cfg *c = p;

	if (c == NULL)
		return;
	free(c->base_url);
	free(c->secret_name);
	free(c->secret_key);
	free(c->ca_pem);
	free(c);
}

static enum d01_err
parse_ttl(struct do_cfg *c, const json_t *config, struct d01_error *err)
{
	json_t *ttl = json_object_get(config, "ttl");
	json_int_t v;

	c->ttl = DO_TTL_DEFAULT;
	if (ttl == NULL || json_is_null(ttl))
		return D01_OK;
	v = json_is_integer(ttl) ? json_integer_value(ttl) : -1;
	if (v < DO_TTL_MIN || v > DO_TTL_MAX)
		return d01_error_set(err, D01_E_CONFIG,
		    "digitalocean: ttl must be %d-%d", DO_TTL_MIN, DO_TTL_MAX);
	c->ttl = (unsigned)v;
	return D01_OK;
}

/* baseURL: http(s), nothing that could end the URL or split a line, and
 * an endpoint the policy allows. */
static enum d01_err
parse_base(struct d01_env *env, struct do_cfg *c, const json_t *config,
    struct d01_error *err)
{
	const json_t *v = json_object_get(config, "baseURL");
	const char *s = json_string_value(v);
	size_t n, i;
	int custom;

	if (v != NULL && !json_is_null(v) &&
	    (s == NULL || json_string_length(v) == 0 ||
		strlen(s) != json_string_length(v) || strlen(s) > 512))
		return d01_error_set(err, D01_E_CONFIG,
		    "digitalocean: baseURL must be a non-empty string");
	if ((c->base_url = strdup(s != NULL ? s : DO_DEFAULT_BASE)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	if ((n = strlen(c->base_url)) > 0 && c->base_url[n - 1] == '/')
		c->base_url[n - 1] = '\0'; /* would double in every path */
	for (i = 0; c->base_url[i] != '\0'; i++)
		if ((unsigned char)c->base_url[i] <= 0x20 ||
		    c->base_url[i] == 0x7f)
			break;
	if (c->base_url[i] != '\0' ||
	    (strncmp(c->base_url, "https://", 8) != 0 &&
		strncmp(c->base_url, "http://", 7) != 0) ||
	    strpbrk(c->base_url, "?#") != NULL)
		return d01_error_set(err, D01_E_CONFIG,
		    "digitalocean: baseURL must be an http(s) URL without "
		    "query or fragment");
	if (d01_endpoint_check(env ? env->endpoints : NULL, "digitalocean",
		"baseURL", c->base_url, do_defaults, &custom, err) != D01_OK)
		return err->code;
	/* The CLI (everything allowed: its user is the operator) sees the
	 * transport's own words; a tenant's custom endpoint does not. */
	c->hide = custom &&
	    !d01_endpoints_ambient_anywhere(env ? env->endpoints : NULL);
	return D01_OK;
}

enum d01_err
do_config_parse(struct d01_env *env, const json_t *config, void **out,
    struct d01_error *err)
{
	struct d01_secret_ref ref;
	struct do_cfg *c;

	if (!json_is_object(config))
		return d01_error_set(err, D01_E_CONFIG,
		    "digitalocean: config with tokenSecretRef is required");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	if (d01_secret_ref_parse(config, "tokenSecretRef", &ref, err) !=
	    D01_OK) {
		d01_error_prefix(err, "digitalocean: ");
		goto fail;
	}
	if ((c->secret_name = strdup(ref.name)) == NULL ||
	    (c->secret_key = strdup(ref.key)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto fail;
	}
	if (parse_base(env, c, config, err) != D01_OK ||
	    d01_ca_pem_config(config, "digitalocean", &c->ca_pem, err) !=
		D01_OK ||
	    parse_ttl(c, config, err) != D01_OK)
		goto fail;
	*out = c;
	return D01_OK;
fail:
	do_config_free(c);
	return err->code;
}

enum d01_err
do_env_fixup(json_t *config, struct d01_error *err)
{
	if (json_object_get(config, "ttl") == NULL &&
	    json_object_set_new(config, "ttl", json_integer(DO_TTL_LEGO)) != 0)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	return D01_OK;
}
