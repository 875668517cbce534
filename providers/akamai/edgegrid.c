/* SPDX-License-Identifier: ISC */
/*
 * EdgeGrid EG1-HMAC-SHA256 signing (edgegrid.h). The data to sign is
 * built in one heap buffer sized from its parts, so no request is ever
 * signed truncated; it holds no secret (the signing key is the HMAC key,
 * not part of the data) but is wiped anyway since it is cheap.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "providers/akamai/edgegrid.h"

#define AUTH_SCHEME "EG1-HMAC-SHA256"

/* base64 of a 32-byte digest into out (44 characters and a NUL). */
static void
b64_32(const unsigned char md[32], char out[EG_B64_LEN])
{
	EVP_EncodeBlock((unsigned char *)out, md, 32);
}

static int
hmac_b64(const void *key, size_t klen, const void *msg, size_t mlen,
    char out[EG_B64_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, klen, msg, mlen,
		md, sizeof(md), &mdlen) == NULL ||
	    mdlen != 32)
		return -1;
	b64_32(md, out);
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

int
eg_signing_key(
    const char *client_secret, const char *timestamp, char out[EG_B64_LEN])
{
	return hmac_b64(client_secret, strlen(client_secret), timestamp,
	    strlen(timestamp), out);
}

int
eg_content_hash(const char *method, const void *body, size_t len,
    size_t max_body, char out[EG_B64_LEN])
{
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);

	out[0] = '\0';
	/* Only POST bodies are hashed: PUT and PATCH are signed without
	 * their body, as the scheme defines it. */
	if (strcmp(method, "POST") != 0 || body == NULL || len == 0)
		return 0;
	if (max_body == 0)
		max_body = EG_MAX_BODY_DEFAULT;
	if (len > max_body)
		len = max_body;
	if (EVP_Digest(body, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		return -1;
	b64_32(md, out);
	return 0;
}

void
eg_timestamp(time_t t, char out[EG_TIMESTAMP_LEN])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, EG_TIMESTAMP_LEN, "%Y%m%dT%H:%M:%S+0000", &tm) == 0)
		out[0] = '\0';
}

int
eg_nonce(char out[37])
{
	unsigned char r[16];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* version 4 */
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
	    r[11], r[12], r[13], r[14], r[15]);
	return 0;
}

/* A field of the auth header: non-empty, no white space, ';' or control
 * bytes (they would split or extend the header). */
static int
auth_field_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == ';')
			return 0;
	return 1;
}

/* No control bytes at all (line breaks included). */
static int
plain(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* The value of header `name` in `headers` ("Name: value" lines), or
 * NULL. Only the single space after the colon is the separator: what
 * follows it is the value as given. */
static const char *
header_value(const char *const *headers, const char *name)
{
	size_t n = strlen(name);

	for (; headers != NULL && *headers != NULL; headers++)
		if (strncasecmp(*headers, name, n) == 0 && (*headers)[n] == ':')
			return (*headers)[n + 1] == ' ' ? *headers + n + 2
							: *headers + n + 1;
	return NULL;
}

/*
 * Append the canonical headers to buf (cap bytes, *len used). Returns 0,
 * -1 for a value that cannot be signed, -2 when out of room.
 */
static int
canon_headers(const struct eg_request *req, char *buf, size_t cap, size_t *len)
{
	const char *const *h;
	const char *v;
	size_t o = *len, i;
	int first = 1, space;

	for (h = req->sign_headers; h != NULL && *h != NULL; h++) {
		if ((v = header_value(req->headers, *h)) == NULL)
			continue;
		/* Leading white space and line breaks are refused rather
		 * than signed: the server would read the header otherwise
		 * than we signed it. */
		if (*v == ' ' || *v == '\t' || !plain(v) || !plain(*h))
			return -1;
		if (o + strlen(*h) + strlen(v) + 3 > cap)
			return -2;
		if (!first)
			buf[o++] = '\t';
		first = 0;
		for (i = 0; (*h)[i] != '\0'; i++)
			buf[o++] = (char)((*h)[i] >= 'A' && (*h)[i] <= 'Z'
				? (*h)[i] - 'A' + 'a'
				: (*h)[i]);
		buf[o++] = ':';
		for (space = 0; *v != '\0'; v++) {
			if (*v == ' ' || *v == '\t') {
				space = 1;
				continue;
			}
			if (space)
				buf[o++] = ' ';
			space = 0;
			buf[o++] = *v;
		}
	}
	*len = o;
	return 0;
}

enum d01_err
eg_sign(const struct eg_creds *c, const struct eg_request *req,
    const char *timestamp, const char *nonce, char *out, size_t n,
    struct d01_error *err)
{
	char key[EG_B64_LEN], hash[EG_B64_LEN], sig[EG_B64_LEN];
	char *data = NULL;
	size_t cap = 0, len = 0, i;
	int alen, w, rc;
	enum d01_err ret = D01_E_INVAL;

	key[0] = '\0';
	if (c == NULL || !auth_field_ok(c->client_token) ||
	    !auth_field_ok(c->access_token) || c->client_secret == NULL ||
	    *c->client_secret == '\0' || !plain(c->client_secret) ||
	    !auth_field_ok(timestamp) || !auth_field_ok(nonce) ||
	    !auth_field_ok(req->method) || !auth_field_ok(req->scheme) ||
	    !auth_field_ok(req->host) || req->path == NULL ||
	    req->path[0] != '/' || !plain(req->path) ||
	    strchr(req->path, ' ') != NULL) {
		d01_error_set(err, D01_E_INVAL,
		    "EdgeGrid: a credential or part of the request cannot be "
		    "signed (empty, white space, ';' or control characters)");
		goto out;
	}
	alen = snprintf(out, n,
	    AUTH_SCHEME " client_token=%s;access_token=%s;timestamp=%s;"
			"nonce=%s;",
	    c->client_token, c->access_token, timestamp, nonce);
	if (alen < 0 || (size_t)alen + sizeof("signature=") + EG_B64_LEN > n) {
		ret = D01_E_LIMIT;
		d01_error_set(err, ret, "EdgeGrid: header buffer too small");
		goto out;
	}
	if (eg_content_hash(req->method, req->body, req->body_len,
		req->max_body, hash) != 0)
		goto crypto;
	/* Room for every part; the headers are bounded by their own sum. */
	cap = strlen(req->method) + strlen(req->scheme) + strlen(req->host) +
	    strlen(req->path) + EG_B64_LEN + (size_t)alen + 16;
	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
		cap += strlen(req->headers[i]) + 2;
	if ((data = malloc(cap)) == NULL) {
		ret = D01_E_NOMEM;
		d01_error_set(err, ret, "out of memory");
		goto out;
	}
	w = snprintf(data, cap, "%s\t%s\t%s\t%s\t", req->method, req->scheme,
	    req->host, req->path);
	len = (size_t)w;
	if ((rc = canon_headers(req, data, cap, &len)) != 0) {
		d01_error_set(err, rc == -1 ? D01_E_INVAL : D01_E_INTERNAL,
		    rc == -1 ? "EdgeGrid: a header to sign has leading white "
			       "space or a control character"
			     : "EdgeGrid: no room for the headers to sign");
		ret = err->code;
		goto out;
	}
	w = snprintf(data + len, cap - len, "\t%s\t%s", hash, out);
	if (w < 0 || (size_t)w >= cap - len) {
		ret = D01_E_INTERNAL;
		d01_error_set(err, ret, "EdgeGrid: data to sign too long");
		goto out;
	}
	len += (size_t)w;
	if (eg_signing_key(c->client_secret, timestamp, key) != 0 ||
	    hmac_b64(key, strlen(key), data, len, sig) != 0)
		goto crypto;
	snprintf(out + alen, n - (size_t)alen, "signature=%s", sig);
	ret = D01_OK;
	goto out;
crypto:
	ret = D01_E_INTERNAL;
	d01_error_set(err, ret, "EdgeGrid: HMAC-SHA256 failed");
out:
	if (ret != D01_OK && n > 0)
		out[0] = '\0';
	OPENSSL_cleanse(key, sizeof(key));
	if (data != NULL) {
		OPENSSL_cleanse(data, cap);
		free(data);
	}
	return ret;
}
