/* SPDX-License-Identifier: ISC */
/*
 * dns01 issue: get or renew a certificate over DNS-01 through a provider.
 *   dns01 issue --directory URL --email ADDR --provider NAME
 *               [--config FILE] (-d NAME)... --out DIR [options]
 * Without --config, the provider's environment variables (its table
 * entry) make its config, as for `dns01 present`.
 * Exit 0 when issued or not due, 1 on failure (one line naming the step),
 * 2 on usage errors, 3 when issued but a --deploy-hook failed. Options are in
 * usage() below; the driver is issuer/issue*.c (d01_issue): plan, run, write
 * the files.
 */
#include <errno.h>
#include <stddef.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "cli/cli.h"
#include "core/b64url.h"
#include "core/dname.h"
#include "core/log.h"
#include "issuer/directory.h"
#include "issuer/issue.h"
#include "providers/provider.h"

static int
usage(FILE *f, int rc)
{
	fprintf(f,
	    "usage: dns01 issue --directory URL --email ADDR --provider NAME\n"
	    "         [--config FILE] (-d NAME)... --out DIR\n"
	    "         [--ca-bundle FILE] [--account-key FILE]\n"
	    "         [--key-type ec256|ec384|rsa2048|rsa3072|rsa4096]\n"
	    "         [--renew-before 30d|33%%] [--force] [--timeout 10m]\n"
	    "         [--deploy-hook CMD]\n"
	    "         [--nameserver ADDR[:PORT]]... [--resolver ADDR[:PORT]]\n"
	    "         [--ns-port N] [--propagation-timeout 120s]\n"
	    "         [--secrets-dir DIR] [--namespace NS]\n"
	    "         [--eab-kid ID --eab-hmac-key B64URL]\n"
	    "         [--embedded-zone ZONE --dns-listen ADDR:PORT]\n"
	    "         [--batch FILE]  (lines: OUTDIR NAME [NAME...])\n"
	    "         [--log-level error|warn|info|debug]\n"
	    "         [--profile NAME] [--skip-caa-check]\n"
	    "       dns01 issue --directory URL --list-profiles\n"
	    "--directory: a URL, or letsencrypt, letsencrypt-staging, "
	    "zerossl, google,\n  google-staging\n"
	    "Providers; without --config each reads its environment "
	    "variables\n(as lego does):\n");
	d01_cli_provider_help(f, 1);
	return rc;
}

/* Add `name` to job (normalised, no trailing dot, once). */
static int
add_name(struct d01_issue_job *job, const char *name)
{
	char buf[D01_DNAME_BUF];
	const char *star;
	size_t i, n;

	if (d01_dname_normalise(buf, sizeof(buf), name) != 0)
		return -1;
	/* '*' only as the whole leftmost label (RFC 8555 §7.1.3). */
	star = strchr(buf, '*');
	if (star != NULL &&
	    (star != buf || buf[1] != '.' || strchr(buf + 1, '*') != NULL ||
		buf[2] == '\0'))
		return -1;
	n = strlen(buf);
	buf[n - 1] = '\0';
	for (i = 0; i < job->nnames; i++)
		if (strcmp(job->names[i], buf) == 0)
			return 0;
	if (job->nnames == sizeof(job->names) / sizeof(job->names[0]) ||
	    (job->names[job->nnames] = strdup(buf)) == NULL)
		return -1;
	job->nnames++;
	return 0;
}

/* The output directory: created 0700 when missing. */
static int
out_dir(struct d01_issue_job *job, const char *dir)
{
	struct stat st;

	if (snprintf(job->out, sizeof(job->out), "%s", dir) >=
	    (int)sizeof(job->out))
		return -1;
	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -1;
	return errno == ENOENT && mkdir(dir, 0700) == 0 ? 0 : -1;
}

/* --batch: one job per line, "OUTDIR NAME [NAME...]". */
static int
read_batch(const char *path, struct d01_issue_job *jobs, size_t *njobs)
{
	char line[4096], *tok, *save = NULL;
	FILE *f = fopen(path, "r");
	int rc = 0;

	if (f == NULL)
		return -1;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		if ((tok = strtok_r(line, " \t\r\n", &save)) == NULL ||
		    tok[0] == '#')
			continue;
		if (*njobs == D01_ISSUE_MAX_JOBS ||
		    out_dir(&jobs[*njobs], tok) != 0) {
			rc = -1;
			break;
		}
		while ((tok = strtok_r(NULL, " \t\r\n", &save)) != NULL)
			if (add_name(&jobs[*njobs], tok) != 0)
				rc = -1;
		if (jobs[(*njobs)++].nnames == 0)
			rc = -1;
	}
	fclose(f);
	return *njobs > 0 ? rc : -1;
}

enum {
	OPT_DIRECTORY = 256,
	OPT_EMAIL,
	OPT_PROVIDER,
	OPT_CONFIG,
	OPT_OUT,
	OPT_CA_BUNDLE,
	OPT_ACCOUNT_KEY,
	OPT_KEY_TYPE,
	OPT_RENEW_BEFORE,
	OPT_NAMESERVER,
	OPT_RESOLVER,
	OPT_NS_PORT,
	OPT_PROPAGATION,
	OPT_SECRETS_DIR,
	OPT_NAMESPACE,
	OPT_EAB_KID,
	OPT_EAB_KEY,
	OPT_FORCE,
	OPT_ZONE,
	OPT_DNS_LISTEN,
	OPT_TIMEOUT,
	OPT_BATCH,
	OPT_LOG_LEVEL,
	OPT_DEPLOY_HOOK,
	OPT_PROFILE,
	OPT_LIST_PROFILES,
	OPT_SKIP_CAA,
};

/* The issue options; renew's files name the same (cli/conf.c). */
const struct option d01_issue_longopts[] = {
    {"directory", required_argument, NULL, OPT_DIRECTORY},
    {"email", required_argument, NULL, OPT_EMAIL},
    {"provider", required_argument, NULL, OPT_PROVIDER},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"domain", required_argument, NULL, 'd'},
    {"out", required_argument, NULL, OPT_OUT},
    {"ca-bundle", required_argument, NULL, OPT_CA_BUNDLE},
    {"account-key", required_argument, NULL, OPT_ACCOUNT_KEY},
    {"key-type", required_argument, NULL, OPT_KEY_TYPE},
    {"renew-before", required_argument, NULL, OPT_RENEW_BEFORE},
    {"nameserver", required_argument, NULL, OPT_NAMESERVER},
    {"resolver", required_argument, NULL, OPT_RESOLVER},
    {"ns-port", required_argument, NULL, OPT_NS_PORT},
    {"propagation-timeout", required_argument, NULL, OPT_PROPAGATION},
    {"secrets-dir", required_argument, NULL, OPT_SECRETS_DIR},
    {"namespace", required_argument, NULL, OPT_NAMESPACE},
    {"eab-kid", required_argument, NULL, OPT_EAB_KID},
    {"eab-hmac-key", required_argument, NULL, OPT_EAB_KEY},
    {"force", no_argument, NULL, OPT_FORCE},
    {"embedded-zone", required_argument, NULL, OPT_ZONE},
    {"dns-listen", required_argument, NULL, OPT_DNS_LISTEN},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"deploy-hook", required_argument, NULL, OPT_DEPLOY_HOOK},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"list-profiles", no_argument, NULL, OPT_LIST_PROFILES},
    {"skip-caa-check", no_argument, NULL, OPT_SKIP_CAA},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* "30d" (absolute) or "33%" (of the lifetime). */
static int
renew_before(struct d01_issue_opts *o, const char *v)
{
	char *end;
	long pct;

	o->renew_pct = 0;
	o->renew_before_s = -1;
	if (v[0] != '\0' && v[strlen(v) - 1] == '%') {
		pct = strtol(v, &end, 10);
		if (end != v + strlen(v) - 1 || pct < 1 || pct > 99)
			return -1;
		o->renew_pct = (int)pct;
		return 0;
	}
	return d01_cli_age_s(v, &o->renew_before_s);
}

/* Options that take a value to convert; 0, or -1 with a reason. */
static int
parse_value(struct d01_issue_opts *o, int c, const char *v, const char **why)
{
	enum d01_log_level level;
	struct d01_error err;
	long n;

	switch (c) {
	case OPT_KEY_TYPE:
		*why = "--key-type: ec256, ec384, rsa2048, rsa3072 or rsa4096";
		return d01_key_type_parse(v, &o->key_type);
	case OPT_RENEW_BEFORE:
		*why = "--renew-before: a duration such as 30d, or 1%-99% of "
		       "the lifetime";
		return renew_before(o, v);
	case OPT_PROPAGATION:
	case OPT_TIMEOUT:
		*why = "bad duration (500ms, 90s, 10m)";
		if (d01_cli_duration_ms(v, &n) != 0)
			return -1;
		*(c == OPT_TIMEOUT ? &o->timeout_ms : &o->propagation_ms) = n;
		return 0;
	case OPT_NAMESERVER:
		*why = "--nameserver: ADDR[:PORT], at most 16";
		if (o->nservers == D01_TXTCHECK_MAX_SERVERS)
			return -1;
		return d01_dns_server_parse(
			   v, 53, &o->servers[o->nservers++], &err) == D01_OK
		    ? 0
		    : -1;
	case OPT_NS_PORT:
		*why = "--ns-port: 1-65535";
		o->ns_port = atoi(v);
		return o->ns_port >= 1 && o->ns_port <= 65535 ? 0 : -1;
	case OPT_EAB_KEY:
		*why = "--eab-hmac-key: base64url";
		n = d01_b64url_decode(
		    o->eab_key, sizeof(o->eab_key), v, strlen(v));
		o->eab_len = n > 0 ? (size_t)n : 0;
		return n > 0 ? 0 : -1;
	case OPT_LOG_LEVEL:
		*why = "--log-level: error, warn, info or debug";
		if (d01_log_parse_level(v, &level) != 0)
			return -1;
		d01_log_set_level(level);
		return 0;
	case OPT_ZONE:
		*why = "--embedded-zone: at most 16";
		if (o->nzones == D01_ISSUE_MAX_ZONES)
			return -1;
		o->zones[o->nzones++] = v;
		return 0;
	}
	*why = "unknown option";
	return -1;
}

/* Options whose value is kept as given (borrowed from argv). */
static const struct {
	int opt;
	size_t off;
} str_opts[] = {
    {OPT_DIRECTORY, offsetof(struct d01_issue_opts, directory)},
    {OPT_EMAIL, offsetof(struct d01_issue_opts, email)},
    {OPT_PROVIDER, offsetof(struct d01_issue_opts, provider)},
    {OPT_CONFIG, offsetof(struct d01_issue_opts, config)},
    {OPT_CA_BUNDLE, offsetof(struct d01_issue_opts, ca_bundle)},
    {OPT_ACCOUNT_KEY, offsetof(struct d01_issue_opts, account_key)},
    {OPT_RESOLVER, offsetof(struct d01_issue_opts, resolver)},
    {OPT_SECRETS_DIR, offsetof(struct d01_issue_opts, secrets_dir)},
    {OPT_NAMESPACE, offsetof(struct d01_issue_opts, ns)},
    {OPT_EAB_KID, offsetof(struct d01_issue_opts, eab_kid)},
    {OPT_DNS_LISTEN, offsetof(struct d01_issue_opts, dns_listen)},
    {OPT_PROFILE, offsetof(struct d01_issue_opts, profile)},
};

int
d01_issue_cli_opt(struct d01_issue_opts *o, struct d01_issue_job *job,
    const char **batch, int c, const char *v, const char **why)
{
	const char *named;
	size_t i;

	/* --directory letsencrypt etc.: the CA's public URL. */
	if (c == OPT_DIRECTORY && (named = d01_acme_directory_named(v)) != NULL)
		v = named;
	else if (c == OPT_DIRECTORY && !d01_acme_url_ok(v)) {
		*why =
		    "--directory: an http(s) URL or a CA's name (see --help)";
		return -1;
	}
	for (i = 0; i < sizeof(str_opts) / sizeof(str_opts[0]); i++) {
		if (str_opts[i].opt == c) {
			*(const char **)((char *)o + str_opts[i].off) = v;
			return 0;
		}
	}
	*why = NULL;
	switch (c) {
	case OPT_FORCE:
		o->force = 1;
		return 0;
	case OPT_SKIP_CAA:
		o->skip_caa = 1;
		return 0;
	case OPT_BATCH:
		*batch = v;
		return 0;
	case OPT_DEPLOY_HOOK:
		job->deploy_hook = v;
		return 0;
	case OPT_LIST_PROFILES: /* only on the command line */
		*why = "--list-profiles: not an option of a certificate";
		return -1;
	case 'h':
		return 1;
	case 'd':
		if (add_name(job, v) == 0)
			return 0;
		*why = "-d: not a valid name";
		return -1;
	case OPT_OUT:
		if (out_dir(job, v) == 0)
			return 0;
		*why = "--out: not a directory";
		return -1;
	case '?':
		return -1;
	}
	return parse_value(o, c, v, why) == 0 ? 0 : -1;
}

const char *
d01_issue_cli_check(const struct d01_issue_opts *o,
    const struct d01_issue_job *jobs, size_t njobs)
{
	const struct d01_provider *p;

	if (njobs > 0 && jobs[0].deploy_hook != NULL &&
	    jobs[0].deploy_hook[0] == '\0')
		return "--deploy-hook: an empty command";
	if (o->directory == NULL || o->provider == NULL || njobs == 0)
		return "--directory, --provider, -d and --out are required";
	if (jobs[0].nnames == 0 || jobs[0].out[0] == '\0')
		return "need at least one -d NAME and --out DIR";
	if ((p = d01_provider_find(o->provider)) == NULL)
		return "unknown --provider";
	if (p->needs_zones && (o->nzones == 0 || o->dns_listen == NULL))
		return "this --provider needs --embedded-zone and --dns-listen";
	if (!p->needs_zones && o->nzones > 0)
		return "--embedded-zone is for a provider that serves zones "
		       "itself";
	if ((o->eab_kid == NULL) != (o->eab_len == 0))
		return "--eab-kid and --eab-hmac-key go together";
	return NULL;
}

void
d01_issue_cli_init(struct d01_issue_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->key_type = D01_KEY_EC256;
	o->renew_before_s = -1; /* ARI, else a third of the lifetime */
	o->propagation_ms = 120000;
	o->timeout_ms = 600000;
	o->ns = "default";
	o->ns_port = 53;
}

static const char *
plain_getenv(void *ctx, const char *name)
{
	(void)ctx;
	return d01_cli_getenv(name);
}

int
d01_cmd_issue(int argc, char **argv)
{
	static struct d01_issue_job jobs[D01_ISSUE_MAX_JOBS];
	static const struct d01_envsrc envsrc = {plain_getenv, NULL, NULL};
	struct d01_issue_opts o;
	const char *batch = NULL, *why = NULL;
	char rbuf[160];
	size_t njobs = 1, i;
	int c, st, list = 0, rc = D01_EXIT_USAGE;

	d01_issue_cli_init(&o);
	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < D01_ISSUE_MAX_JOBS; i++)
		jobs[i].lock_fd = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "hd:", d01_issue_longopts, NULL)) !=
	    -1) {
		if (c == OPT_LIST_PROFILES) {
			list = 1;
			continue;
		}
		st = d01_issue_cli_opt(&o, &jobs[0], &batch, c, optarg, &why);
		if (st != 0) {
			/* Only names and paths are quoted: never a key. */
			if (why != NULL && (c == 'd' || c == OPT_OUT))
				fprintf(stderr, "dns01 issue: %s: %s\n", why,
				    optarg);
			else if (why != NULL)
				fprintf(stderr, "dns01 issue: %s\n", why);
			rc = st > 0 ? usage(stdout, D01_EXIT_OK)
				    : usage(stderr, D01_EXIT_USAGE);
			goto out;
		}
	}
	if (list && o.directory != NULL && optind == argc) {
		rc = (int)d01_issue_list_profiles(o.directory, o.ca_bundle);
		goto out;
	}
	if (list)
		why = "--list-profiles takes --directory (and --ca-bundle)";
	else if (batch != NULL &&
	    (njobs = 0, read_batch(batch, jobs, &njobs)) != 0)
		why = "--batch: unreadable, or a line without OUTDIR and names";
	else if (optind != argc)
		why = "unexpected arguments";
	else
		why = d01_issue_cli_check(&o, jobs, njobs);
	if (why != NULL) {
		fprintf(stderr, "dns01 issue: %s\n", why);
		rc = usage(stderr, D01_EXIT_USAGE);
		goto out;
	}
	for (i = 1; i < njobs; i++)
		jobs[i].deploy_hook = jobs[0].deploy_hook;
	if (o.resolver == NULL)
		o.resolver = d01_cli_system_resolver(rbuf, sizeof(rbuf));
	o.envsrc = &envsrc;
	/* The status values are the exit codes (issuer/issue.h). */
	rc = (int)d01_issue(&o, jobs, njobs);
out:
	for (i = 0; i < D01_ISSUE_MAX_JOBS; i++)
		d01_issue_job_clear(&jobs[i]);
	OPENSSL_cleanse(o.eab_key, sizeof(o.eab_key));
	return rc;
}
