/* SPDX-License-Identifier: ISC */
/*
 * Inside the issuance driver (issue.h): the run of many groups on one
 * loop (issue_run.c) and what happens when an order ends and when the run
 * is over (issue_done.c: files, the line printed, the deploy hook, the
 * status). Not for use outside issuer/issue_*.c.
 */
#ifndef D01_ISSUER_ISSUE_RUN_H
#define D01_ISSUER_ISSUE_RUN_H

#include <stddef.h>

#include <event2/event.h>

#include "core/env.h"
#include "issuer/authz.h"
#include "issuer/issue.h"
#include "providers/provider.h"

struct d01_acme_http;
struct d01_acme;
struct d01_acme_account_op;
struct d01_hooks;
struct d01_caa_check;

/* One group's run: its ACME session and account, its provider config. */
struct issue_grp {
	struct issue_run *run;
	struct d01_issue_group *g;
	const struct d01_provider *prov;
	void *cfg;
	struct d01_acme_http *http;
	struct d01_acme *acme;
	EVP_PKEY *account_key;
	struct d01_acme_account_op *acct;
	struct d01_caa_check *caa; /* the CAA pre-check while it runs */
	struct d01_dns_server caa_resolver;
	size_t ari_pending, orders_pending;
	struct d01_dns_server resolver, listen_srv;
	struct d01_solve_ctx solve;
	struct d01_envsrc envsrc; /* the options' source, our secret name */
	char secret[32];
	int done; /* nothing of the group runs any more */
};

struct issue_run {
	struct issue_grp *grps;
	size_t ngrps, active; /* groups not done */
	struct event_base *base;
	struct d01_env env; /* with the embedded zones and listener */
	struct d01_hooks *hooks;
	struct event *deadline, *sigint, *sigterm;
	long timeout_ms;      /* the longest of the groups' */
	struct d01_error err; /* a failure of the whole run */
	int aborted, dry_run;
	const char *prog; /* in front of error lines */
};

/* issue_setup.c: the account key (*existed: it was there), the
 * provider's config, the TXT checker's servers, the certificate keys of
 * the jobs that want an order, the ACME session. D01_OK, or err. */
enum d01_err d01_issue_grp_setup(
    struct issue_grp *grp, int *existed, struct d01_error *err);

/* issue_run.c: leave the loop when nothing runs any more. */
void d01_issue_run_maybe_done(struct issue_run *run);

/* issue_done.c: an order ended (err, or the chain `pem`): write the set,
 * print its line, start its deploy hook. */
void d01_issue_job_done(struct issue_grp *grp, struct d01_issue_job *job,
    const struct d01_error *err, const char *pem, size_t len);

/* issue_done.c: one line per failure (stderr); the status. */
enum d01_issue_status d01_issue_report(struct issue_run *run);

#endif
