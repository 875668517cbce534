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
	long renew_before_s, propagation_ms, timeout_ms;
	int force, ns_port;
	struct d01_dns_server servers[D01_TXTCHECK_MAX_SERVERS];
	size_t nservers;
	const char *zones[D01_ISSUE_MAX_ZONES];
	size_t nzones;
	/* Without `config`: the provider's environment variables (its table
	 * entry) through this getter; NULL: there is no environment. */
	d01_getenv_fn getenv;
};

/* One certificate: where it goes, its names, what is there already. */
struct d01_issue_job {
	char out[1024];
	char *names[100];
	size_t nnames;
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
	struct issue_run *run; /* back pointer while running */
	struct d01_error result;
	int finished;
};

/* The outcome of a run, as `dns01 issue` exits with it. */
enum d01_issue_status {
	D01_ISSUE_DONE = 0,   /* every due certificate issued; or none due */
	D01_ISSUE_FAILED = 1, /* a certificate, or the run, failed */
	D01_ISSUE_BADCONF = 2 /* the options cannot work (D01_E_CONFIG) */
};

/*
 * Plan every job, then run the due ones (ARI first when planned) and
 * write their files. One line per certificate issued or not due on
 * stdout, one per failure on stderr.
 */
enum d01_issue_status d01_issue(
    const struct d01_issue_opts *o, struct d01_issue_job *jobs, size_t njobs);

struct d01_acme_order_op;
struct issue_run;

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
