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

#include "core/file.h"
#include "core/secret.h"
#include "providers/provider.h"

#define MAX_SECRETS 8 /* secret variables one provider may declare */

static const char *
value_of(const struct d01_envvar *v, d01_getenv_fn get)
{
	const char *s = get(v->name);

	if ((s == NULL || *s == '\0') && v->alt != NULL)
		s = get(v->alt);
	return s != NULL && *s != '\0' ? s : NULL;
}

/* One variable into its field; secrets are only noted in *sec here. */
static enum d01_err
copy_one(json_t *c, const struct d01_envvar *v, const char *val,
    const struct d01_envvar **sec, size_t *nsec, struct d01_error *err)
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
		j = json_pack("{s:s, s:s}", "name", "env", "key", v->name);
		break;
	case D01_ENVVAR_AMBIENT:
		return D01_OK;
	}
	if (j == NULL || json_object_set_new(c, v->field, j) != 0)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	return D01_OK;
}

/* A secret variable's value into the store: the value itself, or for
 * D01_ENVVAR_SECRET_FILE the content of the file it names (read here,
 * before any loop runs; the copy is wiped). */
static enum d01_err
put_secret(struct d01_secrets *s, const struct d01_envvar *v, const char *val,
    struct d01_error *err)
{
	char *text = NULL;
	size_t len = 0;
	enum d01_err rc;

	if (v->kind != D01_ENVVAR_SECRET_FILE)
		return d01_secrets_put(
		    s, D01_ENVVAR_NS, "env", v->name, val, err);
	if (d01_file_read(val, D01_SECRET_MAX, &text, &len, err) != D01_OK) {
		d01_error_prefix(err, "%s: ", v->name);
		return err->code;
	}
	rc = strlen(text) != len
	    ? d01_error_set(err, D01_E_CONFIG, "%s: not a text file", v->name)
	    : d01_secrets_put(s, D01_ENVVAR_NS, "env", v->name, text, err);
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

json_t *
d01_provider_env_config(const struct d01_provider *p, d01_getenv_fn get,
    struct d01_secrets *s, struct d01_error *err)
{
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
		if ((val = value_of(v, get)) == NULL) {
			if (v->required) {
				d01_error_set(err, D01_E_CONFIG,
				    "%s is not set", v->name);
				goto fail;
			}
			continue;
		}
		if (copy_one(c, v, val, sec, &nsec, err) != D01_OK)
			goto fail;
	}
	if (p->env_fixup != NULL && p->env_fixup(c, err) != D01_OK)
		goto fail;
	/* Only secrets the config still refers to are kept. */
	for (i = 0; i < nsec; i++)
		if (json_object_get(c, sec[i]->field) != NULL &&
		    put_secret(s, sec[i], value_of(sec[i], get), err) != D01_OK)
			goto fail;
	return c;
fail:
	json_decref(c);
	return NULL;
}
