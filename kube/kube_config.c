/* SPDX-License-Identifier: ISC */
/*
 * Kubernetes client configuration: a kubeconfig's current context, or the
 * pod's service account. Every file is read here, at start-up; only the
 * token file is read again later (kube.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/b64.h"
#include "core/file.h"
#include "core/yaml.h"
#include "kube/kube_int.h"

/* A string member, or NULL when absent, null or not a non-empty string. */
static const char *
str(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) && json_string_length(v) > 0
	    ? json_string_value(v)
	    : NULL;
}

static int
truthy(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_true(v) ||
	    (json_is_string(v) && strcmp(json_string_value(v), "true") == 0);
}

/* The `field` object of the item called `name` in list `key`. */
static const json_t *
named(const json_t *cfg, const char *key, const char *name, const char *field)
{
	const json_t *list = json_object_get(cfg, key), *it, *n;
	size_t i;

	json_array_foreach(list, i, it)
	{
		n = json_object_get(it, "name");
		if (json_is_string(n) &&
		    strcmp(json_string_value(n), name) == 0)
			return json_object_get(it, field);
	}
	return NULL;
}

/* `dir`/`path` unless `path` is absolute; a new string. */
static char *
resolve(const char *dir, const char *path)
{
	char *p;

	if (path[0] == '/' || dir == NULL || *dir == '\0')
		return strdup(path);
	if ((p = malloc(strlen(dir) + strlen(path) + 2)) != NULL)
		sprintf(p, "%s/%s", dir, path);
	return p;
}

/* PEM text from `<field>-data` (base64) or the file `<field>`. */
static enum d01_err
pem_field(const json_t *o, const char *field, const char *dir, char **out,
    struct d01_error *err)
{
	char key[64], *path;
	const char *v;
	size_t len;
	enum d01_err rc;

	*out = NULL;
	snprintf(key, sizeof(key), "%s-data", field);
	if ((v = str(o, key)) != NULL) {
		*out = (char *)d01_b64_decode_new(v, strlen(v), &len);
		if (*out == NULL)
			return d01_error_set(err, D01_E_CONFIG,
			    "kubeconfig: %s is not valid base64", key);
		return D01_OK;
	}
	if ((v = str(o, field)) == NULL)
		return D01_OK;
	if ((path = resolve(dir, v)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	rc = d01_file_read(path, D01_KUBE_FILE_MAX, out, &len, err);
	free(path);
	return rc;
}

/* Check PEM text at start-up, so a broken file fails there and not on
 * the first request with a TLS library's error. */
static enum d01_err
pem_check(const char *pem, int key, const char *what, struct d01_error *err)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	int ok;

	if (b == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	if (key)
		ok =
		    (pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) != NULL;
	else
		ok = (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL;
	EVP_PKEY_free(pk);
	X509_free(x);
	BIO_free(b);
	ERR_clear_error();
	return ok ? D01_OK
		  : d01_error_set(err, D01_E_CONFIG, "%s holds no PEM %s", what,
			key ? "private key" : "certificate");
}

static enum d01_err
set_server(struct d01_kube *k, const char *url, struct d01_error *err)
{
	size_t n;

	if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
		return d01_error_set(err, D01_E_CONFIG,
		    "kubeconfig: cluster server must be an http(s) URL");
	if ((k->server = strdup(url)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	n = strlen(k->server);
	while (n > 0 && k->server[n - 1] == '/')
		k->server[--n] = '\0';
	return D01_OK;
}

static enum d01_err
user_config(struct d01_kube *k, const json_t *user, const char *dir,
    struct d01_error *err)
{
	const char *v, *pw;
	char *raw;
	size_t n;

	if (json_object_get(user, "exec") != NULL &&
	    !json_is_null(json_object_get(user, "exec")))
		return d01_error_set(err, D01_E_CONFIG,
		    "kubeconfig: exec credential plugins are not supported; "
		    "use a token, a token file or a client certificate");
	if (json_object_get(user, "auth-provider") != NULL &&
	    !json_is_null(json_object_get(user, "auth-provider")))
		return d01_error_set(err, D01_E_CONFIG,
		    "kubeconfig: auth-provider is not supported; use a token, "
		    "a token file or a client certificate");
	if ((v = str(user, "token")) != NULL && (k->token = strdup(v)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	if (k->token == NULL && (v = str(user, "tokenFile")) != NULL) {
		if ((k->token_file = resolve(dir, v)) == NULL)
			return d01_error_set(err, D01_E_NOMEM, "out of memory");
		if (d01_kube_token_refresh(k, 1) < 0)
			return d01_error_set(err, D01_E_CONFIG,
			    "kubeconfig: cannot read tokenFile %s",
			    k->token_file);
	}
	if (pem_field(user, "client-certificate", dir, &k->cert_pem, err) ||
	    pem_field(user, "client-key", dir, &k->key_pem, err))
		return err->code;
	if ((k->cert_pem == NULL) != (k->key_pem == NULL))
		return d01_error_set(err, D01_E_CONFIG,
		    "kubeconfig: client-certificate and client-key go "
		    "together");
	if (k->cert_pem != NULL &&
	    (pem_check(k->cert_pem, 0, "kubeconfig client-certificate", err) ||
		pem_check(k->key_pem, 1, "kubeconfig client-key", err)))
		return err->code;
	if ((v = str(user, "username")) != NULL &&
	    (pw = str(user, "password")) != NULL) {
		n = strlen(v) + strlen(pw) + 2;
		if ((raw = malloc(n)) == NULL ||
		    (k->basic = malloc(4 * (n / 3 + 1) + 1)) == NULL) {
			free(raw);
			return d01_error_set(err, D01_E_NOMEM, "out of memory");
		}
		snprintf(raw, n, "%s:%s", v, pw);
		EVP_EncodeBlock((unsigned char *)k->basic,
		    (const unsigned char *)raw, (int)(n - 1));
		OPENSSL_cleanse(raw, n);
		free(raw);
	}
	return D01_OK;
}

enum d01_err
d01_kube_config_kubeconfig(struct d01_kube *k, const char *buf, size_t len,
    const char *dir, struct d01_error *err)
{
	const json_t *ctx = NULL, *cluster, *user, *list, *it;
	const char *name, *cname, *uname, *v;
	json_t *cfg;
	enum d01_err rc = D01_E_CONFIG;

	if ((cfg = d01_yaml_parse(buf, len, err)) == NULL) {
		d01_error_prefix(err, "kubeconfig: ");
		return err->code;
	}
	if (!json_is_object(cfg)) {
		d01_error_set(err, D01_E_CONFIG, "kubeconfig: not a mapping");
		goto out;
	}
	list = json_object_get(cfg, "contexts");
	if ((name = str(cfg, "current-context")) != NULL)
		ctx = named(cfg, "contexts", name, "context");
	else if (json_array_size(list) == 1 &&
	    (it = json_array_get(list, 0)) != NULL)
		ctx = json_object_get(it, "context");
	if (!json_is_object(ctx)) {
		d01_error_set(err, D01_E_CONFIG,
		    name ? "kubeconfig: context %s not found"
			 : "kubeconfig: no current-context%s",
		    name ? name : "");
		goto out;
	}
	if ((cname = str(ctx, "cluster")) == NULL ||
	    !json_is_object(
		cluster = named(cfg, "clusters", cname, "cluster"))) {
		d01_error_set(err, D01_E_CONFIG,
		    "kubeconfig: the context's cluster is missing");
		goto out;
	}
	if ((v = str(cluster, "server")) == NULL) {
		d01_error_set(err, D01_E_CONFIG,
		    "kubeconfig: cluster %s has no server", cname);
		goto out;
	}
	if (str(cluster, "proxy-url") != NULL) {
		d01_error_set(err, D01_E_CONFIG,
		    "kubeconfig: proxy-url is not supported");
		goto out;
	}
	if (set_server(k, v, err) != D01_OK)
		goto out;
	k->insecure = truthy(cluster, "insecure-skip-tls-verify");
	if (pem_field(cluster, "certificate-authority", dir, &k->ca_pem, err))
		goto out;
	if (k->ca_pem != NULL &&
	    pem_check(k->ca_pem, 0, "kubeconfig certificate-authority", err))
		goto out;
	if ((uname = str(ctx, "user")) != NULL) {
		user = named(cfg, "users", uname, "user");
		if (!json_is_object(user)) {
			d01_error_set(err, D01_E_CONFIG,
			    "kubeconfig: user %s not found", uname);
			goto out;
		}
		if (user_config(k, user, dir, err) != D01_OK)
			goto out;
	}
	if ((k->ns = strdup(str(ctx, "namespace") ? str(ctx, "namespace")
						  : "default")) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto out;
	}
	rc = D01_OK;
out:
	json_decref(cfg);
	return rc == D01_OK ? D01_OK : err->code;
}

enum d01_err
d01_kube_config_incluster(
    struct d01_kube *k, const char *sa_dir, struct d01_error *err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char path[4096], url[512], *ns = NULL;
	size_t len;

	if (host == NULL || *host == '\0' || port == NULL || *port == '\0')
		return d01_error_set(err, D01_E_NOTFOUND,
		    "not running in a cluster (KUBERNETES_SERVICE_HOST and "
		    "_PORT unset) and no --kubeconfig given");
	if (sa_dir == NULL)
		sa_dir = D01_KUBE_SA_DIR;
	snprintf(url, sizeof(url),
	    strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
	    port);
	if (set_server(k, url, err) != D01_OK)
		return err->code;
	snprintf(path, sizeof(path), "%s/ca.crt", sa_dir);
	if (d01_file_read(path, D01_KUBE_FILE_MAX, &k->ca_pem, &len, err) !=
		D01_OK ||
	    pem_check(k->ca_pem, 0, path, err) != D01_OK)
		return D01_E_CONFIG;
	snprintf(path, sizeof(path), "%s/token", sa_dir);
	if ((k->token_file = strdup(path)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	if (d01_kube_token_refresh(k, 1) < 0)
		return d01_error_set(err, D01_E_CONFIG,
		    "cannot read the service account token %s", path);
	snprintf(path, sizeof(path), "%s/namespace", sa_dir);
	if (d01_file_read(path, 256, &ns, &len, err) == D01_OK) {
		while (len > 0 && (ns[len - 1] == '\n' || ns[len - 1] == ' '))
			ns[--len] = '\0';
		if (len > 0)
			k->ns = ns;
		else
			free(ns);
	}
	d01_error_clear(err);
	if (k->ns == NULL && (k->ns = strdup("default")) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	return D01_OK;
}
