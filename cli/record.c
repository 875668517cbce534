/* SPDX-License-Identifier: ISC */
/*
 * The body of `dns01 present` and `dns01 cleanup`:
 *   dns01 present --provider NAME [--config FILE|-] [--zone ZONE]
 *                 [--secrets-dir DIR] [--namespace NS] [--timeout 60s]
 *                 FQDN VALUE
 * One line on stdout on success, one on stderr on failure; exit 0, 1
 * (the provider failed) or 2 (usage or configuration). Without --config,
 * the provider reads the environment variables its table entry declares
 * (lego's names: RFC2136_*, CF_*, AWS_*).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "cli/cli.h"
#include "core/dname.h"
#include "core/endpoint.h"
#include "core/file.h"
#include "providers/env.h"
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
	    "Without --config, the provider reads its environment variables "
	    "(as lego does):\n",
	    cmd);
	d01_cli_provider_help(f, 0);
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

/* Run the provider op to completion: its deadline is --timeout, so the
 * loop ends with the op's outcome or its D01_E_TIMEOUT naming the step. */
static int
record_exec(const struct d01_provider *prov, struct d01_env *env,
    const json_t *config, const struct d01_challenge *ch, int present,
    long timeout_ms, struct d01_error *err)
{
	struct record_run run = {.base = env->base};
	struct d01_op *op;
	void *cfg = NULL;

	/* The CLI's user is the operator: a caBundle may be a file. */
	if (d01_provider_config_ca_file((json_t *)config, err) != 0 ||
	    prov->config_parse(env, config, &cfg, err) != D01_OK)
		return D01_EXIT_USAGE;
	op = d01_provider_start(
	    prov, env, cfg, ch, present, timeout_ms, record_done, &run, err);
	if (op == NULL) {
		prov->config_free(cfg);
		return D01_EXIT_FAIL;
	}
	event_base_dispatch(env->base);
	if (!run.finished) { /* the loop ran dry: never with a live op */
		d01_provider_cancel(op);
		d01_error_set(
		    err, D01_E_INTERNAL, "%s: the op was lost", prov->name);
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
	    a->prov->needs_zones) {
		fprintf(stderr, "dns01 %s: unknown provider '%s'%s\n", a->cmd,
		    a->provider,
		    a->prov ? " (it serves DNS from 'dns01 serve' only)" : "");
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

/* --config FILE|-, or the provider's environment variables (whose
 * secrets go to the in-memory store under D01_ENVVAR_NS). NULL with err
 * set, or NULL with err clear when the provider takes no config. */
static json_t *
record_config(struct record_args *a, struct d01_env *env, struct d01_error *err)
{
	if (a->config_path != NULL)
		return load_config(a->config_path, err);
	a->ns = D01_ENVVAR_NS;
	return d01_cli_env_config(a->prov, env->secrets, err);
}

int
d01_cli_record(int argc, char **argv, int present)
{
	struct record_args a = {.cmd = present ? "present" : "cleanup",
	    .ns = "default",
	    .timeout_ms = 60000};
	struct d01_env env = {0};
	/* The user is the operator here: every endpoint is theirs to use. */
	struct d01_env_opts opts = {.endpoints = &d01_endpoints_any};
	struct d01_challenge ch = {0};
	struct d01_error err;
	json_t *config = NULL;
	int rc;

	d01_error_clear(&err);
	if ((rc = parse_args(argc, argv, &a)) >= 0)
		return rc;
	opts.secrets_dir = a.dir;
	rc = D01_EXIT_USAGE;
	if (d01_env_open(&env, &opts, &err) != D01_OK) {
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
	d01_env_close(&env);
	return err.code != D01_OK && rc == D01_EXIT_OK ? D01_EXIT_FAIL : rc;
}
