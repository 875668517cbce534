/* SPDX-License-Identifier: ISC */
/*
 * The route53 provider's `config`, with cert-manager's field names plus
 * `endpoint` and `caBundle` (private endpoints and tests). An endpoint or
 * stsEndpoint is AWS's public one, the operator's own (the SDKs'
 * AWS_ENDPOINT_URL_ROUTE_53 / AWS_ENDPOINT_URL_STS in the webhook's
 * environment, the default when the config names none), or one the
 * operator allowed with --allow-provider-endpoint (core/endpoint.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/endpoint.h"
#include "core/secret.h"
#include "providers/route53/r53_int.h"

static const char *const r53_hosts[] = {"route53.amazonaws.com", NULL};
static const char *const sts_hosts[] = {"sts.amazonaws.com",
    "sts.*.amazonaws.com", "sts-fips.*.amazonaws.com", NULL};

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
	free(c->ca_pem);
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

/* a and b equal but for a trailing slash. */
static int
same_url(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);

	if (n > 0 && a[n - 1] == '/')
		n--;
	if (m > 0 && b[m - 1] == '/')
		m--;
	return n == m && strncmp(a, b, n) == 0;
}

/*
 * *url (the config's, or NULL): defaulted to the operator's variable
 * `var`, else `def`; its trailing slash dropped; scheme://host[:port]
 * only; then allowed by the policy unless it is the operator's own.
 */
static enum d01_err
pick_endpoint(struct d01_env *env, char **url, const char *field,
    const char *var, const char *def, const char *const *hosts, int *custom,
    struct d01_error *err)
{
	const char *op = getenv(var), *h;
	size_t n;

	if (op != NULL && *op == '\0')
		op = NULL;
	if (*url == NULL && (*url = strdup(op ? op : def)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	if ((n = strlen(*url)) > 0 && (*url)[n - 1] == '/')
		(*url)[n - 1] = '\0';
	h = strstr(*url, "://");
	if (h == NULL || strncmp(*url, "http", 4) != 0 ||
	    strpbrk(h + 3, "/?#") != NULL || strlen(*url) > 256)
		return d01_error_set(err, D01_E_CONFIG,
		    "route53: %s must be scheme://host[:port]", field);
	if (op != NULL && same_url(*url, op)) {
		*custom = 0;
		return D01_OK;
	}
	return d01_endpoint_check(env ? env->endpoints : NULL, "route53", field,
	    *url, hosts, custom, err);
}

enum d01_err
r53_config_parse(struct d01_env *env, const json_t *config, void **out,
    struct d01_error *err)
{
	struct r53_cfg *c;
	json_t *ttl;
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
	c->endpoint = str(config, "endpoint");
	c->role = str(config, "role");
	c->sts_endpoint = str(config, "stsEndpoint");
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
	if (c->region == NULL || parse_refs(c, config, err) != D01_OK ||
	    pick_endpoint(env, &c->endpoint, "endpoint",
		"AWS_ENDPOINT_URL_ROUTE_53", R53_DEFAULT_ENDPOINT, r53_hosts,
		&c->custom_endpoint, err) != D01_OK ||
	    pick_endpoint(env, &c->sts_endpoint, "stsEndpoint",
		"AWS_ENDPOINT_URL_STS", "https://sts.amazonaws.com", sts_hosts,
		&c->custom_sts, err) != D01_OK ||
	    d01_ca_pem_config(config, "route53", &c->ca_pem, err) != D01_OK)
		goto fail;
	if ((c->host = strdup(strstr(c->endpoint, "://") + 3)) == NULL)
		goto fail;
	*out = c;
	return D01_OK;
fail:
	if (err != NULL && err->code == D01_OK)
		d01_error_set(err, D01_E_NOMEM, "out of memory");
	r53_config_free(c);
	return err->code;
}

/*
 * From the CLI: AWS_HOSTED_ZONE_ID as in lego, the SDKs'
 * AWS_ENDPOINT_URL_ROUTE_53 / _STS for other endpoints. The credential
 * chain itself (r53_creds.c) is read by the provider as ambient
 * credentials: the CLI's user is the operator.
 */
const struct d01_envvar r53_envvars[] = {
    {"AWS_HOSTED_ZONE_ID", NULL, "hostedZoneID", D01_ENVVAR_STRING, 0},
    {"AWS_ENDPOINT_URL_ROUTE_53", NULL, "endpoint", D01_ENVVAR_STRING, 0},
    {"AWS_ENDPOINT_URL_STS", NULL, "stsEndpoint", D01_ENVVAR_STRING, 0},
    {"AWS_ASSUME_ROLE_ARN", NULL, "role", D01_ENVVAR_STRING, 0},
    {"AWS_ACCESS_KEY_ID", NULL, NULL, D01_ENVVAR_AMBIENT, 0},
    {"AWS_SECRET_ACCESS_KEY", NULL, NULL, D01_ENVVAR_AMBIENT, 0},
    {"AWS_SESSION_TOKEN", NULL, NULL, D01_ENVVAR_AMBIENT, 0},
    {"AWS_SHARED_CREDENTIALS_FILE", NULL, NULL, D01_ENVVAR_AMBIENT, 0},
    {"AWS_PROFILE", NULL, NULL, D01_ENVVAR_AMBIENT, 0},
    {"AWS_ROLE_ARN", NULL, NULL, D01_ENVVAR_AMBIENT, 0},
    {"AWS_WEB_IDENTITY_TOKEN_FILE", NULL, NULL, D01_ENVVAR_AMBIENT, 0},
    {NULL, NULL, NULL, D01_ENVVAR_STRING, 0},
};
