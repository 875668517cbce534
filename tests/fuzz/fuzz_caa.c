/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: a CAA record's RDATA from an authoritative server (RFC
 * 8659): the property parser, its presentation form, the issue-value
 * parser (RFC 8659 §4.2, RFC 8657 parameters) and the judge, for a plain
 * and a wildcard name.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/caa.h"
#include "issuer/caa_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ids[] = {"letsencrypt.org", "pebble.test"};
	static struct d01_caa_prop p[2];
	static struct d01_caa_issue v;
	struct d01_error err;
	char text[300];
	const char *c;
	size_t i;

	if (d01_caa_prop_parse(data, size, &p[0]) != 0)
		return 0;
	if (p[0].value_len > D01_CAA_VALUE_MAX || p[0].tag[0] == '\0')
		__builtin_trap();
	d01_caa_prop_text(&p[0], "x.example.test.", text, sizeof(text));
	if (memchr(text, '\0', sizeof(text)) == NULL)
		__builtin_trap();
	if (d01_caa_issue_parse(p[0].value, p[0].value_len, &v) == 0) {
		for (c = v.domain; *c; c++)
			if (isupper((unsigned char)*c) || *c == ';')
				__builtin_trap();
		for (i = 0; i < v.nparams; i++)
			if (v.params[i].tag[0] == '\0' ||
			    strchr(v.params[i].value, ';') != NULL)
				__builtin_trap();
	}
	/* The same value as issue and as issuewild beside it. */
	p[1] = p[0];
	memcpy(p[1].tag, "issuewild", 10);
	memcpy(p[0].tag, "issue", 6);
	for (i = 1; i <= 2; i++) {
		(void)d01_caa_judge("x.example.test", "x.example.test.", p, i,
		    ids, 2, "https://ca/acct/1", &err);
		(void)d01_caa_judge("*.x.example.test", "x.example.test.", p, i,
		    ids, 2, NULL, &err);
	}
	return 0;
}
