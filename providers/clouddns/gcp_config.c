/* SPDX-License-Identifier: ISC */
/*
 * The clouddns provider's `config`, with cert-manager's field names
 * (project, hostedZoneName, serviceAccountSecretRef) plus endpoint (the
 * API's scheme://host[:port]; Google's, the operator's GCE_DNS_ENDPOINT,
 * or one allowed by --allow-provider-endpoint: it would receive the
 * tenant's token), caBundle (every HTTPS request for this config: API
 * and token endpoint) and ttl.
 */
#include <stdlib.h>
#include <string.h>

#include "core/endpoint.h"
#include "providers/clouddns/gcp_int.h"

static const char *const api_hosts[] = {"dns.googleapis.com", NULL};
/* Where Google's keys say token_uri is, old and new. */
static const char *const token_hosts[] = {
    "oauth2.googleapis.com", "accounts.google.com", "www.googleapis.com", NULL};

void
gcp_config_free(void *p)
{
	struct gcp_cfg *c = p;

	if (c == NULL)
		return;
	free(c->project);
	free(c->zone_name);
	free(c->secret_name);
	free(c->secret_key);
	free(c->endpoint);
	free(c->ca_pem);
	free(c);
}

/* An optional string field of plain characters (`set`), 1..max bytes. */
static enum d01_err
plain(const json_t *config, const char *field, const char *set, size_t max,
    char **out, struct d01_error *err)
{
	const json_t *v = json_object_get(config, field);
	const char *s = json_string_value(v);

	if (v == NULL || json_is_null(v))
		return D01_OK;
	if (s == NULL || json_string_length(v) == 0 || strlen(s) > max ||
	    strlen(s) != json_string_length(v) || strspn(s, set) != strlen(s))
		return d01_error_set(err, D01_E_CONFIG,
		    "clouddns: %s must be a name of at most %zu letters, "
		    "digits and dashes",
		    field, max);
	if ((*out = strdup(s)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	return D01_OK;
}

static enum d01_err
parse_endpoint(struct d01_env *env, struct gcp_cfg *c, const json_t *config,
    struct d01_error *err)
{
	const json_t *v = json_object_get(config, "endpoint");
	const char *s = json_string_value(v), *op = getenv("GCE_DNS_ENDPOINT");
	const char *h;
	size_t n, i;

	if (v != NULL && !json_is_null(v) &&
	    (s == NULL || json_string_length(v) == 0 ||
		strlen(s) != json_string_length(v) || strlen(s) > 256))
		return d01_error_set(err, D01_E_CONFIG,
		    "clouddns: endpoint must be a non-empty string");
	if (op != NULL && *op == '\0')
		op = NULL;
	if ((c->endpoint = strdup(s ? s
		     : op	    ? op
				    : GCP_DEFAULT_ENDPOINT)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	if ((n = strlen(c->endpoint)) > 0 && c->endpoint[n - 1] == '/')
		c->endpoint[n - 1] = '\0';
	for (i = 0; c->endpoint[i] != '\0'; i++)
		if ((unsigned char)c->endpoint[i] <= 0x20 ||
		    c->endpoint[i] == 0x7f)
			break;
	h = strstr(c->endpoint, "://");
	if (c->endpoint[i] != '\0' || h == NULL ||
	    (strncmp(c->endpoint, "https://", 8) != 0 &&
		strncmp(c->endpoint, "http://", 7) != 0) ||
	    strpbrk(h + 3, "/?#") != NULL)
		return d01_error_set(err, D01_E_CONFIG,
		    "clouddns: endpoint must be scheme://host[:port]");
	/* The operator's own endpoint (the webhook's environment) is no
	 * tenant's choice. */
	if (op != NULL && strncmp(c->endpoint, op, strlen(c->endpoint)) == 0 &&
	    strspn(op + strlen(c->endpoint), "/") ==
		strlen(op + strlen(c->endpoint))) {
		c->custom = 0;
		return D01_OK;
	}
	if (d01_endpoint_check(env ? env->endpoints : NULL, "clouddns",
		"endpoint", c->endpoint, api_hosts, &c->custom, err) != D01_OK)
		return err->code;
	c->hide = c->custom &&
	    !d01_endpoints_ambient_anywhere(env ? env->endpoints : NULL);
	return D01_OK;
}

enum d01_err
gcp_check_token_uri(const struct d01_env *env, const char *uri, int *custom,
    struct d01_error *err)
{
	if (d01_endpoint_check(env ? env->endpoints : NULL, "clouddns",
		"token_uri (in the service account key)", uri, token_hosts,
		custom, err) != D01_OK)
		return err->code;
	return D01_OK;
}

static enum d01_err
parse_ttl(struct gcp_cfg *c, const json_t *config, struct d01_error *err)
{
	const json_t *ttl = json_object_get(config, "ttl");
	json_int_t v;

	c->ttl = GCP_TTL_DEFAULT;
	if (ttl == NULL || json_is_null(ttl))
		return D01_OK;
	v = json_is_integer(ttl) ? json_integer_value(ttl) : -1;
	if (v < 1 || v > 86400)
		return d01_error_set(
		    err, D01_E_CONFIG, "clouddns: ttl must be 1-86400");
	c->ttl = (unsigned)v;
	return D01_OK;
}

enum d01_err
gcp_config_parse(struct d01_env *env, const json_t *config, void **out,
    struct d01_error *err)
{
	static const char name_set[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
	struct d01_secret_ref ref;
	struct gcp_cfg *c;

	if (config != NULL && !json_is_object(config))
		return d01_error_set(
		    err, D01_E_CONFIG, "clouddns: config must be an object");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	if (json_object_get(config, "serviceAccountSecretRef") != NULL &&
	    !json_is_null(json_object_get(config, "serviceAccountSecretRef"))) {
		if (d01_secret_ref_parse(config, "serviceAccountSecretRef",
			&ref, err) != D01_OK) {
			d01_error_prefix(err, "clouddns: ");
			goto fail;
		}
		if ((c->secret_name = strdup(ref.name)) == NULL ||
		    (c->secret_key = strdup(ref.key)) == NULL) {
			d01_error_set(err, D01_E_NOMEM, "out of memory");
			goto fail;
		}
	}
	/* Project IDs: 6-30 lower-case letters, digits, dashes (older
	 * ones may hold a domain and a colon: "example.com:proj"). */
	if (plain(config, "project", "abcdefghijklmnopqrstuvwxyz0123456789-.:",
		100, &c->project, err) != D01_OK ||
	    plain(config, "hostedZoneName", name_set, 63, &c->zone_name, err) !=
		D01_OK ||
	    parse_endpoint(env, c, config, err) != D01_OK ||
	    d01_ca_pem_config(config, "clouddns", &c->ca_pem, err) != D01_OK ||
	    parse_ttl(c, config, err) != D01_OK)
		goto fail;
	*out = c;
	return D01_OK;
fail:
	gcp_config_free(c);
	return err->code;
}

enum d01_err
gcp_env_fixup(json_t *config, struct d01_error *err)
{
	if (json_object_get(config, "ttl") == NULL &&
	    json_object_set_new(config, "ttl", json_integer(GCP_TTL_LEGO)) != 0)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	return D01_OK;
}

/*
 * lego's names. GCE_SERVICE_ACCOUNT (the key's JSON) and
 * GCE_SERVICE_ACCOUNT_FILE (a file holding it) fill the same field; the
 * file, later in the table, wins as in lego. Without either the provider
 * uses ADC (ambient). GCE_DNS_ENDPOINT and GCE_CA_BUNDLE are ours.
 */
const struct d01_envvar gcp_envvars[] = {
    {"GCE_PROJECT", NULL, "project", D01_ENVVAR_STRING, 0},
    {"GCE_SERVICE_ACCOUNT", NULL, "serviceAccountSecretRef", D01_ENVVAR_SECRET,
	0},
    {"GCE_SERVICE_ACCOUNT_FILE", NULL, "serviceAccountSecretRef",
	D01_ENVVAR_SECRET_FILE, 0},
    {"GCE_ZONE_ID", NULL, "hostedZoneName", D01_ENVVAR_STRING, 0},
    {"GCE_TTL", NULL, "ttl", D01_ENVVAR_INT, 0},
    {"GCE_DNS_ENDPOINT", NULL, "endpoint", D01_ENVVAR_STRING, 0},
    {"GCE_CA_BUNDLE", NULL, "caBundle", D01_ENVVAR_STRING, 0},
    {"GOOGLE_APPLICATION_CREDENTIALS", NULL, NULL, D01_ENVVAR_AMBIENT, 0},
    {"GCE_METADATA_HOST", NULL, NULL, D01_ENVVAR_AMBIENT, 0},
    {NULL, NULL, NULL, D01_ENVVAR_STRING, 0},
};
