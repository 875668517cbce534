/* SPDX-License-Identifier: ISC */
/* ACME problem documents: parse, classify, format. */
#include <stdio.h>
#include <string.h>

#include "issuer/problem.h"

/* Copy a CA-supplied string, replacing control bytes with '?'. */
static void
copy_clean(char *dst, size_t n, const char *src)
{
	size_t i;

	if (src == NULL) {
		dst[0] = '\0';
		return;
	}
	for (i = 0; i + 1 < n && src[i] != '\0'; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f
		    ? '?'
		    : src[i];
	dst[i] = '\0';
}

static void
parse_sub(const json_t *subs, struct d01_acme_problem *p)
{
	const json_t *s, *id;
	char v[64], d[190];

	if (!json_is_array(subs) || json_array_size(subs) == 0)
		return;
	p->nsub = (int)json_array_size(subs);
	s = json_array_get(subs, 0);
	id = json_object_get(s, "identifier");
	copy_clean(
	    v, sizeof(v), json_string_value(json_object_get(id, "value")));
	copy_clean(
	    d, sizeof(d), json_string_value(json_object_get(s, "detail")));
	snprintf(p->sub, sizeof(p->sub), "%s: %s", v[0] ? v : "?", d);
}

int
d01_acme_problem_from_json(const json_t *o, struct d01_acme_problem *p)
{
	const json_t *st;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(o) || !json_is_string(json_object_get(o, "type")))
		return -1;
	copy_clean(p->type, sizeof(p->type),
	    json_string_value(json_object_get(o, "type")));
	copy_clean(p->detail, sizeof(p->detail),
	    json_string_value(json_object_get(o, "detail")));
	st = json_object_get(o, "status");
	if (json_is_integer(st) && json_integer_value(st) > 0 &&
	    json_integer_value(st) < 1000)
		p->status = (long)json_integer_value(st);
	parse_sub(json_object_get(o, "subproblems"), p);
	return 0;
}

int
d01_acme_problem_parse(const char *body, size_t len, struct d01_acme_problem *p)
{
	json_t *o;
	int rc;

	memset(p, 0, sizeof(*p));
	if (body == NULL || (o = json_loadb(body, len, 0, NULL)) == NULL)
		return -1;
	rc = d01_acme_problem_from_json(o, p);
	json_decref(o);
	return rc;
}

const char *
d01_acme_problem_name(const struct d01_acme_problem *p)
{
	size_t n = strlen(D01_ACME_ERR_NS);

	if (strncmp(p->type, D01_ACME_ERR_NS, n) == 0)
		return p->type + n;
	return p->type;
}

int
d01_acme_problem_is(const struct d01_acme_problem *p, const char *name)
{
	size_t n = strlen(D01_ACME_ERR_NS);

	return strncmp(p->type, D01_ACME_ERR_NS, n) == 0 &&
	    strcmp(p->type + n, name) == 0;
}

static const struct {
	const char *name;
	enum d01_err code;
	int retryable;
} problem_codes[] = {
    {"badNonce", D01_E_PROTOCOL, 1},
    {"rateLimited", D01_E_RATELIMIT, 1},
    {"serverInternal", D01_E_UPSTREAM, 1},
    {"accountDoesNotExist", D01_E_NOTFOUND, 0},
    {"unauthorized", D01_E_FORBIDDEN, 0},
    {"rejectedIdentifier", D01_E_FORBIDDEN, 0},
    {"caa", D01_E_FORBIDDEN, 0},
    {"externalAccountRequired", D01_E_AUTH, 0},
    {"userActionRequired", D01_E_FORBIDDEN, 0},
    {"orderNotReady", D01_E_CONFLICT, 0},
    {"alreadyReplaced", D01_E_CONFLICT, 0},
    {"malformed", D01_E_INVAL, 0},
    {"badCSR", D01_E_INVAL, 0},
    {"badPublicKey", D01_E_INVAL, 0},
    {"badSignatureAlgorithm", D01_E_INVAL, 0},
    {"unsupportedIdentifier", D01_E_INVAL, 0},
    {"invalidContact", D01_E_INVAL, 0},
    {"unsupportedContact", D01_E_INVAL, 0},
};

char *
d01_acme_problem_format(const struct d01_acme_problem *p, char *buf, size_t n)
{
	const char *name = d01_acme_problem_name(p);

	snprintf(buf, n, "%s%s%s%s%s", name[0] ? name : "problem",
	    p->detail[0] ? ": " : "", p->detail, p->nsub > 0 ? "; " : "",
	    p->nsub > 0 ? p->sub : "");
	return buf;
}

void
d01_acme_problem_to_error(
    const struct d01_acme_problem *p, long http_status, struct d01_error *err)
{
	char line[D01_ERROR_MSG_MAX];
	enum d01_err code = D01_E_UPSTREAM;
	int retryable = http_status >= 500;
	size_t i;

	for (i = 0; i < sizeof(problem_codes) / sizeof(problem_codes[0]); i++) {
		if (d01_acme_problem_is(p, problem_codes[i].name)) {
			code = problem_codes[i].code;
			retryable = problem_codes[i].retryable;
			break;
		}
	}
	d01_error_set(
	    err, code, "%s", d01_acme_problem_format(p, line, sizeof(line)));
	if (err != NULL) {
		err->retryable = retryable;
		err->status = http_status ? http_status : p->status;
	}
}
