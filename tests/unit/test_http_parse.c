/* SPDX-License-Identifier: ISC */
/* The HTTP/1.1 request-head parser: framing, limits, smuggling guards. */
#include <stdlib.h>

#include "harness.h"
#include "httpd/http_parse.h"

/* Parse a copy of `s` (the parser writes into its buffer). */
static int
parse(const char *s, struct d01_http_head *h)
{
	static char buf[65536];
	size_t n = strlen(s);

	memcpy(buf, s, n + 1);
	return d01_http_parse_head(buf, n, 8192, h, NULL);
}

static void
t_basic(void)
{
	struct d01_http_head h;

	CHECK_INT(parse("POST /apis/g/v1alpha1/x?dryRun=1 HTTP/1.1\r\n"
			"Host: a\r\nContent-Length: 12\r\n"
			"Content-Type:  application/json \r\n\r\n",
		      &h),
	    ==, 0);
	CHECK_STR(h.method, "POST");
	CHECK_STR(h.path, "/apis/g/v1alpha1/x");
	CHECK_STR(h.query, "dryRun=1");
	CHECK_INT(h.content_length, ==, 12);
	CHECK_INT(h.keep_alive, ==, 1);
	CHECK_STR(d01_http_head_get(&h, "content-type"), "application/json");
	CHECK(d01_http_head_get(&h, "X-Nope") == NULL);
end:;
}

static void
t_connection(void)
{
	struct d01_http_head h;

	CHECK_INT(parse("GET / HTTP/1.0\r\n\r\n", &h), ==, 0);
	CHECK_INT(h.keep_alive, ==, 0);
	CHECK_INT(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h),
	    ==, 0);
	CHECK_INT(h.keep_alive, ==, 1);
	CHECK_INT(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: te, close\r\n"
			"\r\n",
		      &h),
	    ==, 0);
	CHECK_INT(h.keep_alive, ==, 0);
	/* Bare LF line ends are tolerated. */
	CHECK_INT(parse("GET /x HTTP/1.1\nHost: a\n\n", &h), ==, 0);
	CHECK_STR(h.path, "/x");
end:;
}

static void
t_framing(void)
{
	struct d01_http_head h;

	CHECK_INT(parse("POST / HTTP/1.1\r\nHost: a\r\n"
			"Transfer-Encoding: chunked\r\n\r\n",
		      &h),
	    ==, 0);
	CHECK_INT(h.chunked, ==, 1);
	CHECK_INT(h.content_length, ==, -1);
	/* Smuggling guards. */
	CHECK_INT(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
			"Transfer-Encoding: chunked\r\n\r\n",
		      &h),
	    ==, 400);
	CHECK_INT(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
			"Content-Length: 6\r\n\r\n",
		      &h),
	    ==, 400);
	CHECK_INT(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
			"Content-Length: 5\r\n\r\n",
		      &h),
	    ==, 0);
	CHECK_INT(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n"
			"\r\n",
		      &h),
	    ==, 400);
	CHECK_INT(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: "
			"99999999999999999999999\r\n\r\n",
		      &h),
	    ==, 400);
	CHECK_INT(parse("POST / HTTP/1.1\r\nHost: a\r\n"
			"Transfer-Encoding: gzip, chunked\r\n\r\n",
		      &h),
	    ==, 501);
	CHECK_INT(parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
			"Content-Length: 1\r\n\r\n",
		      &h),
	    ==, 0);
	CHECK_INT(h.expect_continue, ==, 1);
	CHECK_INT(
	    parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n\r\n", &h),
	    ==, 417);
end:;
}

static void
t_malformed(void)
{
	struct d01_http_head h;
	char buf[64];
	static char big[20000];
	int i;

	CHECK_INT(parse("GARBAGE\r\n\r\n", &h), ==, 400);
	CHECK(h.method != NULL && h.path != NULL && h.query != NULL);
	CHECK_INT(parse("GET / HTTP/1.1\r\n\r\n", &h), ==, 400); /* no Host */
	CHECK_INT(parse("GET / HTTP/2.0\r\nHost: a\r\n\r\n", &h), ==, 505);
	CHECK_INT(parse("GET / FTP/1.0\r\n\r\n", &h), ==, 400);
	CHECK_INT(
	    parse("GET http://x/ HTTP/1.1\r\nHost: a\r\n\r\n", &h), ==, 400);
	CHECK_INT(parse("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", &h), ==, 400);
	CHECK_INT(parse("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", &h), ==, 400);
	CHECK_INT(
	    parse("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", &h), ==, 400);
	CHECK_INT(parse("GET / HTTP/1.1\r\nHost : a\r\n\r\n", &h), ==, 400);
	CHECK_INT(
	    parse("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", &h), ==, 400);
	CHECK_INT(parse("GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", &h), ==, 400);
	CHECK_INT(parse("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", &h), ==, 400);
	CHECK_INT(parse("GET / HTTP/1.1\r\nHost: a\r\n", &h), ==, 400);
	/* An embedded NUL must not cut a line short. */
	memcpy(buf, "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", 30);
	CHECK_INT(d01_http_parse_head(buf, 30, 8192, &h, NULL), ==, 400);
	/* Too many headers. */
	strcpy(big, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 0; i < D01_HTTP_MAX_HEADERS; i++)
		strcat(big, "X-A: b\r\n");
	strcat(big, "\r\n");
	CHECK_INT(parse(big, &h), ==, 431);
	/* Request line longer than max_line. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	strcpy(big + 9000, " HTTP/1.1\r\nHost: a\r\n\r\n");
	CHECK_INT(parse(big, &h), ==, 414);
end:;
}

int
main(void)
{
	RUN(t_basic);
	RUN(t_connection);
	RUN(t_framing);
	RUN(t_malformed);
	return harness_done();
}
