/* SPDX-License-Identifier: ISC */
/*
 * CAA (RFC 8659, RFC 8657): the RDATA parser, the issue-value grammar
 * (issuer-domain-name, parameters), the presentation form quoted in
 * errors, and the judge of a relevant RRset.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "core/caa.h"
#include "issuer/caa_check.h"

static const char *const ids[] = {"letsencrypt.org"};
static const char my_acct[] =
    "https://acme-v02.api.letsencrypt.org/acme/acct/1";

/* A property from flags, tag and value, through the RDATA parser. */
static int
prop(struct d01_caa_prop *p, unsigned flags, const char *tag, const char *val)
{
	unsigned char rd[1100];
	size_t tl = strlen(tag), vl = strlen(val);

	rd[0] = (unsigned char)flags;
	rd[1] = (unsigned char)tl;
	memcpy(rd + 2, tag, tl);
	memcpy(rd + 2 + tl, val, vl);
	return d01_caa_prop_parse(rd, 2 + tl + vl, p);
}

static void
t_rdata(void)
{
	static const unsigned char bad_len[] = {0, 9, 'i', 's', 's'};
	static const unsigned char no_tag[] = {0, 0, 'x'};
	static const unsigned char bin[] = {
	    128, 5, 'I', 's', 'S', 'u', 'E', 'a', '"', '\\', 0, 0xff};
	struct d01_caa_prop p;
	char text[128], big[D01_CAA_VALUE_MAX + 2];

	CHECK(prop(&p, 0, "issue", "letsencrypt.org") == 0);
	CHECK_STR(p.tag, "issue");
	CHECK_STR(p.value, "letsencrypt.org");
	CHECK_INT(p.flags, ==, 0);
	CHECK(d01_caa_prop_parse(bad_len, sizeof(bad_len), &p) == -1);
	CHECK(d01_caa_prop_parse(no_tag, sizeof(no_tag), &p) == -1);
	CHECK(d01_caa_prop_parse(no_tag, 1, &p) == -1);
	CHECK(prop(&p, 0, "is-ue", "x") == -1);
	CHECK(prop(&p, 0, "abcdefghijklmnop", "x") == -1); /* 16 > 15 */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(prop(&p, 0, "issue", big) == -1);
	/* Tags compare case-insensitively: kept lower case. Binary values
	 * are quoted escaped. */
	CHECK(d01_caa_prop_parse(bin, sizeof(bin), &p) == 0);
	CHECK_STR(p.tag, "issue");
	CHECK_INT(p.value_len, ==, 5);
	d01_caa_prop_text(&p, "x.test.", text, sizeof(text));
	CHECK_STR(text, "x.test. CAA 128 issue \"a\\\"\\\\\\000\\255\"");
	/* Truncation keeps a NUL inside the buffer. */
	d01_caa_prop_text(&p, "x.test.", text, 12);
	CHECK_INT(strlen(text), <, 12);
end:;
}

static void
t_issue_value(void)
{
	static const char val[] = " \t ca.test \t; accounturi = https://x/a/1 ;"
				  "validationmethods=dns-01,http-01  ";
	struct d01_caa_issue v;

	CHECK(d01_caa_issue_parse("LetsEncrypt.org", 15, &v) == 0);
	CHECK_STR(v.domain, "letsencrypt.org");
	CHECK_INT(v.nparams, ==, 0);
	CHECK(d01_caa_issue_parse(";", 1, &v) == 0);
	CHECK_STR(v.domain, "");
	CHECK(d01_caa_issue_parse("", 0, &v) == 0);
	CHECK_STR(v.domain, "");
	CHECK(d01_caa_issue_parse(val, strlen(val), &v) == 0);
	CHECK_STR(v.domain, "ca.test");
	CHECK_INT(v.nparams, ==, 2);
	CHECK_STR(v.params[0].tag, "accounturi");
	CHECK_STR(v.params[0].value, "https://x/a/1");
	CHECK_STR(
	    d01_caa_issue_param(&v, "ValidationMethods"), "dns-01,http-01");
	CHECK(d01_caa_issue_param(&v, "other") == NULL);
	/* A trailing ';' is accepted; an empty value too. */
	CHECK(d01_caa_issue_parse("ca.test; a=;", 12, &v) == 0);
	CHECK_STR(d01_caa_issue_param(&v, "a"), "");
	CHECK(d01_caa_issue_parse("; a=b", 5, &v) == 0);
	CHECK_STR(v.domain, "");
	CHECK_STR(d01_caa_issue_param(&v, "a"), "b");
	/* Not the grammar. */
	CHECK(d01_caa_issue_parse("ca..test", 8, &v) == -1);
	CHECK(d01_caa_issue_parse("ca.test.", 8, &v) == -1);
	CHECK(d01_caa_issue_parse("-ca.test", 8, &v) == -1);
	CHECK(d01_caa_issue_parse("ca-.test", 8, &v) == -1);
	CHECK(d01_caa_issue_parse("ca.test x", 9, &v) == -1);
	CHECK(d01_caa_issue_parse("ca.test; a", 10, &v) == -1);
	CHECK(d01_caa_issue_parse("ca.test; a=b c=d", 16, &v) == -1);
	CHECK(d01_caa_issue_parse("ca.test; =b", 11, &v) == -1);
	CHECK(d01_caa_issue_parse("ca.test; a=b\x01", 13, &v) == -1);
	CHECK(d01_caa_issue_parse("ca\0.test", 8, &v) == -1);
	CHECK(d01_caa_issue_parse("a=b", 3, &v) == -1);
end:;
}

static void
t_judge(void)
{
	struct d01_caa_prop p[4];
	struct d01_error err;

	d01_error_clear(&err);
	/* No CAA at all, or only iodef: no restriction. */
	CHECK(
	    d01_caa_judge("a.test", "", p, 0, ids, 1, my_acct, &err) == D01_OK);
	CHECK(prop(&p[0], 0, "iodef", "mailto:x@a.test") == 0);
	CHECK(d01_caa_judge("a.test", "a.test.", p, 1, ids, 1, my_acct, &err) ==
	    D01_OK);
	/* Another CA only; then ours beside it. */
	CHECK(prop(&p[1], 0, "issue", "other.ca") == 0);
	CHECK(d01_caa_judge("a.test", "a.test.", p, 2, ids, 1, my_acct, &err) ==
	    D01_E_FORBIDDEN);
	CHECK(strstr(err.msg, "a.test. CAA 0 issue \"other.ca\"") != NULL);
	CHECK(strstr(err.msg, "iodef") == NULL);
	CHECK(prop(&p[2], 0, "issue", "LETSENCRYPT.org") == 0);
	CHECK(d01_caa_judge("a.test", "a.test.", p, 3, ids, 1, my_acct, &err) ==
	    D01_OK);
	/* ";": nobody. */
	CHECK(prop(&p[0], 0, "issue", ";") == 0);
	CHECK(d01_caa_judge("a.test", "a.test.", p, 1, ids, 1, my_acct, &err) ==
	    D01_E_FORBIDDEN);
	/* RFC 8657 accounturi: ours, another, unknown account. */
	CHECK(prop(&p[0], 0, "issue",
		  "letsencrypt.org; accounturi="
		  "https://acme-v02.api.letsencrypt.org/acme/acct/1") == 0);
	CHECK(d01_caa_judge("a.test", "a.test.", p, 1, ids, 1, my_acct, &err) ==
	    D01_OK);
	CHECK(d01_caa_judge("a.test", "a.test.", p, 1, ids, 1,
		  "https://acme-v02.api.letsencrypt.org/acme/acct/12",
		  &err) == D01_E_FORBIDDEN);
	CHECK(strstr(err.msg, "accounturi is not this account") != NULL);
	CHECK(d01_caa_judge("a.test", "a.test.", p, 1, ids, 1, NULL, &err) ==
	    D01_E_FORBIDDEN);
	/* RFC 8657 validationmethods. */
	CHECK(
	    prop(&p[0], 0, "issue",
		"letsencrypt.org; validationmethods=http-01,tls-alpn-01") == 0);
	CHECK(d01_caa_judge("a.test", "a.test.", p, 1, ids, 1, my_acct, &err) ==
	    D01_E_FORBIDDEN);
	CHECK(strstr(err.msg, "validationmethods") != NULL);
	CHECK(prop(&p[0], 0, "issue",
		  "letsencrypt.org; validationmethods=http-01,dns-01") == 0);
	CHECK(d01_caa_judge("a.test", "a.test.", p, 1, ids, 1, my_acct, &err) ==
	    D01_OK);
	CHECK(prop(&p[0], 0, "issue",
		  "letsencrypt.org; validationmethods=dns-01x") == 0);
	CHECK(d01_caa_judge("a.test", "a.test.", p, 1, ids, 1, my_acct, &err) ==
	    D01_E_FORBIDDEN);
	/* Wildcards: issuewild replaces issue when present. */
	CHECK(prop(&p[0], 0, "issue", "letsencrypt.org") == 0);
	CHECK(prop(&p[1], 0, "issuewild", ";") == 0);
	CHECK(d01_caa_judge("a.test", "a.test.", p, 2, ids, 1, my_acct, &err) ==
	    D01_OK);
	CHECK(d01_caa_judge("*.a.test", "a.test.", p, 2, ids, 1, my_acct,
		  &err) == D01_E_FORBIDDEN);
	CHECK(strstr(err.msg, "issuewild \";\"") != NULL);
	CHECK(d01_caa_judge("*.a.test", "a.test.", p, 1, ids, 1, my_acct,
		  &err) == D01_OK);
	/* A critical property we do not know forbids; a non-critical one
	 * is ignored; a critical known one is fine. */
	CHECK(prop(&p[1], 128, "tbs", "x") == 0);
	CHECK(d01_caa_judge("a.test", "a.test.", p, 2, ids, 1, my_acct, &err) ==
	    D01_E_FORBIDDEN);
	CHECK(strstr(err.msg, "CAA 128 tbs") != NULL);
	CHECK(prop(&p[1], 0, "tbs", "x") == 0);
	CHECK(prop(&p[2], 128, "issue", "letsencrypt.org") == 0);
	CHECK(d01_caa_judge("a.test", "a.test.", p, 3, ids, 1, my_acct, &err) ==
	    D01_OK);
	/* A malformed value authorizes no one. */
	CHECK(prop(&p[0], 0, "issue", "letsencrypt.org; x") == 0);
	CHECK(d01_caa_judge("a.test", "a.test.", p, 1, ids, 1, my_acct, &err) ==
	    D01_E_FORBIDDEN);
end:;
}

int
main(void)
{
	RUN(t_rdata);
	RUN(t_issue_value);
	RUN(t_judge);
	return harness_done();
}
