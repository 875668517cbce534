/* SPDX-License-Identifier: ISC */
/* Renewal decision: certificate facts, ARI CertID and window, policy. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "core/b64url.h"
#include "issuer/objects.h"
#include "issuer/renew.h"

void
d01_cert_info_clear(struct d01_cert_info *ci)
{
	size_t i;

	if (ci == NULL)
		return;
	for (i = 0; i < ci->nnames; i++)
		free(ci->names[i]);
	free(ci->names);
	memset(ci, 0, sizeof(*ci));
}

static int
asn1_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	*out = timegm(&tm);
	return 0;
}

int
d01_ari_cert_id(X509 *x, char *out, size_t n)
{
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);
	const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
	unsigned char der[64];
	const unsigned char *p = der;
	unsigned char *w = der;
	long clen;
	int tag, cls, dlen;
	size_t need;

	if (aki == NULL || serial == NULL ||
	    (dlen = i2d_ASN1_INTEGER(serial, NULL)) <= 0 ||
	    dlen > (int)sizeof(der) || i2d_ASN1_INTEGER(serial, &w) != dlen)
		return -1;
	/* Skip the tag and length: the CertID uses the content octets. */
	if (ASN1_get_object(&p, &clen, &tag, &cls, dlen) & 0x80 ||
	    tag != V_ASN1_INTEGER || clen <= 0)
		return -1;
	need = D01_B64URL_LEN((size_t)ASN1_STRING_length(aki)) + 1 +
	    D01_B64URL_LEN((size_t)clen) + 1;
	if (need > n || ASN1_STRING_length(aki) <= 0)
		return -1;
	need = d01_b64url_encode(
	    out, ASN1_STRING_get0_data(aki), (size_t)ASN1_STRING_length(aki));
	out[need++] = '.';
	d01_b64url_encode(out + need, p, (size_t)clen);
	return 0;
}

/* The serial number in hex ("" when it does not fit). */
static void
serial_hex(X509 *x, char *out, size_t n)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	out[0] = '\0';
	if (hex != NULL && strlen(hex) < n)
		memcpy(out, hex, strlen(hex) + 1);
	OPENSSL_free(hex);
	BN_free(bn);
}

/* Collect the dNSName SANs of x, lower-cased. */
static enum d01_err
cert_names(X509 *x, struct d01_cert_info *ci, struct d01_error *err)
{
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	const GENERAL_NAME *g;
	const unsigned char *d;
	enum d01_err rc = D01_OK;
	int i, n = gens ? sk_GENERAL_NAME_num(gens) : 0, len, k;

	if (n > D01_ACME_NAMES_MAX)
		n = D01_ACME_NAMES_MAX;
	if (n > 0 && (ci->names = calloc((size_t)n, sizeof(char *))) == NULL)
		rc = d01_error_set(err, D01_E_NOMEM, "out of memory");
	for (i = 0; rc == D01_OK && i < n; i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		d = ASN1_STRING_get0_data(g->d.dNSName);
		len = ASN1_STRING_length(g->d.dNSName);
		if (len <= 0 || len > 253)
			continue;
		if ((ci->names[ci->nnames] = malloc((size_t)len + 1)) == NULL) {
			rc = d01_error_set(err, D01_E_NOMEM, "out of memory");
			break;
		}
		for (k = 0; k < len; k++)
			ci->names[ci->nnames][k] = (char)tolower(d[k]);
		ci->names[ci->nnames++][len] = '\0';
	}
	GENERAL_NAMES_free(gens);
	return rc;
}

enum d01_err
d01_cert_info_parse(const char *pem, size_t len, struct d01_cert_info *ci,
    struct d01_error *err)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x = NULL;
	enum d01_err rc = D01_OK;

	memset(ci, 0, sizeof(*ci));
	if (b == NULL || len > 1024 * 1024 ||
	    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
		rc = d01_error_openssl(
		    err, D01_E_INVAL, "not a PEM certificate");
		goto out;
	}
	if (asn1_time(X509_get0_notBefore(x), &ci->not_before) != 0 ||
	    asn1_time(X509_get0_notAfter(x), &ci->not_after) != 0) {
		rc = d01_error_set(
		    err, D01_E_INVAL, "certificate: bad validity");
		goto out;
	}
	if (d01_ari_cert_id(x, ci->ari_id, sizeof(ci->ari_id)) != 0)
		ci->ari_id[0] = '\0';
	serial_hex(x, ci->serial, sizeof(ci->serial));
	rc = cert_names(x, ci, err);
out:
	if (rc != D01_OK)
		d01_cert_info_clear(ci);
	X509_free(x);
	BIO_free(b);
	return rc;
}

/* Parse n digits at s into *v. */
static int
digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
d01_rfc3339_parse(const char *s, time_t *out)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, oh, om;
	long off = 0;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' ||
	    digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
	    s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &sec))
		return -1;
	s += 19;
	if (*s == '.')
		for (s++; isdigit((unsigned char)*s); s++)
			;
	if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
		off = 0;
	else if ((*s == '+' || *s == '-') && strlen(s) == 6 &&
	    !digits(s + 1, 2, &oh) && s[3] == ':' && !digits(s + 4, 2, &om))
		off = (*s == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
	else
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm) - off;
	return 0;
}

enum d01_err
d01_ari_parse(const char *body, size_t len, struct d01_ari_window *w,
    struct d01_error *err)
{
	json_t *j = json_loadb(body, len, 0, NULL), *win;
	const char *s, *e, *x;
	enum d01_err rc = D01_OK;

	memset(w, 0, sizeof(*w));
	win = json_object_get(j, "suggestedWindow");
	s = json_string_value(json_object_get(win, "start"));
	e = json_string_value(json_object_get(win, "end"));
	if (s == NULL || e == NULL || d01_rfc3339_parse(s, &w->start) != 0 ||
	    d01_rfc3339_parse(e, &w->end) != 0 || w->end <= w->start) {
		rc = d01_error_set(err, D01_E_PROTOCOL,
		    "renewalInfo: no valid suggestedWindow");
		memset(w, 0, sizeof(*w));
	} else if ((x = json_string_value(
			json_object_get(j, "explanationURL"))) != NULL) {
		snprintf(w->explanation, sizeof(w->explanation), "%s", x);
	}
	json_decref(j);
	return rc;
}

int
d01_cert_key_matches(const char *pem, size_t len, EVP_PKEY *key)
{
	BIO *b = len <= 1024 * 1024 ? BIO_new_mem_buf(pem, (int)len) : NULL;
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	EVP_PKEY *pub = x ? X509_get0_pubkey(x) : NULL;
	int ok = key != NULL && pub != NULL && EVP_PKEY_eq(key, pub) == 1;

	X509_free(x);
	BIO_free(b);
	return ok;
}

int
d01_names_same(const char *const *a, size_t na, const char *const *b, size_t nb)
{
	size_t i, j;

	/* Every name of each list appears in the other (sets, not lists). */
	for (i = 0; i < na; i++) {
		for (j = 0; j < nb && strcasecmp(a[i], b[j]) != 0; j++)
			;
		if (j == nb)
			return 0;
	}
	for (j = 0; j < nb; j++) {
		for (i = 0; i < na && strcasecmp(a[i], b[j]) != 0; i++)
			;
		if (i == na)
			return 0;
	}
	return 1;
}

static struct d01_renew_decision
verdict(int due, enum d01_renew_why why, time_t when)
{
	struct d01_renew_decision d = {.due = due, .why = why, .when = when};

	return d;
}

static struct d01_renew_decision
decide(const struct d01_renew_input *in)
{
	const struct d01_cert_info *c = in->cert;
	double pick = in->pick;
	time_t when;
	long span;

	if (c == NULL || c->nnames == 0)
		return verdict(1, D01_RENEW_NO_CERT, 0);
	/* Served as a pair, a key and a certificate that do not match are
	 * no certificate at all (a half-written set, a manual edit). */
	if (in->key_mismatch)
		return verdict(1, D01_RENEW_KEY, 0);
	if (!d01_names_same((const char *const *)c->names, c->nnames, in->names,
		in->nnames))
		return verdict(1, D01_RENEW_NAMES, 0);
	if (in->force)
		return verdict(1, D01_RENEW_FORCED, 0);
	if (in->now >= c->not_after)
		return verdict(1, D01_RENEW_EXPIRING, c->not_after);
	if (!(pick >= 0 && pick < 1))
		pick = 0;
	if (in->ari != NULL) {
		/* RFC 9773 §4.2: a uniformly random time inside the window. */
		when = in->ari->start +
		    (time_t)(pick * (double)(in->ari->end - in->ari->start));
		return verdict(in->now >= when,
		    in->now >= when ? D01_RENEW_ARI : D01_RENEW_ARI_NOT_DUE,
		    when);
	}
	span = d01_renew_span(in);
	when = c->not_after - span - (time_t)(pick * (double)(span / 10));
	return verdict(in->now >= when,
	    in->now >= when ? D01_RENEW_EXPIRING : D01_RENEW_NOT_DUE, when);
}

long
d01_renew_span(const struct d01_renew_input *in)
{
	long life = 0;

	if (in->renew_before >= 0)
		return in->renew_before;
	if (in->cert != NULL && in->cert->not_after > in->cert->not_before)
		life = (long)(in->cert->not_after - in->cert->not_before);
	if (in->renew_pct >= 1 && in->renew_pct <= 99)
		return (long)((double)life * in->renew_pct / 100.0);
	return life / 3;
}

double
d01_renew_pick(const struct d01_cert_info *ci)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	EVP_MD_CTX *ctx;
	long long t[2];
	size_t i;
	int ok;

	if (ci == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	t[0] = (long long)ci->not_before;
	t[1] = (long long)ci->not_after;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, ci->ari_id, strlen(ci->ari_id)) == 1 &&
	    EVP_DigestUpdate(ctx, t, sizeof(t)) == 1;
	for (i = 0; ok && i < ci->nnames; i++)
		ok = EVP_DigestUpdate(
			 ctx, ci->names[i], strlen(ci->names[i]) + 1) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, md, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return 0;
	return (double)((uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 |
		   (uint32_t)md[2] << 8 | md[3]) /
	    4294967296.0;
}

void
d01_renew_decide(
    const struct d01_renew_input *in, struct d01_renew_decision *out)
{
	*out = decide(in);
}

const char *
d01_renew_why_text(enum d01_renew_why why)
{
	static const char *const text[D01_RENEW__MAX] = {
	    [D01_RENEW_NO_CERT] = "no certificate yet",
	    [D01_RENEW_NAMES] = "the names changed",
	    [D01_RENEW_FORCED] = "--force",
	    [D01_RENEW_EXPIRING] = "near expiry (--renew-before)",
	    [D01_RENEW_ARI] = "inside the CA's renewal window (ARI)",
	    [D01_RENEW_KEY] = "the private key does not match the certificate",
	    [D01_RENEW_NOT_DUE] = "not due",
	    [D01_RENEW_ARI_NOT_DUE] = "not due (CA's renewal window, ARI)",
	};

	return (unsigned)why < D01_RENEW__MAX ? text[why] : "unknown";
}
