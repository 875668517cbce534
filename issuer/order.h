/* SPDX-License-Identifier: ISC */
/*
 * An ACME order from newOrder to the downloaded chain (RFC 8555 §7.4), as
 * one state machine:
 *   NEW -> AUTHZ -> FINALIZE -> WAIT <-> POLL -> DOWNLOAD -> DONE
 * NEW posts the identifiers (and RFC 9773 "replaces" when renewing at a
 * CA with ARI, and "profile" when one is chosen); AUTHZ runs one DNS-01 solver
 * per authorization, all in parallel, and when one fails stops the others (each
 * still cleans up); FINALIZE sends the CSR; POLL reads the order with backoff
 * and Retry-After until valid; DOWNLOAD fetches the PEM chain and checks that
 * its leaf carries our key and exactly our names.
 */
#ifndef D01_ORDER_H
#define D01_ORDER_H

#include <stddef.h>

#include <openssl/evp.h>

#include "core/err.h"
#include "issuer/authz.h"

struct d01_acme;
struct d01_acme_order_op;

struct d01_acme_order_opts {
	const char *const *names; /* without trailing dots; "*." allowed */
	size_t nnames;
	EVP_PKEY *cert_key;   /* borrowed: signs the CSR */
	const char *replaces; /* ARI CertID of the predecessor, or NULL */
	const char *profile;  /* ACME profile name, or NULL */
	long poll_timeout_ms; /* bound on waiting for "processing" */
	const struct d01_solve_ctx *solve; /* borrowed, outlives the op */
};

/* Done: the PEM chain (leaf first; borrowed for the call) or an error
 * naming the step. The op is freed when cb returns. */
typedef void (*d01_acme_cert_fn)(
    void *arg, const struct d01_error *err, const char *pem, size_t len);

/* Async call shape (docs/DESIGN.md, "The async call shape"); names,
 * replaces and profile are copied. */
struct d01_acme_order_op *d01_acme_order_start(struct d01_acme *a,
    const struct d01_acme_order_opts *o, d01_acme_cert_fn cb, void *arg,
    struct d01_error *err);

/*
 * Give up (deadline, signal): solvers stop and clean up, then cb runs
 * (later, never inside this call) with D01_E_CANCELLED, or with the
 * result if the order had already finished that far.
 */
void d01_acme_order_abort(struct d01_acme_order_op *op);

/* Free without callback and without cleanup (teardown only). */
void d01_acme_order_cancel(struct d01_acme_order_op *op);

/*
 * Check a downloaded chain: the first certificate's key is `key` and its
 * dNSName SANs are exactly `names`. 0, or -1 with err filled.
 */
int d01_acme_chain_check(const char *pem, size_t len, EVP_PKEY *key,
    const char *const *names, size_t n, struct d01_error *err);

#endif
