/* SPDX-License-Identifier: ISC */
/*
 * CAA records (RFC 8659) and the parameters of RFC 8657: parsing of one
 * record's RDATA and of an issue/issuewild value, and the lookup of the
 * relevant CAA RRset of a name against its authoritative servers
 * (caa_lookup.c). What a record set allows is the issuer's business
 * (issuer/caa_check.c).
 *
 * Every parser takes bytes from the network and is bounded; a value longer
 * than D01_CAA_VALUE_MAX is refused as malformed.
 */
#ifndef D01_CORE_CAA_H
#define D01_CORE_CAA_H

#include <stddef.h>
#include <stdint.h>

#include "core/dns.h"
#include "core/err.h"

struct event_base;

#define D01_CAA_TAG_MAX	    15 /* RFC 8659 §4.1 */
#define D01_CAA_VALUE_MAX   1024
#define D01_CAA_PARAMS_MAX  16
#define D01_CAA_RRSET_MAX   32 /* properties kept from one RRset */
#define D01_CAA_MAX_SERVERS 16 /* authoritative addresses of one zone */

/* One property: flags, tag (lower-cased), value (raw bytes, NUL added). */
struct d01_caa_prop {
	unsigned flags;
	char tag[D01_CAA_TAG_MAX + 1];
	char value[D01_CAA_VALUE_MAX + 1];
	size_t value_len;
};

#define D01_CAA_CRITICAL 0x80

/* Parse RDATA (flags, tag length, tag, value). 0, or -1 when malformed:
 * a tag of 0 or more than 15 bytes or not alphanumeric, a length past the
 * end, a value over D01_CAA_VALUE_MAX. */
int d01_caa_prop_parse(const uint8_t *rd, size_t len, struct d01_caa_prop *p);

/* `owner CAA flags tag "value"` in presentation form, value escaped
 * (\" \\ and \DDD for bytes outside 0x20-0x7e); truncated to fit. */
void d01_caa_prop_text(
    const struct d01_caa_prop *p, const char *owner, char *out, size_t len);

/*
 * An issue or issuewild value (RFC 8659 §4.2):
 *   *WSP [issuer-domain-name *WSP] [";" *WSP [parameters *WSP]]
 * domain "" means "no CA". Parameters (tag = value) point into `buf`.
 * A trailing ";" after the last parameter is accepted.
 */
struct d01_caa_issue {
	char buf[D01_CAA_VALUE_MAX + 1];
	const char *domain; /* lower-cased */
	size_t nparams;
	struct {
		const char *tag, *value;
	} params[D01_CAA_PARAMS_MAX];
};

/* 0, or -1 when the value does not follow the grammar (a CA then treats
 * the property as authorizing no one). */
int d01_caa_issue_parse(
    const char *value, size_t len, struct d01_caa_issue *out);

/* The value of parameter `tag` (case-insensitive), or NULL. */
const char *d01_caa_issue_param(const struct d01_caa_issue *v, const char *tag);

/*
 * The relevant CAA RRset of a name (RFC 8659 §3): ask CAA at the name,
 * following CNAMEs; when there is none, at its parent, and so on up to
 * the top-level domain. Each question goes to an authoritative server of
 * the zone holding the name (RD=0): `servers` when given, else found as
 * the TXT checker finds them (SOA walk, NS, addresses through
 * `resolver`, servers on `ns_port`). A level no server will answer for
 * (REFUSED, no zone found) after an authoritative answer for a lower
 * level counts as empty; timeouts and failures at the first level fail
 * the lookup.
 */
struct d01_caa_lookup_opts {
	const char *name; /* "*.x" is looked up as "x" */
	const struct d01_dns_server *servers;
	size_t nservers;
	const struct d01_dns_server *resolver;
	int ns_port;
	int timeout_ms;
};

/* Result: the owner of the RRset found ("" and n == 0 when there is no
 * CAA anywhere) and its properties (borrowed for the call); err set on
 * failure. */
typedef void (*d01_caa_fn)(void *arg, const struct d01_error *err,
    const char *owner, const struct d01_caa_prop *props, size_t n);

struct d01_caa_lookup;

/* Async call shape (docs/DESIGN.md, "The async call shape"); opts copied.
 * `dns` and `base` are borrowed and must outlive the lookup. */
struct d01_caa_lookup *d01_caa_lookup_start(struct event_base *base,
    struct d01_dns *dns, const struct d01_caa_lookup_opts *o, d01_caa_fn cb,
    void *arg, struct d01_error *err);
void d01_caa_lookup_cancel(struct d01_caa_lookup *l);

#endif
