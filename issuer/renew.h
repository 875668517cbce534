/* SPDX-License-Identifier: ISC */
/*
 * The renewal decision of `dns01 issue`: is the certificate already in
 * --out for the same names and far enough from expiry, or does the CA's
 * ACME Renewal Information (RFC 9773) say to renew now? Pure functions:
 * the clock and the random pick inside an ARI window are inputs, so the
 * unit tests decide every case deterministically.
 */
#ifndef D01_RENEW_H
#define D01_RENEW_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "core/err.h"

/* What a certificate says about itself; strings owned. */
struct d01_cert_info {
	time_t not_before, not_after;
	char **names; /* dNSName SANs, lower-case, as in the certificate */
	size_t nnames;
	char ari_id[256]; /* RFC 9773 §4.1 CertID; "" without an AKI */
	char serial[132]; /* upper-case hex, as `openssl x509 -serial` */
};

/*
 * Parse the first certificate of a PEM buffer. Overwrites ci without
 * freeing it (clear it first when reusing); fills it on success (free
 * with d01_cert_info_clear) and leaves it empty on failure.
 */
enum d01_err d01_cert_info_parse(const char *pem, size_t len,
    struct d01_cert_info *ci, struct d01_error *err);
void d01_cert_info_clear(struct d01_cert_info *ci);

/*
 * The ARI certificate identifier: base64url(AKI keyIdentifier) "."
 * base64url(DER content octets of the serial number). Returns 0, or -1
 * when the certificate has no AKI keyIdentifier or `n` is too small.
 */
int d01_ari_cert_id(X509 *x, char *out, size_t n);

/* A renewalInfo reply (RFC 9773 §4.2). */
struct d01_ari_window {
	time_t start, end;
	char explanation[256]; /* explanationURL, or "" */
};

/* Parse a renewalInfo body; start must be before end. */
enum d01_err d01_ari_parse(const char *body, size_t len,
    struct d01_ari_window *w, struct d01_error *err);

/* RFC 3339 date-time ("2025-01-02T03:04:05.6Z", "+01:00" offsets) to a
 * time_t. Returns 0, or -1 when malformed. */
int d01_rfc3339_parse(const char *s, time_t *out);

/*
 * 1 when the first certificate of the PEM buffer `pem` certifies `key`
 * (EVP_PKEY_eq on the public key); 0 when it does not, or when there is
 * no certificate to compare with.
 */
int d01_cert_key_matches(const char *pem, size_t len, EVP_PKEY *key);

/* 1 when the two name lists hold the same set (case-insensitive). */
int d01_names_same(
    const char *const *a, size_t na, const char *const *b, size_t nb);

enum d01_renew_why {
	D01_RENEW_NO_CERT = 0, /* nothing usable in --out */
	D01_RENEW_NAMES,       /* the names differ */
	D01_RENEW_FORCED,      /* --force */
	D01_RENEW_EXPIRING,    /* within renew-before of notAfter */
	D01_RENEW_ARI,	       /* the ARI window says now */
	D01_RENEW_KEY,	       /* privkey.pem does not fit the certificate */
	D01_RENEW_NOT_DUE,     /* renew-before says later */
	D01_RENEW_ARI_NOT_DUE, /* the ARI window says later */
	D01_RENEW__MAX
};

struct d01_renew_input {
	const struct d01_cert_info *cert; /* NULL when none */
	const char *const *names;	  /* what we are asked for */
	size_t nnames;
	time_t now;
	/* Without ARI, renew when less than this is left: renew_before
	 * seconds when >= 0, else renew_pct (below) percent of the lifetime
	 * when 1..99, else a third of the lifetime (the default). */
	long renew_before;
	int force;
	const struct d01_ari_window *ari; /* NULL without ARI */
	/* In [0,1): where in the window to renew (d01_renew_pick). With ARI
	 * the window is the CA's; without, it is the last tenth of the
	 * renew-before span before its threshold (see d01_renew_decide). */
	double pick;
	int key_mismatch; /* the key beside `cert` is missing or another */
	int renew_pct;
};

struct d01_renew_decision {
	int due;
	enum d01_renew_why why;
	time_t when; /* the chosen renewal time (0 when due for lack of one) */
};

/*
 * Decide. Order: no certificate, a key that does not fit it, or other
 * names -> due; --force -> due;
 * an expired certificate is always due; with an ARI window the time
 * start + pick * (end - start) decides; otherwise, with rb the
 * renew-before span (absolute, a percentage or a third of the lifetime),
 * notAfter - rb - pick * rb / 10: a fleet spreads over a tenth of the
 * span, never later than the threshold the operator asked for.
 */
void d01_renew_decide(
    const struct d01_renew_input *in, struct d01_renew_decision *out);

/*
 * The jitter of one certificate, in [0,1): the first 32 bits of SHA-256
 * over its CertID (AKI + serial), validity and names. Deterministic per
 * certificate, so every run of a timer agrees on the same renewal time
 * (no re-roll that drifts earlier run after run), and spread uniformly
 * across certificates, so a fleet does not renew in the same minute.
 * 0 for NULL.
 */
double d01_renew_pick(const struct d01_cert_info *ci);

/* The renew-before span of a certificate under `in`'s policy (seconds). */
long d01_renew_span(const struct d01_renew_input *in);

/* Short reason text ("not due", "names changed", ...). */
const char *d01_renew_why_text(enum d01_renew_why why);

#endif
