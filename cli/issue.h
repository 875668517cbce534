/* SPDX-License-Identifier: ISC */
/*
 * Private to `dns01 issue` (cli/issue*.c): options, one job per
 * certificate, and the three phases: plan (read --out, decide renewal,
 * no network unless the CA offers ARI), run (event loop: account, orders
 * in parallel), write (atomic file set).
 */
#ifndef D01_CLI_ISSUE_H
#define D01_CLI_ISSUE_H

#include <stddef.h>

#include <openssl/evp.h>

#include "core/dns.h"
#include "core/err.h"
#include "core/txtcheck.h"
#include "issuer/key.h"
#include "issuer/renew.h"

#define ISSUE_MAX_JOBS	 64
#define ISSUE_MAX_ZONES	 16
#define ISSUE_STATE_FILE "renewal.json"

struct issue_opts {
	const char *directory, *email, *provider, *config, *ca_bundle;
	const char *account_key, *secrets_dir, *ns, *dns_listen, *resolver;
	const char *eab_kid;
	unsigned char eab_key[256];
	size_t eab_len;
	enum d01_key_type key_type;
	long renew_before_s, propagation_ms, timeout_ms;
	int force, ns_port;
	struct d01_dns_server servers[D01_TXTCHECK_MAX_SERVERS];
	size_t nservers;
	const char *zones[ISSUE_MAX_ZONES];
	size_t nzones;
};

struct d01_acme_order_op;
struct issue_run;

/* One certificate: where it goes, its names, what is there already. */
struct issue_job {
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

/* issue_plan.c */

/*
 * Take job->out for this run before anything else (lock it, finish an
 * interrupted commit, check that a new set could be written there: all
 * before the CA is asked anything), then read cert.pem, privkey.pem,
 * fullchain.pem and renewal.json and decide locally. The lock is held
 * until issue_job_clear().
 */
enum d01_err issue_plan(
    const struct issue_opts *o, struct issue_job *job, struct d01_error *err);
/* Re-decide with a renewalInfo window fetched for the job. */
void issue_plan_ari(const struct issue_opts *o, struct issue_job *job,
    const struct d01_ari_window *w);
/* One line "not due" message for a job that is not due. */
void issue_print_not_due(const struct issue_job *job);
/*
 * Write privkey.pem, cert.pem, chain.pem, fullchain.pem and renewal.json
 * into job->out as one atomic set.
 */
enum d01_err issue_write(const struct issue_opts *o, struct issue_job *job,
    const char *renewal_info, const char *pem, size_t len,
    struct d01_error *err);
void issue_job_clear(struct issue_job *job);

/* issue_run.c */

/* Run the due jobs (ARI first when planned); returns the exit code. */
int issue_run(const struct issue_opts *o, struct issue_job *jobs, size_t njobs);

#endif
