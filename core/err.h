/* SPDX-License-Identifier: ISC */
/*
 * Errors: one enum with a string table, and a small value type carrying a
 * human-readable message, a retryable flag and the upstream status. Every
 * fallible function in dns01 returns enum d01_err or fills a
 * struct d01_error owned by its caller; there is no global error state.
 */
#ifndef D01_ERR_H
#define D01_ERR_H

#include <stdarg.h>

enum d01_err {
	D01_OK = 0,
	D01_E_NOMEM,	 /* allocation failed */
	D01_E_INVAL,	 /* malformed input from a caller or peer */
	D01_E_CONFIG,	 /* bad configuration (flags, request config) */
	D01_E_AUTH,	 /* credentials refused upstream */
	D01_E_FORBIDDEN, /* authenticated but not allowed */
	D01_E_NOTFOUND,	 /* zone, secret, record, route not found */
	D01_E_CONFLICT,	 /* state upstream conflicts with the change */
	D01_E_RATELIMIT, /* upstream asked us to slow down */
	D01_E_TIMEOUT,	 /* a bounded wait ran out */
	D01_E_NETWORK,	 /* connect/send/recv failure */
	D01_E_TLS,	 /* TLS handshake or verification failure */
	D01_E_PROTOCOL,	 /* peer violated its protocol */
	D01_E_UPSTREAM,	 /* upstream reported a failure */
	D01_E_LIMIT,	 /* a local bound (size, count) was reached */
	D01_E_CANCELLED, /* the operation was cancelled */
	D01_E_INTERNAL,	 /* a bug or an impossible state */
	D01_E__MAX
};

/* Short, stable name of a code ("timeout", "not found"); never NULL. */
const char *d01_strerror(enum d01_err code);

#define D01_ERROR_MSG_MAX 512

/*
 * Error details. Caller-owned (usually on the stack); functions that take a
 * `struct d01_error *err` fill it on failure and leave it alone on success.
 * `msg` is always NUL-terminated and never holds a secret.
 */
struct d01_error {
	enum d01_err code;
	int retryable; /* 1 when trying again later may succeed */
	long status;   /* upstream HTTP status or DNS rcode, 0 if none */
	char msg[D01_ERROR_MSG_MAX];
};

/* Reset to D01_OK with an empty message. NULL is accepted. */
void d01_error_clear(struct d01_error *err);

/*
 * Set code and a printf-style message (truncated to fit). Returns `code` so
 * a caller can `return d01_error_set(err, ...)`. NULL `err` is accepted.
 */
enum d01_err d01_error_set(struct d01_error *err, enum d01_err code,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
enum d01_err d01_error_vset(struct d01_error *err, enum d01_err code,
    const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/*
 * Prefix the existing message with printf-style context ("zone x: " + msg).
 * Keeps code, retryable and status.
 */
void d01_error_prefix(struct d01_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Drain OpenSSL's error queue into err as "<what>: <openssl reason>". */
enum d01_err d01_error_openssl(
    struct d01_error *err, enum d01_err code, const char *what);

#endif
