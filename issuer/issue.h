/* SPDX-License-Identifier: ISC */
/*
 * The issuance driver behind `dns01 issue` (cli/issue.c parses the flags
 * into these options and jobs): one job per certificate, and three
 * phases: plan (read --out, decide renewal, no network unless the CA
 * offers ARI), run (event loop: account, orders in parallel), write
 * (atomic file set).
 *
 * Ownership: the caller owns the options, the jobs and every string they
 * point to; d01_issue_job_clear() frees what a job gathered (its lock,
 * its certificate key, what was read from --out).
 */
#ifndef D01_ISSUER_ISSUE_H
#define D01_ISSUER_ISSUE_H

#include <stddef.h>

#include <openssl/evp.h>

struct d01_acme_order_op;
struct d01_acme_xfer;
struct issue_grp;

#include "core/dns.h"
#include "core/err.h"
#include "core/txtcheck.h"
#include "providers/provider.h"
#include "issuer/key.h"
#include "issuer/renew.h"

#define D01_ISSUE_MAX_JOBS   64
#define D01_ISSUE_MAX_ZONES  16
#define D01_ISSUE_STATE_FILE "renewal.json"

struct d01_issue_opts {
	const char *directory, *email, *provider, *config, *ca_bundle;
	const char *account_key, *secrets_dir, *ns, *dns_listen, *resolver;
	const char *eab_kid;
	/* Issue 18 part B: the ACME profile to ask for (NULL: the CA's
	 * default; refused before any order when the CA does not offer it),
	 * and whether to skip the CAA pre-check (issuer/caa_check.c). */
	const char *profile;
	int skip_caa;
	unsigned char eab_key[256];
	size_t eab_len;
	enum d01_key_type key_type;
	/* Without ARI: renew when less than renew_before_s seconds (>= 0)
	 * or renew_pct percent of the lifetime (1..99) is left; neither: a
	 * third of the lifetime (issuer/renew.h). */
	long renew_before_s, propagation_ms, timeout_ms;
	int renew_pct;
	int force, ns_port;
	struct d01_dns_server servers[D01_TXTCHECK_MAX_SERVERS];
	size_t nservers;
	const char *zones[D01_ISSUE_MAX_ZONES];
	size_t nzones;
	/* Without `config`: the provider's environment variables (its table
	 * entry) from this source (its `secret` is the driver's to set);
	 * NULL: there is no environment. */
	const struct d01_envsrc *envsrc;
};

/* One certificate: where it goes, its names, what is there already. */
struct d01_issue_job {
	char out[1024];
	char *names[100];
	size_t nnames;
	const char *deploy_hook;   /* borrowed; NULL: none */
	struct d01_cert_info have; /* nnames == 0 when none */
	int key_mismatch;	   /* privkey.pem does not fit `have` */
	int lock_fd;		   /* on out/.lock while we own out; -1 */
	char ari_url[2400];	   /* renewalInfo/<CertID>, or "" */
	char replaces[256];	   /* CertID for newOrder, or "" */
	int due;
	enum d01_renew_why why;
	time_t when;
	EVP_PKEY *cert_key;
	struct d01_acme_order_op *op;
	struct d01_acme_xfer *ari; /* the renewalInfo GET in flight */
	struct issue_grp *grp;	   /* back pointer while running */
	struct d01_error result;
	int finished;
	int hook_state;		      /* 0 none, 1 running, 2 done */
	struct d01_error hook_result; /* a failed deploy hook */
};

/* The outcome of a run, as `dns01 issue` exits with it. */
enum d01_issue_status {
	D01_ISSUE_DONE = 0,    /* every due certificate issued; or none due */
	D01_ISSUE_FAILED = 1,  /* a certificate, or the run, failed */
	D01_ISSUE_BADCONF = 2, /* the options cannot work (D01_E_CONFIG) */
	D01_ISSUE_HOOK = 3     /* all issued, but a deploy hook failed */
};

/*
 * One set of options and the jobs that share them: one ACME account and
 * session, one provider config. `dns01 issue` is one group; `dns01
 * renew` makes one per distinct option set (cli/renew.c). `err` is what
 * failed the whole group (its account, its provider config), if any.
 */
struct d01_issue_group {
	const struct d01_issue_opts *o;
	struct d01_issue_job *jobs;
	size_t njobs;
	struct d01_error err;
};

/*
 * Run every group on one event loop, in parallel: plan (a job that
 * cannot be planned fails alone), ARI, accounts, orders, files, deploy
 * hooks. The env-level options (embedded zones, --dns-listen,
 * --secrets-dir) are shared: zones add up; a group asking for another
 * listener or secrets directory than the first fails alone. `dry_run`:
 * plan and ARI only, print what would be renewed. The deadline is the
 * longest group timeout. Prints one line per certificate (stdout: issued,
 * not due; stderr: failures, after `prog: `); the status is the worst of
 * all jobs (a failed hook counts only when nothing else failed).
 */
enum d01_issue_status d01_issue_groups(struct d01_issue_group *groups,
    size_t ngroups, int dry_run, const char *prog);

/*
 * Plan every job, then run the due ones (ARI first when planned) and
 * write their files. One line per certificate issued or not due on
 * stdout, one per failure on stderr.
 */
enum d01_issue_status d01_issue(
    const struct d01_issue_opts *o, struct d01_issue_job *jobs, size_t njobs);

/*
 * `dns01 issue --list-profiles`: fetch `directory` (through `ca_bundle`
 * when not NULL) and print meta.profiles, one "NAME  description" line
 * each, on stdout. (issue_info.c)
 */
enum d01_issue_status d01_issue_list_profiles(
    const char *directory, const char *ca_bundle);

/* issue_plan.c: the phases d01_issue() runs, and the job's end. */

/*
 * Take job->out for this run before anything else (lock it, finish an
 * interrupted commit, check that a new set could be written there: all
 * before the CA is asked anything), then read cert.pem, privkey.pem,
 * fullchain.pem and renewal.json and decide locally. The lock is held
 * until d01_issue_job_clear().
 */
enum d01_err d01_issue_plan(const struct d01_issue_opts *o,
    struct d01_issue_job *job, struct d01_error *err);
/* Re-decide with a renewalInfo window fetched for the job. */
void d01_issue_plan_ari(const struct d01_issue_opts *o,
    struct d01_issue_job *job, const struct d01_ari_window *w);
/* One line "not due" message for a job that is not due. */
void d01_issue_print_not_due(const struct d01_issue_job *job);
/*
 * Write privkey.pem, cert.pem, chain.pem, fullchain.pem and renewal.json
 * into job->out as one atomic set.
 */
enum d01_err d01_issue_write(const struct d01_issue_opts *o,
    struct d01_issue_job *job, const char *renewal_info, const char *pem,
    size_t len, struct d01_error *err);
void d01_issue_job_clear(struct d01_issue_job *job);

#endif
