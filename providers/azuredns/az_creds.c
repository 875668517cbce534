/* SPDX-License-Identifier: ISC */
/*
 * Which identity an azuredns op uses (az_credentials in az_int.h): a
 * service principal from the config, or, only when the request allows
 * ambient credentials, Azure Workload Identity (the federated token file
 * the workload identity webhook mounts, re-read on every op) or else a
 * managed identity from IMDS. Fills the op's token endpoint, client ID,
 * scope and (workload identity) the assertion; the exchange itself is
 * az_token.c's.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/endpoint.h"
#include "providers/azuredns/az_int.h"

/* A base URL from the operator's environment: http(s), printable, no
 * query; trailing slash dropped. 0, or -1. */
static int
env_url(char *dst, size_t n, const char *v)
{
	size_t i, len;

	if (v == NULL || strlen(v) >= n ||
	    (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0))
		return -1;
	for (i = 0; v[i] != '\0'; i++)
		if ((unsigned char)v[i] <= 0x20 ||
		    (unsigned char)v[i] >= 0x7f || v[i] == '?' || v[i] == '#')
			return -1;
	snprintf(dst, n, "%s", v);
	if ((len = strlen(dst)) > 0 && dst[len - 1] == '/')
		dst[len - 1] = '\0';
	return 0;
}

/* Workload identity: the federated token file (re-read on every op: the
 * kubelet rotates it) is the client assertion. 0, or -1 with err. */
static int
workload(struct az_op *o, const char *file, char *authority, size_t alen,
    char *tenant, size_t tlen, struct d01_error *err)
{
	const char *cid = o->cfg->mi_client_id ? o->cfg->mi_client_id
					       : getenv("AZURE_CLIENT_ID");
	const char *ten =
	    o->cfg->tenant ? o->cfg->tenant : getenv("AZURE_TENANT_ID");
	const char *ah = getenv("AZURE_AUTHORITY_HOST");
	char buf[AZ_SECRET_MAX + 2];
	size_t n, i;
	FILE *f;

	o->path = AZ_PATH_WORKLOAD;
	snprintf(o->fedfile, sizeof(o->fedfile), "%s", file);
	if (cid == NULL || *cid == '\0' || ten == NULL || *ten == '\0' ||
	    strlen(cid) >= sizeof(o->client_id) || strlen(ten) >= tlen) {
		d01_error_set(err, D01_E_CONFIG,
		    "workload identity needs AZURE_CLIENT_ID (or "
		    "managedIdentity.clientID) and AZURE_TENANT_ID (or "
		    "tenantID)");
		return -1;
	}
	for (i = 0; ten[i] != '\0'; i++)
		if (!isalnum((unsigned char)ten[i]) && !strchr("-._", ten[i]))
			break;
	if (ten[i] != '\0') {
		d01_error_set(
		    err, D01_E_CONFIG, "AZURE_TENANT_ID is not a tenant ID");
		return -1;
	}
	if (ah != NULL && *ah != '\0' && env_url(authority, alen, ah) != 0) {
		d01_error_set(err, D01_E_CONFIG,
		    "AZURE_AUTHORITY_HOST is not an http(s) URL");
		return -1;
	}
	snprintf(o->client_id, sizeof(o->client_id), "%s", cid);
	snprintf(tenant, tlen, "%s", ten);
	/* A small read of a projected volume, as route53 reads IRSA's. */
	if ((f = fopen(file, "r")) == NULL) {
		d01_error_set(err, D01_E_CONFIG,
		    "workload identity: cannot read AZURE_FEDERATED_TOKEN_FILE "
		    "%s",
		    file);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 &&
	    (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	for (i = 0; i < n; i++)
		if ((unsigned char)buf[i] <= 0x20 ||
		    (unsigned char)buf[i] >= 0x7f)
			break;
	if (n == 0 || n > AZ_SECRET_MAX || i < n ||
	    (o->secret = strdup(buf)) == NULL) {
		OPENSSL_cleanse(buf, sizeof(buf));
		d01_error_set(err, D01_E_CONFIG,
		    "workload identity: AZURE_FEDERATED_TOKEN_FILE %s is "
		    "empty, longer than %d bytes or not a token",
		    file, AZ_SECRET_MAX);
		return -1;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

/* IMDS, with the managedIdentity selector; its address is the
 * operator's (AZURE_IMDS_ENDPOINT, for tests), never a tenant's. */
static int
imds(struct az_op *o, struct d01_error *err)
{
	const char *env = getenv("AZURE_IMDS_ENDPOINT");
	char base[512], res[700], sel[1200] = "";

	o->path = AZ_PATH_IMDS;
	if (env != NULL && *env != '\0') {
		if (env_url(base, sizeof(base), env) != 0) {
			d01_error_set(err, D01_E_CONFIG,
			    "AZURE_IMDS_ENDPOINT is not an http(s) URL");
			return -1;
		}
	} else {
		snprintf(base, sizeof(base), "%s", AZ_IMDS_DEFAULT);
	}
	snprintf(sel, sizeof(sel), "%s/", o->cfg->resource);
	d01_url_escape(res, sizeof(res), sel);
	sel[0] = '\0';
	if (o->cfg->mi_client_id != NULL)
		snprintf(
		    sel, sizeof(sel), "&client_id=%s", o->cfg->mi_client_id);
	else if (o->cfg->mi_resource_id != NULL) {
		char enc[1100];

		if (d01_url_escape(enc, sizeof(enc), o->cfg->mi_resource_id) !=
		    0) {
			d01_error_set(err, D01_E_CONFIG,
			    "managedIdentity.resourceID is too long");
			return -1;
		}
		snprintf(sel, sizeof(sel), "&msi_res_id=%s", enc);
	}
	snprintf(o->tokurl, sizeof(o->tokurl),
	    "%s/metadata/identity/oauth2/token?api-version=%s&resource=%s%s",
	    base, AZ_IMDS_API, res, sel);
	return 0;
}

/* Pick the identity path (the order cert-manager's built-in solver
 * uses): a service principal from the config; else, only when ambient
 * credentials are allowed, workload identity, else IMDS. */
int
az_credentials(
    struct az_op *o, const struct d01_challenge *ch, struct d01_error *err)
{
	const char *fed = getenv("AZURE_FEDERATED_TOKEN_FILE");
	char authority[512], tenant[130];

	snprintf(o->scope, sizeof(o->scope), "%s/.default", o->cfg->resource);
	snprintf(authority, sizeof(authority), "%s", o->cfg->authority);
	if (o->cfg->client_id != NULL) {
		o->path = AZ_PATH_SECRET;
		o->st = AZ_SECRET;
		snprintf(o->client_id, sizeof(o->client_id), "%s",
		    o->cfg->client_id);
		snprintf(o->tokurl, sizeof(o->tokurl),
		    "%s/%s/oauth2/v2.0/token", authority, o->cfg->tenant);
		return 0;
	}
	if (!ch->allow_ambient) {
		d01_error_set(err, D01_E_CONFIG,
		    "no clientID/clientSecretSecretRef in the config, and "
		    "ambient credentials (workload identity, managed "
		    "identity) are not allowed for this issuer "
		    "(allowAmbientCredentials is false)");
		return -1;
	}
	/* The pod's own identity goes to Azure or the operator's hosts
	 * only, never to one a tenant named, allowed or not. */
	if ((o->cfg->custom_arm || o->cfg->custom_authority) &&
	    !d01_endpoints_ambient_anywhere(o->op.env->endpoints)) {
		d01_error_set(err, D01_E_CONFIG,
		    "ambient credentials are never sent to a custom %s: give "
		    "clientID and clientSecretSecretRef, or leave endpoint and "
		    "authorityHost to the cloud's",
		    o->cfg->custom_arm ? "endpoint" : "authorityHost");
		return -1;
	}
	o->st = AZ_TOKEN;
	if (fed != NULL && *fed != '\0') {
		if (workload(o, fed, authority, sizeof(authority), tenant,
			sizeof(tenant), err) != 0)
			return -1;
		snprintf(o->tokurl, sizeof(o->tokurl),
		    "%s/%s/oauth2/v2.0/token", authority, tenant);
		return 0;
	}
	return imds(o, err);
}
