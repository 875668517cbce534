/* SPDX-License-Identifier: ISC */
/*
 * A provider's config from its environment variables (lego's names), as
 * its table entry declares them; see d01_provider_env_config() in
 * provider.h. The CLI calls this for every provider alike, so a new
 * provider adds variables to its own table entry, not to cli/.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/endpoint.h"
#include "core/file.h"
#include "core/secret.h"
#include "providers/provider.h"

#define MAX_SECRETS 8 /* secret variables one provider may declare */

static const char *
value_of(const struct d01_envvar *v, const struct d01_envsrc *src)
{
	const char *s = src->get(src->ctx, v->name);

	if ((s == NULL || *s == '\0') && v->alt != NULL)
		s = src->get(src->ctx, v->alt);
	return s != NULL && *s != '\0' ? s : NULL;
}

/* One variable into its field; secrets are only noted in *sec here. */
static enum d01_err
copy_one(json_t *c, const struct d01_envvar *v, const char *val,
    const char *secret, const struct d01_envvar **sec, size_t *nsec,
    struct d01_error *err)
{
	char *end;
	long n;
	json_t *j = NULL;

	switch (v->kind) {
	case D01_ENVVAR_STRING:
		j = json_string(val);
		break;
	case D01_ENVVAR_INT:
		errno = 0;
		n = strtol(val, &end, 10);
		if (errno != 0 || end == val || *end != '\0' || n < 0 ||
		    n > INT_MAX)
			return d01_error_set(err, D01_E_CONFIG,
			    "%s: not a non-negative integer", v->name);
		j = json_integer(n);
		break;
	case D01_ENVVAR_SECRET:
	case D01_ENVVAR_SECRET_FILE:
		if (*nsec == MAX_SECRETS)
			return d01_error_set(
			    err, D01_E_INTERNAL, "too many secret variables");
		sec[(*nsec)++] = v;
		j = json_pack("{s:s, s:s}", "name", secret, "key", v->name);
		break;
	case D01_ENVVAR_AMBIENT:
		return D01_OK;
	}
	if (j == NULL || json_object_set_new(c, v->field, j) != 0)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	return D01_OK;
}

/* A secret variable's value into the store: the value itself, or for
 * D01_ENVVAR_SECRET_FILE the text of the file it names (read here, before
 * the loop runs; the copy is wiped). */
static enum d01_err
put_secret(struct d01_secrets *s, const char *secret,
    const struct d01_envvar *v, const char *val, struct d01_error *err)
{
	enum d01_err rc;
	char *text = NULL;
	size_t len = 0;

	if (v->kind != D01_ENVVAR_SECRET_FILE)
		return d01_secrets_put(
		    s, D01_ENVVAR_NS, secret, v->name, val, err);
	if (d01_file_read(val, D01_SECRET_MAX, &text, &len, err) != D01_OK) {
		d01_error_prefix(err, "%s: ", v->name);
		return err->code;
	}
	if (strlen(text) != len)
		rc = d01_error_set(err, D01_E_CONFIG,
		    "%s: %s is not a text file", v->name, val);
	else
		rc = d01_secrets_put(
		    s, D01_ENVVAR_NS, secret, v->name, text, err);
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

/* The plain getter behind d01_provider_env_config. */
struct plain_get {
	d01_getenv_fn get;
};

static const char *
plain_get(void *ctx, const char *name)
{
	return ((const struct plain_get *)ctx)->get(name);
}

json_t *
d01_provider_env_config(const struct d01_provider *p, d01_getenv_fn get,
    struct d01_secrets *s, struct d01_error *err)
{
	struct plain_get pg = {get};
	struct d01_envsrc src = {plain_get, &pg, NULL};

	return d01_provider_envsrc_config(p, &src, s, err);
}

json_t *
d01_provider_envsrc_config(const struct d01_provider *p,
    const struct d01_envsrc *src, struct d01_secrets *s, struct d01_error *err)
{
	const char *secret = src->secret != NULL ? src->secret : "env";
	const struct d01_envvar *v, *sec[MAX_SECRETS];
	size_t nsec = 0, i;
	const char *val;
	json_t *c;

	d01_error_clear(err);
	if (p->envvars == NULL)
		return NULL;
	if ((c = json_object()) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	for (v = p->envvars; v->name != NULL; v++) {
		if (v->kind == D01_ENVVAR_AMBIENT)
			continue;
		if ((val = value_of(v, src)) == NULL) {
			if (v->required) {
				d01_error_set(err, D01_E_CONFIG,
				    "%s is not set", v->name);
				goto fail;
			}
			continue;
		}
		if (copy_one(c, v, val, secret, sec, &nsec, err) != D01_OK)
			goto fail;
	}
	if (p->env_fixup != NULL && p->env_fixup(c, err) != D01_OK)
		goto fail;
	/* Only secrets the config still refers to are kept. */
	for (i = 0; i < nsec; i++)
		if (json_object_get(c, sec[i]->field) != NULL &&
		    put_secret(s, secret, sec[i], value_of(sec[i], src), err) !=
			D01_OK)
			goto fail;
	return c;
fail:
	json_decref(c);
	return NULL;
}

int
d01_provider_config_ca_file(json_t *config, struct d01_error *err)
{
	json_t *v = json_object_get(config, "caBundle");
	const char *path = json_string_value(v);
	char *pem = NULL;
	size_t len;

	if (path == NULL || strstr(path, "-----BEGIN ") != NULL)
		return 0;
	if (d01_file_read(path, D01_CA_PEM_MAX, &pem, &len, err) != D01_OK) {
		d01_error_prefix(err, "caBundle: ");
		return -1;
	}
	if (json_object_set_new(config, "caBundle", json_string(pem)) != 0) {
		free(pem);
		d01_error_set(
		    err, D01_E_CONFIG, "caBundle: %s is not a text file", path);
		return -1;
	}
	free(pem);
	return 0;
}
