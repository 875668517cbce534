/* SPDX-License-Identifier: ISC */
/*
 * dns01 renew [--config-dir DIR] [--dry-run]: every certificate declared
 * in DIR/certs.d/NAME.conf (one each; DIR/dns01.conf holds the defaults they
 * inherit, same format: cli/conf.h), renewed when due, all in one process
 * on one event loop (issuer/issue.h, d01_issue_groups).
 *
 * Grouping: certificates whose effective options are the same text, apart
 * from their names, --out and --deploy-hook, share one group: one ACME
 * session, one account, one provider config. The rest (another CA,
 * account, provider or env.NAME) make groups of their own, run side by
 * side. Without account_key a certificate's account key is in its --out,
 * so such certificates stay alone, as with `dns01 issue`.
 *
 * Exit 0 when every certificate is renewed or not due, 1 when any failed
 * or could not be read (the others are still done), 3 when only deploy
 * hooks failed, 2 on usage errors.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli/cli.h"
#include "cli/conf.h"
#include "core/log.h"
#include "issuer/issue.h"
#include "providers/provider.h"

#define RENEW_MAX_CERTS	  256
#define RENEW_DEFAULT_DIR "/etc/dns01"

struct cert {
	char path[1400];
	struct d01_conf conf;
	struct d01_issue_opts o;
	struct d01_issue_job job;
	struct d01_envsrc envsrc;
	const struct d01_conf *layers[2]; /* dns01.conf, then its own */
	char *key;			  /* the grouping text */
	size_t klen, group;
	struct d01_issue_job *run_job; /* its job in the group's array */
	int broken;
};

static int
usage(FILE *f, int rc)
{
	fprintf(f,
	    "usage: dns01 renew [--config-dir DIR] [--dry-run]\n"
	    "         [--log-level error|warn|info|debug]\n"
	    "Renews every due certificate of DIR/certs.d/NAME.conf (default "
	    "DIR: " RENEW_DEFAULT_DIR ").\n"
	    "Each file: `option = value` lines, option an `issue` long option\n"
	    "without dashes (domain for -d), `env.NAME = value` a provider\n"
	    "variable for that certificate; DIR/dns01.conf: the defaults.\n");
	return rc;
}

/* env.NAME of the certificate (its own over dns01.conf's, the last line
 * of each winning), else the process environment. */
static const char *
cert_getenv(void *ctx, const char *name)
{
	const struct cert *c = ctx;
	const struct d01_conf *f;
	size_t i, k;

	for (k = 2; k-- > 0;) {
		if ((f = c->layers[k]) == NULL)
			continue;
		for (i = f->n; i-- > 0;)
			if (f->lines[i].opt == NULL &&
			    strcmp(f->lines[i].key + 4, name) == 0)
				return f->lines[i].value;
	}
	return d01_cli_getenv(name);
}

/* Grow the grouping text by "key=value\n" (NUL-safe lengths). */
static int
key_add(struct cert *c, const char *k, const char *v)
{
	size_t a = strlen(k), b = strlen(v);
	char *p = realloc(c->key, c->klen + a + b + 3);

	if (p == NULL)
		return -1;
	c->key = p;
	memcpy(p + c->klen, k, a);
	p[c->klen + a] = '=';
	memcpy(p + c->klen + a + 1, v, b);
	p[c->klen + a + 1 + b] = '\n';
	c->klen += a + b + 2;
	p[c->klen] = '\0';
	return 0;
}

static int
per_cert(const char *key)
{
	return strcmp(key, "domain") == 0 || strcmp(key, "out") == 0 ||
	    strcmp(key, "deploy-hook") == 0;
}

/* Apply one file's lines; -1 with `why` naming file and line. */
static int
apply(struct cert *c, const char *path, const struct d01_conf *f, char *why,
    size_t n)
{
	const struct d01_conf_line *l;
	const char *batch = NULL, *r = NULL;
	size_t i;

	for (i = 0; i < f->n; i++) {
		l = &f->lines[i];
		if ((!per_cert(l->key) && key_add(c, l->key, l->value) != 0)) {
			snprintf(why, n, "%s: out of memory", path);
			return -1;
		}
		if (l->opt == NULL ||
		    (l->opt->has_arg == no_argument && l->value[0] == '\0'))
			continue; /* env.NAME, or a flag set to no */
		if (d01_issue_cli_opt(&c->o, &c->job, &batch, l->opt->val,
			l->value, &r) != 0) {
			snprintf(why, n, "%s:%u: %s: %s", path, l->lineno,
			    l->key, r ? r : "refused");
			return -1;
		}
	}
	return 0;
}

/* Read one certificate's file over the defaults; 0, or -1 (reported). */
static int
load_cert(struct cert *c, const struct d01_conf *defaults,
    const char *defaults_path, const char *resolver)
{
	char why[1600];
	const char *bad;

	d01_issue_cli_init(&c->o);
	c->job.lock_fd = -1;
	c->envsrc.get = cert_getenv;
	c->envsrc.ctx = c;
	c->o.envsrc = &c->envsrc;
	c->layers[0] = defaults;
	c->layers[1] = &c->conf;
	if (d01_conf_read(c->path, d01_issue_longopts, &c->conf, NULL, why,
		sizeof(why)) != 0 ||
	    (defaults != NULL &&
		apply(c, defaults_path, defaults, why, sizeof(why)) != 0) ||
	    apply(c, c->path, &c->conf, why, sizeof(why)) != 0)
		goto bad;
	if ((bad = d01_issue_cli_check(&c->o, &c->job, 1)) != NULL) {
		snprintf(why, sizeof(why), "%s: %s", c->path, bad);
		goto bad;
	}
	if (c->o.resolver == NULL)
		c->o.resolver = resolver;
	/* Without a shared account key the key lives in --out. */
	if (c->o.account_key == NULL && key_add(c, "out", c->job.out) != 0) {
		snprintf(why, sizeof(why), "%s: out of memory", c->path);
		goto bad;
	}
	if (c->key == NULL && key_add(c, "", "") != 0) {
		snprintf(why, sizeof(why), "%s: out of memory", c->path);
		goto bad;
	}
	return 0;
bad:
	fprintf(stderr, "dns01 renew: %s (skipped)\n", why);
	c->broken = 1;
	return -1;
}

static int
is_conf(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 &&
	    strcmp(d->d_name + n - 5, ".conf") == 0;
}

/* certs.d/NAME.conf in name order, at most RENEW_MAX_CERTS. */
static int
list_certs(const char *dir, struct cert *certs, size_t *n)
{
	char d[1024];
	struct dirent **ents = NULL;
	int k, i;

	if (snprintf(d, sizeof(d), "%s/certs.d", dir) >= (int)sizeof(d)) {
		fprintf(stderr, "dns01 renew: --config-dir: too long\n");
		return -1;
	}
	if ((k = scandir(d, &ents, is_conf, alphasort)) < 0) {
		fprintf(stderr, "dns01 renew: %s: cannot be read\n", d);
		return -1;
	}
	for (i = 0; i < k; i++) {
		if (*n < RENEW_MAX_CERTS)
			snprintf(certs[(*n)++].path, sizeof(certs[0].path),
			    "%s/%s", d, ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
	if (k > RENEW_MAX_CERTS)
		fprintf(stderr,
		    "dns01 renew: %s: more than %d files, "
		    "the rest skipped\n",
		    d, RENEW_MAX_CERTS);
	return k > RENEW_MAX_CERTS ? 1 : 0;
}

/* Certificates with the same grouping text share a group; each group's
 * jobs are moved into one array (the job's strings go with it). */
static struct d01_issue_group *
make_groups(struct cert *certs, size_t n, size_t *ng)
{
	struct d01_issue_group *g = calloc(n ? n : 1, sizeof(*g));
	size_t i, k, cnt;

	*ng = 0;
	if (g == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (certs[i].broken)
			continue;
		for (k = 0; k < i; k++)
			if (!certs[k].broken &&
			    certs[k].klen == certs[i].klen &&
			    memcmp(certs[k].key, certs[i].key, certs[i].klen) ==
				0)
				break;
		certs[i].group = k < i ? certs[k].group : (*ng)++;
		if (k == i)
			g[certs[i].group].o = &certs[i].o;
		g[certs[i].group].njobs++;
	}
	for (k = 0; k < *ng; k++) {
		if ((g[k].jobs = calloc(g[k].njobs, sizeof(*g[k].jobs))) ==
		    NULL)
			return g; /* caller sees njobs without jobs */
		cnt = 0;
		for (i = 0; i < n; i++) {
			if (certs[i].broken || certs[i].group != k)
				continue;
			g[k].jobs[cnt] = certs[i].job;
			memset(&certs[i].job, 0, sizeof(certs[i].job));
			certs[i].job.lock_fd = -1;
			certs[i].run_job = &g[k].jobs[cnt++];
		}
	}
	return g;
}

/* The summary line and the exit code. */
static int
summary(const struct cert *certs, size_t n, const struct d01_issue_group *g,
    int dry_run)
{
	size_t i, renewed = 0, notdue = 0, failed = 0, hooks = 0, would = 0;
	const struct d01_issue_job *j;

	for (i = 0; i < n; i++) {
		j = certs[i].run_job;
		if (certs[i].broken || j == NULL)
			failed++;
		else if (j->due == 0 && !j->finished)
			notdue++;
		else if (dry_run && j->due == 1 && !j->finished &&
		    g[certs[i].group].err.code == D01_OK)
			would++;
		else if (j->due == 1 && j->finished && j->result.code == D01_OK)
			renewed++, hooks += j->hook_result.code != D01_OK;
		else
			failed++;
	}
	if (dry_run)
		printf("dns01 renew: %zu certificates: %zu would be renewed, "
		       "%zu not due, %zu failed\n",
		    n, would, notdue, failed);
	else
		printf("dns01 renew: %zu certificates: %zu renewed, %zu not "
		       "due, %zu failed, %zu deploy hooks failed\n",
		    n, renewed, notdue, failed, hooks);
	return failed ? D01_EXIT_FAIL : hooks ? 3 : D01_EXIT_OK;
}

static const struct option renew_opts[] = {
    {"config-dir", required_argument, NULL, 'c'},
    {"dry-run", no_argument, NULL, 'n'},
    {"log-level", required_argument, NULL, 'l'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int
d01_cmd_renew(int argc, char **argv)
{
	const char *dir = RENEW_DEFAULT_DIR;
	char dpath[1100], why[1600], rbuf[160];
	struct d01_conf defaults = {0};
	struct d01_issue_group *groups = NULL;
	struct cert *certs = NULL;
	enum d01_log_level level;
	size_t n = 0, ng = 0, i, k;
	int c, dry_run = 0, missing = 0, rc = D01_EXIT_USAGE, over = 0;
	const char *resolver;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", renew_opts, NULL)) != -1) {
		if (c == 'c')
			dir = optarg;
		else if (c == 'n')
			dry_run = 1;
		else if (c == 'l' && d01_log_parse_level(optarg, &level) == 0)
			d01_log_set_level(level);
		else
			return usage(c == 'h' ? stdout : stderr,
			    c == 'h' ? D01_EXIT_OK : D01_EXIT_USAGE);
	}
	if (optind != argc)
		return usage(stderr, D01_EXIT_USAGE);
	snprintf(dpath, sizeof(dpath), "%s/dns01.conf", dir);
	if (d01_conf_read(dpath, d01_issue_longopts, &defaults, &missing, why,
		sizeof(why)) != 0 &&
	    !missing) {
		fprintf(stderr, "dns01 renew: %s (every certificate skipped)\n",
		    why);
		return D01_EXIT_FAIL;
	}
	resolver = d01_cli_system_resolver(rbuf, sizeof(rbuf));
	if ((certs = calloc(RENEW_MAX_CERTS, sizeof(*certs))) == NULL ||
	    (over = list_certs(dir, certs, &n)) < 0)
		goto out;
	for (i = 0; i < n; i++)
		load_cert(
		    &certs[i], missing ? NULL : &defaults, dpath, resolver);
	if ((groups = make_groups(certs, n, &ng)) == NULL) {
		rc = D01_EXIT_FAIL;
		goto out;
	}
	for (k = 0; k < ng; k++)
		if (groups[k].jobs == NULL)
			goto out;
	if (ng > 0)
		d01_issue_groups(groups, ng, dry_run, "dns01 renew");
	rc = summary(certs, n, groups, dry_run);
	if (over && rc == D01_EXIT_OK)
		rc = D01_EXIT_FAIL;
out:
	for (k = 0; groups != NULL && k < ng; k++) {
		for (i = 0; groups[k].jobs != NULL && i < groups[k].njobs; i++)
			d01_issue_job_clear(&groups[k].jobs[i]);
		free(groups[k].jobs);
	}
	free(groups);
	for (i = 0; certs != NULL && i < n; i++) {
		d01_issue_job_clear(&certs[i].job);
		d01_conf_free(&certs[i].conf);
		OPENSSL_cleanse(certs[i].o.eab_key, sizeof(certs[i].o.eab_key));
		if (certs[i].key != NULL)
			OPENSSL_cleanse(certs[i].key, certs[i].klen);
		free(certs[i].key);
	}
	free(certs);
	d01_conf_free(&defaults);
	return rc;
}
