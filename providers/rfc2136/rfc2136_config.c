/* SPDX-License-Identifier: ISC */
/* The rfc2136 provider's `config`, with cert-manager's field names. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/dname.h"
#include "core/secret.h"
#include "core/tsig.h"
#include "providers/rfc2136/rfc2136.h"

static const char *
opt_str(const json_t *config, const char *field, int *bad)
{
	json_t *v = json_object_get(config, field);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*bad = 1;
		return NULL;
	}
	return json_string_value(v);
}

static enum d01_err
parse_tsig(struct rfc2136_cfg *c, const json_t *config, const char *key,
    struct d01_error *err)
{
	char name[D01_DNAME_BUF];
	const char *alg, *w;
	json_t *ref = json_object_get(config, "tsigSecretSecretRef");
	struct d01_secret_ref sr;
	int bad = 0;

	if (d01_dname_normalise(name, sizeof(name), key) != 0)
		return d01_error_set(err, D01_E_CONFIG,
		    "rfc2136: tsigKeyName %.100s is not a valid name", key);
	snprintf(c->key_name, sizeof(c->key_name), "%s", name);
	alg = opt_str(config, "tsigAlgorithm", &bad);
	if (bad || (w = d01_tsig_algorithm(alg)) == NULL)
		return d01_error_set(err, D01_E_CONFIG,
		    "rfc2136: tsigAlgorithm must be HMACMD5, HMACSHA1, "
		    "HMACSHA256 or HMACSHA512");
	snprintf(c->algorithm, sizeof(c->algorithm), "%s", w);
	if (ref == NULL)
		return d01_error_set(err, D01_E_CONFIG,
		    "rfc2136: tsigKeyName needs tsigSecretSecretRef "
		    "{\"name\": ..., \"key\": ...}");
	if (d01_secret_ref_parse(config, "tsigSecretSecretRef", &sr, err) !=
	    D01_OK) {
		d01_error_prefix(err, "rfc2136: ");
		return err->code;
	}
	snprintf(c->secret_name, sizeof(c->secret_name), "%s", sr.name);
	snprintf(c->secret_key, sizeof(c->secret_key), "%s", sr.key);
	return D01_OK;
}

enum d01_err
rfc2136_config_parse(struct d01_env *env, const json_t *config, void **out,
    struct d01_error *err)
{
	struct rfc2136_cfg *c;
	const char *ns, *key, *proto;
	json_t *ttl;
	size_t n;
	int bad = 0;

	(void)env;
	if (!json_is_object(config))
		return d01_error_set(err, D01_E_CONFIG,
		    "rfc2136: config with at least \"nameserver\" is required");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	ns = opt_str(config, "nameserver", &bad);
	key = opt_str(config, "tsigKeyName", &bad);
	proto = opt_str(config, "protocol", &bad);
	if (bad || ns == NULL) {
		d01_error_set(err, D01_E_CONFIG,
		    "rfc2136: nameserver is "
		    "required; nameserver, "
		    "tsigKeyName, protocol are "
		    "strings");
		goto fail;
	}
	/* cert-manager trims whitespace around the nameserver. */
	ns += strspn(ns, " \t");
	n = strlen(ns);
	while (n > 0 && (ns[n - 1] == ' ' || ns[n - 1] == '\t'))
		n--;
	snprintf(c->nameserver, sizeof(c->nameserver), "%.*s", (int)n, ns);
	if (n >= sizeof(c->nameserver) || !d01_dns_hostport_ok(c->nameserver)) {
		d01_error_set(err, D01_E_CONFIG,
		    "rfc2136: nameserver %.100s: expected host, host:port, "
		    "IP, IP:port or [IPv6]:port",
		    c->nameserver);
		goto fail;
	}
	if (key != NULL && *key != '\0' &&
	    parse_tsig(c, config, key, err) != D01_OK)
		goto fail;
	if (proto != NULL && strcasecmp(proto, "TCP") != 0 &&
	    strcasecmp(proto, "UDP") != 0) {
		d01_error_set(
		    err, D01_E_CONFIG, "rfc2136: protocol must be UDP or TCP");
		goto fail;
	}
	c->tcp = proto != NULL && strcasecmp(proto, "TCP") == 0;
	c->ttl = 60;
	ttl = json_object_get(config, "ttl");
	if (ttl != NULL && !json_is_null(ttl)) {
		if (!json_is_integer(ttl) || json_integer_value(ttl) < 1 ||
		    json_integer_value(ttl) > 86400) {
			d01_error_set(err, D01_E_CONFIG,
			    "rfc2136: ttl must be an integer 1-86400");
			goto fail;
		}
		c->ttl = (unsigned)json_integer_value(ttl);
	}
	*out = c;
	return D01_OK;
fail:
	free(c);
	return err->code;
}

void
rfc2136_config_free(void *cfg)
{
	free(cfg);
}

enum d01_err
rfc2136_env_fixup(json_t *config, struct d01_error *err)
{
	if (json_object_get(config, "tsigKeyName") == NULL) {
		/* Unsigned UPDATEs: a lone secret or algorithm means
		 * nothing (as before: lego ignores them too). */
		json_object_del(config, "tsigSecretSecretRef");
		json_object_del(config, "tsigAlgorithm");
		return D01_OK;
	}
	if (json_object_get(config, "tsigSecretSecretRef") == NULL)
		return d01_error_set(err, D01_E_CONFIG,
		    "RFC2136_TSIG_KEY needs RFC2136_TSIG_SECRET");
	/* lego's default algorithm is hmac-sha1. */
	if (json_object_get(config, "tsigAlgorithm") == NULL &&
	    json_object_set_new(
		config, "tsigAlgorithm", json_string("hmac-sha1.")) != 0)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	return D01_OK;
}
