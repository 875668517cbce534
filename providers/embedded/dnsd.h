/* SPDX-License-Identifier: ISC */
/*
 * The embedded authoritative DNS server: answers UDP and TCP queries for the
 * zones of a d01_txtstore on the event loop (SOA, NS, TXT; NXDOMAIN/NODATA
 * as an authoritative server would, AA set, REFUSED outside its zones).
 */
#ifndef D01_EMBEDDED_DNSD_H
#define D01_EMBEDDED_DNSD_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct event_base;
struct d01_txtstore;
struct d01_dnsd;

/*
 * Listen on `addr` ("127.0.0.1:5353", "[::1]:53", "0.0.0.0:53") for UDP and
 * TCP. `store` is borrowed and must outlive the server. Returns NULL with
 * err filled when the address is malformed or cannot be bound.
 */
struct d01_dnsd *d01_dnsd_new(struct event_base *base,
    const struct d01_txtstore *store, const char *addr, struct d01_error *err);

/* Zone transfers (xfr.h) through xfr, borrowed: it must outlive d.
 * Without one AXFR and IXFR are REFUSED by d01_dnsd_answer. */
struct d01_xfr;
void d01_dnsd_set_xfr(struct d01_dnsd *d, struct d01_xfr *xfr);
/*
 * Hand UPDATEs and TSIG-signed queries to `up` (dnsd_update.h; borrowed,
 * it must outlive the server). Without one, UPDATE is NOTIMP and a
 * signed query gets BADKEY.
 */
struct d01_updater;
void d01_dnsd_set_updater(struct d01_dnsd *d, struct d01_updater *up);

/* Stop listening, close every TCP client, free. NULL is a no-op. */
void d01_dnsd_free(struct d01_dnsd *d);

/*
 * Answer one query (pure; the fuzz target's entry point). Writes the reply
 * into out (capacity outcap; 512 for plain UDP, more with EDNS0, 65535 on
 * TCP) and returns its length, or 0 when the input deserves no reply at all
 * (not a query, too short to carry an ID).
 */
size_t d01_dnsd_answer(const struct d01_txtstore *store, const uint8_t *q,
    size_t qlen, uint8_t *out, size_t outcap, int tcp);

#endif
