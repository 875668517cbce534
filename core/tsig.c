/* SPDX-License-Identifier: ISC */
/* TSIG keys, signing and reply verification; see tsig.h. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/dname.h"
#include "core/dns.h"
#include "core/tsig.h"

/* User spellings -> wire names: the four algorithms cert-manager's rfc2136
 * solver accepts (HMACMD5, HMACSHA1, HMACSHA256, HMACSHA512). */
static const struct {
	const char *user[3];
	const char *wire;
} algorithms[] = {
    {{"hmacmd5", "hmac-md5", "hmac-md5.sig-alg.reg.int"},
	"hmac-md5.sig-alg.reg.int."},
    {{"hmacsha1", "hmac-sha1", NULL}, "hmac-sha1."},
    {{"hmacsha256", "hmac-sha256", NULL}, "hmac-sha256."},
    {{"hmacsha512", "hmac-sha512", NULL}, "hmac-sha512."},
};

static const char *
algorithm_wire(const char *user)
{
	char buf[40];
	size_t i, j, n = strlen(user);

	if (n == 0 || n >= sizeof(buf))
		return NULL;
	memcpy(buf, user, n + 1);
	if (buf[n - 1] == '.')
		buf[n - 1] = '\0';
	for (i = 0; i < sizeof(algorithms) / sizeof(algorithms[0]); i++)
		for (j = 0; j < 3 && algorithms[i].user[j] != NULL; j++)
			if (strcasecmp(buf, algorithms[i].user[j]) == 0)
				return algorithms[i].wire;
	return NULL;
}

const char *
d01_tsig_algorithm(const char *user)
{
	return algorithm_wire(user == NULL || *user == '\0' ? "HMACMD5" : user);
}

enum d01_err
d01_tsig_key_init(struct d01_tsig_key *k, const char *name,
    const char *algorithm, const char *secret_b64, struct d01_error *err)
{
	const char *wire;
	uint8_t *raw = NULL;
	size_t cap, i, n = strlen(secret_b64);
	int len;

	memset(k, 0, sizeof(*k));
	if (name == NULL ||
	    d01_dname_normalise(k->name, sizeof(k->name), name) != 0)
		return d01_error_set(err, D01_E_CONFIG,
		    "TSIG key name %.100s is not a valid name",
		    name ? name : "(none)");
	if (algorithm == NULL || *algorithm == '\0')
		algorithm = "HMACMD5";
	if ((wire = algorithm_wire(algorithm)) == NULL)
		return d01_error_set(err, D01_E_CONFIG,
		    "TSIG algorithm %.40s is not supported (HMACMD5, HMACSHA1, "
		    "HMACSHA256, HMACSHA512)",
		    algorithm);
	snprintf(k->algorithm, sizeof(k->algorithm), "%s", wire);
	/* Decode once to reject a secret ldns would choke on later; the
	 * error must not quote it. */
	for (i = 0; i < n; i++)
		if (isspace((unsigned char)secret_b64[i]))
			return d01_error_set(err, D01_E_CONFIG,
			    "TSIG secret for key %s contains whitespace",
			    k->name);
	cap = n / 4 * 3 + 3;
	if (n == 0 || n % 4 != 0 || (raw = malloc(cap)) == NULL ||
	    (len = EVP_DecodeBlock(
		 raw, (const unsigned char *)secret_b64, (int)n)) <= 0) {
		free(raw);
		return d01_error_set(err, D01_E_CONFIG,
		    "TSIG secret for key %s is not valid base64", k->name);
	}
	OPENSSL_cleanse(raw, cap);
	free(raw);
	if ((k->secret = strdup(secret_b64)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	return D01_OK;
}

void
d01_tsig_key_clear(struct d01_tsig_key *k)
{
	if (k->secret != NULL) {
		OPENSSL_cleanse(k->secret, strlen(k->secret));
		free(k->secret);
	}
	memset(k, 0, sizeof(*k));
}

ldns_rdf *
d01_tsig_sign(
    ldns_pkt *pkt, const struct d01_tsig_key *k, struct d01_error *err)
{
	ldns_rdf *mac;
	ldns_status st;

	st = ldns_pkt_tsig_sign(
	    pkt, k->name, k->secret, D01_TSIG_FUDGE, k->algorithm, NULL);
	if (st != LDNS_STATUS_OK || ldns_pkt_tsig(pkt) == NULL ||
	    (mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(pkt), 3))) ==
		NULL) {
		d01_error_set(err, D01_E_CONFIG, "TSIG signing with key %s: %s",
		    k->name, ldns_get_errorstr_by_id(st));
		return NULL;
	}
	return mac;
}

static const char *
tsig_error_name(unsigned e)
{
	switch (e) {
	case 16:
		return "BADSIG (wrong secret or algorithm)";
	case 17:
		return "BADKEY (key name unknown to the server)";
	case 18:
		return "BADTIME (clocks differ by more than the fudge)";
	case 22:
		return "BADTRUNC";
	default:
		return "unknown TSIG error";
	}
}

/* Does the dname rdf `d` equal the presentation name `name`? */
static int
same_name(const ldns_rdf *d, const char *name)
{
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	int same = d != NULL && n != NULL &&
	    ldns_rdf_get_type(d) == LDNS_RDF_TYPE_DNAME &&
	    ldns_dname_compare(d, n) == 0;

	ldns_rdf_deep_free(n);
	return same;
}

enum d01_err
d01_tsig_verify_reply(ldns_pkt *reply, const uint8_t *wire, size_t len,
    const struct d01_tsig_key *k, const ldns_rdf *qmac, int64_t now,
    const char *who, struct d01_error *err)
{
	ldns_rr *t = ldns_pkt_tsig(reply);
	ldns_rdf *e, *ts;
	unsigned tsig_err = 0;
	int64_t signed_at;
	bool ok;

	if (t == NULL || ldns_rr_rd_count(t) < 6)
		return d01_error_set(err, D01_E_AUTH,
		    "%s: reply (%s) is not TSIG-signed", who,
		    d01_rcode_name(ldns_pkt_get_rcode(reply)));
	if ((e = ldns_rr_rdf(t, 5)) != NULL && ldns_rdf_size(e) == 2)
		tsig_err = ldns_rdf2native_int16(e);
	if (tsig_err != 0)
		return d01_error_set(err, D01_E_AUTH,
		    "%s: %s, TSIG error %s with key %s", who,
		    d01_rcode_name(ldns_pkt_get_rcode(reply)),
		    tsig_error_name(tsig_err), k->name);
	/* ldns computes the MAC with the algorithm the reply names and our
	 * key name: insist both are ours (RFC 8945 §5.3). */
	if (!same_name(ldns_rr_owner(t), k->name) ||
	    !same_name(ldns_rr_rdf(t, 0), k->algorithm))
		return d01_error_set(err, D01_E_AUTH,
		    "%s: reply signed with another key or algorithm than %s",
		    who, k->name);
	ok = ldns_pkt_tsig_verify(reply, wire, len, k->name, k->secret, qmac);
	/* ldns 1.8.3 detaches the TSIG RR while verifying and does not put
	 * it back on some failures (e.g. an unknown algorithm), leaking it:
	 * reattach it so ldns_pkt_free releases it. */
	if (ldns_pkt_tsig(reply) == NULL)
		ldns_pkt_set_tsig(reply, t);
	if (!ok)
		return d01_error_set(err, D01_E_AUTH,
		    "%s: reply TSIG does not verify with key %s", who, k->name);
	/* ldns does not check the time window (providers-detail §4.5). */
	ts = ldns_rr_rdf(t, 1);
	if (ts == NULL || ldns_rdf_size(ts) != 6)
		return d01_error_set(
		    err, D01_E_AUTH, "%s: malformed TSIG", who);
	signed_at = 0;
	for (size_t i = 0; i < 6; i++) /* 48-bit seconds */
		signed_at = signed_at << 8 | ldns_rdf_data(ts)[i];
	if (signed_at > now + D01_TSIG_FUDGE ||
	    signed_at < now - D01_TSIG_FUDGE)
		return d01_error_set(err, D01_E_AUTH,
		    "%s: reply TSIG signed at %lld, %lld s from our clock", who,
		    (long long)signed_at, (long long)(signed_at - now));
	return D01_OK;
}
