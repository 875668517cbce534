/* SPDX-License-Identifier: ISC */
/*
 * Zone transfers out of the embedded zones (dnsd_xfr.c): AXFR (RFC 5936)
 * over TCP, and IXFR (RFC 1995) answered with the whole zone in AXFR form,
 * which RFC 1995 §4 allows a server that keeps no history of changes; an
 * IXFR from a secondary already at our serial gets the single SOA.
 *
 * A transfer is SOA, NS, every TXT RRset of the zone, SOA, split into
 * messages of at most 64 KiB. It is built at once on the loop from the
 * store as it is (a consistent snapshot, no locks, no cursor into a table
 * that may change) into the client's output buffer, bounded by
 * D01_XFR_MAX_BYTES; at most D01_XFR_MAX_ACTIVE transfers are queued at a
 * time (the others get SERVFAIL and retry, as from a busy BIND).
 *
 * Who may transfer: --allow-transfer entries, each a CIDR (v4 or v6; a
 * bare address is one host) or `key:NAME`, a key of --tsig-keyfile. An
 * unsigned request is judged by its address, a TSIG-signed one by its key
 * alone (from any address; a key not listed is REFUSED even from a listed
 * address). A signed request with a bad MAC, an unknown key or a time
 * outside the fudge gets NOTAUTH with the TSIG error, as a signed query
 * does. Everyone else gets REFUSED. Every reply to a verified request is
 * signed, each message of a transfer too (RFC 8945 §5.3.1: the first over
 * the request's MAC, the following ones over the prior MAC and the
 * timers), and the messages leave room for their TSIG RR.
 *
 * Over UDP: AXFR is FORMERR (RFC 5936 §4.2: not defined over UDP); an
 * allowed IXFR gets the single current SOA, which tells a client to come
 * back over TCP (RFC 1995 §2).
 *
 * Ownership: the d01_xfr is the embedded provider's, shared by every
 * listener; the store and peers are borrowed for each call.
 */
#ifndef D01_EMBEDDED_XFR_H
#define D01_EMBEDDED_XFR_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct d01_clock;
struct d01_keyring;
struct d01_txtstore;
struct d01_txtzone;
struct evbuffer;
struct sockaddr;

#define D01_XFR_MAX_ACL	   64
#define D01_XFR_MAX_ACTIVE 4
#define D01_XFR_MAX_BYTES  (32u << 20)
#define D01_XFR_MAX_MSG	   65535

struct d01_xfr;

/* The ACL of `allow` (n entries; none: every transfer is REFUSED).
 * NULL with err (D01_E_CONFIG) for a malformed entry. Key names are
 * resolved by d01_xfr_set_keys; until then signed requests get BADKEY. */
struct d01_xfr *d01_xfr_new(
    const char *const *allow, size_t n, struct d01_error *err);
/*
 * The keyring that verifies signed requests (NULL: none, every signed
 * request is BADKEY) and the clock of their Time Signed (NULL: the real
 * one); both borrowed, they outlive x. D01_E_CONFIG when a key:NAME entry
 * names no key of kr: checked at start-up, never a silent no-match.
 */
enum d01_err d01_xfr_set_keys(struct d01_xfr *x, const struct d01_keyring *kr,
    const struct d01_clock *clock, struct d01_error *err);
void d01_xfr_free(struct d01_xfr *x);

/* 1 when q is a QUERY whose one question asks AXFR or IXFR: a cheap look
 * at the header and the question, so other queries pay almost nothing. */
int d01_xfr_is_request(const uint8_t *q, size_t qlen);
/* The same look: the offset just past the question, or 0. */
size_t d01_xfr_question_end(const uint8_t *q, size_t qlen);

/* 1 when peer may transfer unsigned (the address entries). */
int d01_xfr_allowed(const struct d01_xfr *x, const struct sockaddr *peer);

/*
 * A transfer request over TCP: append the framed reply messages to out.
 * Returns 1 when a transfer was queued (it counts against the bound until
 * d01_xfr_done), 0 when a one-message refusal or error was queued, -1
 * when the request is not a transfer request after all (the ordinary
 * answer path replies) and nothing was written. Signed or not: dnsd.c
 * sends every AXFR/IXFR here before the updater sees signed messages.
 */
int d01_xfr_tcp(struct d01_xfr *x, const struct d01_txtstore *s,
    const struct sockaddr *peer, const uint8_t *q, size_t qlen,
    struct evbuffer *out);
/* The output of a queued transfer has been sent (or its client is gone). */
void d01_xfr_done(struct d01_xfr *x);

/* The same over UDP: the reply's length in out (0: let the ordinary
 * answer path reply, as for d01_xfr_tcp's -1). */
size_t d01_xfr_udp(const struct d01_xfr *x, const struct d01_txtstore *s,
    const struct sockaddr *peer, const uint8_t *q, size_t qlen, uint8_t *out,
    size_t outcap);

/*
 * The builder, pure (unit tests): the AXFR-form reply of zone z to the
 * request q (its ID, RD and question are echoed; the question only in the
 * first message), each message at most maxmsg bytes, handed to emit in
 * order. D01_E_LIMIT when an RR cannot fit in maxmsg or the messages pass
 * max_total bytes, or what emit returned when it was not D01_OK.
 */
typedef enum d01_err (*d01_xfr_emit_fn)(
    void *arg, const uint8_t *msg, size_t len);
enum d01_err d01_xfr_build(const struct d01_txtstore *s,
    const struct d01_txtzone *z, const uint8_t *q, size_t qlen, size_t maxmsg,
    size_t max_total, d01_xfr_emit_fn emit, void *arg, struct d01_error *err);

/*
 * The zone's SOA RR in wire form, owner uncompressed, the same fields
 * dnsd_answer.c serves (NOTIFY carries it too). Its length, or 0 when it
 * does not fit in cap.
 */
size_t d01_xfr_soa_rr(const struct d01_txtzone *z, uint8_t *out, size_t cap);

/* The wire form of a store name ("a.example.", lower-case, absolute) into
 * out (>= 255 bytes); its length, or 0 when malformed. */
size_t d01_xfr_name_wire(const char *name, uint8_t *out, size_t cap);

#endif
