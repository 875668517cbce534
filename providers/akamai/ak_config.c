/* SPDX-License-Identifier: ISC */
/*
 * The akamai provider's `config`: cert-manager's field names
 * (serviceConsumerDomain and three secret refs) plus ttl, caBundle and
 * the .edgerc Secret (edgercSecretRef, edgercSection). The
 * serviceConsumerDomain is a tenant's choice of host that will receive
 * the tenant's credentials and whose replies reach the caller, so it is
 * checked against the endpoint policy (core/endpoint.h) like any
 * baseURL. Akamai's own API hosts, *.luna.akamaiapis.net, are allowed by
 * default: every API client's host is one of them, and a request there
 * carries only the tenant's own credentials to Akamai.
 */
#include <stdlib.h>
#include <string.h>

#include "core/endpoint.h"
#include "providers/akamai/ak_int.h"

static const char *const ak_defaults[] = {"*.luna.akamaiapis.net", NULL};

static const char *const ref_fields[AK_NCREDS] = {
    "clientTokenSecretRef", "clientSecretSecretRef", "accessTokenSecretRef"};

void
ak_config_free(void *p)
{
	struct ak_cfg *c = p;
	int i;

	if (c == NULL)
		return;
	free(c->host);
	for (i = 0; i < AK_NCREDS; i++) {
		free(c->ref_name[i]);
		free(c->ref_key[i]);
	}
	free(c->edgerc_name);
	free(c->edgerc_key);
	free(c->section);
	free(c->ca_pem);
	free(c);
}

int
ak_host_clean(char *host)
{
	size_t n;

	if (strncmp(host, "https://", 8) == 0)
		memmove(host, host + 8, strlen(host + 8) + 1);
	if ((n = strlen(host)) > 0 && host[n - 1] == '/')
		host[--n] = '\0';
	return n > 0 && n < AK_HOST_MAX &&
	    strspn(host,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789.-:[]") == n;
}

enum d01_err
ak_host_check(const struct d01_endpoints *policy, const char *host, int *custom,
    struct d01_error *err)
{
	char url[AK_HOST_MAX + 16];

	snprintf(url, sizeof(url), "https://%s/", host);
	return d01_endpoint_check(policy, "akamai", "serviceConsumerDomain",
	    url, ak_defaults, custom, err);
}

/* A secret ref field, copied; absent is fine (*name stays NULL). */
static enum d01_err
opt_ref(const json_t *config, const char *field, char **name, char **key,
    struct d01_error *err)
{
	struct d01_secret_ref ref;

	if (json_object_get(config, field) == NULL)
		return D01_OK;
	if (d01_secret_ref_parse(config, field, &ref, err) != D01_OK) {
		d01_error_prefix(err, "akamai: ");
		return err->code;
	}
	if ((*name = strdup(ref.name)) == NULL ||
	    (*key = strdup(ref.key)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	return D01_OK;
}

/* Optional non-empty string field of at most `max` bytes. */
static enum d01_err
opt_str(const json_t *config, const char *field, size_t max, char **out,
    struct d01_error *err)
{
	json_t *v = json_object_get(config, field);

	if (v == NULL || json_is_null(v))
		return D01_OK;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return d01_error_set(err, D01_E_CONFIG,
		    "akamai: %s must be a non-empty string of at most %zu "
		    "bytes",
		    field, max);
	if ((*out = strdup(json_string_value(v))) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	return D01_OK;
}

static enum d01_err
parse_ttl(struct ak_cfg *c, const json_t *config, struct d01_error *err)
{
	json_t *ttl = json_object_get(config, "ttl");
	json_int_t v;

	c->ttl = AK_DEFAULT_TTL;
	if (ttl == NULL || json_is_null(ttl))
		return D01_OK;
	v = json_is_integer(ttl) ? json_integer_value(ttl) : -1;
	if (v < AK_TTL_MIN || v > AK_TTL_MAX)
		return d01_error_set(err, D01_E_CONFIG,
		    "akamai: ttl must be an integer from %d to %d", AK_TTL_MIN,
		    AK_TTL_MAX);
	c->ttl = (unsigned)v;
	return D01_OK;
}

enum d01_err
ak_config_parse(struct d01_env *env, const json_t *config, void **out,
    struct d01_error *err)
{
	struct ak_cfg *c;
	int i;

	if (!json_is_object(config))
		return d01_error_set(err, D01_E_CONFIG,
		    "akamai: config with serviceConsumerDomain, "
		    "clientTokenSecretRef, clientSecretSecretRef and "
		    "accessTokenSecretRef is required");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	for (i = 0; i < AK_NCREDS; i++)
		if (opt_ref(config, ref_fields[i], &c->ref_name[i],
			&c->ref_key[i], err) != D01_OK)
			goto fail;
	if (opt_ref(config, "edgercSecretRef", &c->edgerc_name, &c->edgerc_key,
		err) != D01_OK ||
	    opt_str(config, "serviceConsumerDomain", AK_HOST_MAX - 1, &c->host,
		err) != D01_OK ||
	    opt_str(config, "edgercSection", 64, &c->section, err) != D01_OK ||
	    d01_ca_pem_config(config, "akamai", &c->ca_pem, err) != D01_OK ||
	    parse_ttl(c, config, err) != D01_OK)
		goto fail;
	if (c->section == NULL &&
	    (c->section = strdup(AK_DEFAULT_SECTION)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto fail;
	}
	/* Without an .edgerc every part must be in the config. */
	for (i = 0; c->edgerc_name == NULL && i < AK_NCREDS; i++)
		if (c->ref_name[i] == NULL) {
			d01_error_set(err, D01_E_CONFIG,
			    "akamai: %s is required (or edgercSecretRef)",
			    ref_fields[i]);
			goto fail;
		}
	if (c->host == NULL && c->edgerc_name == NULL) {
		d01_error_set(err, D01_E_CONFIG,
		    "akamai: serviceConsumerDomain is required (or "
		    "edgercSecretRef)");
		goto fail;
	}
	if (c->host != NULL) {
		if (!ak_host_clean(c->host)) {
			d01_error_set(err, D01_E_CONFIG,
			    "akamai: serviceConsumerDomain must be a host "
			    "name, optionally with :port");
			goto fail;
		}
		if (ak_host_check(env ? env->endpoints : NULL, c->host,
			&c->custom, err) != D01_OK)
			goto fail;
	}
	*out = c;
	return D01_OK;
fail:
	ak_config_free(c);
	return err->code;
}

enum d01_err
ak_env_fixup(json_t *config, struct d01_error *err)
{
	int i, all = json_object_get(config, "serviceConsumerDomain") != NULL;

	for (i = 0; i < AK_NCREDS; i++)
		all &= json_object_get(config, ref_fields[i]) != NULL;
	if (all) { /* every part given: no .edgerc needed */
		json_object_del(config, "edgercSecretRef");
		json_object_del(config, "edgercSection");
		return D01_OK;
	}
	if (json_object_get(config, "edgercSecretRef") == NULL)
		return d01_error_set(err, D01_E_CONFIG,
		    "set AKAMAI_HOST, AKAMAI_CLIENT_TOKEN, "
		    "AKAMAI_CLIENT_SECRET and AKAMAI_ACCESS_TOKEN, or "
		    "AKAMAI_EDGERC");
	return D01_OK;
}
