/* SPDX-License-Identifier: ISC */
/* AWS SigV4 header signing; see sigv4.h. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/sigv4.h"

#define MAX_SIGNED 64

static void
hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
sha256_hex(const void *data, size_t len, char out[65])
{
	uint8_t md[32];
	unsigned mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return -1;
	hex(md, 32, out);
	return 0;
}

static int
hmac(
    const void *key, size_t klen, const void *msg, size_t mlen, uint8_t out[32])
{
	size_t outlen = 0;

	return EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, klen, msg,
		   mlen, out, 32, &outlen) == NULL
	    ? -1
	    : 0;
}

char *
d01_sigv4_uri_encode(const char *s, size_t len, int keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";
	char *out = malloc(len * 3 + 1), *o = out;
	size_t i;

	if (out == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~' || (keep_slash && c == '/')) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = digits[c >> 4];
			*o++ = digits[c & 15];
		}
	}
	*o = '\0';
	return out;
}

/* Decode %XX in place (invalid escapes are kept as they are). */
static size_t
uri_decode(char *s)
{
	char *r = s, *w = s;

	for (; *r != '\0'; r++) {
		if (r[0] == '%' && isxdigit((unsigned char)r[1]) &&
		    isxdigit((unsigned char)r[2])) {
			char h[3] = {r[1], r[2], 0};
			*w++ = (char)strtol(h, NULL, 16);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* RFC 3986 5.2.4 dot-segment removal plus empty-segment collapse. */
static void
normalise_path(const char *path, struct evbuffer *out)
{
	char *copy = strdup(path), *seg, *save = NULL;
	const char *segs[256];
	size_t n = 0, i, len = strlen(path);
	int trailing = len > 0 && path[len - 1] == '/';

	if (copy == NULL)
		return;
	for (seg = strtok_r(copy, "/", &save); seg != NULL;
	     seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			if (n > 0)
				n--;
			continue;
		}
		if (n < sizeof(segs) / sizeof(segs[0]))
			segs[n++] = seg;
	}
	for (i = 0; i < n; i++)
		evbuffer_add_printf(out, "/%s", segs[i]);
	if (n == 0 || trailing)
		evbuffer_add(out, "/", 1);
	/* A path ending in a dot segment names a directory. */
	if (n > 0 && !trailing && len >= 2 &&
	    (strcmp(path + len - 2, "/.") == 0 ||
		(len >= 3 && strcmp(path + len - 3, "/..") == 0)))
		evbuffer_add(out, "/", 1);
	free(copy);
}

struct param {
	char *k, *v;
};

static int
param_cmp(const void *a, const void *b)
{
	const struct param *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	return c != 0 ? c : strcmp(x->v, y->v);
}

/* Decode, re-encode and sort "a=b&c=d". */
static int
canonical_query(const char *query, struct evbuffer *out)
{
	struct param p[MAX_SIGNED];
	char *copy = strdup(query ? query : ""), *tok, *save = NULL, *eq;
	size_t n = 0, i;
	int rc = -1;

	if (copy == NULL)
		return -1;
	for (tok = strtok_r(copy, "&", &save); tok != NULL;
	     tok = strtok_r(NULL, "&", &save)) {
		if (n == MAX_SIGNED)
			goto out;
		if ((eq = strchr(tok, '=')) != NULL)
			*eq++ = '\0';
		p[n].k = d01_sigv4_uri_encode(tok, uri_decode(tok), 0);
		p[n].v = eq ? d01_sigv4_uri_encode(eq, uri_decode(eq), 0)
			    : strdup("");
		if (p[n++].v == NULL || p[n - 1].k == NULL)
			goto out;
	}
	qsort(p, n, sizeof(p[0]), param_cmp);
	for (i = 0; i < n; i++)
		evbuffer_add_printf(
		    out, "%s%s=%s", i ? "&" : "", p[i].k, p[i].v);
	rc = 0;
out:
	for (i = 0; i < n; i++) {
		free(p[i].k);
		free(p[i].v);
	}
	free(copy);
	return rc;
}

struct hdr {
	char name[64];
	struct evbuffer *value; /* values of one name, joined by ',' */
};

static int
hdr_cmp(const void *a, const void *b)
{
	return strcmp(
	    ((const struct hdr *)a)->name, ((const struct hdr *)b)->name);
}

/* Trim, and collapse runs of whitespace (including folded lines). */
static void
add_trimmed(struct evbuffer *b, const char *v)
{
	int space = 0, any = 0;

	for (; *v != '\0'; v++) {
		if (isspace((unsigned char)*v)) {
			space = any;
			continue;
		}
		if (space)
			evbuffer_add(b, " ", 1);
		evbuffer_add(b, v, 1);
		space = 0;
		any = 1;
	}
}

/* Group, lower-case and sort the headers to sign; returns the count. */
static size_t
collect_headers(const struct d01_sigv4_header *in, size_t n, struct hdr *h)
{
	size_t nh = 0, i, j, k;

	for (i = 0; i < n && nh < MAX_SIGNED; i++) {
		char lower[64];

		for (k = 0; in[i].name[k] != '\0' && k < sizeof(lower) - 1; k++)
			lower[k] = (char)tolower((unsigned char)in[i].name[k]);
		lower[k] = '\0';
		for (j = 0; j < nh && strcmp(h[j].name, lower) != 0; j++)
			;
		if (j == nh) {
			memcpy(h[nh].name, lower, k + 1);
			if ((h[nh++].value = evbuffer_new()) == NULL)
				return nh - 1;
		} else {
			evbuffer_add(h[j].value, ",", 1);
		}
		add_trimmed(h[j].value, in[i].value);
	}
	qsort(h, nh, sizeof(h[0]), hdr_cmp);
	return nh;
}

static char *
take(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);

	if (s != NULL) {
		evbuffer_remove(b, s, n);
		s[n] = '\0';
	}
	return s;
}

/* The canonical request (task 1 of the SigV4 spec) into *out. */
static int
canonical_request(const struct d01_sigv4_input *in,
    const struct d01_sigv4_header *extra, size_t nextra, const char *phash,
    char **out, char **signed_names)
{
	struct d01_sigv4_header all[MAX_SIGNED];
	struct hdr h[MAX_SIGNED];
	struct evbuffer *b = evbuffer_new(), *sig = evbuffer_new(),
			*path = evbuffer_new();
	char *p = NULL, *enc = NULL;
	size_t n = 0, i, nh = 0;
	int rc = -1;

	if (b == NULL || sig == NULL || path == NULL ||
	    in->nheaders + nextra > MAX_SIGNED)
		goto out;
	memcpy(all, in->headers, in->nheaders * sizeof(all[0]));
	memcpy(all + in->nheaders, extra, nextra * sizeof(all[0]));
	n = in->nheaders + nextra;
	if (in->normalize)
		normalise_path(in->path, path);
	else
		evbuffer_add(path, in->path, strlen(in->path));
	if ((p = take(path)) == NULL ||
	    (enc = d01_sigv4_uri_encode(p, strlen(p), 1)) == NULL)
		goto out;
	evbuffer_add_printf(b, "%s\n%s\n", in->method, enc);
	if (canonical_query(in->query, b) != 0)
		goto out;
	evbuffer_add(b, "\n", 1);
	nh = collect_headers(all, n, h);
	for (i = 0; i < nh; i++) {
		evbuffer_add_printf(b, "%s:", h[i].name);
		evbuffer_add_buffer(b, h[i].value);
		evbuffer_add(b, "\n", 1);
		evbuffer_add_printf(sig, "%s%s", i ? ";" : "", h[i].name);
	}
	*signed_names = take(sig);
	evbuffer_add_printf(
	    b, "\n%s\n%s", *signed_names ? *signed_names : "", phash);
	*out = take(b);
	rc = *out != NULL && *signed_names != NULL ? 0 : -1;
out:
	for (i = 0; i < nh; i++)
		evbuffer_free(h[i].value);
	free(p);
	free(enc);
	if (b != NULL)
		evbuffer_free(b);
	if (sig != NULL)
		evbuffer_free(sig);
	if (path != NULL)
		evbuffer_free(path);
	return rc;
}

/* kSigning = HMAC chain over date, region, service, "aws4_request". */
static int
signing_key(const struct d01_sigv4_input *in, const char *date8, uint8_t k[32])
{
	char first[256];
	int n = snprintf(first, sizeof(first), "AWS4%s", in->secret_key);

	if (n < 0 || (size_t)n >= sizeof(first))
		return -1;
	return hmac(first, (size_t)n, date8, 8, k) ||
		hmac(k, 32, in->region, strlen(in->region), k) ||
		hmac(k, 32, in->service, strlen(in->service), k) ||
		hmac(k, 32, "aws4_request", 12, k)
	    ? -1
	    : 0;
}

enum d01_err
d01_sigv4_sign(const struct d01_sigv4_input *in, struct d01_sigv4_output *out,
    struct d01_error *err)
{
	struct d01_sigv4_header extra[3];
	char date8[9], scope[256], chash[65], sigx[65], *signed_names = NULL;
	uint8_t k[32], sig[32];
	size_t nextra = 0, alen;
	struct tm tm;

	memset(out, 0, sizeof(*out));
	gmtime_r(&in->when, &tm);
	strftime(out->amz_date, sizeof(out->amz_date), "%Y%m%dT%H%M%SZ", &tm);
	memcpy(date8, out->amz_date, 8);
	date8[8] = '\0';
	if (sha256_hex(in->payload ? (const void *)in->payload : "",
		in->payload_len, out->content_sha256) != 0)
		goto fail;
	extra[nextra++] =
	    (struct d01_sigv4_header){"X-Amz-Date", out->amz_date};
	if (in->session_token != NULL && !in->unsigned_token)
		extra[nextra++] = (struct d01_sigv4_header){
		    "X-Amz-Security-Token", in->session_token};
	if (in->sign_body)
		extra[nextra++] = (struct d01_sigv4_header){
		    "X-Amz-Content-Sha256", out->content_sha256};
	if (canonical_request(in, extra, nextra, out->content_sha256,
		&out->canonical_request, &signed_names) != 0 ||
	    sha256_hex(out->canonical_request, strlen(out->canonical_request),
		chash) != 0)
		goto fail;
	snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", date8,
	    in->region, in->service);
	alen = strlen(scope) + strlen(out->amz_date) + 64 + 32;
	if ((out->string_to_sign = malloc(alen)) == NULL)
		goto fail;
	snprintf(out->string_to_sign, alen, "AWS4-HMAC-SHA256\n%s\n%s\n%s",
	    out->amz_date, scope, chash);
	if (signing_key(in, date8, k) != 0 ||
	    hmac(k, 32, out->string_to_sign, strlen(out->string_to_sign),
		sig) != 0)
		goto fail;
	hex(sig, 32, sigx);
	alen =
	    strlen(in->access_key) + strlen(scope) + strlen(signed_names) + 160;
	if ((out->authorization = malloc(alen)) == NULL)
		goto fail;
	snprintf(out->authorization, alen,
	    "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
	    "Signature=%s",
	    in->access_key, scope, signed_names, sigx);
	OPENSSL_cleanse(k, sizeof(k));
	free(signed_names);
	return D01_OK;
fail:
	OPENSSL_cleanse(k, sizeof(k));
	free(signed_names);
	d01_sigv4_output_clear(out);
	return d01_error_set(err, D01_E_INTERNAL, "SigV4 signing failed");
}

void
d01_sigv4_output_clear(struct d01_sigv4_output *out)
{
	free(out->authorization);
	free(out->canonical_request);
	free(out->string_to_sign);
	memset(out, 0, sizeof(*out));
}
