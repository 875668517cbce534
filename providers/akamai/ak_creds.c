/* SPDX-License-Identifier: ISC */
/*
 * The akamai op's first step (AK_SECRET): the three credentials from their
 * secret refs in the request's namespace, then the .edgerc Secret for
 * whatever the config left out (host included), each checked before it
 * can reach a header; a host taken from an .edgerc is checked against
 * the endpoint policy here, before any request. Every copy is the op's
 * and is wiped in its release (akamai.c).
 */
#include <stdlib.h>
#include <string.h>

#include "providers/akamai/ak_int.h"

static const char *const cred_names[AK_NCREDS] = {
    "client_token", "client_secret", "access_token"};

/* A credential fit for the Authorization header. */
static int
cred_ok(const char *s, int is_secret)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > AK_SECRET_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f ||
		    (!is_secret && (s[i] == ' ' || s[i] == ';')))
			return 0;
	return 1;
}

/* Every credential and the host are known: check them, go on. */
static void
creds_ready(struct ak_op *o)
{
	struct d01_error err;
	int i;

	d01_error_clear(&err);
	for (i = 0; i < AK_NCREDS; i++)
		if (o->cred[i] == NULL || !cred_ok(o->cred[i], i == 1)) {
			d01_error_set(&err, D01_E_CONFIG,
			    "%s is %s (config and .edgerc section [%s])",
			    cred_names[i],
			    o->cred[i] == NULL ? "missing"
					       : "empty, too long or has "
						 "white space, ';' or control "
						 "characters",
			    o->cfg->section);
			ak_finish(o, &err);
			return;
		}
	if (o->cfg->host != NULL) {
		snprintf(o->host, sizeof(o->host), "%s", o->cfg->host);
		o->custom = o->cfg->custom;
	} else if (o->host[0] == '\0' || !ak_host_clean(o->host)) {
		d01_error_set(&err, D01_E_CONFIG,
		    "no valid host in .edgerc section [%s] (and no "
		    "serviceConsumerDomain)",
		    o->cfg->section);
		ak_finish(o, &err);
		return;
	} else if (ak_host_check(o->env->endpoints, o->host, &o->custom,
		       &err) != D01_OK) {
		/* Checked before any request: the .edgerc is the tenant's
		 * too. */
		ak_finish(o, &err);
		return;
	}
	o->st = AK_ZONE;
	ak_step(o);
}

/* The .edgerc Secret: fill in what the config left out. */
static enum d01_err
take_edgerc(
    struct ak_op *o, const char *value, size_t len, struct d01_error *err)
{
	struct ak_edgerc rc;
	int i;

	if (ak_edgerc_parse(value, len, o->cfg->section, &rc, err) != D01_OK) {
		d01_error_prefix(err, "secret %s/%s key %s: ", o->ns,
		    o->cfg->edgerc_name, o->cfg->edgerc_key);
		return err->code;
	}
	for (i = 0; i < AK_NCREDS; i++)
		if (o->cred[i] == NULL && rc.cred[i] != NULL) {
			o->cred[i] = rc.cred[i];
			rc.cred[i] = NULL;
		}
	if (o->cfg->host == NULL && rc.host != NULL)
		snprintf(o->host, sizeof(o->host), "%s", rc.host);
	ak_edgerc_free(&rc);
	return D01_OK;
}

static void
secret_done(void *arg, const struct d01_error *e, const char *value, size_t len)
{
	struct ak_op *o = arg;
	struct d01_error err = *e;
	int i = o->next_secret;

	o->sreq = NULL;
	if (err.code == D01_OK && i < AK_NCREDS) {
		if (len == 0 || len > AK_SECRET_MAX || strlen(value) != len)
			d01_error_set(&err, D01_E_CONFIG,
			    "the %s in secret %s/%s key %s is empty, longer "
			    "than %d bytes or binary",
			    cred_names[i], o->ns, o->cfg->ref_name[i],
			    o->cfg->ref_key[i], AK_SECRET_MAX);
		else if ((o->cred[i] = strdup(value)) == NULL)
			d01_error_set(&err, D01_E_NOMEM, "out of memory");
	} else if (err.code == D01_OK) {
		take_edgerc(o, value, len, &err);
	}
	if (err.code != D01_OK) {
		ak_finish(o, &err);
		return;
	}
	o->next_secret++;
	ak_creds_next(o);
}

void
ak_creds_next(struct ak_op *o)
{
	struct d01_secret_ref ref;
	struct d01_error err;
	int i;

	while (o->next_secret < AK_NCREDS &&
	    o->cfg->ref_name[o->next_secret] == NULL)
		o->next_secret++;
	if ((i = o->next_secret) > AK_NCREDS ||
	    (i == AK_NCREDS && o->cfg->edgerc_name == NULL)) {
		creds_ready(o);
		return;
	}
	if (i < AK_NCREDS) {
		ref.name = o->cfg->ref_name[i];
		ref.key = o->cfg->ref_key[i];
		d01_op_step(&o->op, "reading the %s %s/%s", cred_names[i],
		    o->ns, ref.name);
	} else {
		ref.name = o->cfg->edgerc_name;
		ref.key = o->cfg->edgerc_key;
		d01_op_step(
		    &o->op, "reading the .edgerc %s/%s", o->ns, ref.name);
	}
	d01_error_clear(&err);
	o->sreq =
	    d01_secret_get(o->env->secrets, o->ns, &ref, secret_done, o, &err);
	if (o->sreq == NULL)
		ak_finish(o, &err);
}
