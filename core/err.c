/* SPDX-License-Identifier: ISC */
/* Error codes, their names, and the d01_error helpers. */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "core/err.h"

static const char *const d01_err_names[D01_E__MAX] = {
    [D01_OK] = "ok",
    [D01_E_NOMEM] = "out of memory",
    [D01_E_INVAL] = "invalid input",
    [D01_E_CONFIG] = "configuration error",
    [D01_E_AUTH] = "authentication failed",
    [D01_E_FORBIDDEN] = "forbidden",
    [D01_E_NOTFOUND] = "not found",
    [D01_E_CONFLICT] = "conflict",
    [D01_E_RATELIMIT] = "rate limited",
    [D01_E_TIMEOUT] = "timeout",
    [D01_E_NETWORK] = "network error",
    [D01_E_TLS] = "TLS error",
    [D01_E_PROTOCOL] = "protocol error",
    [D01_E_UPSTREAM] = "upstream error",
    [D01_E_LIMIT] = "limit reached",
    [D01_E_CANCELLED] = "cancelled",
    [D01_E_INTERNAL] = "internal error",
};

const char *
d01_strerror(enum d01_err code)
{
	if ((unsigned)code >= D01_E__MAX || d01_err_names[code] == NULL)
		return "unknown error";
	return d01_err_names[code];
}

void
d01_error_clear(struct d01_error *err)
{
	if (err == NULL)
		return;
	err->code = D01_OK;
	err->retryable = 0;
	err->status = 0;
	err->msg[0] = '\0';
}

enum d01_err
d01_error_vset(
    struct d01_error *err, enum d01_err code, const char *fmt, va_list ap)
{
	if (err == NULL)
		return code;
	err->code = code;
	err->retryable = 0;
	err->status = 0;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return code;
}

enum d01_err
d01_error_set(struct d01_error *err, enum d01_err code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	d01_error_vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

void
d01_error_prefix(struct d01_error *err, const char *fmt, ...)
{
	char prefix[D01_ERROR_MSG_MAX], old[D01_ERROR_MSG_MAX];
	size_t pl, ol;
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	pl = strlen(prefix);
	ol = strlen(old);
	if (ol > sizeof(err->msg) - 1 - pl)
		ol = sizeof(err->msg) - 1 - pl; /* prefix fits: it is shorter */
	memcpy(err->msg, prefix, pl);
	memcpy(err->msg + pl, old, ol);
	err->msg[pl + ol] = '\0';
}

enum d01_err
d01_error_openssl(struct d01_error *err, enum d01_err code, const char *what)
{
	unsigned long e, last = 0;
	char reason[256] = "unknown OpenSSL error";

	/* The last queued error is usually the most specific one. */
	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last != 0)
		ERR_error_string_n(last, reason, sizeof(reason));
	return d01_error_set(err, code, "%s: %s", what, reason);
}
