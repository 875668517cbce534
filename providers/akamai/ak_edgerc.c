/* SPDX-License-Identifier: ISC */
/*
 * The .edgerc file Akamai's tools keep credentials in: an INI file with
 * one section per API client ("[default]" unless told otherwise) and
 * "key = value" lines (host, client_token, client_secret, access_token,
 * and others we ignore, such as max-body). Errors name a line number and
 * never quote the line: it may hold a secret.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "providers/akamai/ak_int.h"

#define LINE_MAX_LEN 4096

static const char *const keys[] = {
    "client_token", "client_secret", "access_token"}; /* enum ak_cred */

static void
wipe_free(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void
ak_edgerc_free(struct ak_edgerc *e)
{
	int i;

	wipe_free(e->host);
	for (i = 0; i < AK_NCREDS; i++)
		wipe_free(e->cred[i]);
	memset(e, 0, sizeof(*e));
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Trim [*s, *e) of white space on both sides. */
static void
trim(const char **s, const char **e)
{
	while (*s < *e && is_space(**s))
		(*s)++;
	while (*e > *s && is_space((*e)[-1]))
		(*e)--;
}

/* Set *slot to a copy of [v, ve) (quotes dropped); -1 out of memory, -2
 * duplicate key, -3 a control character. */
static int
take(char **slot, const char *v, const char *ve)
{
	const char *p;

	if (*slot != NULL)
		return -2;
	if (ve - v >= 2 && (*v == '"' || *v == '\'') && ve[-1] == *v) {
		v++;
		ve--;
	}
	for (p = v; p < ve; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -3;
	if ((*slot = strndup(v, (size_t)(ve - v))) == NULL)
		return -1;
	return 0;
}

enum d01_err
ak_edgerc_parse(const char *text, size_t len, const char *section,
    struct ak_edgerc *out, struct d01_error *err)
{
	const char *p = text, *end = text + len, *nl, *s, *e, *k, *ke, *d;
	size_t lineno = 0, i;
	int in = 0, seen = 0, rc;
	char **slot;

	memset(out, 0, sizeof(*out));
	if (len > AK_EDGERC_MAX || memchr(text, '\0', len) != NULL)
		return d01_error_set(err, D01_E_CONFIG,
		    ".edgerc: larger than %d bytes or not text", AK_EDGERC_MAX);
	for (; p < end; p = nl + 1) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		s = p;
		e = nl;
		if (e > s && e[-1] == '\r')
			e--;
		if (e - s > LINE_MAX_LEN) {
			d01_error_set(err, D01_E_CONFIG,
			    ".edgerc line %zu: longer than %d bytes", lineno,
			    LINE_MAX_LEN);
			goto fail;
		}
		trim(&s, &e);
		if (s == e || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			if (e[-1] != ']' || e - s < 3) {
				d01_error_set(err, D01_E_CONFIG,
				    ".edgerc line %zu: a section header is "
				    "\"[name]\"",
				    lineno);
				goto fail;
			}
			k = s + 1;
			ke = e - 1;
			trim(&k, &ke);
			in = (size_t)(ke - k) == strlen(section) &&
			    strncmp(k, section, (size_t)(ke - k)) == 0;
			if (in && seen++) {
				d01_error_set(err, D01_E_CONFIG,
				    ".edgerc line %zu: section [%s] again",
				    lineno, section);
				goto fail;
			}
			continue;
		}
		/* key = value, or key: value; the first delimiter counts
		 * (a client secret may end in '='). */
		for (d = s; d < e && *d != '=' && *d != ':'; d++)
			;
		if (d == e || d == s) {
			d01_error_set(err, D01_E_CONFIG,
			    ".edgerc line %zu: not \"key = value\"", lineno);
			goto fail;
		}
		if (!in)
			continue;
		k = s;
		ke = d;
		trim(&k, &ke);
		s = d + 1;
		trim(&s, &e);
		slot = NULL;
		if ((size_t)(ke - k) == 4 && strncasecmp(k, "host", 4) == 0)
			slot = &out->host;
		for (i = 0; slot == NULL && i < AK_NCREDS; i++)
			if ((size_t)(ke - k) == strlen(keys[i]) &&
			    strncasecmp(k, keys[i], (size_t)(ke - k)) == 0)
				slot = &out->cred[i];
		if (slot == NULL)
			continue;
		if ((rc = take(slot, s, e)) == -1) {
			d01_error_set(err, D01_E_NOMEM, "out of memory");
			goto fail;
		}
		if (rc != 0) {
			d01_error_set(err, D01_E_CONFIG, ".edgerc line %zu: %s",
			    lineno,
			    rc == -2 ? "key set twice in the section"
				     : "control character in a value");
			goto fail;
		}
	}
	if (!seen) {
		d01_error_set(
		    err, D01_E_CONFIG, ".edgerc: no section [%.64s]", section);
		goto fail;
	}
	return D01_OK;
fail:
	ak_edgerc_free(out);
	return err->code;
}
