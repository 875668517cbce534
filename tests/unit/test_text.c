/* SPDX-License-Identifier: ISC */
#include <string.h>

#include "core/text.h"
#include "tests/harness.h"

static void
t_url_escape(void)
{
	char out[16];

	CHECK_INT(d01_url_escape(out, sizeof(out), "aZ09-._~"), ==, 0);
	CHECK_STR(out, "aZ09-._~");
	/* High bytes are escaped byte by byte, whatever the locale. */
	CHECK_INT(d01_url_escape(out, sizeof(out), "\xc3\xa9 /+"), ==, 0);
	CHECK_STR(out, "%C3%A9%20%2F%2B");
	CHECK_INT(d01_url_escape(out, sizeof(out), ""), ==, 0);
	CHECK_STR(out, "");
	/* Room for a whole escape and the NUL is kept at every byte, so
	 * "abc" wants 6 bytes although it writes 4. */
	CHECK_INT(d01_url_escape(out, 6, "abc"), ==, 0);
	CHECK_STR(out, "abc");
	CHECK_INT(d01_url_escape(out, 5, "abc"), ==, -1);
	/* An escape is never cut in half. */
	CHECK_INT(d01_url_escape(out, 6, "a/b"), ==, -1);
end:;
}

static void
t_clean_copy(void)
{
	char out[8], s[] = "a\tb\x7f\n";

	d01_clean_copy(out, sizeof(out), "x\r\ny\x1b\x7fz");
	CHECK_STR(out, "x  y  z");
	d01_clean_copy(out, sizeof(out), NULL);
	CHECK_STR(out, "");
	d01_clean_copy(out, 4, "abcdef");
	CHECK_STR(out, "abc");
	/* UTF-8 passes: only control bytes are replaced. */
	d01_clean_copy(out, sizeof(out), "\xc3\xa9");
	CHECK_STR(out, "\xc3\xa9");
	d01_unctrl(s);
	CHECK_STR(s, "a b  ");
end:;
}

int
main(void)
{
	RUN(t_url_escape);
	RUN(t_clean_copy);
	return harness_done();
}
