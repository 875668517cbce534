/* SPDX-License-Identifier: ISC */
/*
 * d01_log_quote(): a value from outside stays one field of the log line,
 * whatever its bytes (issue 12, item 5): quotes and backslashes escaped,
 * control and non-ASCII bytes as \xNN, long values cut with "...".
 */
#include <string.h>

#include "core/log.h"
#include "harness.h"

static void
t_forged_fields(void)
{
	char q[128];

	d01_log_quote(q, sizeof(q), "x\" level=error event=admin_login x=\"");
	CHECK(strcmp(q, "\"x\\\" level=error event=admin_login x=\\\"\"") == 0);
end:;
}

static void
t_control_and_non_ascii(void)
{
	char q[64];

	d01_log_quote(q, sizeof(q), "a\nb\\c\x1b[31m\xc3\xa9\x7f");
	CHECK(strcmp(q, "\"a\\x0ab\\\\c\\x1b[31m\\xc3\\xa9\\x7f\"") == 0);
	d01_log_quote(q, sizeof(q), NULL);
	CHECK(strcmp(q, "\"\"") == 0);
end:;
}

static void
t_truncated(void)
{
	char q[12];

	d01_log_quote(q, sizeof(q), "abcdefghijklmnop");
	CHECK(strlen(q) < sizeof(q));
	CHECK(q[strlen(q) - 1] == '"');
	CHECK(strstr(q, "...") != NULL);
end:;
}

int
main(void)
{
	RUN(t_forged_fields);
	RUN(t_control_and_non_ascii);
	RUN(t_truncated);
	return harness_done();
}
