/* SPDX-License-Identifier: ISC */
/* The AWS credential chain for route53 (see r53_credentials in r53_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "providers/route53/r53_int.h"

/* Trim in place; returns s. */
static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	for (e = s + strlen(s); e > s &&
	     (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r');)
		*--e = '\0';
	return s;
}

/*
 * The shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else
 * ~/.aws/credentials), profile AWS_PROFILE or "default": a small read at
 * request time, so a rotated file is picked up. 0 when keys were found.
 */
static int
shared_file(struct r53_op *o)
{
	const char *path = getenv("AWS_SHARED_CREDENTIALS_FILE");
	const char *prof = getenv("AWS_PROFILE"), *home = getenv("HOME");
	char buf[4096], line[1024], want[300], *k, *v;
	int in = 0;
	FILE *f;

	if (path == NULL && home != NULL) {
		snprintf(buf, sizeof(buf), "%s/.aws/credentials", home);
		path = buf;
	}
	if (path == NULL || (f = fopen(path, "r")) == NULL)
		return -1;
	snprintf(want, sizeof(want), "[%s]", prof && *prof ? prof : "default");
	while (fgets(line, sizeof(line), f) != NULL) {
		k = trim(line);
		if (*k == '[') {
			in = strcmp(k, want) == 0;
			continue;
		}
		if (!in || (v = strchr(k, '=')) == NULL)
			continue;
		*v++ = '\0';
		k = trim(k);
		v = trim(v);
		if (strcmp(k, "aws_access_key_id") == 0 && o->akid == NULL)
			o->akid = strdup(v);
		else if (strcmp(k, "aws_secret_access_key") == 0 && !o->secret)
			o->secret = strdup(v);
		else if (strcmp(k, "aws_session_token") == 0 && !o->token)
			o->token = strdup(v);
	}
	OPENSSL_cleanse(line, sizeof(line));
	fclose(f);
	if (o->akid == NULL || o->secret == NULL) {
		r53_wipe(&o->akid);
		r53_wipe(&o->secret);
		r53_wipe(&o->token);
		return -1;
	}
	return 0;
}

/* EKS IRSA: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE (re-read each time:
 * the kubelet rotates it). 0 when both are there and the token read. */
static int
web_identity(struct r53_op *o)
{
	const char *role = getenv("AWS_ROLE_ARN");
	const char *file = getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
	char tok[8192];
	size_t n;
	FILE *f;

	if (role == NULL || file == NULL || (f = fopen(file, "r")) == NULL)
		return -1;
	n = fread(tok, 1, sizeof(tok) - 1, f);
	fclose(f);
	tok[n] = '\0';
	o->web_token = strdup(trim(tok));
	o->web_role = strdup(role);
	OPENSSL_cleanse(tok, sizeof(tok));
	return o->web_token != NULL && o->web_role != NULL &&
		*o->web_token != '\0'
	    ? 0
	    : -1;
}

/*
 * Credentials in the order users expect (issue 5): keys from the config;
 * otherwise, only when the issuer allows ambient credentials, AWS_* keys,
 * the shared credentials file, then web identity. `role` is then assumed
 * with whatever was found.
 */
int
r53_credentials(
    struct r53_op *o, const struct d01_challenge *ch, struct d01_error *err)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID");
	const char *sec = getenv("AWS_SECRET_ACCESS_KEY");
	const char *tok = getenv("AWS_SESSION_TOKEN");

	if (o->cfg->secret_name != NULL) {
		if (o->cfg->key_id != NULL &&
		    (o->akid = strdup(o->cfg->key_id)) == NULL)
			return -1;
		o->st = o->cfg->key_id != NULL ? R_SECRET : R_KEYID;
		return 0;
	}
	if (!ch->allow_ambient) {
		d01_error_set(err, D01_E_CONFIG,
		    "no accessKeyID/secretAccessKeySecretRef in the config, "
		    "and ambient credentials are not allowed for this issuer "
		    "(allowAmbientCredentials is false)");
		return -1;
	}
	o->st = o->cfg->role ? R_STS : R_ZONE;
	o->ambient = 1;
	if (id != NULL && sec != NULL && *id != '\0' && *sec != '\0') {
		if ((o->akid = strdup(id)) == NULL ||
		    (o->secret = strdup(sec)) == NULL ||
		    (tok != NULL && *tok != '\0' &&
			(o->token = strdup(tok)) == NULL))
			return -1;
		return 0;
	}
	if (shared_file(o) == 0)
		return 0;
	if (web_identity(o) == 0) {
		o->st = R_STS;
		return 0;
	}
	d01_error_set(err, D01_E_CONFIG,
	    "ambient credentials allowed but none found (AWS_ACCESS_KEY_ID "
	    "and AWS_SECRET_ACCESS_KEY, the shared credentials file, "
	    "AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE)");
	return -1;
}

int
r53_cred_tag(const struct r53_op *o, char out[2 * R53_DIGEST_LEN + 1])
{
	const char *f[] = {"r53-cred-v1", o->ambient ? "ambient" : "config",
	    o->akid, o->secret, o->token};
	unsigned char md[R53_DIGEST_LEN];
	int i;

	if (r53_digest(o->env, f, sizeof(f) / sizeof(f[0]), md) != 0)
		return -1;
	for (i = 0; i < R53_DIGEST_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}
