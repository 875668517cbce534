/* SPDX-License-Identifier: ISC */
/*
 * The body of `dns01 present` and `dns01 cleanup`:
 *   dns01 present --provider NAME [--config FILE|-] [--zone ZONE]
 *                 [--secrets-dir DIR] [--namespace NS] [--timeout 60s]
 *                 FQDN VALUE
 * One line on stdout on success, one on stderr on failure; exit 0, 1
 * (the provider failed) or 2 (usage or configuration). Without --config,
 * the rfc2136 provider reads lego's RFC2136_* environment variables.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "cli/cli.h"
#include "core/dname.h"
#include "core/dns.h"
#include "core/endpoint.h"
#include "core/file.h"
#include "core/http_client.h"
#include "core/secret.h"
#include "providers/provider.h"

struct record_run {
	struct event_base *base;
	struct d01_error result;
	int finished;
};

static void
usage(FILE *f, const char *cmd)
{
	fprintf(f,
	    "usage: dns01 %s --provider NAME [--config FILE|-] [--zone ZONE]\n"
	    "       [--secrets-dir DIR] [--namespace NS] [--timeout 60s] "
	    "FQDN VALUE\n"
	    "Without --config, --provider rfc2136 reads RFC2136_NAMESERVER,\n"
	    "RFC2136_TSIG_KEY, RFC2136_TSIG_SECRET, RFC2136_TSIG_ALGORITHM,\n"
	    "RFC2136_TTL (as lego does); --provider cloudflare reads\n"
	    "CF_DNS_API_TOKEN (or CLOUDFLARE_DNS_API_TOKEN), or CF_API_EMAIL\n"
	    "and CF_API_KEY, and CF_ZONE_ID, CLOUDFLARE_TTL.\n",
	    cmd);
}

/* lego's RFC2136_* variables -> a cert-manager style config; the secret
 * goes into the in-memory store, never into the config. */
static json_t *
rfc2136_env_config(struct d01_secrets *s, struct d01_error *err)
{
	const char *ns = getenv("RFC2136_NAMESERVER");
	const char *key = getenv("RFC2136_TSIG_KEY");
	const char *secret = getenv("RFC2136_TSIG_SECRET");
	const char *alg = getenv("RFC2136_TSIG_ALGORITHM");
	const char *ttl = getenv("RFC2136_TTL");
	json_t *c;

	if (ns == NULL) {
		d01_error_set(err, D01_E_CONFIG,
		    "no --config and RFC2136_NAMESERVER is not set");
		return NULL;
	}
	c = json_pack("{s:s}", "nameserver", ns);
	if (c != NULL && key != NULL && *key != '\0') {
		if (secret == NULL ||
		    d01_secrets_put(s, "", "env", "RFC2136_TSIG_SECRET", secret,
			err) != D01_OK) {
			if (secret == NULL)
				d01_error_set(err, D01_E_CONFIG,
				    "RFC2136_TSIG_KEY needs "
				    "RFC2136_TSIG_SECRET");
			json_decref(c);
			return NULL;
		}
		json_object_set_new(c, "tsigKeyName", json_string(key));
		json_object_set_new(c, "tsigSecretSecretRef",
		    json_pack("{s:s, s:s}", "name", "env", "key",
			"RFC2136_TSIG_SECRET"));
		/* lego's default algorithm is hmac-sha1. */
		json_object_set_new(c, "tsigAlgorithm",
		    json_string(alg && *alg ? alg : "hmac-sha1."));
	}
	if (c != NULL && ttl != NULL)
		json_object_set_new(c, "ttl", json_integer(atol(ttl)));
	return c;
}

static const char *
env_first(const char *a, const char *b)
{
	const char *v = getenv(a);

	return v != NULL && *v != '\0' ? v : getenv(b);
}

/* lego's Cloudflare variables: a token (CF_DNS_API_TOKEN or
 * CLOUDFLARE_DNS_API_TOKEN) or email + Global API key. Tests and private
 * endpoints may add CLOUDFLARE_BASE_URL and CLOUDFLARE_CA_BUNDLE. */
static json_t *
cloudflare_env_config(struct d01_secrets *s, struct d01_error *err)
{
	const char *tok =
	    env_first("CF_DNS_API_TOKEN", "CLOUDFLARE_DNS_API_TOKEN");
	const char *email = env_first("CF_API_EMAIL", "CLOUDFLARE_EMAIL");
	const char *key = env_first("CF_API_KEY", "CLOUDFLARE_API_KEY");
	const char *opt[][2] = {{"baseURL", getenv("CLOUDFLARE_BASE_URL")},
	    {"caBundle", getenv("CLOUDFLARE_CA_BUNDLE")},
	    {"zoneID", env_first("CF_ZONE_ID", "CLOUDFLARE_ZONE_ID")}};
	json_t *c;
	size_t i;

	if (tok == NULL && (email == NULL || key == NULL)) {
		d01_error_set(err, D01_E_CONFIG,
		    "no --config and neither CF_DNS_API_TOKEN nor "
		    "CF_API_EMAIL + CF_API_KEY is set");
		return NULL;
	}
	if (d01_secrets_put(s, "", "env", "cloudflare", tok ? tok : key, err))
		return NULL;
	c = tok ? json_pack("{s:{s:s, s:s}}", "apiTokenSecretRef", "name",
		      "env", "key", "cloudflare")
		: json_pack("{s:s, s:{s:s, s:s}}", "email", email,
		      "apiKeySecretRef", "name", "env", "key", "cloudflare");
	for (i = 0; c != NULL && i < sizeof(opt) / sizeof(opt[0]); i++)
		if (opt[i][1] != NULL && *opt[i][1] != '\0')
			json_object_set_new(
			    c, opt[i][0], json_string(opt[i][1]));
	if (c != NULL && getenv("CLOUDFLARE_TTL") != NULL)
		json_object_set_new(
		    c, "ttl", json_integer(atol(getenv("CLOUDFLARE_TTL"))));
	return c;
}

/* Route 53 from the CLI: the AWS_* chain is read by the provider itself
 * (ambient credentials are the user's own here); AWS_HOSTED_ZONE_ID as in
 * lego, and the SDKs' AWS_ENDPOINT_URL_ROUTE_53 / _STS for other
 * endpoints. */
static json_t *
route53_env_config(void)
{
	const char *opt[][2] = {{"hostedZoneID", getenv("AWS_HOSTED_ZONE_ID")},
	    {"endpoint", getenv("AWS_ENDPOINT_URL_ROUTE_53")},
	    {"stsEndpoint", getenv("AWS_ENDPOINT_URL_STS")},
	    {"role", getenv("AWS_ASSUME_ROLE_ARN")}};
	json_t *c = json_object();
	size_t i;

	for (i = 0; c != NULL && i < sizeof(opt) / sizeof(opt[0]); i++)
		if (opt[i][1] != NULL && *opt[i][1] != '\0')
			json_object_set_new(
			    c, opt[i][0], json_string(opt[i][1]));
	return c;
}

static json_t *
load_config(const char *path, struct d01_error *err)
{
	json_error_t jerr;
	json_t *c;

	c = strcmp(path, "-") == 0
	    ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr)
	    : json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (c == NULL)
		d01_error_set(err, D01_E_CONFIG, "%s: %s (line %d)", path,
		    jerr.text, jerr.line);
	return c;
}

static void
record_done(void *arg, const struct d01_error *err)
{
	struct record_run *run = arg;

	run->result = *err;
	run->finished = 1;
	event_base_loopexit(run->base, NULL);
}

int
d01_cli_ca_bundle_file(json_t *config, struct d01_error *err)
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

/* Run the provider op to completion (or the timeout). */
static int
record_exec(const struct d01_provider *prov, struct d01_env *env,
    const json_t *config, const struct d01_challenge *ch, int present,
    long timeout_ms, struct d01_error *err)
{
	struct record_run run = {.base = env->base};
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	struct d01_op *op;
	void *cfg = NULL;

	/* The CLI's user is the operator: a caBundle may be a file. */
	if (d01_cli_ca_bundle_file((json_t *)config, err) != 0 ||
	    prov->config_parse(env, config, &cfg, err) != D01_OK)
		return D01_EXIT_USAGE;
	op = d01_provider_start(
	    prov, env, cfg, ch, present, record_done, &run, err);
	if (op == NULL) {
		prov->config_free(cfg);
		return D01_EXIT_FAIL;
	}
	event_base_loopexit(env->base, &tv);
	event_base_dispatch(env->base);
	if (!run.finished) {
		d01_provider_cancel(op);
		d01_error_set(err, D01_E_TIMEOUT, "%s: no answer within %ld ms",
		    prov->name, timeout_ms);
	} else {
		*err = run.result;
	}
	prov->config_free(cfg);
	return err->code == D01_OK ? D01_EXIT_OK : D01_EXIT_FAIL;
}

/* The command line of present/cleanup, checked. */
struct record_args {
	const char *cmd, *provider, *config_path, *zone, *dir, *ns, *value;
	const struct d01_provider *prov;
	char fqdn[D01_DNAME_BUF], zbuf[D01_DNAME_BUF];
	long timeout_ms;
};

/* Parse and validate argv into *a: -1 to go on, else the exit code. */
static int
parse_args(int argc, char **argv, struct record_args *a)
{
	static const struct option longopts[] = {
	    {"provider", required_argument, NULL, 'p'},
	    {"config", required_argument, NULL, 'c'},
	    {"zone", required_argument, NULL, 'z'},
	    {"secrets-dir", required_argument, NULL, 's'},
	    {"namespace", required_argument, NULL, 'n'},
	    {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char **dst[128] = {['p'] = &a->provider,
	    ['c'] = &a->config_path,
	    ['z'] = &a->zone,
	    ['s'] = &a->dir,
	    ['n'] = &a->ns};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c > 0 && c < 128 && dst[c] != NULL) {
			*dst[c] = optarg;
		} else if (c == 't') {
			if (d01_cli_duration_ms(optarg, &a->timeout_ms) != 0) {
				fprintf(stderr, "dns01 %s: bad --timeout\n",
				    a->cmd);
				return D01_EXIT_USAGE;
			}
		} else {
			usage(c == 'h' ? stdout : stderr, a->cmd);
			return c == 'h' ? D01_EXIT_OK : D01_EXIT_USAGE;
		}
	}
	if (a->provider == NULL || argc - optind != 2) {
		usage(stderr, a->cmd);
		return D01_EXIT_USAGE;
	}
	if ((a->prov = d01_provider_find(a->provider)) == NULL ||
	    strcmp(a->provider, "embedded") == 0) {
		fprintf(stderr, "dns01 %s: unknown provider '%s'%s\n", a->cmd,
		    a->provider,
		    a->prov ? " (embedded serves DNS from 'dns01 serve' only)"
			    : "");
		return D01_EXIT_USAGE;
	}
	a->value = argv[optind + 1];
	if (d01_dname_normalise(a->fqdn, sizeof(a->fqdn), argv[optind]) != 0 ||
	    (a->zone != NULL &&
		(d01_dname_normalise(a->zbuf, sizeof(a->zbuf), a->zone) ||
		    !d01_dname_in_zone(a->fqdn, a->zbuf))) ||
	    strlen(a->value) == 0 || strlen(a->value) > 255) {
		fprintf(stderr,
		    "dns01 %s: need a valid FQDN (inside --zone) "
		    "and a value of 1-255 bytes\n",
		    a->cmd);
		return D01_EXIT_USAGE;
	}
	return -1;
}

/* The event loop, DNS and HTTP clients and secret store of one run. */
static enum d01_err
env_open(struct d01_env *env, const char *dir, struct d01_error *err)
{
	env->base = event_base_new();
	/* The user is the operator here: every endpoint is theirs to use. */
	env->endpoints = &d01_endpoints_any;
	env->dns = d01_dns_new(env->base, 64);
	env->secrets = d01_secrets_new(env->base);
	env->http = env->base ? d01_http_new(env->base, err) : NULL;
	if (env->base == NULL || env->dns == NULL || env->secrets == NULL ||
	    env->http == NULL)
		return err->code != D01_OK
		    ? err->code
		    : d01_error_set(err, D01_E_NOMEM, "out of memory");
	if (dir != NULL)
		return d01_secrets_set_dir(env->secrets, dir, err);
	return D01_OK;
}

static void
env_close(struct d01_env *env)
{
	d01_dns_free(env->dns);
	d01_http_free(env->http);
	d01_secrets_free(env->secrets);
	if (env->base != NULL)
		event_base_free(env->base);
}

/* --config FILE|-, or the provider's lego variables (whose secrets go to
 * the in-memory store under namespace ""). NULL with err set, or NULL
 * with err clear when the provider takes no config. */
static json_t *
record_config(struct record_args *a, struct d01_env *env, struct d01_error *err)
{
	if (a->config_path != NULL)
		return load_config(a->config_path, err);
	a->ns = "";
	if (strcmp(a->provider, "rfc2136") == 0)
		return rfc2136_env_config(env->secrets, err);
	if (strcmp(a->provider, "cloudflare") == 0)
		return cloudflare_env_config(env->secrets, err);
	if (strcmp(a->provider, "route53") == 0)
		return route53_env_config();
	return NULL;
}

int
d01_cli_record(int argc, char **argv, int present)
{
	struct record_args a = {.cmd = present ? "present" : "cleanup",
	    .ns = "default",
	    .timeout_ms = 60000};
	struct d01_env env = {0};
	struct d01_challenge ch = {0};
	struct d01_error err;
	json_t *config = NULL;
	int rc;

	d01_error_clear(&err);
	if ((rc = parse_args(argc, argv, &a)) >= 0)
		return rc;
	rc = D01_EXIT_USAGE;
	if (env_open(&env, a.dir, &err) != D01_OK) {
		rc = err.code == D01_E_CONFIG ? D01_EXIT_USAGE : D01_EXIT_FAIL;
		goto out;
	}
	if ((config = record_config(&a, &env, &err)) == NULL &&
	    err.code != D01_OK)
		goto out;
	ch.uid = "cli";
	ch.dns_name = "";
	ch.fqdn = a.fqdn;
	ch.zone = a.zone ? a.zbuf : NULL;
	ch.key = a.value;
	ch.namespace = a.ns;
	/* The CLI runs with its user's own credentials (AWS_*, files). */
	ch.allow_ambient = 1;
	rc =
	    record_exec(a.prov, &env, config, &ch, present, a.timeout_ms, &err);
out:
	if (err.code != D01_OK)
		fprintf(stderr, "dns01 %s: %s\n", a.cmd, err.msg);
	else
		printf("%s: %s \"%s\" via %s: ok\n", a.cmd, a.fqdn, a.value,
		    a.provider);
	json_decref(config);
	env_close(&env);
	return err.code != D01_OK && rc == D01_EXIT_OK ? D01_EXIT_FAIL : rc;
}
