/* SPDX-License-Identifier: ISC */
/* Server-side TSIG; see dnsd_tsig.h. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/b64.h"
#include "core/dname.h"
#include "providers/embedded/dnsd_tsig.h"
#include "providers/embedded/tsigkeys.h"

#define HDR	  12
#define T_TSIG	  250
#define CLASS_ANY 255

static unsigned
u16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put48(uint8_t *p, uint64_t v)
{
	for (int i = 5; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/*
 * The name at *pos into out (canonical: uncompressed, lower-case; *outlen
 * bytes with the root label) and *pos past it in place. -1 when
 * malformed, too long or looping.
 */
static int
read_name(
    const uint8_t *w, size_t len, size_t *pos, uint8_t *out, size_t *outlen)
{
	size_t p = *pos, n = 0, i, end = 0;
	unsigned hops = 0;
	uint8_t l;

	for (;;) {
		if (p >= len)
			return -1;
		l = w[p];
		if ((l & 0xc0) == 0xc0) {
			if (p + 2 > len || ++hops > 64)
				return -1;
			if (end == 0)
				end = p + 2;
			p = (size_t)(l & 0x3f) << 8 | w[p + 1];
			continue;
		}
		if (l & 0xc0)
			return -1;
		if (p + 1 + l > len || n + 1 + l > 255)
			return -1;
		out[n++] = l;
		for (i = 0; i < l; i++) {
			uint8_t c = w[p + 1 + i];

			out[n++] = c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
		}
		p += 1 + (size_t)l;
		if (l == 0)
			break;
	}
	*pos = end != 0 ? end : p;
	*outlen = n;
	return 0;
}

/* Skip one RR's owner and fixed fields and rdata; its type in *type. */
static int
skip_rr(const uint8_t *w, size_t len, size_t *pos, unsigned *type)
{
	uint8_t name[256];
	size_t n;

	if (read_name(w, len, pos, name, &n) != 0 || *pos + 10 > len)
		return -1;
	*type = u16(w + *pos);
	n = u16(w + *pos + 8);
	if (*pos + 10 + n > len)
		return -1;
	*pos += 10 + n;
	return 0;
}

int
d01_tsig_find(const uint8_t *msg, size_t len, size_t *off)
{
	uint8_t name[256];
	size_t pos = HDR, n, i, start;
	unsigned total, type;

	if (len < HDR)
		return -1;
	for (i = u16(msg + 4); i > 0; i--)
		if (read_name(msg, len, &pos, name, &n) != 0 ||
		    (pos += 4) > len)
			return -1;
	total = u16(msg + 6) + u16(msg + 8) + u16(msg + 10);
	for (i = 0; i < total; i++) {
		start = pos;
		if (skip_rr(msg, len, &pos, &type) != 0)
			return -1;
		if (type != T_TSIG)
			continue;
		/* RFC 8945 §5.1: once, and last in the additional section. */
		if (i + 1 != total || u16(msg + 10) == 0 || pos != len)
			return -1;
		*off = start;
		return 1;
	}
	return 0;
}

static const char *
digest_of(const char *alg)
{
	if (strcmp(alg, "hmac-md5.sig-alg.reg.int.") == 0)
		return "MD5";
	if (strcmp(alg, "hmac-sha1.") == 0)
		return "SHA1";
	if (strcmp(alg, "hmac-sha256.") == 0)
		return "SHA256";
	if (strcmp(alg, "hmac-sha512.") == 0)
		return "SHA512";
	return NULL;
}

/* Canonical wire form of a presentation name ("a.b." -> 1a1b0). */
static size_t
wire_name(const char *s, uint8_t *out)
{
	size_t n = 0, l;
	const char *dot;

	while (*s != '\0' && (dot = strchr(s, '.')) != NULL) {
		l = (size_t)(dot - s);
		if (l == 0 || l > 63 || n + 1 + l > 254)
			return 0;
		out[n++] = (uint8_t)l;
		memcpy(out + n, s, l);
		n += l;
		s = dot + 1;
	}
	out[n++] = 0;
	return n;
}

/* The TSIG variables (RFC 8945 §4.3.3) after the key name. */
struct vars {
	const struct d01_tsig_req *req;
	uint64_t time;
	unsigned fudge, error;
	const uint8_t *other;
	size_t otherlen;
	/* RFC 8945 §5.3.1: a message after the first of a multi-message
	 * reply covers the prior MAC, itself and the timers only. */
	int timers_only;
};

/*
 * HMAC over [prior MAC (2-byte length + MAC)] + msg + variables into mac
 * (*maclen). -1 on failure.
 */
static int
compute(const struct d01_tsig_key *k, const uint8_t *prior, size_t priorlen,
    const uint8_t *msg, size_t msglen, const struct vars *v, uint8_t *mac,
    size_t *maclen)
{
	const char *digest = digest_of(k->algorithm);
	uint8_t fixed[2 + 4], tail[6 + 2 + 2 + 2], plen[2];
	unsigned char *key = NULL;
	size_t keylen = 0;
	EVP_MAC *m = NULL;
	EVP_MAC_CTX *c = NULL;
	OSSL_PARAM params[2];
	int rc = -1;

	if (digest == NULL ||
	    (key = d01_b64_decode_new(k->secret, strlen(k->secret), &keylen)) ==
		NULL ||
	    (m = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (c = EVP_MAC_CTX_new(m)) == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_MAC_PARAM_DIGEST, (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(c, key, keylen, params))
		goto out;
	if (prior != NULL) {
		put16(plen, (unsigned)priorlen);
		if (!EVP_MAC_update(c, plen, 2) ||
		    !EVP_MAC_update(c, prior, priorlen))
			goto out;
	}
	put16(fixed, CLASS_ANY);
	memset(fixed + 2, 0, 4); /* TTL */
	put48(tail, v->time);
	put16(tail + 6, v->fudge);
	put16(tail + 8, v->error);
	put16(tail + 10, (unsigned)v->otherlen);
	if (v->timers_only) {
		if (!EVP_MAC_update(c, msg, msglen) ||
		    !EVP_MAC_update(c, tail, 8) ||
		    !EVP_MAC_final(c, mac, maclen, D01_TSIG_MAC_MAX))
			goto out;
		rc = 0;
		goto out;
	}
	if (!EVP_MAC_update(c, msg, msglen) ||
	    !EVP_MAC_update(c, v->req->name, v->req->namelen) ||
	    !EVP_MAC_update(c, fixed, sizeof(fixed)) ||
	    !EVP_MAC_update(c, v->req->alg, v->req->alglen) ||
	    !EVP_MAC_update(c, tail, sizeof(tail)) ||
	    (v->otherlen > 0 && !EVP_MAC_update(c, v->other, v->otherlen)) ||
	    !EVP_MAC_final(c, mac, maclen, D01_TSIG_MAC_MAX))
		goto out;
	rc = 0;
out:
	if (key != NULL) {
		OPENSSL_cleanse(key, keylen);
		free(key);
	}
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(m);
	return rc;
}

int
d01_tsig_check(const struct d01_keyring *kr, const uint8_t *msg, size_t len,
    size_t off, int64_t now, struct d01_tsig_req *req)
{
	uint8_t mac[D01_TSIG_MAC_MAX], kalg[256], *copy = NULL;
	size_t pos = off, rdend, kalglen, maclen = 0;
	struct vars v = {.req = req};
	const uint8_t *other;
	unsigned otherlen, error;
	char pres[D01_DNAME_BUF];
	size_t i, p;

	memset(req, 0, sizeof(*req));
	req->off = off;
	if (read_name(msg, len, &pos, req->name, &req->namelen) != 0 ||
	    pos + 10 > len)
		return -1;
	rdend = pos + 10 + u16(msg + pos + 8);
	if (u16(msg + pos) != T_TSIG || u16(msg + pos + 2) != CLASS_ANY ||
	    rdend > len)
		return -1;
	pos += 10;
	if (read_name(msg, rdend, &pos, req->alg, &req->alglen) != 0 ||
	    pos + 10 > rdend)
		return -1;
	for (i = 0; i < 6; i++)
		req->time_signed = req->time_signed << 8 | msg[pos + i];
	req->fudge = (uint16_t)u16(msg + pos + 6);
	req->maclen = u16(msg + pos + 8);
	pos += 10;
	if (req->maclen > D01_TSIG_MAC_MAX || pos + req->maclen + 6 > rdend)
		return -1;
	memcpy(req->mac, msg + pos, req->maclen);
	pos += req->maclen;
	/* original ID at pos; error, other */
	error = u16(msg + pos + 2);
	otherlen = u16(msg + pos + 4);
	other = msg + pos + 6;
	if (pos + 6 + otherlen != rdend)
		return -1;
	/* The key: name from the wire (lower-case) to presentation. */
	for (p = 0, i = 0; req->name[p] != 0 && i + 64 < sizeof(pres);
	     p += 1 + req->name[p]) {
		for (size_t j = 0; j < req->name[p]; j++) {
			uint8_t c = req->name[p + 1 + j];

			if (c == '.' || c < 0x21 || c > 0x7e)
				goto badkey; /* no key is named so */
			pres[i++] = (char)c;
		}
		pres[i++] = '.';
	}
	pres[i] = '\0';
	if (req->name[p] != 0 ||
	    (req->key = d01_keyring_find(kr, pres)) == NULL)
		goto badkey;
	kalglen = wire_name(req->key->algorithm, kalg);
	if (kalglen == 0 || kalglen != req->alglen ||
	    memcmp(kalg, req->alg, kalglen) != 0)
		goto badkey; /* §5.2.1: the algorithm must be the key's */
	/* The MAC covers the message without the TSIG RR, its ARCOUNT one
	 * less and the original ID in place (§4.3.1). */
	if ((copy = malloc(off)) == NULL)
		return -1;
	memcpy(copy, msg, off);
	memcpy(copy, msg + pos, 2);
	put16(copy + 10, u16(copy + 10) - 1);
	v.time = req->time_signed;
	v.fudge = req->fudge;
	v.error = error;
	v.other = other;
	v.otherlen = otherlen;
	if (compute(req->key, NULL, 0, copy, off, &v, mac, &maclen) != 0) {
		free(copy);
		return -1;
	}
	free(copy);
	if (maclen != req->maclen ||
	    CRYPTO_memcmp(mac, req->mac, maclen) != 0) {
		req->error = D01_TSIG_E_BADSIG;
		return 0;
	}
	if ((int64_t)req->time_signed > now + req->fudge ||
	    (int64_t)req->time_signed < now - req->fudge)
		req->error = D01_TSIG_E_BADTIME;
	return 0;
badkey:
	req->key = NULL;
	req->error = D01_TSIG_E_BADKEY;
	return 0;
}

size_t
d01_tsig_reply_size(const struct d01_tsig_req *req)
{
	size_t mac = 0, other = 0;

	static const struct {
		const char *digest;
		size_t size;
	} sizes[] = {{"MD5", 16}, {"SHA1", 20}, {"SHA256", 32}, {"SHA512", 64}};
	const char *d;

	if (req->key != NULL &&
	    (req->error == 0 || req->error == D01_TSIG_E_BADTIME) &&
	    (d = digest_of(req->key->algorithm)) != NULL)
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			if (strcmp(sizes[i].digest, d) == 0)
				mac = sizes[i].size;
	if (req->error == D01_TSIG_E_BADTIME)
		other = 6;
	/* owner, type class TTL rdlen, alg, time fudge macsize, mac,
	 * original ID error otherlen, other */
	return req->namelen + 10 + req->alglen + 10 + mac + 6 + other;
}

/*
 * Append the TSIG RR answering req to the message (out, len): MAC over
 * prior (the request's MAC for a first message) and the variables, or
 * the timers only; the MAC in mac (*maclen). 0 when it does not fit.
 */
static size_t
sign_msg(const struct d01_tsig_req *req, const uint8_t *prior, size_t priorlen,
    int timers_only, uint8_t *out, size_t len, size_t cap, int64_t now,
    uint8_t *mac, size_t *maclenp)
{
	uint8_t other[6];
	size_t maclen = 0, need, pos, rdlen;
	struct vars v = {
	    .req = req, .fudge = D01_TSIG_FUDGE, .timers_only = timers_only};
	int sign = req->key != NULL &&
	    (req->error == 0 || req->error == D01_TSIG_E_BADTIME);

	if (len < HDR)
		return 0;
	v.error = (unsigned)req->error;
	v.time = (uint64_t)now;
	if (req->error == D01_TSIG_E_BADTIME) {
		/* §5.2.3: the request's Time Signed, ours in Other Data, so
		 * the client can verify the reply and see the skew. */
		v.time = req->time_signed;
		put48(other, (uint64_t)now);
		v.other = other;
		v.otherlen = 6;
	}
	if (!sign)
		v.time = req->time_signed; /* an echo, unsigned (§5.3.2) */
	if (sign &&
	    compute(req->key, prior, priorlen, out, len, &v, mac, &maclen) != 0)
		return 0;
	rdlen = req->alglen + 10 + maclen + 6 + v.otherlen;
	need = req->namelen + 10 + rdlen;
	if (len + need > cap || u16(out + 10) == 0xffff)
		return 0;
	pos = len;
	memcpy(out + pos, req->name, req->namelen);
	pos += req->namelen;
	put16(out + pos, T_TSIG);
	put16(out + pos + 2, CLASS_ANY);
	memset(out + pos + 4, 0, 4);
	put16(out + pos + 8, (unsigned)rdlen);
	pos += 10;
	memcpy(out + pos, req->alg, req->alglen);
	pos += req->alglen;
	put48(out + pos, v.time);
	put16(out + pos + 6, v.fudge);
	put16(out + pos + 8, (unsigned)maclen);
	pos += 10;
	memcpy(out + pos, mac, maclen);
	pos += maclen;
	memcpy(out + pos, out, 2); /* original ID: the reply's own */
	put16(out + pos + 2, v.error);
	put16(out + pos + 4, (unsigned)v.otherlen);
	pos += 6;
	memcpy(out + pos, other, v.otherlen);
	pos += v.otherlen;
	put16(out + 10, u16(out + 10) + 1);
	*maclenp = maclen;
	return pos;
}

size_t
d01_tsig_sign_reply(const struct d01_tsig_req *req, uint8_t *out, size_t len,
    size_t cap, int64_t now)
{
	uint8_t mac[D01_TSIG_MAC_MAX];
	size_t maclen;

	return sign_msg(
	    req, req->mac, req->maclen, 0, out, len, cap, now, mac, &maclen);
}

void
d01_tsig_stream_init(struct d01_tsig_stream *ts, const struct d01_tsig_req *req)
{
	memset(ts, 0, sizeof(*ts));
	ts->req = req;
}

size_t
d01_tsig_stream_sign(struct d01_tsig_stream *ts, uint8_t *out, size_t len,
    size_t cap, int64_t now)
{
	const struct d01_tsig_req *req = ts->req;
	uint8_t mac[D01_TSIG_MAC_MAX];
	size_t maclen = 0, n;

	if (req->key == NULL || req->error != 0)
		return 0; /* only a verified request's reply is a stream */
	if (ts->n == 0)
		n = sign_msg(req, req->mac, req->maclen, 0, out, len, cap, now,
		    mac, &maclen);
	else
		n = sign_msg(req, ts->prior, ts->priorlen, 1, out, len, cap,
		    now, mac, &maclen);
	if (n == 0)
		return 0;
	memcpy(ts->prior, mac, maclen);
	ts->priorlen = maclen;
	ts->n++;
	return n;
}
