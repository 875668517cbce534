/* SPDX-License-Identifier: ISC */
/*
 * dns01 issue, plan and write: what --out holds, whether it is due, and
 * the atomic write of a new set. Synchronous, before or after the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "issuer/issue.h"
#include "core/log.h"
#include "issuer/files.h"

#define CERT_FILE_MAX (1024 * 1024)
#define KEY_FILE_MAX  65536

/* The set written into --out, in the order of issue_write's files. */
static const char *const set_names[] = {"privkey.pem", "cert.pem", "chain.pem",
    "fullchain.pem", D01_ISSUE_STATE_FILE};
#define SET_N (sizeof(set_names) / sizeof(set_names[0]))

void
d01_issue_job_clear(struct d01_issue_job *job)
{
	size_t i;

	for (i = 0; i < job->nnames; i++)
		free(job->names[i]);
	job->nnames = 0;
	d01_cert_info_clear(&job->have);
	EVP_PKEY_free(job->cert_key);
	job->cert_key = NULL;
	if (job->lock_fd >= 0)
		close(job->lock_fd); /* releases the flock */
	job->lock_fd = -1;
}

/* renewal.json: which CA issued the set and where its ARI lives. */
static void
read_state(const struct d01_issue_opts *o, struct d01_issue_job *job)
{
	char path[1100], *text = NULL;
	const char *dir, *ri;
	json_t *j = NULL;
	size_t len = 0;
	int n;

	snprintf(path, sizeof(path), "%s/%s", job->out, D01_ISSUE_STATE_FILE);
	if (d01_file_read(path, 65536, &text, &len, NULL) != D01_OK ||
	    (j = json_loadb(text, len, 0, NULL)) == NULL)
		goto out;
	dir = json_string_value(json_object_get(j, "directory"));
	ri = json_string_value(json_object_get(j, "renewalInfo"));
	if (dir == NULL || strcmp(dir, o->directory) != 0 ||
	    job->have.ari_id[0] == '\0')
		goto out; /* another CA: its CertID means nothing here */
	snprintf(job->replaces, sizeof(job->replaces), "%s", job->have.ari_id);
	if (ri != NULL && ri[0] != '\0') {
		n = snprintf(job->ari_url, sizeof(job->ari_url), "%s%s%s", ri,
		    ri[strlen(ri) - 1] == '/' ? "" : "/", job->have.ari_id);
		if (n < 0 || n >= (int)sizeof(job->ari_url))
			job->ari_url[0] = '\0'; /* too long to be genuine */
	}
out:
	json_decref(j);
	free(text);
}

static void
decide(const struct d01_issue_opts *o, struct d01_issue_job *job,
    const struct d01_ari_window *w)
{
	struct d01_renew_input in = {0};
	struct d01_renew_decision d;

	in.cert = job->have.nnames > 0 ? &job->have : NULL;
	in.key_mismatch = job->key_mismatch;
	in.names = (const char *const *)job->names;
	in.nnames = job->nnames;
	in.now = time(NULL);
	in.renew_before = o->renew_before_s;
	in.renew_pct = o->renew_pct;
	in.force = o->force;
	in.ari = w;
	/* RFC 9773 §4.2 asks for a uniformly random point inside the
	 * window: uniform across certificates, fixed for each (renew.h). */
	in.pick = d01_renew_pick(in.cert);
	d01_renew_decide(&in, &d);
	job->due = d.due;
	job->why = d.why;
	job->when = d.when;
}

/* Lock --out, repair an interrupted commit, prove a set can be written:
 * a failure here costs nothing at the CA. */
static enum d01_err
take_out(struct d01_issue_job *job, struct d01_error *err)
{
	static const char *const said[] = {
	    [D01_FILES_DISCARDED] = "dropped an unfinished new set",
	    [D01_FILES_ROLLED_FORWARD] = "completed an interrupted commit",
	    [D01_FILES_ROLLED_BACK] = "restored the previous set",
	};
	enum d01_files_recovery what;

	if (d01_files_lock(job->out, &job->lock_fd, err) != D01_OK ||
	    d01_files_recover(job->out, &what, err) != D01_OK ||
	    d01_files_check(job->out, set_names, SET_N, err) != D01_OK)
		return err->code;
	if (what != D01_FILES_CLEAN)
		d01_log(D01_LOG_WARN, "issue", "out=%s recovery=\"%s\"",
		    job->out, said[what]);
	return D01_OK;
}

/* 1 when `name` in --out holds a certificate for `key`. */
static int
file_fits(const struct d01_issue_job *job, const char *name, EVP_PKEY *key)
{
	char path[1100], *pem = NULL;
	size_t len = 0;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", job->out, name);
	if (d01_file_read(path, CERT_FILE_MAX, &pem, &len, NULL) != D01_OK)
		return 0;
	ok = d01_cert_key_matches(pem, len, key);
	free(pem);
	return ok;
}

/* Does privkey.pem belong to cert.pem and to the leaf of fullchain.pem
 * (what servers actually load)? A missing or foreign key: no. */
static int
key_fits(const struct d01_issue_job *job)
{
	char path[1100], *pem = NULL;
	size_t len = 0;
	EVP_PKEY *key = NULL;
	int ok = 0;

	snprintf(path, sizeof(path), "%s/privkey.pem", job->out);
	if (d01_file_read(path, KEY_FILE_MAX, &pem, &len, NULL) != D01_OK)
		return 0;
	key = d01_key_from_pem(pem, len, NULL);
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (key != NULL)
		ok = file_fits(job, "cert.pem", key) &&
		    file_fits(job, "fullchain.pem", key);
	EVP_PKEY_free(key);
	return ok;
}

enum d01_err
d01_issue_plan(const struct d01_issue_opts *o, struct d01_issue_job *job,
    struct d01_error *err)
{
	char qm[600], qp[300];
	char path[1100], *pem = NULL;
	size_t len = 0;
	struct d01_error e;
	enum d01_err rc;

	job->ari_url[0] = job->replaces[0] = '\0';
	if ((rc = take_out(job, err)) != D01_OK)
		return rc;
	snprintf(path, sizeof(path), "%s/cert.pem", job->out);
	rc = d01_file_read(path, CERT_FILE_MAX, &pem, &len, &e);
	if (rc == D01_OK &&
	    d01_cert_info_parse(pem, len, &job->have, &e) != D01_OK)
		d01_log(D01_LOG_WARN, "issue",
		    "path=%s unreadable, replacing it: %s",
		    d01_log_quote(qp, sizeof(qp), path),
		    d01_log_quote(qm, sizeof(qm), e.msg));
	else if (rc != D01_OK && rc != D01_E_NOTFOUND) {
		free(pem);
		*err = e;
		return rc;
	}
	free(pem);
	if (job->have.nnames > 0) {
		job->key_mismatch = !key_fits(job);
		read_state(o, job);
	}
	decide(o, job, NULL);
	/* With ARI the CA's window replaces --renew-before: keep the
	 * verdict open unless the set itself, names or --force already
	 * decided it. */
	if (job->ari_url[0] != '\0' && job->why != D01_RENEW_NAMES &&
	    job->why != D01_RENEW_FORCED && job->why != D01_RENEW_NO_CERT &&
	    job->why != D01_RENEW_KEY)
		job->due = -1;
	else
		job->ari_url[0] = '\0';
	return D01_OK;
}

void
d01_issue_plan_ari(const struct d01_issue_opts *o, struct d01_issue_job *job,
    const struct d01_ari_window *w)
{
	decide(o, job, w);
}

static void
fmt_time(time_t t, char *buf, size_t n)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
d01_issue_print_not_due(const struct d01_issue_job *job)
{
	char until[32], from[32], names[1024] = "";
	size_t i, n = 0;

	for (i = 0; i < job->nnames && n < sizeof(names) - 1; i++)
		n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s",
		    i ? "," : "", job->names[i]);
	fmt_time(job->have.not_after, until, sizeof(until));
	fmt_time(job->when, from, sizeof(from));
	printf("%s: %s: %s, valid until %s; renewal from %s\n", job->out,
	    d01_renew_why_text(job->why), names, until, from);
}

/* Length of the first PEM certificate block of `pem`, with its newline. */
static size_t
first_block(const char *pem, size_t len)
{
	static const char end[] = "-----END CERTIFICATE-----";
	const char *e = strstr(pem, end);
	size_t n;

	if (e == NULL)
		return len;
	n = (size_t)(e - pem) + sizeof(end) - 1;
	while (n < len && (pem[n] == '\r' || pem[n] == '\n'))
		n++;
	return n;
}

static char *
state_json(const struct d01_issue_opts *o, const char *renewal_info)
{
	json_t *j = json_pack("{s:s, s:s?}", "directory", o->directory,
	    "renewalInfo", renewal_info);
	char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;

	json_decref(j);
	return s;
}

enum d01_err
d01_issue_write(const struct d01_issue_opts *o, struct d01_issue_job *job,
    const char *renewal_info, const char *pem, size_t len,
    struct d01_error *err)
{
	char *key = NULL, *state = NULL;
	size_t klen = 0, leaf = first_block(pem, len);
	enum d01_err rc;
	struct d01_file_out files[SET_N] = {
	    {set_names[0], NULL, 0, 0600},
	    {set_names[1], pem, leaf, 0644},
	    {set_names[2], pem + leaf, len - leaf, 0644},
	    {set_names[3], pem, len, 0644},
	    {set_names[4], NULL, 0, 0644},
	};

	if ((rc = d01_key_to_pem(job->cert_key, &key, &klen, err)) != D01_OK)
		return rc;
	if ((state = state_json(o, renewal_info)) == NULL) {
		d01_key_pem_free(key, klen);
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	}
	files[0].data = key;
	files[0].len = klen;
	files[4].data = state;
	files[4].len = strlen(state);
	rc = d01_files_commit(job->out, files, SET_N, err);
	d01_key_pem_free(key, klen);
	free(state);
	return rc;
}
