/* SPDX-License-Identifier: ISC */
/*
 * d01_redact (redact.h). The message is decoded once into a canonical
 * form (percent and JSON escapes undone) that remembers where each byte
 * came from; the secret's forms are searched there and the original
 * bytes they came from are cut. Messages are short (an error message), so
 * plain searches are cheap enough: at most a few hundred thousand byte
 * compares for a 512-byte message and a 2 KiB session token.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/redact.h"

static const char mark_text[] = "[redacted]";

struct canon {
	size_t n;	    /* decoded bytes */
	unsigned char *raw; /* decoded, case kept (for base64) */
	unsigned char *low; /* decoded, lower case */
	size_t *from, *to;  /* original [from, to) of each */
};

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode one unit of s at i: its byte in *b, its width returned. */
static size_t
unit(const char *s, size_t i, unsigned char *b)
{
	int h, l, v, k;

	if (s[i] == '%' && (h = hexval((unsigned char)s[i + 1])) >= 0 &&
	    (l = hexval((unsigned char)s[i + 2])) >= 0) {
		*b = (unsigned char)(h * 16 + l);
		return 3;
	}
	if (s[i] == '\\' && s[i + 1] == 'u') {
		for (v = 0, k = 2; k < 6; k++) {
			if ((h = hexval((unsigned char)s[i + k])) < 0)
				break;
			v = v * 16 + h;
		}
		if (k == 6 && v < 0x100) {
			*b = (unsigned char)v;
			return 6;
		}
	}
	if (s[i] == '\\' && s[i + 1] != '\0' && strchr("\"\\/", s[i + 1])) {
		*b = (unsigned char)s[i + 1];
		return 2;
	}
	*b = (unsigned char)s[i];
	return 1;
}

/* The canonical form of msg; with decode 0, the bytes as they are (a
 * secret that itself holds '%' or '\\' must be found verbatim too). */
static int
canon_make(struct canon *c, const char *msg, size_t len, int decode)
{
	size_t i, w;
	unsigned char b;

	c->n = 0;
	c->raw = malloc(len + 1);
	c->low = malloc(len + 1);
	c->from = malloc((len + 1) * sizeof(size_t));
	c->to = malloc((len + 1) * sizeof(size_t));
	if (!c->raw || !c->low || !c->from || !c->to)
		return -1;
	for (i = 0; i < len; i += w) {
		if (decode) {
			w = unit(msg, i, &b);
		} else {
			w = 1;
			b = (unsigned char)msg[i];
		}
		c->raw[c->n] = b;
		c->low[c->n] = (unsigned char)tolower(b);
		c->from[c->n] = i;
		c->to[c->n] = i + w;
		c->n++;
	}
	return 0;
}

static void
canon_free(struct canon *c)
{
	if (c->raw != NULL)
		OPENSSL_cleanse(c->raw, c->n);
	if (c->low != NULL)
		OPENSSL_cleanse(c->low, c->n);
	free(c->raw);
	free(c->low);
	free(c->from);
	free(c->to);
}

/* Mark the original bytes of canonical [i, i + n). */
static void
mark_range(const struct canon *c, size_t i, size_t n, unsigned char *mark)
{
	size_t j;

	for (j = c->from[i]; j < c->to[i + n - 1]; j++)
		mark[j] = 1;
}

/* Mark every occurrence of pat[0..plen) in hay (canonical). */
static void
mark_all(const struct canon *c, const unsigned char *hay,
    const unsigned char *pat, size_t plen, unsigned char *mark)
{
	size_t i;

	for (i = 0; plen > 0 && i + plen <= c->n; i++)
		if (memcmp(hay + i, pat, plen) == 0)
			mark_range(c, i, plen, mark);
}

/* The base64 of secret at each of the three byte alignments, minus the
 * characters that mix in neighbouring bytes; standard and URL-safe. */
static void
mark_b64(
    const struct canon *c, const char *secret, size_t slen, unsigned char *mark)
{
	unsigned char *in = malloc(slen + 2),
		      *out = malloc(4 * (slen / 3 + 2) + 1);
	size_t k, first, last, i;
	int olen;

	if (in == NULL || out == NULL)
		goto out;
	for (k = 0; k < 3; k++) {
		memset(in, 0, k);
		memcpy(in + k, secret, slen);
		olen = EVP_EncodeBlock(out, in, (int)(slen + k));
		first = (8 * k + 5) / 6;
		last = 8 * (k + slen) / 6;
		if (olen <= 0 || last > (size_t)olen || last <= first)
			continue;
		mark_all(c, c->raw, out + first, last - first, mark);
		for (i = first; i < last; i++)
			out[i] = out[i] == '+' ? '-'
			    : out[i] == '/'    ? '_'
					       : out[i];
		mark_all(c, c->raw, out + first, last - first, mark);
	}
out:
	if (in != NULL)
		OPENSSL_cleanse(in, slen + 2);
	if (out != NULL)
		OPENSSL_cleanse(out, 4 * (slen / 3 + 2) + 1);
	free(in);
	free(out);
}

/* Runs of D01_REDACT_PIECE bytes of the secret (lower case). */
static void
mark_pieces(const struct canon *c, const unsigned char *low, size_t slen,
    unsigned char *mark)
{
	size_t i, j;

	for (i = 0; i + D01_REDACT_PIECE <= c->n; i++)
		for (j = 0; j + D01_REDACT_PIECE <= slen; j++)
			if (low[j] == c->low[i] &&
			    memcmp(low + j, c->low + i, D01_REDACT_PIECE) ==
				0) {
				mark_range(c, i, D01_REDACT_PIECE, mark);
				break;
			}
}

/* Rewrite msg with each marked run replaced by the mark text. */
static void
rewrite(char *msg, size_t cap, size_t len, const unsigned char *mark)
{
	char *out = malloc(cap);
	size_t i, o = 0, m = sizeof(mark_text) - 1;

	if (out == NULL) {
		snprintf(msg, cap, "%s", mark_text);
		return;
	}
	for (i = 0; i < len && o + 1 < cap;) {
		if (!mark[i]) {
			out[o++] = msg[i++];
			continue;
		}
		while (i < len && mark[i])
			i++;
		if (o + m + 1 > cap)
			break;
		memcpy(out + o, mark_text, m);
		o += m;
	}
	out[o] = '\0';
	OPENSSL_cleanse(msg, len);
	memcpy(msg, out, o + 1);
	OPENSSL_cleanse(out, cap);
	free(out);
}

/* Mark every form of the secret found in one canonical form of msg. */
static int
mark_forms(const char *msg, size_t len, int decode, const char *secret,
    const unsigned char *low, size_t slen, unsigned char *mark)
{
	struct canon c = {0};
	int rc = -1;

	if (canon_make(&c, msg, len, decode) != 0)
		goto out;
	mark_all(&c, c.low, low, slen, mark);
	if (slen >= D01_REDACT_B64_MIN)
		mark_b64(&c, secret, slen, mark);
	if (slen >= D01_REDACT_SPLIT_MIN)
		mark_pieces(&c, low, slen, mark);
	rc = 0;
out:
	canon_free(&c);
	return rc;
}

void
d01_redact(char *msg, size_t cap, const char *secret)
{
	size_t len, slen = secret != NULL ? strlen(secret) : 0, i;
	unsigned char *mark = NULL, *low = NULL;
	int any = 0;

	if (msg == NULL || cap == 0 || slen < D01_REDACT_MIN)
		return;
	len = strnlen(msg, cap - 1);
	msg[len] = '\0';
	mark = calloc(len + 1, 1);
	low = malloc(slen);
	if (mark != NULL && low != NULL)
		for (i = 0; i < slen; i++)
			low[i] =
			    (unsigned char)tolower((unsigned char)secret[i]);
	if (mark == NULL || low == NULL ||
	    mark_forms(msg, len, 1, secret, low, slen, mark) != 0 ||
	    mark_forms(msg, len, 0, secret, low, slen, mark) != 0) {
		/* Cannot look: say nothing rather than risk the secret. */
		snprintf(msg, cap, "%s", mark_text);
		goto out;
	}
	for (i = 0; i < len; i++)
		any |= mark[i];
	if (any)
		rewrite(msg, cap, len, mark);
out:
	if (low != NULL)
		OPENSSL_cleanse(low, slen);
	free(low);
	free(mark);
}
