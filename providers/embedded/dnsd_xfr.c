/* SPDX-License-Identifier: ISC */
/*
 * Zone transfers of the embedded zones: the ACL and the TCP and UDP
 * entry points dnsd.c dispatches to (xfr.h); the messages are built by
 * xfr_build.c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <ldns/ldns.h>

#include "core/clock.h"
#include "core/dname.h"
#include "core/dns.h"
#include "core/log.h"
#include "providers/embedded/dnsd_tsig.h"
#include "providers/embedded/store.h"
#include "providers/embedded/tsigkeys.h"
#include "providers/embedded/xfr.h"

#define T_IXFR 251
#define T_AXFR 252

struct acl_entry {
	int family; /* AF_INET or AF_INET6 */
	unsigned prefix;
	uint8_t addr[16];
};

struct d01_xfr {
	struct acl_entry acl[D01_XFR_MAX_ACL];
	size_t nacl;
	/* key:NAME entries: the names until d01_xfr_set_keys, then the
	 * keyring's keys (borrowed). */
	char names[D01_XFR_MAX_ACL][D01_DNAME_BUF];
	const struct d01_tsig_key *keys[D01_XFR_MAX_ACL];
	size_t nkeys;
	const struct d01_keyring *kr; /* NULL: every signed request BADKEY */
	const struct d01_clock *clock;
	size_t active; /* transfers queued and not yet sent */
};

/* "ADDR" or "ADDR/PREFIX" (v4 or v6); -1 when malformed. */
static int
acl_parse(const char *s, struct acl_entry *e)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s), i;
	unsigned max, v = 0;

	if (alen == 0 || alen >= sizeof(buf))
		return -1;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(e, 0, sizeof(*e));
	if (inet_pton(AF_INET, buf, e->addr) == 1) {
		e->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, e->addr) == 1) {
		e->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	e->prefix = max;
	if (slash == NULL)
		return 0;
	for (i = 1; slash[i] != '\0'; i++) {
		if (!isdigit((unsigned char)slash[i]) || i > 3)
			return -1;
		v = v * 10 + (unsigned)(slash[i] - '0');
	}
	if (i == 1 || v > max)
		return -1;
	e->prefix = v;
	return 0;
}

struct d01_xfr *
d01_xfr_new(const char *const *allow, size_t n, struct d01_error *err)
{
	struct d01_xfr *x;
	size_t i;

	if (n > D01_XFR_MAX_ACL) {
		d01_error_set(err, D01_E_CONFIG,
		    "more than %d --allow-transfer entries", D01_XFR_MAX_ACL);
		return NULL;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	x->clock = d01_clock_real();
	for (i = 0; i < n; i++) {
		if (strncmp(allow[i], "key:", 4) == 0) {
			if (d01_dname_normalise(x->names[x->nkeys],
				sizeof(x->names[0]), allow[i] + 4) != 0) {
				d01_error_set(err, D01_E_CONFIG,
				    "--allow-transfer %.200s: expected "
				    "key:NAME, NAME a key of --tsig-keyfile",
				    allow[i]);
				goto fail;
			}
			x->nkeys++;
			continue;
		}
		if (acl_parse(allow[i], &x->acl[x->nacl]) != 0) {
			d01_error_set(err, D01_E_CONFIG,
			    "--allow-transfer %.200s: expected an address or "
			    "CIDR, e.g. 192.0.2.0/24 or 2001:db8::/32",
			    allow[i]);
			goto fail;
		}
		x->nacl++;
	}
	return x;
fail:
	free(x);
	return NULL;
}

enum d01_err
d01_xfr_set_keys(struct d01_xfr *x, const struct d01_keyring *kr,
    const struct d01_clock *clock, struct d01_error *err)
{
	size_t i;

	x->kr = kr;
	if (clock != NULL)
		x->clock = clock;
	/* Refused rather than never matching: a key the operator listed
	 * must not silently allow nothing. */
	for (i = 0; i < x->nkeys; i++)
		if ((x->keys[i] = d01_keyring_find(kr, x->names[i])) == NULL)
			return d01_error_set(err, D01_E_CONFIG,
			    "--allow-transfer key:%.200s: no such key in "
			    "--tsig-keyfile",
			    x->names[i]);
	return D01_OK;
}

void
d01_xfr_free(struct d01_xfr *x)
{
	free(x);
}

void
d01_xfr_done(struct d01_xfr *x)
{
	if (x != NULL && x->active > 0)
		x->active--;
}

static int
prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	size_t full = bits / 8;
	uint8_t mask;

	if (memcmp(a, b, full) != 0)
		return 0;
	if (bits % 8 == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - bits % 8));
	return (a[full] & mask) == (b[full] & mask);
}

int
d01_xfr_allowed(const struct d01_xfr *x, const struct sockaddr *peer)
{
	static const uint8_t mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const uint8_t *a;
	int family = peer->sa_family;
	size_t i;

	if (family == AF_INET) {
		a = (const uint8_t *)&(
		    (const struct sockaddr_in *)(const void *)peer)
			->sin_addr;
	} else if (family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)(const void *)peer)
			->sin6_addr.s6_addr;
		/* A v4 client of a dual-stack [::] listener is ::ffff:v4;
		 * it matches the v4 entries. */
		if (memcmp(a, mapped, 12) == 0) {
			a += 12;
			family = AF_INET;
		}
	} else {
		return 0;
	}
	for (i = 0; i < x->nacl; i++)
		if (x->acl[i].family == family &&
		    prefix_match(a, x->acl[i].addr, x->acl[i].prefix))
			return 1;
	return 0;
}

/* A parsed transfer request. */
struct req {
	size_t qend;
	unsigned qtype;
	const struct d01_txtzone *z; /* NULL: not one of our apexes */
	int rcode;		     /* >= 0: refuse with this */
	int has_serial;		     /* IXFR: the client's SOA serial */
	uint32_t serial;
};

/* -1: not a transfer request after all; else 0 with r. */
static int
req_parse(
    const struct d01_txtstore *s, const uint8_t *q, size_t qlen, struct req *r)
{
	char name[LDNS_MAX_DOMAINLEN * 4 + 2], *str = NULL;
	ldns_pkt *p = NULL;
	const ldns_rr *qrr, *soa;
	size_t i;

	memset(r, 0, sizeof(*r));
	if ((r->qend = d01_xfr_question_end(q, qlen)) == 0)
		return -1;
	r->qtype = (unsigned)q[r->qend - 4] << 8 | q[r->qend - 3];
	r->rcode = LDNS_RCODE_FORMERR;
	if (d01_dns_parse(q, qlen, &p) != D01_OK ||
	    (qrr = ldns_rr_list_rr(ldns_pkt_question(p), 0)) == NULL ||
	    (str = ldns_rdf2str(ldns_rr_owner(qrr))) == NULL ||
	    strlen(str) >= sizeof(name))
		goto out;
	for (i = 0; str[i] != '\0'; i++)
		name[i] = (char)tolower((unsigned char)str[i]);
	name[i] = '\0';
	r->z = d01_txtstore_find_zone(s, name);
	if (r->z != NULL && strcmp(r->z->name, name) != 0)
		r->z = NULL; /* inside a zone, not its apex */
	if (ldns_rr_get_class(qrr) != LDNS_RR_CLASS_IN)
		r->rcode = LDNS_RCODE_REFUSED;
	else if (r->z == NULL)
		r->rcode = LDNS_RCODE_NOTAUTH; /* RFC 5936 §2.2.1 */
	else
		r->rcode = -1;
	/* IXFR: the client's version, the SOA of the authority section. */
	soa = ldns_rr_list_rr(ldns_pkt_authority(p), 0);
	if (r->qtype == T_IXFR && soa != NULL &&
	    ldns_rr_get_type(soa) == LDNS_RR_TYPE_SOA &&
	    ldns_rr_rd_count(soa) == 7) {
		r->has_serial = 1;
		r->serial = ldns_rdf2native_int32(ldns_rr_rdf(soa, 2));
	}
out:
	LDNS_FREE(str);
	ldns_pkt_free(p);
	return 0;
}

/* A reply with the question and no RRs (rcode), or with the single SOA
 * (rcode < 0). Its length, 0 when it does not fit. */
static size_t
reply_small(const struct d01_txtzone *z, const uint8_t *q, size_t qend,
    int rcode, uint8_t *out, size_t cap)
{
	size_t n;

	if (cap < qend)
		return 0;
	memset(out, 0, 12);
	out[0] = q[0];
	out[1] = q[1];
	out[2] = (uint8_t)(0x80 | (q[2] & 0x01) | (rcode < 0 ? 0x04 : 0));
	out[3] = (uint8_t)(rcode < 0 ? 0 : rcode);
	out[5] = 1;
	memcpy(out + 12, q + 12, qend - 12);
	if (rcode >= 0)
		return qend;
	if ((n = d01_xfr_soa_rr(z, out + qend, cap - qend)) == 0)
		return 0;
	out[7] = 1;
	return qend + n;
}

static void
peer_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    host, sizeof(host));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    host, sizeof(host));
	snprintf(buf, len, "%s", host);
}

static enum d01_err
emit_framed(void *arg, const uint8_t *msg, size_t len)
{
	uint8_t hdr[2] = {(uint8_t)(len >> 8), (uint8_t)len};

	if (evbuffer_add(arg, hdr, 2) != 0 || evbuffer_add(arg, msg, len) != 0)
		return D01_E_NOMEM;
	return D01_OK;
}

/* Who asks: the TSIG of the request, if any, and the verdict. */
struct auth {
	int tsig;    /* the reply carries a TSIG RR (signed or an error) */
	int rcode;   /* -1: allowed; else refuse with this */
	int64_t now; /* for the reply's Time Signed */
	struct d01_tsig_req req;
};

/*
 * A signed request is judged by its key alone: the signature says who
 * asks, so a key not listed gets REFUSED even from a listed address (a
 * shared NAT or a proxy must not lend its address to another key's
 * holder). Bad MAC, unknown key, bad time: NOTAUTH with the TSIG error,
 * as for a signed query (dnsd_tsig.c). Unsigned: the address ACL.
 */
static void
authorise(const struct d01_xfr *x, const struct sockaddr *peer,
    const uint8_t *q, size_t qlen, struct auth *a)
{
	size_t off, i;
	int f = d01_tsig_find(q, qlen, &off);

	memset(a, 0, sizeof(*a));
	a->now = d01_clock_wall_s(x->clock);
	a->rcode = LDNS_RCODE_REFUSED;
	if (f < 0) {
		a->rcode = LDNS_RCODE_FORMERR;
		return;
	}
	if (f == 0) {
		if (d01_xfr_allowed(x, peer))
			a->rcode = -1;
		return;
	}
	if (d01_tsig_check(x->kr, q, qlen, off, a->now, &a->req) != 0) {
		a->rcode = LDNS_RCODE_FORMERR;
		return;
	}
	a->tsig = 1;
	if (a->req.error != 0) {
		a->rcode = LDNS_RCODE_NOTAUTH;
		return;
	}
	for (i = 0; i < x->nkeys; i++)
		if (x->keys[i] == a->req.key)
			a->rcode = -1;
}

/* A one-message reply (reply_small), signed when the request was. */
static size_t
small_signed(const struct auth *a, const struct d01_txtzone *z,
    const uint8_t *q, size_t qend, int rcode, uint8_t *out, size_t cap)
{
	size_t n = reply_small(z, q, qend, rcode, out, cap);

	if (n == 0 || !a->tsig)
		return n;
	return d01_tsig_sign_reply(&a->req, out, n, cap, a->now);
}

static int
queue_small(struct evbuffer *out, const struct auth *a,
    const struct d01_txtzone *z, const uint8_t *q, size_t qend, int rcode)
{
	/* header, question, SOA (names up to 255 each), TSIG */
	uint8_t buf[2048];
	size_t n = small_signed(a, z, q, qend, rcode, buf, sizeof(buf));

	if (n > 0)
		emit_framed(out, buf, n);
	return 0;
}

/* The builder's messages, each signed (d01_tsig_stream), then framed. */
struct signer {
	struct d01_tsig_stream ts;
	int64_t now;
	struct evbuffer *out;
	uint8_t buf[D01_XFR_MAX_MSG];
};

static enum d01_err
emit_signed(void *arg, const uint8_t *msg, size_t len)
{
	struct signer *sg = arg;
	size_t n;

	memcpy(sg->buf, msg, len);
	if ((n = d01_tsig_stream_sign(
		 &sg->ts, sg->buf, len, sizeof(sg->buf), sg->now)) == 0)
		return D01_E_LIMIT;
	return emit_framed(sg->out, sg->buf, n);
}

/* The whole transfer into tmp: framed, and signed when the request was. */
static enum d01_err
build(const struct auth *a, const struct d01_txtstore *s,
    const struct d01_txtzone *z, const uint8_t *q, size_t qlen,
    struct evbuffer *tmp, struct d01_error *err)
{
	struct signer *sg;
	enum d01_err rc;

	if (!a->tsig)
		return d01_xfr_build(s, z, q, qlen, D01_XFR_MAX_MSG,
		    D01_XFR_MAX_BYTES, emit_framed, tmp, err);
	if ((sg = malloc(sizeof(*sg))) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	d01_tsig_stream_init(&sg->ts, &a->req);
	sg->now = a->now;
	sg->out = tmp;
	/* Each message leaves room for its TSIG RR. */
	rc = d01_xfr_build(s, z, q, qlen,
	    D01_XFR_MAX_MSG - d01_tsig_reply_size(&a->req), D01_XFR_MAX_BYTES,
	    emit_signed, sg, err);
	free(sg);
	return rc;
}

int
d01_xfr_tcp(struct d01_xfr *x, const struct d01_txtstore *s,
    const struct sockaddr *peer, const uint8_t *q, size_t qlen,
    struct evbuffer *out)
{
	char who[INET6_ADDRSTRLEN + 2];
	struct d01_error err;
	struct evbuffer *tmp;
	struct auth a;
	struct req r;
	size_t bytes;
	const char *key;

	if (req_parse(s, q, qlen, &r) != 0)
		return -1;
	peer_str(peer, who, sizeof(who));
	authorise(x, peer, q, qlen, &a);
	key = a.tsig && a.req.key != NULL ? a.req.key->name : "-";
	if (a.rcode >= 0) {
		d01_log(D01_LOG_DEBUG, "xfr_refused",
		    "peer=%s key=%s rcode=%d tsig_error=%d", who, key, a.rcode,
		    a.req.error);
		return queue_small(out, &a, NULL, q, r.qend, a.rcode);
	}
	if (r.rcode >= 0)
		return queue_small(out, &a, NULL, q, r.qend, r.rcode);
	/* An IXFR from a secondary at our serial or past it: up to date. */
	if (r.qtype == T_IXFR && r.has_serial &&
	    !d01_serial_gt(r.z->serial, r.serial))
		return queue_small(out, &a, r.z, q, r.qend, -1);
	if (x->active >= D01_XFR_MAX_ACTIVE || (tmp = evbuffer_new()) == NULL) {
		d01_log(D01_LOG_WARN, "xfr_busy", "peer=%s zone=%s active=%zu",
		    who, r.z->name, x->active);
		return queue_small(
		    out, &a, NULL, q, r.qend, LDNS_RCODE_SERVFAIL);
	}
	d01_error_clear(&err);
	if (build(&a, s, r.z, q, qlen, tmp, &err) != D01_OK) {
		d01_log(D01_LOG_WARN, "xfr_failed", "peer=%s zone=%s error=%s",
		    who, r.z->name, err.msg);
		evbuffer_free(tmp);
		return queue_small(
		    out, &a, NULL, q, r.qend, LDNS_RCODE_SERVFAIL);
	}
	bytes = evbuffer_get_length(tmp);
	evbuffer_add_buffer(out, tmp);
	evbuffer_free(tmp);
	x->active++;
	d01_log(D01_LOG_INFO, "xfr",
	    "peer=%s key=%s zone=%s type=%s serial=%u bytes=%zu", who, key,
	    r.z->name, r.qtype == T_AXFR ? "AXFR" : "IXFR", r.z->serial, bytes);
	return 1;
}

size_t
d01_xfr_udp(const struct d01_xfr *x, const struct d01_txtstore *s,
    const struct sockaddr *peer, const uint8_t *q, size_t qlen, uint8_t *out,
    size_t outcap)
{
	struct auth a;
	struct req r;

	if (req_parse(s, q, qlen, &r) != 0)
		return 0;
	authorise(x, peer, q, qlen, &a);
	if (a.rcode == LDNS_RCODE_NOTAUTH || a.rcode == LDNS_RCODE_FORMERR)
		return small_signed(&a, NULL, q, r.qend, a.rcode, out, outcap);
	if (r.qtype == T_AXFR) /* RFC 5936 §4.2: AXFR is TCP only */
		return small_signed(
		    &a, NULL, q, r.qend, LDNS_RCODE_FORMERR, out, outcap);
	if (a.rcode >= 0)
		return small_signed(&a, NULL, q, r.qend, a.rcode, out, outcap);
	if (r.rcode >= 0)
		return small_signed(&a, NULL, q, r.qend, r.rcode, out, outcap);
	/* RFC 1995 §2: the single SOA; the client comes back over TCP if
	 * it is behind. */
	return small_signed(&a, r.z, q, r.qend, -1, out, outcap);
}
