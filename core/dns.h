/* SPDX-License-Identifier: ISC */
/*
 * Async DNS client: ldns builds, signs and parses messages; the exchange
 * runs on non-blocking sockets of the event loop (UDP with retries and a
 * switch to TCP when the reply is truncated, or TCP only). ldns's own
 * resolver and send functions are never used: they block.
 *
 * An exchange talks to one address (struct d01_dns_server): an IP literal
 * ("192.0.2.1", "192.0.2.1:5353", "[2001:db8::1]", "[::1]:53") parsed by
 * d01_dns_server_parse, or a host name turned into one by d01_dns_resolve
 * (below), which uses the system's resolver off the loop.
 *
 * Ownership: a struct d01_dns belongs to whoever runs the loop (the CLI,
 * server/daemon.c) and must outlive every exchange started on it; queries,
 * keys and servers passed in are borrowed only for the call unless said
 * otherwise. Every callback runs from the loop, never inside the call that
 * started the exchange.
 */
#ifndef D01_DNS_H
#define D01_DNS_H

#include <stddef.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "core/err.h"
#include "core/tsig.h"

struct event_base;
struct d01_dns;
struct d01_dns_req;

struct d01_dns_server {
	struct sockaddr_storage addr;
	socklen_t len;
	char label[80]; /* "192.0.2.1:53", "[2001:db8::1]:53", for messages */
};

/* Parse an IP literal with optional port (default `port`). */
enum d01_err d01_dns_server_parse(
    const char *s, int port, struct d01_dns_server *out, struct d01_error *err);

struct d01_dns_opts {
	int tcp;	/* TCP only (else UDP, TCP on truncation) */
	int timeout_ms; /* per attempt */
	int tries;	/* UDP attempts */
};

/* The name of an RCODE ("NXDOMAIN"); static, never NULL. (ldns's
 * ldns_pkt_rcode2str allocates, which is easy to leak.) */
const char *d01_rcode_name(int rcode);

/* 0: UDP, 2 s per try, 3 tries. */
void d01_dns_opts_default(struct d01_dns_opts *o);

/*
 * Completion: `reply` (borrowed, valid during the call) on success, else
 * NULL and err says why (naming the server). A reply with any RCODE is a
 * success at this level: the caller judges RCODEs.
 */
typedef void (*d01_dns_fn)(
    void *arg, const struct d01_error *err, ldns_pkt *reply);

/* A client for one event loop; at most max_inflight exchanges at once. */
struct d01_dns *d01_dns_new(struct event_base *base, size_t max_inflight);

/* Cancel everything outstanding (no callbacks) and free. */
void d01_dns_free(struct d01_dns *c);

/*
 * Send a copy of `query` (borrowed; its ID is replaced by a random one) to
 * `srv`, TSIG-signed with `key` when not NULL (borrowed until completion;
 * the reply must then verify). Async shape: NULL with err filled (cb never
 * runs), else cb runs exactly once, later.
 */
struct d01_dns_req *d01_dns_send(struct d01_dns *c, const ldns_pkt *query,
    const struct d01_dns_server *srv, const struct d01_tsig_key *key,
    const struct d01_dns_opts *opts, d01_dns_fn cb, void *arg,
    struct d01_error *err);

/* cb will not run; frees the exchange. NULL is a no-op. */
void d01_dns_cancel(struct d01_dns_req *r);

/*
 * A nameserver as users write it: an IP literal (as d01_dns_server_parse)
 * or a host name, with an optional port ("bind.dns.svc:53"). Names are
 * resolved with the system's resolver (getaddrinfo: /etc/hosts, search
 * domains) on a helper thread, never on the loop; the first address in
 * getaddrinfo's order is taken. Async shape: NULL with err filled (a
 * malformed string; cb never runs), else cb runs exactly once from the
 * loop with the server (borrowed) or an error naming the host, unless
 * d01_dns_resolve_cancel ran first. (dns_resolve.c)
 */
struct d01_dns_resolve;
typedef void (*d01_dns_resolve_fn)(
    void *arg, const struct d01_error *err, const struct d01_dns_server *srv);
struct d01_dns_resolve *d01_dns_resolve(struct event_base *base,
    const char *hostport, int port, d01_dns_resolve_fn cb, void *arg,
    struct d01_error *err);
void d01_dns_resolve_cancel(struct d01_dns_resolve *r);

/* 1 when `s` is a nameserver d01_dns_resolve accepts (syntax only). */
int d01_dns_hostport_ok(const char *s);

/*
 * Parse a message received from the network into *out (caller frees with
 * ldns_pkt_free). Stricter than ldns_wire2pkt: every RR must fit, and a
 * TSIG RR may only be the one last RR of the additional section
 * (RFC 8945 §5.1). D01_E_PROTOCOL with *out NULL otherwise. (dns_wire.c)
 */
enum d01_err d01_dns_parse(const uint8_t *wire, size_t len, ldns_pkt **out);

/*
 * Reading the records of a reply, as the TXT checker and the CAA lookup
 * both walk to a zone's servers (dns_wire.c). Names are compared in the
 * normalised form of core/dname.h.
 */
/* rdata 0 of `rr` (a CNAME or NS target) normalised into `out`; -1 when it
 * is not a name that fits. */
int d01_dns_rdata_name(const ldns_rr *rr, char *out, size_t len);

/* 1 when the owner of `rr` is `name` (normalised); 0 otherwise. */
int d01_dns_owner_is(const ldns_rr *rr, const char *name);

/* The address of an A or AAAA `rr` as a server on `port`; -1 when it is
 * not an address. */
int d01_dns_rr_server(const ldns_rr *rr, int port, struct d01_dns_server *out);

#endif
