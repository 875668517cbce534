/* SPDX-License-Identifier: ISC */
/*
 * What one source address may cost the acme-dns API: bcrypt work and
 * registrations. The bcrypt queue (acmedns_api_crypt.h) is shared by
 * everyone, so without this one client sending wrong passwords (or
 * random usernames: the decoy hash is checked too) fills it and every
 * other client hears 503. Per source (IPv4 address, IPv6 /64):
 *
 * - at most `max_jobs` bcrypt jobs at once;
 * - a token bucket of failed verifications (`fail_per_min` a minute, as
 *   many at once): empty, the source is refused before any bcrypt;
 * - a token bucket of registrations (`reg_per_min`), and one for the
 *   whole server (`reg_total_per_min`).
 *
 * A bounded table (`max_sources`, least recently used first out) holds
 * the sources. Only an entry at rest (no job, every bucket full again)
 * is ever evicted: it is the same as no entry, so eviction never hands
 * out a fresh budget. When the table is full of busy entries, new
 * sources share one overflow entry and its budget (they may starve each
 * other, never a source already in the table).
 *
 * Ownership: the limiter is the API's; a struct d01_adns_src returned by
 * job_begin stays valid (it cannot be evicted) until its job_end.
 * Loop thread only.
 */
#ifndef D01_SERVER_ACMEDNS_API_LIMIT_H
#define D01_SERVER_ACMEDNS_API_LIMIT_H

#include <stddef.h>

#include "server/acmedns_api_parse.h"

struct d01_clock;
struct d01_adns_limit;
struct d01_adns_src;

struct d01_adns_limit_cfg {
	size_t max_sources;	/* table size (4096) */
	unsigned max_jobs;	/* bcrypt jobs at once a source (2) */
	long fail_per_min;	/* failed verifications; 0: no limit */
	long reg_per_min;	/* registrations a source; 0: no limit */
	long reg_total_per_min; /* registrations in all; 0: no limit */
};

enum d01_adns_lim {
	D01_ADNS_LIM_OK,
	D01_ADNS_LIM_BUSY,  /* max_jobs running: retry in a second */
	D01_ADNS_LIM_FAILS, /* too many failures: retry_s */
	D01_ADNS_LIM_REG,   /* too many registrations: retry_s */
};

/* NULL when out of memory. clock is borrowed. */
struct d01_adns_limit *d01_adns_limit_new(
    const struct d01_clock *clock, const struct d01_adns_limit_cfg *cfg);
void d01_adns_limit_free(struct d01_adns_limit *l);

/* May `ip` (family 0: unknown, one shared entry) start a bcrypt job?
 * OK: *src is held until d01_adns_limit_job_end. Else *retry_s says
 * when to come back (>= 1). */
enum d01_adns_lim d01_adns_limit_job_begin(struct d01_adns_limit *l,
    const struct d01_ipaddr *ip, struct d01_adns_src **src, long *retry_s);
/* The job ended (delivered or cancelled); failed: it was a verification
 * that did not match, charged to the source's failure bucket. */
void d01_adns_limit_job_end(
    struct d01_adns_limit *l, struct d01_adns_src *src, int failed);

/* May `ip` register one more account (charged now, to the source's and
 * the server's buckets)? OK or REG with *retry_s. */
enum d01_adns_lim d01_adns_limit_register(
    struct d01_adns_limit *l, const struct d01_ipaddr *ip, long *retry_s);

/* For tests and metrics. */
size_t d01_adns_limit_sources(const struct d01_adns_limit *l);

#endif
