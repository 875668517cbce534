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

	if (prov->config_parse(env, config, &cfg, err) != D01_OK)
		return D01_EXIT_USAGE;
	op = (present ? prov->present : prov->cleanup)(
	    env, cfg, ch, record_done, &run, err);
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

int
d01_cli_record(int argc, char **argv, int present)
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
	const char *cmd = present ? "present" : "cleanup";
	const char *provider = NULL, *config_path = NULL, *zone = NULL;
	const char *dir = NULL, *ns = "default";
	char fqdn[D01_DNAME_BUF], zbuf[D01_DNAME_BUF];
	struct d01_env env = {0};
	struct d01_challenge ch = {0};
	struct d01_error err;
	const struct d01_provider *prov;
	json_t *config = NULL;
	long timeout_ms = 60000;
	int c, rc = D01_EXIT_USAGE;

	d01_error_clear(&err);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			provider = optarg;
			break;
		case 'c':
			config_path = optarg;
			break;
		case 'z':
			zone = optarg;
			break;
		case 's':
			dir = optarg;
			break;
		case 'n':
			ns = optarg;
			break;
		case 't':
			if (d01_cli_duration_ms(optarg, &timeout_ms) != 0) {
				fprintf(
				    stderr, "dns01 %s: bad --timeout\n", cmd);
				return D01_EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout, cmd);
			return D01_EXIT_OK;
		default:
			usage(stderr, cmd);
			return D01_EXIT_USAGE;
		}
	}
	if (provider == NULL || argc - optind != 2) {
		usage(stderr, cmd);
		return D01_EXIT_USAGE;
	}
	if ((prov = d01_provider_find(provider)) == NULL ||
	    strcmp(provider, "embedded") == 0) {
		fprintf(stderr, "dns01 %s: unknown provider '%s'%s\n", cmd,
		    provider,
		    prov ? " (embedded serves DNS from 'dns01 serve' only)"
			 : "");
		return D01_EXIT_USAGE;
	}
	if (d01_dname_normalise(fqdn, sizeof(fqdn), argv[optind]) != 0 ||
	    (zone != NULL &&
		(d01_dname_normalise(zbuf, sizeof(zbuf), zone) ||
		    !d01_dname_in_zone(fqdn, zbuf))) ||
	    strlen(argv[optind + 1]) == 0 || strlen(argv[optind + 1]) > 255) {
		fprintf(stderr,
		    "dns01 %s: need a valid FQDN (inside --zone) "
		    "and a value of 1-255 bytes\n",
		    cmd);
		return D01_EXIT_USAGE;
	}
	env.base = event_base_new();
	env.dns = d01_dns_new(env.base, 64);
	env.secrets = d01_secrets_new(env.base);
	env.http = env.base ? d01_http_new(env.base, &err) : NULL;
	if (env.base == NULL || env.dns == NULL || env.secrets == NULL ||
	    env.http == NULL) {
		if (err.code == D01_OK)
			d01_error_set(&err, D01_E_NOMEM, "out of memory");
		rc = D01_EXIT_FAIL;
		goto out;
	}
	if (dir != NULL &&
	    d01_secrets_set_dir(env.secrets, dir, &err) != D01_OK)
		goto out;
	if (config_path != NULL)
		config = load_config(config_path, &err);
	else if (strcmp(provider, "rfc2136") == 0)
		config = rfc2136_env_config(env.secrets, &err);
	else if (strcmp(provider, "cloudflare") == 0)
		config = cloudflare_env_config(env.secrets, &err);
	if (config == NULL && err.code != D01_OK)
		goto out;
	if (config_path == NULL)
		ns = ""; /* where the *_env_config put the secret */
	ch.uid = "cli";
	ch.dns_name = "";
	ch.fqdn = fqdn;
	ch.zone = zone ? zbuf : NULL;
	ch.key = argv[optind + 1];
	ch.namespace = ns;
	rc = record_exec(prov, &env, config, &ch, present, timeout_ms, &err);
out:
	if (err.code != D01_OK)
		fprintf(stderr, "dns01 %s: %s\n", cmd, err.msg);
	else
		printf("%s: %s \"%s\" via %s: ok\n", cmd, fqdn,
		    argv[optind + 1], provider);
	json_decref(config);
	d01_dns_free(env.dns);
	d01_http_free(env.http);
	d01_secrets_free(env.secrets);
	if (env.base != NULL)
		event_base_free(env.base);
	return err.code != D01_OK && rc == D01_EXIT_OK ? D01_EXIT_FAIL : rc;
}
