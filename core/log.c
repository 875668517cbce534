/* SPDX-License-Identifier: ISC */
/* key=value line logger on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

static enum d01_log_level d01_log_level = D01_LOG_INFO;

static const char *const d01_level_names[] = {"error", "warn", "info", "debug"};

void
d01_log_set_level(enum d01_log_level level)
{
	d01_log_level = level;
}

int
d01_log_enabled(enum d01_log_level level)
{
	return level <= d01_log_level;
}

int
d01_log_parse_level(const char *s, enum d01_log_level *out)
{
	static const struct {
		const char *name;
		enum d01_log_level level;
	} names[] = {
	    {"error", D01_LOG_ERR},
	    {"err", D01_LOG_ERR},
	    {"warn", D01_LOG_WARN},
	    {"warning", D01_LOG_WARN},
	    {"info", D01_LOG_INFO},
	    {"debug", D01_LOG_DEBUG},
	    {"0", D01_LOG_ERR},
	    {"1", D01_LOG_WARN},
	    {"2", D01_LOG_INFO},
	    {"3", D01_LOG_DEBUG},
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*out = names[i].level;
			return 0;
		}
	}
	return -1;
}

void
d01_log(enum d01_log_level level, const char *event, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t len;
	int n;
	va_list ap;

	if (!d01_log_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	len = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line + len, sizeof(line) - len,
	    ".%03ldZ level=%s event=%s ", ts.tv_nsec / 1000000L,
	    d01_level_names[level], event);
	if (n > 0)
		len += (size_t)n;
	if (len < sizeof(line)) {
		va_start(ap, fmt);
		n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
		va_end(ap);
		if (n > 0)
			len += (size_t)n;
	}
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* One write per line: lines from one process never interleave. */
	if (write(STDERR_FILENO, line, len) < 0)
		return;
}

char *
d01_log_quote(char *dst, size_t n, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)(src ? src : "");

	if (n < 3) {
		if (n > 0)
			dst[0] = '\0';
		return dst;
	}
	dst[o++] = '"';
	for (; *p != '\0'; p++) {
		char esc[5];
		size_t elen = 0;

		if (*p == '"' || *p == '\\') {
			esc[elen++] = '\\';
			esc[elen++] = (char)*p;
		} else if (*p < 0x20 || *p >= 0x7f) {
			/* Control bytes and anything not ASCII: a log reader
			 * must not be fooled by terminal escapes or by
			 * look-alike characters. */
			esc[elen++] = '\\';
			esc[elen++] = 'x';
			esc[elen++] = hex[*p >> 4];
			esc[elen++] = hex[*p & 15];
		} else {
			esc[elen++] = (char)*p;
		}
		/* Keep room for the closing quote, "..." and NUL. */
		if (o + elen + 5 > n) {
			if (o + 5 <= n) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(dst + o, esc, elen);
		o += elen;
	}
	dst[o++] = '"';
	dst[o] = '\0';
	return dst;
}
