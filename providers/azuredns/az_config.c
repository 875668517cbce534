/* SPDX-License-Identifier: ISC */
/*
 * The azuredns provider's `config`, with cert-manager's field names:
 * subscriptionID, resourceGroupName, hostedZoneName, environment,
 * tenantID, clientID + clientSecretSecretRef, managedIdentity {clientID |
 * resourceID}, plus zoneType (public | private), endpoint, authorityHost
 * and caBundle. An endpoint or authorityHost other than a cloud's public
 * one must be allowed by the operator (core/endpoint.h): it would receive
 * the tenant's secret or the access token.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/endpoint.h"
#include "core/secret.h"
#include "providers/azuredns/az_int.h"

/* The three clouds (names as cert-manager and the Azure SDKs spell them,
 * and lego's short ones). */
static const struct {
	const char *name, *alias, *arm, *authority;
} clouds[] = {
    {"AzurePublicCloud", "public", "https://management.azure.com",
	"https://login.microsoftonline.com"},
    {"AzureChinaCloud", "china", "https://management.chinacloudapi.cn",
	"https://login.chinacloudapi.cn"},
    {"AzureUSGovernmentCloud", "usgovernment",
	"https://management.usgovcloudapi.net",
	"https://login.microsoftonline.us"},
};

static const char *const arm_hosts[] = {"management.azure.com",
    "management.chinacloudapi.cn", "management.usgovcloudapi.net", NULL};
static const char *const login_hosts[] = {"login.microsoftonline.com",
    "login.chinacloudapi.cn", "login.microsoftonline.us", NULL};

void
az_config_free(void *p)
{
	struct az_cfg *c = p;

	if (c == NULL)
		return;
	free(c->subscription);
	free(c->group);
	free(c->zone);
	free(c->arm);
	free(c->authority);
	free(c->resource);
	free(c->tenant);
	free(c->client_id);
	free(c->secret_name);
	free(c->secret_key);
	free(c->mi_client_id);
	free(c->mi_resource_id);
	free(c->ca_pem);
	free(c);
}

/*
 * An optional string field into *out (NULL when absent or null): at most
 * `max` bytes of [A-Za-z0-9] and `extra`. It goes into a URL path or a
 * form body, so nothing else passes.
 */
static enum d01_err
field(const json_t *o, const char *name, const char *extra, size_t max,
    int required, char **out, struct d01_error *err)
{
	const json_t *v = json_object_get(o, name);
	const char *s = json_string_value(v);
	size_t i, n;

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return d01_error_set(err, D01_E_CONFIG,
			    "azuredns: %s is required", name);
		return D01_OK;
	}
	n = s != NULL ? strlen(s) : 0;
	if (s == NULL || n == 0 || n != json_string_length(v) || n > max)
		return d01_error_set(err, D01_E_CONFIG,
		    "azuredns: %s must be a non-empty string of at most %zu "
		    "bytes",
		    name, max);
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr(extra, s[i]) == NULL)
			return d01_error_set(err, D01_E_CONFIG,
			    "azuredns: %s has a character other than letters, "
			    "digits and \"%s\"",
			    name, extra);
	if ((*out = strdup(s)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	return D01_OK;
}

/* Without one trailing slash: how URLs are compared and kept. */
static int
same_url(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	la -= la > 0 && a[la - 1] == '/';
	lb -= lb > 0 && b[lb - 1] == '/';
	return la == lb && strncasecmp(a, b, la) == 0;
}

/*
 * endpoint / authorityHost: an https (or http) base URL without query or
 * fragment, allowed by the policy; *custom: neither a cloud's default nor
 * the operator's own from the webhook's environment (`var`:
 * AZURE_ARM_ENDPOINT, AZURE_AUTHORITY_HOST, which the Azure workload
 * identity webhook sets), which is then the default.
 */
static enum d01_err
url_field(struct d01_env *env, const json_t *o, const char *name,
    const char *var, const char *dflt, const char *const *hosts, char **out,
    int *custom, struct d01_error *err)
{
	const json_t *v = json_object_get(o, name);
	const char *s = json_string_value(v), *op = getenv(var);
	size_t n, i;

	if (op != NULL && (*op == '\0' || strlen(op) > 512))
		op = NULL;
	if (s == NULL && op != NULL)
		dflt = op;

	if (v != NULL && !json_is_null(v) &&
	    (s == NULL || json_string_length(v) == 0 ||
		strlen(s) != json_string_length(v) || strlen(s) > 512))
		return d01_error_set(err, D01_E_CONFIG,
		    "azuredns: %s must be a non-empty string", name);
	if ((*out = strdup(s != NULL ? s : dflt)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	if ((n = strlen(*out)) > 0 && (*out)[n - 1] == '/')
		(*out)[n - 1] = '\0';
	for (i = 0; (*out)[i] != '\0'; i++)
		if ((unsigned char)(*out)[i] <= 0x20 || (*out)[i] == 0x7f)
			break;
	if ((*out)[i] != '\0' ||
	    (strncmp(*out, "https://", 8) != 0 &&
		strncmp(*out, "http://", 7) != 0) ||
	    strpbrk(*out, "?#") != NULL)
		return d01_error_set(err, D01_E_CONFIG,
		    "azuredns: %s must be an http(s) URL without query or "
		    "fragment",
		    name);
	if (op != NULL && same_url(*out, op)) {
		*custom = 0;
		return D01_OK;
	}
	return d01_endpoint_check(env ? env->endpoints : NULL, "azuredns", name,
	    *out, hosts, custom, err);
}

static enum d01_err
parse_cloud(struct d01_env *env, struct az_cfg *c, const json_t *config,
    struct d01_error *err)
{
	const char *e =
	    json_string_value(json_object_get(config, "environment"));
	const json_t *ev = json_object_get(config, "environment");
	size_t k = 0;
	char res[600];

	if (ev != NULL && !json_is_null(ev)) {
		for (k = 0; e != NULL && k < sizeof(clouds) / sizeof(clouds[0]);
		     k++)
			if (strcmp(e, clouds[k].name) == 0 ||
			    strcasecmp(e, clouds[k].alias) == 0)
				break;
		if (e == NULL || k == sizeof(clouds) / sizeof(clouds[0]))
			return d01_error_set(err, D01_E_CONFIG,
			    "azuredns: environment must be AzurePublicCloud, "
			    "AzureChinaCloud or AzureUSGovernmentCloud");
	}
	if (url_field(env, config, "endpoint", "AZURE_ARM_ENDPOINT",
		clouds[k].arm, arm_hosts, &c->arm, &c->custom_arm,
		err) != D01_OK ||
	    url_field(env, config, "authorityHost", "AZURE_AUTHORITY_HOST",
		clouds[k].authority, login_hosts, &c->authority,
		&c->custom_authority, err) != D01_OK)
		return err->code;
	/* The token's audience is the cloud's ARM, whatever endpoint the
	 * requests go to (a proxy, a test's fake). */
	snprintf(res, sizeof(res), "%s", clouds[k].arm);
	if ((c->resource = strdup(res)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	/* The CLI (everything allowed: its user is the operator) sees the
	 * transport's own words; a tenant's custom endpoint does not. */
	c->hide = (c->custom_arm || c->custom_authority) &&
	    !d01_endpoints_ambient_anywhere(env ? env->endpoints : NULL);
	return D01_OK;
}

static enum d01_err
parse_identity(struct az_cfg *c, const json_t *config, struct d01_error *err)
{
	const json_t *mi = json_object_get(config, "managedIdentity");
	struct d01_secret_ref ref;

	if (field(config, "tenantID", "-._", 128, 0, &c->tenant, err) !=
		D01_OK ||
	    field(config, "clientID", "-", 128, 0, &c->client_id, err) !=
		D01_OK)
		return err->code;
	if (json_object_get(config, "clientSecretSecretRef") != NULL) {
		if (d01_secret_ref_parse(
			config, "clientSecretSecretRef", &ref, err) != D01_OK) {
			d01_error_prefix(err, "azuredns: ");
			return err->code;
		}
		if ((c->secret_name = strdup(ref.name)) == NULL ||
		    (c->secret_key = strdup(ref.key)) == NULL)
			return d01_error_set(err, D01_E_NOMEM, "out of memory");
	}
	if ((c->client_id != NULL) != (c->secret_name != NULL))
		return d01_error_set(err, D01_E_CONFIG,
		    "azuredns: a service principal needs both clientID and "
		    "clientSecretSecretRef");
	if (c->client_id != NULL && c->tenant == NULL)
		return d01_error_set(err, D01_E_CONFIG,
		    "azuredns: a service principal (clientID) needs tenantID");
	if (mi == NULL || json_is_null(mi))
		return D01_OK;
	if (!json_is_object(mi))
		return d01_error_set(err, D01_E_CONFIG,
		    "azuredns: managedIdentity must be an object");
	if (c->client_id != NULL)
		return d01_error_set(err, D01_E_CONFIG,
		    "azuredns: give either clientID with clientSecretSecretRef "
		    "or managedIdentity, not both");
	if (field(mi, "clientID", "-", 128, 0, &c->mi_client_id, err) !=
		D01_OK ||
	    field(mi, "resourceID", "-._()/", 1024, 0, &c->mi_resource_id,
		err) != D01_OK) {
		d01_error_prefix(err, "managedIdentity: ");
		return err->code;
	}
	if (c->mi_client_id != NULL && c->mi_resource_id != NULL)
		return d01_error_set(err, D01_E_CONFIG,
		    "azuredns: managedIdentity takes clientID or resourceID, "
		    "not both");
	return D01_OK;
}

static enum d01_err
parse_zone(struct az_cfg *c, const json_t *config, struct d01_error *err)
{
	const json_t *zt = json_object_get(config, "zoneType");
	const char *t = json_string_value(zt);
	size_t n;

	if (field(config, "hostedZoneName", "-._", 253, 0, &c->zone, err) !=
	    D01_OK)
		return err->code;
	if (c->zone != NULL) {
		for (n = 0; c->zone[n] != '\0'; n++)
			c->zone[n] = (char)tolower((unsigned char)c->zone[n]);
		if (n > 0 && c->zone[n - 1] == '.')
			c->zone[n - 1] = '\0';
		if (c->zone[0] == '\0' || c->zone[0] == '.' ||
		    strstr(c->zone, "..") != NULL)
			return d01_error_set(err, D01_E_CONFIG,
			    "azuredns: hostedZoneName is not a domain name");
	}
	if (zt == NULL || json_is_null(zt))
		return D01_OK;
	if (t != NULL && strcmp(t, "private") == 0)
		c->private_zone = 1;
	else if (t == NULL || strcmp(t, "public") != 0)
		return d01_error_set(err, D01_E_CONFIG,
		    "azuredns: zoneType must be \"public\" or \"private\"");
	return D01_OK;
}

enum d01_err
az_config_parse(struct d01_env *env, const json_t *config, void **out,
    struct d01_error *err)
{
	struct az_cfg *c;

	if (!json_is_object(config))
		return d01_error_set(err, D01_E_CONFIG,
		    "azuredns: config with subscriptionID and "
		    "resourceGroupName is required");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	if (field(config, "subscriptionID", "-", 64, 1, &c->subscription,
		err) != D01_OK ||
	    field(config, "resourceGroupName", "-._()", 90, 1, &c->group,
		err) != D01_OK ||
	    parse_zone(c, config, err) != D01_OK ||
	    parse_identity(c, config, err) != D01_OK ||
	    parse_cloud(env, c, config, err) != D01_OK ||
	    d01_ca_pem_config(config, "azuredns", &c->ca_pem, err) != D01_OK)
		goto fail;
	*out = c;
	return D01_OK;
fail:
	az_config_free(c);
	return err->code;
}

/*
 * From lego's variables: AZURE_CLIENT_ID without AZURE_CLIENT_SECRET is
 * workload identity's client (read by the provider from the environment),
 * not a service principal; lego's AZURE_PRIVATE_ZONE=true is zoneType
 * private.
 */
enum d01_err
az_env_fixup(json_t *config, struct d01_error *err)
{
	const char *pz = json_string_value(json_object_get(config, "zoneType"));

	if (json_object_get(config, "clientSecretSecretRef") == NULL)
		json_object_del(config, "clientID");
	if (pz != NULL) {
		if (strcasecmp(pz, "true") == 0 || strcmp(pz, "1") == 0)
			pz = "private";
		else if (strcasecmp(pz, "false") == 0 || strcmp(pz, "0") == 0)
			pz = "public";
		else
			return d01_error_set(err, D01_E_CONFIG,
			    "AZURE_PRIVATE_ZONE must be true or false");
		if (json_object_set_new(config, "zoneType", json_string(pz)) !=
		    0)
			return d01_error_set(err, D01_E_NOMEM, "out of memory");
	}
	return D01_OK;
}

/* lego's names; AZURE_AUTHORITY_HOST is also the workload identity
 * webhook's. AZURE_ARM_ENDPOINT and AZURE_CA_BUNDLE (ours) reach a
 * private endpoint or a test's fake. The ambient ones are read by the
 * provider itself, only when the request allows ambient credentials. */
const struct d01_envvar az_envvars[] = {
    {"AZURE_SUBSCRIPTION_ID", NULL, "subscriptionID", D01_ENVVAR_STRING, 1},
    {"AZURE_RESOURCE_GROUP", NULL, "resourceGroupName", D01_ENVVAR_STRING, 1},
    {"AZURE_ZONE_NAME", NULL, "hostedZoneName", D01_ENVVAR_STRING, 0},
    {"AZURE_ENVIRONMENT", NULL, "environment", D01_ENVVAR_STRING, 0},
    {"AZURE_TENANT_ID", NULL, "tenantID", D01_ENVVAR_STRING, 0},
    {"AZURE_CLIENT_ID", NULL, "clientID", D01_ENVVAR_STRING, 0},
    {"AZURE_CLIENT_SECRET", NULL, "clientSecretSecretRef", D01_ENVVAR_SECRET,
	0},
    {"AZURE_PRIVATE_ZONE", NULL, "zoneType", D01_ENVVAR_STRING, 0},
    {"AZURE_AUTHORITY_HOST", NULL, "authorityHost", D01_ENVVAR_STRING, 0},
    {"AZURE_ARM_ENDPOINT", NULL, "endpoint", D01_ENVVAR_STRING, 0},
    {"AZURE_CA_BUNDLE", NULL, "caBundle", D01_ENVVAR_STRING, 0},
    {"AZURE_FEDERATED_TOKEN_FILE", NULL, NULL, D01_ENVVAR_AMBIENT, 0},
    {"AZURE_IMDS_ENDPOINT", NULL, NULL, D01_ENVVAR_AMBIENT, 0},
    {NULL, NULL, NULL, D01_ENVVAR_STRING, 0},
};
