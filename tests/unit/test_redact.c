/* SPDX-License-Identifier: ISC */
/*
 * The redactor (core/redact.h) against each form an upstream may echo a
 * credential in: as sent, other letter case, percent-encoded, JSON-escaped,
 * base64 (at every alignment, standard and URL-safe), in pieces, and
 * mixed; and what it must leave alone.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/err.h"
#include "core/redact.h"
#include "harness.h"

#define SECRET "Ab3+/x_Yz9-QrSt7Uv.W"	   /* 20 bytes, odd characters */
#define TOKEN  "cf-TOKEN-0123456789abcdef" /* a Cloudflare-like token */

/* msg after redacting secret. */
static const char *
red(char *buf, size_t cap, const char *msg, const char *secret)
{
	snprintf(buf, cap, "%s", msg);
	d01_redact(buf, cap, secret);
	return buf;
}

/* No byte run of D01_REDACT_PIECE of secret (any case) is left in msg. */
static int
clean(const char *msg, const char *secret)
{
	size_t i, j, n = strlen(secret), m = strlen(msg);

	for (i = 0; i + D01_REDACT_PIECE <= n; i++)
		for (j = 0; j + D01_REDACT_PIECE <= m; j++)
			if (strncasecmp(
				msg + j, secret + i, D01_REDACT_PIECE) == 0)
				return 0;
	return 1;
}

static void
t_forms(void)
{
	char b[D01_ERROR_MSG_MAX];

	CHECK_STR(red(b, sizeof(b), "token " TOKEN " refused", TOKEN),
	    "token [redacted] refused");
	CHECK_STR(red(b, sizeof(b), "TOKEN CF-TOKEN-0123456789ABCDEF!", TOKEN),
	    "TOKEN [redacted]!");
	CHECK_STR(red(b, sizeof(b), "t=cf-token-0123456789ABCdef", TOKEN),
	    "t=[redacted]");
	/* Percent-encoded: the odd bytes only, or every byte, either case. */
	CHECK_STR(red(b, sizeof(b), "q=Ab3%2B%2Fx_Yz9-QrSt7Uv.W&x=1", SECRET),
	    "q=[redacted]&x=1");
	CHECK_STR(red(b, sizeof(b), "q=Ab3%2b%2fx_Yz9-QrSt7Uv.W", SECRET),
	    "q=[redacted]");
	CHECK_STR(red(b, sizeof(b),
		      "%41%62%33%2B%2F%78%5F%59%7A%39%2D%51%72%53%74%37%55%76"
		      "%2E%57 end",
		      SECRET),
	    "[redacted] end");
	/* JSON-escaped: \/ and \u00XX. */
	CHECK_STR(
	    red(b, sizeof(b), "{\"k\":\"Ab3+\\/x_Yz9-QrSt7Uv.W\"}", SECRET),
	    "{\"k\":\"[redacted]\"}");
	CHECK_STR(red(b, sizeof(b),
		      "\"Ab3\\u002b\\u002Fx_Yz9-QrSt7Uv\\u002eW\"", SECRET),
	    "\"[redacted]\"");
	/* A secret that itself holds escapes is found as it is, too (the
	 * fuzzer's find: "%20" in the secret decoded to " " in the message
	 * and the verbatim secret survived). */
	CHECK_STR(red(b, sizeof(b), "k=ab%20cd\\ef%zz! end", "ab%20cd\\ef%zz!"),
	    "k=[redacted] end");
	/* Mixed: upper case and percent-encoded at once. */
	CHECK_STR(red(b, sizeof(b), "AB3%2b%2FX_YZ9-QRST7UV.W", SECRET),
	    "[redacted]");
	/* In pieces: either half alone is cut. */
	CHECK_STR(red(b, sizeof(b), "first Ab3+/x_Yz9 then -QrSt7Uv.W", SECRET),
	    "first [redacted] then [redacted]");
	CHECK(clean(
	    red(b, sizeof(b), "p=" TOKEN "x, 0123456789ab", TOKEN), TOKEN));
end:;
}

/* base64 of the secret inside a longer base64 string, at each of the
 * three alignments, standard and URL-safe (Basic auth, JWT-ish blobs). */
static void
t_base64(void)
{
	char b[D01_ERROR_MSG_MAX], in[64], enc[128], msg[256];
	size_t k, i;
	int n;

	for (k = 0; k < 3; k++) {
		snprintf(in, sizeof(in), "%.*s%s:tail", (int)k, "xyz", SECRET);
		n = EVP_EncodeBlock(
		    (unsigned char *)enc, (unsigned char *)in, (int)strlen(in));
		CHECK(n > 0);
		snprintf(msg, sizeof(msg), "Basic %s was refused", enc);
		red(b, sizeof(b), msg, SECRET);
		CHECK(strstr(b, "[redacted]") != NULL);
		CHECK(strstr(b, "was refused") != NULL);
		/* What is left of the base64 cannot decode to the secret:
		 * at most the two characters each side that mix in other
		 * bytes remain. */
		CHECK(strlen(b) < strlen(msg) - strlen(SECRET) + 8);
		for (i = 0; enc[i] != '\0'; i++)
			enc[i] = enc[i] == '+' ? '-'
			    : enc[i] == '/'    ? '_'
					       : enc[i];
		snprintf(msg, sizeof(msg), "token=%s", enc);
		red(b, sizeof(b), msg, SECRET);
		CHECK(strstr(b, "[redacted]") != NULL);
	}
end:;
}

static void
t_leaves_alone(void)
{
	char b[D01_ERROR_MSG_MAX], small[16];

	/* Short or absent secrets change nothing. */
	CHECK_STR(red(b, sizeof(b), "abc abc", "abc"), "abc abc");
	CHECK_STR(
	    red(b, sizeof(b), "HTTP 403: [9109] Invalid access token", NULL),
	    "HTTP 403: [9109] Invalid access token");
	CHECK_STR(
	    red(b, sizeof(b), "HTTP 403: [9109] Invalid access token", TOKEN),
	    "HTTP 403: [9109] Invalid access token");
	/* Pieces only for long secrets: a 12-byte one is cut whole only. */
	CHECK_STR(
	    red(b, sizeof(b), "s3cr3t-t and s3cr3t-token", "s3cr3t-token"),
	    "s3cr3t-t and [redacted]");
	/* A small buffer: truncated, never overflowed, secret still cut. */
	CHECK_STR(red(small, sizeof(small), "k " TOKEN, TOKEN), "k [redacted]");
	snprintf(small, sizeof(small), "%s", "xx");
	d01_redact(small, sizeof(small), "xxxxxxxxxxxxxxxxxxxxxxx");
	CHECK_STR(small, "xx");
end:;
}

int
main(void)
{
	RUN(t_forms);
	RUN(t_base64);
	RUN(t_leaves_alone);
	return harness_done();
}
