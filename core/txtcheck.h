/* SPDX-License-Identifier: ISC */
/*
 * The authoritative TXT checker: is `value` served at `fqdn` by every
 * authoritative server (or gone from every one)? It follows CNAMEs, finds
 * the zone by SOA walk, takes the zone's NS set and their addresses (all
 * through `resolver`), then asks each address directly with RD=0, round
 * after round, until all agree or the timeout passes. With explicit
 * servers it skips discovery and asks exactly those.
 *
 * A discovered address the host cannot send to at all (an AAAA without
 * IPv6) is skipped and named in the summary; an explicit one is an error.
 * Discovery counts against the same timeout. The checker borrows `dns`
 * and `base`, which must outlive it.
 */
#ifndef D01_TXTCHECK_H
#define D01_TXTCHECK_H

#include <stddef.h>

#include "core/dns.h"
#include "core/err.h"

struct event_base;
struct d01_txtcheck;

#define D01_TXTCHECK_MAX_SERVERS 16

struct d01_txtcheck_opts {
	const char *fqdn;  /* any case, with or without the trailing dot */
	const char *value; /* the TXT value (strings of one RR joined) */
	int absent;	   /* wait until the value is gone instead */
	/* Explicit servers (nservers > 0) replace discovery. */
	const struct d01_dns_server *servers;
	size_t nservers;
	/* Discovery: where to ask CNAME/SOA/NS/A questions, and the port of
	 * the authoritative servers found (53 unless testing). */
	const struct d01_dns_server *resolver;
	int ns_port;
	int timeout_ms;	 /* overall bound */
	int interval_ms; /* first pause between rounds; grows to 8x */
};

/*
 * Outcome: err->code D01_OK when every server agreed, D01_E_TIMEOUT when
 * some never did, another code when discovery failed. `summary` (borrowed)
 * is one line naming the servers and what each said.
 */
typedef void (*d01_txtcheck_fn)(
    void *arg, const struct d01_error *err, const char *summary);

/* Async call shape (docs/DESIGN.md, "The async call shape"); opts and
 * its strings are copied. */
struct d01_txtcheck *d01_txtcheck_start(struct event_base *base,
    struct d01_dns *dns, const struct d01_txtcheck_opts *opts,
    d01_txtcheck_fn cb, void *arg, struct d01_error *err);

void d01_txtcheck_cancel(struct d01_txtcheck *t);

/*
 * Does `reply` (to a TXT query for `name`) hold `value`? 1 yes, 0 no
 * (NXDOMAIN, NODATA, other values), -1 an error RCODE. Exposed for tests
 * and the fuzz target.
 */
int d01_txtcheck_reply_has(
    const ldns_pkt *reply, const char *name, const char *value);

#endif
