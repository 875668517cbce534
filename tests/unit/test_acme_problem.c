/* SPDX-License-Identifier: ISC */
/* ACME problem documents: parsing, classification, the one-line text. */
#include <string.h>

#include "harness.h"
#include "issuer/problem.h"

#define NS "urn:ietf:params:acme:error:"

static void
t_parse_basic(void)
{
	static const char body[] =
	    "{\"type\":\"" NS "badNonce\","
	    "\"detail\":\"JWS has an invalid anti-replay "
	    "nonce: \\\"abc\\\"\",\"status\":400}";
	struct d01_acme_problem p;

	CHECK(d01_acme_problem_parse(body, strlen(body), &p) == 0);
	CHECK_STR(p.type, NS "badNonce");
	CHECK_STR(d01_acme_problem_name(&p), "badNonce");
	CHECK(d01_acme_problem_is(&p, "badNonce"));
	CHECK(!d01_acme_problem_is(&p, "badNonc"));
	CHECK_STR(p.detail, "JWS has an invalid anti-replay nonce: \"abc\"");
	CHECK_INT(p.status, ==, 400);
	CHECK_INT(p.nsub, ==, 0);
end:;
}

static void
t_subproblems(void)
{
	static const char body[] =
	    "{\"type\":\"" NS "rejectedIdentifier\","
	    "\"detail\":\"Error creating new order :: Cannot issue for "
	    "\\\"bad_name.example.test\\\"\","
	    "\"subproblems\":[{\"type\":\"" NS "malformed\","
	    "\"detail\":\"Domain name contains an invalid character\","
	    "\"identifier\":{\"type\":\"dns\","
	    "\"value\":\"bad_name.example.test\"}},{\"type\":\"x\"}]}";
	struct d01_acme_problem p;
	struct d01_error err;
	char line[512];

	CHECK(d01_acme_problem_parse(body, strlen(body), &p) == 0);
	CHECK_INT(p.nsub, ==, 2);
	CHECK_STR(p.sub,
	    "bad_name.example.test: Domain name contains an "
	    "invalid character");
	d01_acme_problem_format(&p, line, sizeof(line));
	CHECK_STR(line,
	    "rejectedIdentifier: Error creating new order :: "
	    "Cannot issue for \"bad_name.example.test\"; "
	    "bad_name.example.test: Domain name contains an "
	    "invalid character");
	d01_acme_problem_to_error(&p, 400, &err);
	CHECK_INT(err.code, ==, D01_E_FORBIDDEN);
	CHECK_INT(err.status, ==, 400);
	CHECK_INT(err.retryable, ==, 0);
	CHECK_STR(err.msg, line);
end:;
}

static void
t_classify(void)
{
	static const struct {
		const char *type;
		enum d01_err code;
		int retryable;
	} cases[] = {
	    {NS "badNonce", D01_E_PROTOCOL, 1},
	    {NS "rateLimited", D01_E_RATELIMIT, 1},
	    {NS "serverInternal", D01_E_UPSTREAM, 1},
	    {NS "accountDoesNotExist", D01_E_NOTFOUND, 0},
	    {NS "unauthorized", D01_E_FORBIDDEN, 0},
	    {NS "externalAccountRequired", D01_E_AUTH, 0},
	    {NS "badCSR", D01_E_INVAL, 0},
	    {NS "dns", D01_E_UPSTREAM, 0},
	    {"about:blank", D01_E_UPSTREAM, 0},
	};
	struct d01_acme_problem p;
	struct d01_error err;
	char body[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(
		    body, sizeof(body), "{\"type\":\"%s\"}", cases[i].type);
		CHECK(d01_acme_problem_parse(body, strlen(body), &p) == 0);
		d01_acme_problem_to_error(&p, 400, &err);
		CHECK_INT(err.code, ==, cases[i].code);
		CHECK_INT(err.retryable, ==, cases[i].retryable);
	}
	/* A 5xx without a known type is retryable; the type is kept. */
	d01_acme_problem_to_error(&p, 503, &err);
	CHECK_INT(err.retryable, ==, 1);
	CHECK_STR(err.msg, "about:blank");
end:;
}

static void
t_not_problems(void)
{
	static const char ctl[] = "{\"type\":\"" NS "malformed\","
				  "\"detail\":\"a\\u0007b\\nc\"}";
	struct d01_acme_problem p;
	char big[2000];

	CHECK(d01_acme_problem_parse("", 0, &p) == -1);
	CHECK(d01_acme_problem_parse("not json", 8, &p) == -1);
	CHECK(d01_acme_problem_parse("[1]", 3, &p) == -1);
	CHECK(d01_acme_problem_parse("{\"detail\":\"x\"}", 14, &p) == -1);
	CHECK(d01_acme_problem_parse("{\"type\":5}", 10, &p) == -1);
	CHECK(d01_acme_problem_parse(NULL, 0, &p) == -1);
	CHECK_STR(p.type, "");
	/* Control characters from the CA never reach a log line. */
	CHECK(d01_acme_problem_parse(ctl, strlen(ctl), &p) == 0);
	CHECK_STR(p.detail, "a?b?c");
	/* Long details are truncated, not overflowed. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"type\":\"t\",\"detail\":\"", 22);
	memcpy(big + sizeof(big) - 2, "\"}", 2);
	CHECK(d01_acme_problem_parse(big, sizeof(big), &p) == 0);
	CHECK_INT(strlen(p.detail), ==, sizeof(p.detail) - 1);
end:;
}

int
main(void)
{
	RUN(t_parse_basic);
	RUN(t_subproblems);
	RUN(t_classify);
	RUN(t_not_problems);
	return harness_done();
}
