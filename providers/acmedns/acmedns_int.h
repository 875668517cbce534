/* SPDX-License-Identifier: ISC */
/*
 * Private to providers/acmedns/: the parsed config and the op
 * (acmedns.c), and the pure parsers of outside input (acmedns_parse.c:
 * the accounts JSON from a Secret, acme-dns's error replies), which
 * tests/unit/test_acmedns.c and tests/fuzz/fuzz_acmedns_accounts.c drive.
 */
#ifndef D01_PROVIDERS_ACMEDNS_ACMEDNS_INT_H
#define D01_PROVIDERS_ACMEDNS_ACMEDNS_INT_H

#include <stddef.h>

#include "core/dname.h"
#include "core/err.h"
#include "core/text.h"

#define ADNS_USER_MAX  128 /* longest username accepted (a UUID: 36) */
#define ADNS_PASS_MAX  256 /* longest password accepted (acme-dns: 40) */
#define ADNS_LABEL_MAX 63  /* a subdomain is one DNS label */
#define ADNS_TXT_LEN   43  /* the only TXT length acme-dns accepts */
#define ADNS_QUOTE_MAX 120 /* bytes of acme-dns's error text quoted */

/* One account of the accounts JSON; owned by whoever holds it, wiped
 * (OPENSSL_cleanse) when let go: the password is the credential. */
struct adns_account {
	char username[ADNS_USER_MAX + 1];
	char password[ADNS_PASS_MAX + 1];
	char subdomain[ADNS_LABEL_MAX + 1];
};

/*
 * Find the account for `dns_name` (request.dnsName: a trailing dot and
 * letter case are ignored) in the accounts JSON `json` (len bytes): the
 * key equal to the name, else to the name without a leading "*.".
 * Checks what is used: username and password 1..MAX printable bytes
 * without spaces (they go into headers), subdomain a lower-case DNS label
 * (what acme-dns's register hands out: a UUID). D01_OK with *out filled;
 * else D01_E_CONFIG with a message naming the domain and the field,
 * never a value. `json` need not be NUL-terminated.
 */
enum d01_err adns_account_find(const char *json, size_t len,
    const char *dns_name, struct adns_account *out, struct d01_error *err);

/* 1 when `s` is a TXT value acme-dns accepts: exactly 43 bytes of the
 * base64url alphabet (an ACME key authorization digest). */
int adns_txt_valid(const char *s);

/* 1 when `s` is a lower-case DNS label: [a-z0-9-], 1..63 bytes, no
 * hyphen first or last. */
int adns_subdomain_valid(const char *s);

/*
 * A reply of POST /update that is not a 2xx: err gets the status and
 * acme-dns's own {"error": "..."} text (control bytes dropped, at most
 * ADNS_QUOTE_MAX bytes; never the raw body: the host may be any
 * service). D01_E_AUTH for 401/403, D01_E_RATELIMIT for 429, else
 * D01_E_UPSTREAM; retryable for 429 and 5xx. Returns err->code.
 */
enum d01_err adns_reply_error(
    long status, const char *body, size_t len, struct d01_error *err);

#endif
