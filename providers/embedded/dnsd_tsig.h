/* SPDX-License-Identifier: ISC */
/*
 * TSIG on the embedded DNS server's side (RFC 8945 §5.2, §5.3): find and
 * check the TSIG RR of a request against the keyring, and sign a reply
 * (or attach the unsigned TSIG of a BADKEY/BADSIG refusal). Pure wire
 * work over OpenSSL's HMAC, no I/O, with the time passed in, so unit
 * tests and fuzz targets drive it. ldns's own signer cannot write a
 * TSIG error nor a chosen Time Signed, which a BADTIME reply needs.
 *
 * Checked in the RFC's order: key name and algorithm (BADKEY), MAC
 * (BADSIG; a truncated MAC is not accepted), time within the fudge
 * (BADTIME). The secret never leaves this file except as HMAC input.
 */
#ifndef D01_EMBEDDED_DNSD_TSIG_H
#define D01_EMBEDDED_DNSD_TSIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/tsig.h"

struct d01_keyring;

#define D01_TSIG_E_BADSIG  16
#define D01_TSIG_E_BADKEY  17
#define D01_TSIG_E_BADTIME 18
#define D01_TSIG_MAC_MAX   64 /* HMAC-SHA512 */

/* What a request's TSIG said, kept to answer it. */
struct d01_tsig_req {
	const struct d01_tsig_key *key; /* borrowed; NULL: unknown (BADKEY) */
	size_t off;			/* where the TSIG RR starts */
	uint8_t name[256], alg[256];	/* canonical wire forms */
	size_t namelen, alglen;
	uint64_t time_signed;
	uint16_t fudge;
	uint8_t mac[D01_TSIG_MAC_MAX];
	size_t maclen;
	int error; /* 0 verified, else a D01_TSIG_E_* */
};

/*
 * The offset of the request's TSIG RR in *off: 1 when there is one, 0
 * when there is none, -1 when the message is malformed or a TSIG RR is
 * not the single last RR (FORMERR).
 */
int d01_tsig_find(const uint8_t *msg, size_t len, size_t *off);

/*
 * Check the TSIG RR at `off` (from d01_tsig_find) with the keyring at
 * wall-clock `now` (Unix seconds): fills `req`, whose `error` tells the
 * outcome. -1 when the RR itself is malformed (FORMERR).
 */
int d01_tsig_check(const struct d01_keyring *kr, const uint8_t *msg, size_t len,
    size_t off, int64_t now, struct d01_tsig_req *req);

/*
 * The bytes the TSIG RR answering `req` adds to a reply (for reserving
 * room under a UDP limit).
 */
size_t d01_tsig_reply_size(const struct d01_tsig_req *req);

/*
 * Append the TSIG RR answering `req` to the reply of `len` bytes in out
 * (capacity cap) and bump its ARCOUNT: signed with the request's MAC when
 * req->error is 0 or BADTIME (with the request's Time Signed and our time
 * in Other Data, RFC 8945 §5.2.3), unsigned with the error for BADKEY and
 * BADSIG (§5.3.2). Returns the new length, or 0 when it does not fit.
 */
size_t d01_tsig_sign_reply(const struct d01_tsig_req *req, uint8_t *out,
    size_t len, size_t cap, int64_t now);

/*
 * The replies of a multi-message answer (a zone transfer) to a verified
 * request, every message signed (RFC 8945 §5.3.1 allows it; BIND and
 * ldns accept it): the first over the request's MAC, the message and
 * all the variables, each following one over the previous message's
 * MAC, the message and the timers (Time Signed, Fudge) only. The stream
 * borrows req, which must outlive it.
 */
struct d01_tsig_stream {
	const struct d01_tsig_req *req;
	uint8_t prior[D01_TSIG_MAC_MAX];
	size_t priorlen;
	unsigned n; /* messages signed so far */
};

void d01_tsig_stream_init(
    struct d01_tsig_stream *ts, const struct d01_tsig_req *req);
/* Sign the next message (out, len; capacity cap) as d01_tsig_sign_reply
 * does; its new length, 0 when it does not fit or req is not verified. */
size_t d01_tsig_stream_sign(struct d01_tsig_stream *ts, uint8_t *out,
    size_t len, size_t cap, int64_t now);

#endif
