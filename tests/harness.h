/* SPDX-License-Identifier: ISC */
/*
 * A small in-tree unit test harness. A test is `static void t_x(void)`;
 * checks that fail print file:line, mark the test failed and `goto end`, so
 * every test ends with an `end:` label that releases what it holds:
 *
 *	static void t_add(void) {
 *		char *p = malloc(4);
 *		CHECK(p != NULL);
 *		CHECK_INT(1 + 1, ==, 2);
 *	end:
 *		free(p);
 *	}
 *	int main(void) { RUN(t_add); return harness_done(); }
 *
 * harness_done() prints "N passed, N failed" and returns the exit code
 * (0, 1, or 77 when everything was skipped via SKIP()).
 */
#ifndef D01_HARNESS_H
#define D01_HARNESS_H

#include <stdio.h>
#include <string.h>

static int harness_failed_now, harness_skipped_now;
static int harness_npass, harness_nfail, harness_nskip;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed\n",         \
			    __FILE__, __LINE__, #cond);                        \
			harness_failed_now = 1;                                \
			goto end;                                              \
		}                                                              \
	} while (0)

#define CHECK_INT(a, op, b)                                                    \
	do {                                                                   \
		long long ha_ = (long long)(a), hb_ = (long long)(b);          \
		if (!(ha_ op hb_)) {                                           \
			fprintf(stderr, "  %s:%d: %s %s %s: %lld vs %lld\n",   \
			    __FILE__, __LINE__, #a, #op, #b, ha_, hb_);        \
			harness_failed_now = 1;                                \
			goto end;                                              \
		}                                                              \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *ha_ = (a), *hb_ = (b);                             \
		if (ha_ == NULL || hb_ == NULL || strcmp(ha_, hb_) != 0) {     \
			fprintf(stderr,                                        \
			    "  %s:%d: %s == %s: \"%s\" vs \"%s\"\n", __FILE__, \
			    __LINE__, #a, #b, ha_ ? ha_ : "(null)",            \
			    hb_ ? hb_ : "(null)");                             \
			harness_failed_now = 1;                                \
			goto end;                                              \
		}                                                              \
	} while (0)

#define CHECK_MEM(a, b, n)                                                     \
	do {                                                                   \
		if (memcmp((a), (b), (n)) != 0) {                              \
			fprintf(stderr, "  %s:%d: memcmp(%s, %s, %s) != 0\n",  \
			    __FILE__, __LINE__, #a, #b, #n);                   \
			harness_failed_now = 1;                                \
			goto end;                                              \
		}                                                              \
	} while (0)

/* Skip the current test with a reason; skipped tests never count as
 * passed. */
#define SKIP(why)                                                              \
	do {                                                                   \
		fprintf(stderr, "  skipped: %s\n", (why));                     \
		harness_skipped_now = 1;                                       \
		goto end;                                                      \
	} while (0)

#define RUN(fn)                                                                \
	do {                                                                   \
		harness_failed_now = harness_skipped_now = 0;                  \
		fn();                                                          \
		if (harness_failed_now)                                        \
			harness_nfail++;                                       \
		else if (harness_skipped_now)                                  \
			harness_nskip++;                                       \
		else                                                           \
			harness_npass++;                                       \
		fprintf(stderr, "%s %s\n",                                     \
		    harness_failed_now                                         \
			? "FAIL"                                               \
			: (harness_skipped_now ? "SKIP" : "ok  "),             \
		    #fn);                                                      \
	} while (0)

static inline int
harness_done(void)
{
	fprintf(stderr, "%d passed, %d failed, %d skipped\n", harness_npass,
	    harness_nfail, harness_nskip);
	if (harness_nfail > 0)
		return 1;
	if (harness_npass == 0 && harness_nskip > 0)
		return 77;
	return 0;
}

#endif
