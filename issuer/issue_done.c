/* SPDX-License-Identifier: ISC */
/*
 * The issuance driver (issue.h), the end of each order and of the run:
 * the committed set, its line, its deploy hook, and the status.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "issuer/acme.h"
#include "issuer/hook.h"
#include "issuer/issue_run.h"

static void
hook_done(void *arg, const struct d01_error *err)
{
	char qm[600], qo[300];
	struct d01_issue_job *job = arg;
	struct issue_run *run = job->grp->run;

	job->hook_state = 2;
	job->hook_result = *err;
	d01_log(err->code ? D01_LOG_ERR : D01_LOG_INFO, "deploy_hook",
	    "out=%s result=%s", d01_log_quote(qo, sizeof(qo), job->out),
	    d01_log_quote(qm, sizeof(qm), err->code ? err->msg : "ok"));
	d01_issue_run_maybe_done(run);
}

/* The hook's environment: ours and certbot's names for the same facts. */
static void
start_hook(struct issue_grp *grp, struct d01_issue_job *job, const char *pem,
    size_t len)
{
	char v_out[1100], v_lin[1100], v_names[4200], v_dom[4200];
	char v_ser[160], v_na[64], names[4096] = "", when[32];
	const char *env[7] = {v_out, v_names, v_ser, v_na, v_lin, v_dom, NULL};
	struct d01_cert_info ci;
	struct d01_error err;
	struct tm tm;
	size_t i, n = 0;

	if (d01_cert_info_parse(pem, len, &ci, &err) != D01_OK)
		memset(&ci, 0, sizeof(ci));
	for (i = 0; i < job->nnames && n < sizeof(names) - 1; i++)
		n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s",
		    i ? " " : "", job->names[i]);
	gmtime_r(&ci.not_after, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(v_out, sizeof(v_out), "DNS01_OUT=%s", job->out);
	snprintf(v_lin, sizeof(v_lin), "RENEWED_LINEAGE=%s", job->out);
	snprintf(v_names, sizeof(v_names), "DNS01_NAMES=%s", names);
	snprintf(v_dom, sizeof(v_dom), "RENEWED_DOMAINS=%s", names);
	snprintf(v_ser, sizeof(v_ser), "DNS01_SERIAL=%s", ci.serial);
	snprintf(v_na, sizeof(v_na), "DNS01_NOT_AFTER=%s", when);
	d01_cert_info_clear(&ci);
	if (d01_hook_start(grp->run->hooks, job->deploy_hook, env, job->out,
		D01_HOOK_TIMEOUT_MS, hook_done, job, &err) == NULL) {
		job->hook_state = 2;
		job->hook_result = err;
		return;
	}
	job->hook_state = 1;
}

void
d01_issue_job_done(struct issue_grp *grp, struct d01_issue_job *job,
    const struct d01_error *err, const char *pem, size_t len)
{
	char qm[600], qo[300];
	const struct d01_acme_dir *d = d01_acme_directory(grp->acme);
	struct d01_error e = *err;

	if (e.code == D01_OK)
		d01_issue_write(grp->g->o, job, d->renewal_info, pem, len, &e);
	job->result = e;
	if (e.code == D01_OK)
		printf("%s: issued for %s (%s)\n", job->out, job->names[0],
		    d01_renew_why_text(job->why));
	d01_log(e.code ? D01_LOG_ERR : D01_LOG_INFO, "issue",
	    "out=%s result=%s", d01_log_quote(qo, sizeof(qo), job->out),
	    d01_log_quote(qm, sizeof(qm), e.code ? e.msg : "issued"));
	/* Only a committed new set is deployed; a failed hook never undoes
	 * it (the certificate is valid, the next run finds it not due). */
	if (e.code == D01_OK && job->deploy_hook != NULL &&
	    job->deploy_hook[0] != '\0')
		start_hook(grp, job, pem, len);
}

static void
line(const struct issue_run *run, const struct d01_issue_job *job, int named,
    const char *what, const char *msg)
{
	fprintf(stderr, "%s: %s%s%s%s\n", run->prog, named ? job->out : "",
	    named ? ": " : "", what, msg);
}

static enum d01_issue_status
worse(enum d01_issue_status a, enum d01_issue_status b)
{
	static const int rank[] = {
	    [D01_ISSUE_DONE] = 0,
	    [D01_ISSUE_HOOK] = 1,
	    [D01_ISSUE_BADCONF] = 2,
	    [D01_ISSUE_FAILED] = 3,
	};

	return rank[b] > rank[a] ? b : a;
}

/* One group: its own failure (once for a lone job, else per job), then
 * every job's own failure that is not just the consequence of it. */
static enum d01_issue_status
report_group(
    const struct issue_run *run, const struct issue_grp *grp, int named)
{
	const struct d01_issue_group *g = grp->g;
	const struct d01_issue_job *job;
	enum d01_issue_status rc = D01_ISSUE_DONE;
	size_t i;

	if (g->err.code != D01_OK)
		rc = g->err.code == D01_E_CONFIG ? D01_ISSUE_BADCONF
						 : D01_ISSUE_FAILED;
	for (i = 0; i < g->njobs; i++) {
		job = &g->jobs[i];
		if (job->due != 1 || run->dry_run) {
			if (job->finished && job->result.code != D01_OK) {
				line(run, job, named, "", job->result.msg);
				rc = worse(rc, D01_ISSUE_FAILED);
			}
			continue;
		}
		if (g->err.code != D01_OK && (named || i == 0) &&
		    (!job->finished || job->result.code != D01_OK))
			line(run, job, named, "", g->err.msg);
		if (job->result.code == D01_OK && job->finished) {
			if (job->hook_result.code != D01_OK) {
				line(run, job, named, "", job->hook_result.msg);
				rc = worse(rc, D01_ISSUE_HOOK);
			}
			continue;
		}
		if (job->result.code != D01_OK &&
		    (job->result.code != D01_E_CANCELLED ||
			g->err.code == D01_OK)) {
			line(run, job, named, "",
			    job->result.msg[0] ? job->result.msg
					       : "not issued");
			rc = worse(rc, D01_ISSUE_FAILED);
		} else if (g->err.code == D01_OK) {
			line(run, job, named, "", "not issued");
			rc = worse(rc, D01_ISSUE_FAILED);
		} /* else the group's failure, said and counted above */
	}
	return rc;
}

enum d01_issue_status
d01_issue_report(struct issue_run *run)
{
	enum d01_issue_status rc = D01_ISSUE_DONE;
	size_t i, njobs = 0;

	if (run->err.code != D01_OK) {
		fprintf(stderr, "%s: %s\n", run->prog, run->err.msg);
		rc = run->err.code == D01_E_CONFIG ? D01_ISSUE_BADCONF
						   : D01_ISSUE_FAILED;
	}
	for (i = 0; i < run->ngrps; i++)
		njobs += run->grps[i].g->njobs;
	for (i = 0; i < run->ngrps; i++) {
		if (run->err.code != D01_OK)
			run->grps[i].g->err = run->err; /* for the caller */
		else
			rc = worse(
			    rc, report_group(run, &run->grps[i], njobs > 1));
	}
	return rc;
}
