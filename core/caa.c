/* SPDX-License-Identifier: ISC */
/* CAA RDATA and issue-value parsing (caa.h). Pure, bounded. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/caa.h"

int
d01_caa_prop_parse(const uint8_t *rd, size_t len, struct d01_caa_prop *p)
{
	size_t taglen, i;

	memset(p, 0, sizeof(*p));
	if (len < 2)
		return -1;
	p->flags = rd[0];
	taglen = rd[1];
	if (taglen == 0 || taglen > D01_CAA_TAG_MAX || 2 + taglen > len)
		return -1;
	for (i = 0; i < taglen; i++) {
		if (!isalnum(rd[2 + i]) || rd[2 + i] > 0x7f)
			return -1;
		p->tag[i] = (char)tolower(rd[2 + i]);
	}
	p->value_len = len - 2 - taglen;
	if (p->value_len > D01_CAA_VALUE_MAX)
		return -1;
	memcpy(p->value, rd + 2 + taglen, p->value_len);
	p->value[p->value_len] = '\0';
	return 0;
}

void
d01_caa_prop_text(
    const struct d01_caa_prop *p, const char *owner, char *out, size_t len)
{
	size_t o, i;
	int n;
	unsigned char c;

	if (len == 0)
		return;
	n = snprintf(out, len, "%s CAA %u %s \"", owner, p->flags, p->tag);
	if (n < 0 || (size_t)n >= len)
		return;
	o = (size_t)n;
	for (i = 0; i < p->value_len && o + 5 < len; i++) {
		c = (unsigned char)p->value[i];
		if (c == '"' || c == '\\')
			o += (size_t)snprintf(out + o, len - o, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			o += (size_t)snprintf(out + o, len - o, "\\%03u", c);
		else
			out[o++] = (char)c;
	}
	if (o + 1 < len)
		out[o++] = '"';
	out[o < len ? o : len - 1] = '\0';
}

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* label / tag = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT)): advance *p
 * past it; -1 when there is none. */
static int
take_label(char **p)
{
	char *s = *p;

	if (!isalnum((unsigned char)*s))
		return -1;
	while (isalnum((unsigned char)*s) || *s == '-')
		s++;
	if (s[-1] == '-')
		return -1;
	*p = s;
	return 0;
}

static void
skip_wsp(char **p)
{
	while (is_wsp(**p))
		(*p)++;
}

int
d01_caa_issue_parse(const char *value, size_t len, struct d01_caa_issue *v)
{
	/* Token ends are recorded and cut only once the scan is over: the
	 * byte after a token (WSP, ';', '=') is still read meanwhile. */
	char *ends[1 + 2 * D01_CAA_PARAMS_MAX], *p, *c;
	size_t nends = 0, i;

	memset(v, 0, sizeof(*v));
	if (len > D01_CAA_VALUE_MAX || memchr(value, '\0', len) != NULL)
		return -1;
	memcpy(v->buf, value, len);
	v->buf[len] = '\0';
	p = v->buf;
	v->domain = "";
	skip_wsp(&p);
	if (isalnum((unsigned char)*p)) {
		v->domain = p;
		while (take_label(&p) == 0 && *p == '.')
			p++;
		if (p == v->domain || p[-1] == '.' || p[-1] == '-')
			return -1;
		ends[nends++] = p;
		skip_wsp(&p);
	}
	if (*p == '\0')
		goto done;
	if (*p++ != ';')
		return -1;
	/* *WSP [parameters *WSP], parameters separated by ';' */
	for (;;) {
		skip_wsp(&p);
		if (*p == '\0')
			break; /* also a trailing ';' (lenient) */
		if (v->nparams == D01_CAA_PARAMS_MAX)
			return -1;
		v->params[v->nparams].tag = p;
		if (take_label(&p) != 0)
			return -1;
		ends[nends++] = p;
		skip_wsp(&p);
		if (*p++ != '=')
			return -1;
		skip_wsp(&p);
		v->params[v->nparams].value = p;
		while ((unsigned char)*p >= 0x21 && (unsigned char)*p <= 0x7e &&
		    *p != ';')
			p++;
		ends[nends++] = p;
		v->nparams++;
		skip_wsp(&p);
		if (*p == '\0')
			break;
		if (*p++ != ';')
			return -1;
	}
done:
	for (i = 0; i < nends; i++)
		*ends[i] = '\0';
	for (c = (char *)v->domain; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return 0;
}

const char *
d01_caa_issue_param(const struct d01_caa_issue *v, const char *tag)
{
	size_t i;

	for (i = 0; i < v->nparams; i++)
		if (strcasecmp(v->params[i].tag, tag) == 0)
			return v->params[i].value;
	return NULL;
}
