/* SPDX-License-Identifier: ISC */
/* Fuzz target: Route 53 reply parsing (zones, record sets, errors,
 * ChangeInfo), STS replies (AssumeRole and AssumeRoleWithWebIdentity
 * credentials or errors), and the change batch planned from whatever
 * record sets were parsed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "providers/route53/r53_sts.h"
#include "providers/route53/route53.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A ChangeInfo reply: an id (never more than fits) and a status. */
static void
check_change(const char *body, size_t len)
{
	char id[64];
	int insync = -1;

	if (r53_parse_change(body, len, id, sizeof(id), &insync) == 0 &&
	    (strlen(id) >= sizeof(id) || (insync != 0 && insync != 1)))
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct r53_set sets[8];
	const char *fqdn = "_acme-challenge.www.example.test.";
	struct d01_error err;
	char id[128];
	char *batch;
	int n, noop, present;

	(void)r53_parse_zones(
	    (const char *)data, size, fqdn, id, sizeof(id), &err);
	(void)r53_parse_error((const char *)data, size, 400, &err);
	{
		char *a, *s, *t;
		long long exp;

		if (r53_sts_parse((const char *)data, size, &a, &s, &t, &exp,
			&err) == 0 &&
		    (a == NULL || s == NULL || t == NULL || exp == 0))
			__builtin_trap();
		free(a);
		free(s);
		free(t);
	}
	check_change((const char *)data, size);
	n = r53_parse_sets((const char *)data, size, fqdn, sets, 8, &err);
	for (present = 0; n >= 0 && present < 2; present++) {
		batch = r53_change_batch(
		    fqdn, sets, n, "v\"al<ue>", present, 60, &noop);
		if (batch != NULL &&
		    (noop || strstr(batch, "<Changes>") == NULL))
			__builtin_trap();
		free(batch);
	}
	return 0;
}
