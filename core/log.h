/* SPDX-License-Identifier: ISC */
/*
 * Logging: one line per event on stderr, `key=value` fields, so container
 * runtimes and log shippers can parse it without a schema:
 *   ts=2026-11-28T22:13:05.123Z level=info event=webhook action=Present ...
 * Nothing here allocates; each line is written with a single write(2) so
 * lines never interleave. Callers never pass secrets: values that come from
 * outside are quoted with d01_log_quote().
 */
#ifndef D01_LOG_H
#define D01_LOG_H

#include <stddef.h>

enum d01_log_level {
	D01_LOG_ERR = 0,
	D01_LOG_WARN,
	D01_LOG_INFO,
	D01_LOG_DEBUG,
};

/* Process-wide threshold; lines above it are dropped. Default INFO. */
void d01_log_set_level(enum d01_log_level level);
int d01_log_enabled(enum d01_log_level level);

/* "error|warn|info|debug" (or 0-3) -> level. Returns 0, or -1 if unknown. */
int d01_log_parse_level(const char *s, enum d01_log_level *out);

/*
 * Emit `ts=... level=... event=<event> <fields>`; `fmt` formats the rest of
 * the fields ("action=%s fqdn=%s"). Lines longer than 2 KiB are truncated.
 */
void d01_log(enum d01_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Write `src` into `dst` (size `n` > 2) as a double-quoted value with `"`
 * and `\` backslash-escaped, control and non-ASCII bytes as \xNN, truncated
 * with "..." if it does not fit. Returns dst. NULL src is written as "".
 */
char *d01_log_quote(char *dst, size_t n, const char *src);

#endif
