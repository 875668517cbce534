/* SPDX-License-Identifier: ISC */
/* The NOTIFY payload (payload.h): pure text, no I/O. */
#include <stdio.h>
#include <string.h>

#include "store/payload.h"

int
d01_dbp_nfields(char op)
{
	switch (op) {
	case 'V':
		return 3;
	case 'R':
		return 2;
	case 'A':
		return 4;
	default:
		return -1;
	}
}

size_t
d01_dbp_encode(char *out, size_t n, char op, const char *const *fields)
{
	int nf = d01_dbp_nfields(op), i, w;
	size_t len = 1, fl;

	if (nf < 0 || n < 2)
		return 0;
	out[0] = op;
	for (i = 0; i < nf; i++) {
		fl = strlen(fields[i]);
		w = snprintf(out + len, n - len, "%zu:", fl);
		if (w < 0 || (size_t)w >= n - len || fl >= n - len - (size_t)w)
			return 0;
		len += (size_t)w;
		memcpy(out + len, fields[i], fl);
		len += fl;
	}
	out[len] = '\0';
	return len <= D01_DBP_MAX ? len : 0;
}

/* Digits at *s (no leading zero unless "0"), at most 19: the value,
 * *s past them; -1 when none or too many. */
static int64_t
digits(const char **s)
{
	const char *p = *s;
	int64_t v = 0;
	int n = 0;

	while (*p >= '0' && *p <= '9') {
		if (++n > 18)
			return -1;
		v = v * 10 + (*p - '0');
		p++;
	}
	if (n == 0 || (n > 1 && **s == '0'))
		return -1;
	*s = p;
	return v;
}

int
d01_dbp_decode(const char *in, struct d01_dbp *p)
{
	size_t total = strlen(in), used = 0;
	const char *s = in + 1, *end = in + total;
	int64_t fl;
	int i;

	if (total < 1 || total > D01_DBP_MAX ||
	    (p->nf = d01_dbp_nfields(in[0])) < 0)
		return -1;
	p->op = in[0];
	p->created_ms = -1;
	p->job = -1;
	for (i = 0; i < p->nf; i++) {
		if ((fl = digits(&s)) < 0 || *s != ':')
			return -1;
		s++;
		if (fl > end - s)
			return -1;
		memcpy(p->buf + used, s, (size_t)fl);
		p->buf[used + (size_t)fl] = '\0';
		p->f[i] = p->buf + used;
		used += (size_t)fl + 1;
		s += fl;
	}
	if (*s == '@') {
		s++;
		if ((p->created_ms = digits(&s)) < 0)
			return -1;
	}
	if (*s == '#') {
		s++;
		if ((p->job = digits(&s)) < 0)
			return -1;
	}
	return *s == '\0' ? 0 : -1;
}
