/* SPDX-License-Identifier: ISC */
/*
 * The CAA pre-check of `dns01 issue` (RFC 8659, RFC 8657): before any
 * order, the relevant CAA RRset of every name of every due certificate is
 * looked up (core/caa.h) and judged against the CA's
 * meta.caaIdentities, this account's URL and the dns-01 method. A
 * certificate whose names are not all allowed fails with the records
 * quoted, and is not ordered; the others go on.
 */
#ifndef D01_ISSUER_CAA_CHECK_H
#define D01_ISSUER_CAA_CHECK_H

#include <stddef.h>

#include "core/caa.h"
#include "core/err.h"

struct d01_issue_job;
struct d01_caa_check;

/*
 * May a CA known by `ids` (its caaIdentities), for account `account`,
 * issue for `name` ("*." for a wildcard) by dns-01, given the relevant
 * RRset `props` (n of them) found at `owner`? D01_OK, or D01_E_FORBIDDEN
 * with the reason and the records quoted. n == 0 allows.
 */
enum d01_err d01_caa_judge(const char *name, const char *owner,
    const struct d01_caa_prop *props, size_t n, const char *const *ids,
    size_t nids, const char *account, struct d01_error *err);

struct d01_caa_check_opts {
	struct event_base *base;
	struct d01_dns *dns;
	const struct d01_dns_server *servers; /* --nameserver, or none */
	size_t nservers;
	const struct d01_dns_server *resolver;
	int ns_port;
	int timeout_ms; /* per name */
	const char *const *ids;
	size_t nids;
	const char *account;
};

/*
 * Check every name of the jobs with due == 1; a job refused gets its
 * `result` set (and `finished`). `done` runs once from the loop when all
 * are judged. Async call shape; `o` and the jobs are borrowed until
 * `done` or cancel.
 */
struct d01_caa_check *d01_caa_check_start(const struct d01_caa_check_opts *o,
    struct d01_issue_job *jobs, size_t njobs, void (*done)(void *arg),
    void *arg, struct d01_error *err);
void d01_caa_check_cancel(struct d01_caa_check *c);

#endif
