/* SPDX-License-Identifier: ISC */
/* The route53 provider's `config`, with cert-manager's field names plus
 * `endpoint` and `caBundle` (private endpoints and tests). */
#include <stdlib.h>
#include <string.h>

#include "core/secret.h"
#include "providers/route53/route53.h"

static char *
str(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) && json_string_length(v) > 0
	    ? strdup(json_string_value(v))
	    : NULL;
}

void
r53_config_free(void *p)
{
	struct r53_cfg *c = p;

	if (c == NULL)
		return;
	free(c->endpoint);
	free(c->host);
	free(c->region);
	free(c->zone_id);
	free(c->ca_bundle);
	free(c->key_id);
	free(c->key_id_name);
	free(c->key_id_key);
	free(c->secret_name);
	free(c->secret_key);
	free(c->role);
	free(c->sts_endpoint);
	free(c);
}

static enum d01_err
parse_refs(struct r53_cfg *c, const json_t *config, struct d01_error *err)
{
	struct d01_secret_ref r;

	if (!json_is_null(json_object_get(config, "accessKeyIDSecretRef")) &&
	    json_object_get(config, "accessKeyIDSecretRef") != NULL) {
		if (c->key_id != NULL)
			return d01_error_set(err, D01_E_CONFIG,
			    "route53: accessKeyID and accessKeyIDSecretRef "
			    "are exclusive");
		if (d01_secret_ref_parse(
			config, "accessKeyIDSecretRef", &r, err) != D01_OK)
			return err->code;
		c->key_id_name = strdup(r.name);
		c->key_id_key = strdup(r.key);
	}
	if (!json_is_null(
		json_object_get(config, "secretAccessKeySecretRef")) &&
	    json_object_get(config, "secretAccessKeySecretRef") != NULL) {
		if (d01_secret_ref_parse(
			config, "secretAccessKeySecretRef", &r, err) != D01_OK)
			return err->code;
		c->secret_name = strdup(r.name);
		c->secret_key = strdup(r.key);
	}
	if ((c->key_id || c->key_id_name) != (c->secret_name != NULL))
		return d01_error_set(err, D01_E_CONFIG,
		    "route53: an access key ID needs secretAccessKeySecretRef "
		    "and the other way round");
	return D01_OK;
}

enum d01_err
r53_config_parse(struct d01_env *env, const json_t *config, void **out,
    struct d01_error *err)
{
	struct r53_cfg *c;
	json_t *ttl;
	const char *h;

	(void)env;
	if (config != NULL && !json_is_object(config))
		return d01_error_set(
		    err, D01_E_CONFIG, "route53: config must be an object");
	if (json_object_get(config, "auth") != NULL)
		return d01_error_set(err, D01_E_CONFIG,
		    "route53: auth.kubernetes (a TokenRequest per service "
		    "account) is not supported yet; use IRSA's ambient web "
		    "identity, a role, or keys");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	c->key_id = str(config, "accessKeyID");
	c->zone_id = str(config, "hostedZoneID");
	c->ca_bundle = str(config, "caBundle");
	c->endpoint = str(config, "endpoint");
	c->role = str(config, "role");
	c->sts_endpoint = str(config, "stsEndpoint");
	if (c->sts_endpoint == NULL)
		c->sts_endpoint = strdup("https://sts.amazonaws.com");
	if (c->endpoint == NULL)
		c->endpoint = strdup(R53_DEFAULT_ENDPOINT);
	/* The global endpoint signs for us-east-1 whatever region is set. */
	c->region = strdup("us-east-1");
	if (c->zone_id != NULL && strncmp(c->zone_id, "/hostedzone/", 12) == 0)
		memmove(
		    c->zone_id, c->zone_id + 12, strlen(c->zone_id + 12) + 1);
	c->wait_sync = json_is_true(json_object_get(config, "waitForSync"));
	c->ttl = 60;
	ttl = json_object_get(config, "ttl");
	if (json_is_integer(ttl) && json_integer_value(ttl) > 0 &&
	    json_integer_value(ttl) <= 86400)
		c->ttl = (unsigned)json_integer_value(ttl);
	if (c->endpoint == NULL || c->region == NULL ||
	    c->sts_endpoint == NULL || parse_refs(c, config, err) != D01_OK)
		goto fail;
	if (c->endpoint[strlen(c->endpoint) - 1] == '/')
		c->endpoint[strlen(c->endpoint) - 1] = '\0';
	h = strstr(c->endpoint, "://");
	if (h == NULL || strncmp(c->endpoint, "http", 4) != 0 ||
	    (c->host = strdup(h + 3)) == NULL || strchr(c->host, '/')) {
		d01_error_set(err, D01_E_CONFIG,
		    "route53: endpoint must be scheme://host[:port]");
		goto fail;
	}
	*out = c;
	return D01_OK;
fail:
	if (err != NULL && err->code == D01_OK)
		d01_error_set(err, D01_E_NOMEM, "out of memory");
	r53_config_free(c);
	return err->code;
}
