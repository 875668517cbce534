/* SPDX-License-Identifier: ISC */
/*
 * Inside d01_dnsd_answer (dnsd.h): its two implementations and the
 * figures both must agree on. dnsd_fast.c answers ordinary queries
 * straight from and into wire form; dnsd_answer.c is the reference, ldns
 * from parse to reply, and answers everything the fast path declines.
 * Both are pure and must produce the same bytes for every input the fast
 * path takes (tests/unit/test_dnsd_fast.c and the fuzz target
 * fuzz_dns_query.c compare them).
 */
#ifndef D01_EMBEDDED_DNSD_ANSWER_H
#define D01_EMBEDDED_DNSD_ANSWER_H

#include <stddef.h>
#include <stdint.h>

struct d01_txtstore;

#define D01_DNSD_TTL	     60
#define D01_DNSD_SOA_MINIMUM 60	  /* negative-caching TTL (RFC 2308) */
#define D01_DNSD_EDNS_SIZE   1232 /* the DNS flag day 2020 recommendation */
#define D01_DNSD_PLAIN_UDP   512
#define D01_DNSD_TCP_MAX     65535

/*
 * The fast path: 1 with the reply's length in *len (0: no reply, as
 * d01_dnsd_answer) when it answered, 0 when the query is not one it takes
 * (then out is garbage and the caller asks the reference). It takes one
 * question with an ordinary name (no compression, no escapes needed in
 * presentation form) and at most one additional RR, an OPT of version 0;
 * everything else (other opcodes, signed messages, odd names) declines.
 */
int d01_dnsd_answer_fast(const struct d01_txtstore *store, const uint8_t *q,
    size_t qlen, uint8_t *out, size_t outcap, int tcp, size_t *len);

/* The reference: d01_dnsd_answer's contract, for every input. */
size_t d01_dnsd_answer_ldns(const struct d01_txtstore *store, const uint8_t *q,
    size_t qlen, uint8_t *out, size_t outcap, int tcp);

#endif
