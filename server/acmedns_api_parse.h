/* SPDX-License-Identifier: ISC */
/*
 * The acme-dns API's input, as pure functions (no I/O, no allocation
 * beyond jansson's while parsing): the JSON bodies of POST /register and
 * POST|DELETE /update, acme-dns's validators (server/acmedns_api.c uses
 * them; tests/fuzz/fuzz_acmedns_api.c feeds them), the CIDR matcher of
 * `allowfrom` and the choice of the client address behind trusted
 * proxies. What acme-dns accepts is in its validation.go and types.go;
 * the rules are restated here, not copied.
 */
#ifndef D01_SERVER_ACMEDNS_API_PARSE_H
#define D01_SERVER_ACMEDNS_API_PARSE_H

#include <stddef.h>

#define D01_ADNS_TXT_LEN   43 /* base64url of a SHA-256, no padding */
#define D01_ADNS_KEY_LEN   40 /* the password */
#define D01_ADNS_UUID_LEN  36 /* canonical 8-4-4-4-12, lower-case */
#define D01_ADNS_MAX_CIDRS 64 /* allowfrom entries an account may have */
#define D01_ADNS_CIDR_TEXT 64 /* longest CIDR text kept */

/* An address (IPv4 as family 4 in the first 4 bytes; IPv4-mapped IPv6
 * is turned into IPv4, as Go's net.IPNet.Contains treats it). */
struct d01_ipaddr {
	int family; /* 4 or 6; 0: none */
	unsigned char a[16];
};

struct d01_cidr {
	struct d01_ipaddr net;
	int bits;
};

/* "1.2.3.4" / "::1" / "[::1]" into ip; 0, or -1. */
int d01_ip_parse(const char *s, struct d01_ipaddr *ip);
/* "ADDR/BITS" (brackets anywhere removed, as acme-dns does); the host
 * bits may be set. 0, or -1. */
int d01_cidr_parse(const char *s, struct d01_cidr *c);
/* 1 when ip lies inside c (same family). */
int d01_cidr_match(const struct d01_cidr *c, const struct d01_ipaddr *ip);
/* 1 when ip is inside any of the n (n == 0: 0). */
int d01_cidr_any(
    const struct d01_cidr *c, size_t n, const struct d01_ipaddr *ip);

/*
 * The client of a request: `peer` ("ip:port" as httpd gives it), unless
 * the peer is one of the trusted proxies, in which case the
 * X-Forwarded-For list (`xff`, every header line joined with commas;
 * NULL: none) is walked from the right and the first hop that is not a
 * trusted proxy is the client (all trusted: the leftmost). A hop that
 * does not parse ends the walk with no client (family 0), so a forged
 * list can never turn into an allowed address. 0, or -1 (no client).
 */
int d01_adns_client_addr(const char *peer, const char *xff,
    const struct d01_cidr *trusted, size_t ntrusted, struct d01_ipaddr *out);

/* acme-dns's validators: exactly 43 (txt) or 40 (key) characters of
 * A-Z a-z 0-9 - _; a subdomain is one DNS label of letters, digits and
 * inner hyphens. */
int d01_adns_valid_txt(const char *s);
int d01_adns_valid_key(const char *s);
int d01_adns_valid_subdomain(const char *s);
/* A UUID in any form Go's uuid.Parse takes (canonical, {braced},
 * urn:uuid:, 32 hex digits) into the canonical lower-case 36 characters
 * (out has 37 bytes). 0, or -1. */
int d01_adns_uuid_canon(const char *s, char out[D01_ADNS_UUID_LEN + 1]);

/* POST /register's body. */
enum d01_adns_reg_res {
	D01_ADNS_REG_OK,
	D01_ADNS_REG_MALFORMED, /* malformed_json_payload */
	D01_ADNS_REG_BAD_CIDR,	/* invalid_allowfrom_cidr */
};
struct d01_adns_register {
	size_t ncidrs;
	struct d01_cidr cidrs[D01_ADNS_MAX_CIDRS];
	/* The entries as they will be stored and answered (brackets
	 * removed), in order. */
	char text[D01_ADNS_MAX_CIDRS][D01_ADNS_CIDR_TEXT];
};
/* An empty body is no allowfrom; otherwise a JSON object whose
 * "allowfrom" (any case, as Go matches fields) is null or an array of
 * strings, each a CIDR. More than D01_ADNS_MAX_CIDRS entries, or a
 * longer one, is BAD_CIDR. */
enum d01_adns_reg_res d01_adns_parse_register(
    const char *body, size_t len, struct d01_adns_register *out);

/* POST|DELETE /update's body: the first JSON value, as Go's Decoder
 * reads it; a field that is absent, of another type or too long stays
 * "" (subdomain: then it matches no account; txt: bad_txt). */
struct d01_adns_update {
	char subdomain[64];
	char txt[D01_ADNS_TXT_LEN + 2]; /* one more than valid: "too long" */
};
void d01_adns_parse_update(
    const char *body, size_t len, struct d01_adns_update *out);

/* An account's stored allowfrom (a JSON array of CIDR strings) into c
 * (at most max); entries that do not parse are skipped, as acme-dns's
 * ValidEntries does. Returns the count, or -1 when the text is not such
 * an array. */
int d01_adns_allowfrom_load(const char *json, struct d01_cidr *c, size_t max);

#endif
