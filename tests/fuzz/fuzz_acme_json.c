/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: every parser of ACME server replies. The first byte picks
 * the parser (directory, order, authorization, problem, renewalInfo,
 * account, Replay-Nonce, RFC 3339 time); the rest is the body. Whatever is
 * accepted must hold the invariants the order state machine relies on.
 * ('0'..'5' pick the first six, as the corpus was written for "% 6".)
 */
#include <stdint.h>
#include <string.h>

#include "issuer/directory.h"
#include "issuer/nonce.h"
#include "issuer/objects.h"
#include "issuer/problem.h"
#include "issuer/renew.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_order(const char *b, size_t n)
{
	struct d01_acme_order o;
	size_t i;

	if (d01_acme_order_parse(b, n, &o, NULL) != D01_OK) {
		if (o.authz != NULL || o.finalize != NULL)
			__builtin_trap(); /* failure leaves it empty */
		return;
	}
	if (o.status == D01_ACME_ST_UNKNOWN || o.nauthz > D01_ACME_NAMES_MAX ||
	    !d01_acme_url_ok(o.finalize))
		__builtin_trap();
	for (i = 0; i < o.nauthz; i++)
		if (!d01_acme_url_ok(o.authz[i]))
			__builtin_trap();
	d01_acme_order_clear(&o);
}

static void
check_authz(const char *b, size_t n)
{
	struct d01_acme_authz a;

	if (d01_acme_authz_parse(b, n, &a, NULL) != D01_OK)
		return;
	if (a.ident[0] == '\0' ||
	    (a.has_dns01 &&
		(!d01_acme_url_ok(a.chall_url) || a.token[0] == '\0' ||
		    strpbrk(a.token, "./\\ \"") != NULL)))
		__builtin_trap();
	d01_acme_authz_clear(&a);
}

static void
check_problem(const char *b, size_t n)
{
	struct d01_acme_problem p;
	struct d01_error err;
	size_t i;

	if (d01_acme_problem_parse(b, n, &p) != 0)
		return;
	d01_acme_problem_to_error(&p, 400, &err);
	for (i = 0; err.msg[i] != '\0'; i++)
		if ((unsigned char)err.msg[i] < 0x20)
			__builtin_trap(); /* one line, no control bytes */
}

/* A Replay-Nonce header value into a pool that is full, so the oldest
 * is dropped; what comes out is the value, trimmed, in base64url. */
static void
check_nonce(const char *b, size_t n)
{
	struct d01_nonce_pool pool = {.n = 0};
	char out[D01_NONCE_LEN + 1];
	size_t i;

	while (pool.n < D01_NONCE_POOL)
		(void)d01_nonce_push(&pool, "seed", 4);
	if (d01_nonce_push(&pool, b, n) != 0)
		return;
	if (pool.n != D01_NONCE_POOL || d01_nonce_pop(&pool, out) != 0 ||
	    out[0] == '\0' || strlen(out) > D01_NONCE_LEN)
		__builtin_trap();
	for (i = 0; out[i] != '\0'; i++)
		if (strchr(
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			"0123456789-_",
			out[i]) == NULL)
			__builtin_trap();
}

/* An RFC 3339 time as the CA writes it (expires, ARI windows). */
static void
check_time(const char *b, size_t n)
{
	char s[64];
	time_t t;

	if (n >= sizeof(s))
		return;
	memcpy(s, b, n);
	s[n] = '\0';
	(void)d01_rfc3339_parse(s, &t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *b = (const char *)data + 1;
	struct d01_acme_dir d;
	struct d01_ari_window w;
	size_t n;

	if (size < 1)
		return 0;
	n = size - 1;
	switch (data[0] % 8) {
	case 0:
		if (d01_acme_dir_parse(b, n, &d, NULL) == D01_OK &&
		    (!d01_acme_url_ok(d.new_nonce) ||
			!d01_acme_url_ok(d.new_order)))
			__builtin_trap();
		d01_acme_dir_clear(&d);
		break;
	case 1:
		check_order(b, n);
		break;
	case 2:
		check_authz(b, n);
		break;
	case 3:
		check_problem(b, n);
		break;
	case 4:
		if (d01_ari_parse(b, n, &w, NULL) == D01_OK && w.end <= w.start)
			__builtin_trap();
		break;
	case 5:
		(void)d01_acme_account_status(b, n);
		break;
	case 6:
		check_nonce(b, n);
		break;
	default:
		check_time(b, n);
		break;
	}
	return 0;
}
