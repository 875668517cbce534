/* SPDX-License-Identifier: ISC */
/*
 * Zone transfers of the embedded zones: the ACL, the AXFR-form builder,
 * and the TCP and UDP entry points dnsd.c dispatches to (xfr.h).
 *
 * The wire is written by hand rather than through ldns_pkt: a transfer
 * is thousands of RRs, all TXT below one apex, so each owner is its
 * labels below the apex plus a compression pointer to the apex's first
 * copy in the message (RFC 1035 §4.1.4), and nothing is allocated per RR.
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

#include "core/dns.h"
#include "core/log.h"
#include "providers/embedded/store.h"
#include "providers/embedded/xfr.h"

/* What dnsd_answer.c serves: the SOA timers and the TTL of every RR. A
 * unit test compares this SOA with the one d01_dnsd_answer gives. */
#define TTL	    60
#define SOA_REFRESH 3600
#define SOA_RETRY   600
#define SOA_EXPIRE  86400
#define SOA_MINIMUM 60

#define T_SOA  6
#define T_NS   2
#define T_TXT  16
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
	for (i = 0; i < n; i++) {
		if (strncmp(allow[i], "key:", 4) == 0) {
			/* Refused rather than never matching: a key the
			 * operator listed must not silently allow nothing. */
			d01_error_set(err, D01_E_CONFIG,
			    "--allow-transfer %.200s: TSIG keys are not "
			    "supported for transfers yet; list addresses",
			    allow[i]);
			goto fail;
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

/* The end of the question (after QTYPE and QCLASS), or 0 when the
 * message is no transfer request. */
static size_t
question_end(const uint8_t *q, size_t qlen)
{
	size_t pos = 12;
	unsigned t;

	if (qlen < 17 || (q[2] & 0x80) != 0 || ((q[2] >> 3) & 0x0f) != 0 ||
	    q[4] != 0 || q[5] != 1)
		return 0;
	while (pos < qlen && q[pos] != 0) {
		if ((q[pos] & 0xc0) != 0) /* no pointer can precede it */
			return 0;
		pos += (size_t)q[pos] + 1;
	}
	if (pos + 5 > qlen)
		return 0;
	t = (unsigned)q[pos + 1] << 8 | q[pos + 2];
	return t == T_AXFR || t == T_IXFR ? pos + 5 : 0;
}

int
d01_xfr_is_request(const uint8_t *q, size_t qlen)
{
	return question_end(q, qlen) != 0;
}

size_t
d01_xfr_name_wire(const char *name, uint8_t *out, size_t cap)
{
	ldns_rdf *rd = NULL;
	size_t n = 0;

	if (ldns_str2rdf_dname(&rd, name) == LDNS_STATUS_OK &&
	    ldns_rdf_size(rd) <= cap) {
		n = ldns_rdf_size(rd);
		memcpy(out, ldns_rdf_data(rd), n);
	}
	ldns_rdf_deep_free(rd);
	return n;
}

static uint8_t *
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

/* The SOA's RDATA (names uncompressed); its length, 0 on failure. */
static size_t
soa_rdata(const struct d01_txtzone *z, uint8_t *out, size_t cap)
{
	size_t m, r;
	uint8_t *p;

	if (cap < 255 * 2 + 20 ||
	    (m = d01_xfr_name_wire(z->ns, out, 255)) == 0 ||
	    (r = d01_xfr_name_wire(z->hostmaster, out + m, 255)) == 0)
		return 0;
	p = put32(out + m + r, z->serial);
	p = put32(p, SOA_REFRESH);
	p = put32(p, SOA_RETRY);
	p = put32(p, SOA_EXPIRE);
	p = put32(p, SOA_MINIMUM);
	return (size_t)(p - out);
}

size_t
d01_xfr_soa_rr(const struct d01_txtzone *z, uint8_t *out, size_t cap)
{
	uint8_t owner[255], rd[255 * 2 + 20], *p;
	size_t on, rn;

	if ((on = d01_xfr_name_wire(z->name, owner, sizeof(owner))) == 0 ||
	    (rn = soa_rdata(z, rd, sizeof(rd))) == 0 || on + 10 + rn > cap)
		return 0;
	memcpy(out, owner, on);
	p = put16(out + on, T_SOA);
	p = put16(p, LDNS_RR_CLASS_IN);
	p = put32(p, TTL);
	p = put16(p, (unsigned)rn);
	memcpy(p, rd, rn);
	return on + 10 + rn;
}

/* One reply message being filled, and the transfer it belongs to. */
struct msg {
	uint8_t *buf;
	size_t cap, len;
	unsigned an;
	size_t apex_off; /* where the apex's labels are in buf; 0: none yet */
	int first;	 /* the question goes in the first message only */
	const uint8_t *q, *qsec;
	size_t qseclen;
	uint8_t apex[255];
	size_t apexlen;
	size_t total, max_total;
	d01_xfr_emit_fn emit;
	void *arg;
	struct d01_error *err;
};

static void
msg_begin(struct msg *m)
{
	memset(m->buf, 0, 12);
	m->buf[0] = m->q[0];
	m->buf[1] = m->q[1];
	m->buf[2] = (uint8_t)(0x80 | 0x04 | (m->q[2] & 0x01)); /* QR AA RD */
	m->len = 12;
	m->an = 0;
	m->apex_off = 0;
	if (m->first) {
		m->buf[5] = 1;
		memcpy(m->buf + 12, m->qsec, m->qseclen);
		m->len += m->qseclen;
		m->first = 0;
	}
}

static enum d01_err
msg_flush(struct msg *m)
{
	enum d01_err rc;

	put16(m->buf + 6, m->an);
	m->total += m->len;
	if (m->total > m->max_total)
		return d01_error_set(m->err, D01_E_LIMIT,
		    "zone transfer larger than %zu bytes", m->max_total);
	if ((rc = m->emit(m->arg, m->buf, m->len)) != D01_OK)
		return d01_error_set(
		    m->err, rc, "zone transfer: output failed");
	return D01_OK;
}

/* Append one RR: owner = rel (labels below the apex) + the apex. */
static enum d01_err
rr_add(struct msg *m, const uint8_t *rel, size_t rellen, unsigned type,
    const uint8_t *rd, size_t rdlen)
{
	enum d01_err rc;
	uint8_t *p;
	size_t need;

	need = rellen + (m->apex_off != 0 ? 2 : m->apexlen) + 10 + rdlen;
	if (m->len + need > m->cap) {
		if (m->an == 0)
			return d01_error_set(m->err, D01_E_LIMIT,
			    "an RR of %zu bytes does not fit a message", need);
		if ((rc = msg_flush(m)) != D01_OK)
			return rc;
		msg_begin(m);
		need = rellen + m->apexlen + 10 + rdlen;
		if (m->len + need > m->cap)
			return d01_error_set(m->err, D01_E_LIMIT,
			    "an RR of %zu bytes does not fit a message", need);
	}
	p = m->buf + m->len;
	if (rellen > 0) /* the apex's own RRs have no labels below it */
		memcpy(p, rel, rellen);
	p += rellen;
	if (m->apex_off != 0) {
		p = put16(p, 0xc000 | (unsigned)m->apex_off);
	} else {
		/* Pointers reach 14 bits: later owners point here if so. */
		if ((size_t)(p - m->buf) < 0x4000)
			m->apex_off = (size_t)(p - m->buf);
		memcpy(p, m->apex, m->apexlen);
		p += m->apexlen;
	}
	p = put16(p, type);
	p = put16(p, LDNS_RR_CLASS_IN);
	p = put32(p, TTL);
	p = put16(p, (unsigned)rdlen);
	memcpy(p, rd, rdlen);
	m->len = (size_t)(p + rdlen - m->buf);
	m->an++;
	return D01_OK;
}

/* Every TXT value at one name, one RR each (d01_txtstore_walk's fn). */
static int
walk_name(void *arg, const char *name, const char *const *values, size_t n)
{
	struct msg *m = arg;
	uint8_t wire[255], rd[256];
	size_t wl, i, vl;

	wl = d01_xfr_name_wire(name, wire, sizeof(wire));
	/* Inside the zone, so the apex is a suffix; check rather than trust. */
	if (wl < m->apexlen ||
	    memcmp(wire + wl - m->apexlen, m->apex, m->apexlen) != 0) {
		d01_error_set(m->err, D01_E_INTERNAL,
		    "zone transfer: name outside its zone");
		return -1;
	}
	for (i = 0; i < n; i++) {
		vl = strlen(values[i]);
		if (vl > 255)
			continue; /* the store refuses these; never sent */
		rd[0] = (uint8_t)vl;
		memcpy(rd + 1, values[i], vl);
		if (rr_add(m, wire, wl - m->apexlen, T_TXT, rd, vl + 1) !=
		    D01_OK)
			return -1;
	}
	return 0;
}

enum d01_err
d01_xfr_build(const struct d01_txtstore *s, const struct d01_txtzone *z,
    const uint8_t *q, size_t qlen, size_t maxmsg, size_t max_total,
    d01_xfr_emit_fn emit, void *arg, struct d01_error *err)
{
	struct msg m = {.q = q,
	    .first = 1,
	    .max_total = max_total,
	    .emit = emit,
	    .arg = arg,
	    .err = err};
	uint8_t soa[255 * 2 + 20], ns[255];
	size_t qend = question_end(q, qlen), soalen, nslen;
	enum d01_err rc;

	if (qend == 0 || maxmsg > D01_XFR_MAX_MSG || maxmsg < 512)
		return d01_error_set(err, D01_E_INVAL, "not a transfer");
	m.qsec = q + 12;
	m.qseclen = qend - 12;
	if ((m.apexlen = d01_xfr_name_wire(z->name, m.apex, 255)) == 0 ||
	    (soalen = soa_rdata(z, soa, sizeof(soa))) == 0 ||
	    (nslen = d01_xfr_name_wire(z->ns, ns, sizeof(ns))) == 0)
		return d01_error_set(err, D01_E_INTERNAL, "bad zone names");
	if ((m.buf = malloc(maxmsg)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	m.cap = maxmsg;
	msg_begin(&m);
	if ((rc = rr_add(&m, NULL, 0, T_SOA, soa, soalen)) != D01_OK ||
	    (rc = rr_add(&m, NULL, 0, T_NS, ns, nslen)) != D01_OK)
		goto out;
	if (d01_txtstore_walk(s, z, walk_name, &m) != 0) {
		rc = err->code;
		goto out;
	}
	if ((rc = rr_add(&m, NULL, 0, T_SOA, soa, soalen)) != D01_OK)
		goto out;
	rc = msg_flush(&m);
out:
	free(m.buf);
	return rc;
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

/* -1: not ours (TSIG: the ordinary path answers it); else 0 with r. */
static int
req_parse(
    const struct d01_txtstore *s, const uint8_t *q, size_t qlen, struct req *r)
{
	char name[LDNS_MAX_DOMAINLEN * 4 + 2], *str = NULL;
	ldns_pkt *p = NULL;
	const ldns_rr *qrr, *soa;
	size_t i;

	memset(r, 0, sizeof(*r));
	if ((r->qend = question_end(q, qlen)) == 0)
		return -1;
	r->qtype = (unsigned)q[r->qend - 4] << 8 | q[r->qend - 3];
	r->rcode = LDNS_RCODE_FORMERR;
	if (d01_dns_parse(q, qlen, &p) != D01_OK ||
	    (qrr = ldns_rr_list_rr(ldns_pkt_question(p), 0)) == NULL ||
	    (str = ldns_rdf2str(ldns_rr_owner(qrr))) == NULL ||
	    strlen(str) >= sizeof(name))
		goto out;
	if (ldns_pkt_tsig(p) != NULL) {
		LDNS_FREE(str);
		ldns_pkt_free(p);
		return -1;
	}
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

static int
queue_small(struct evbuffer *out, const struct d01_txtzone *z, const uint8_t *q,
    size_t qend, int rcode)
{
	uint8_t buf[12 + 260 + 10 + 255 * 3 + 20];
	size_t n = reply_small(z, q, qend, rcode, buf, sizeof(buf));

	if (n > 0)
		emit_framed(out, buf, n);
	return 0;
}

int
d01_xfr_tcp(struct d01_xfr *x, const struct d01_txtstore *s,
    const struct sockaddr *peer, const uint8_t *q, size_t qlen,
    struct evbuffer *out)
{
	char who[INET6_ADDRSTRLEN + 2];
	struct d01_error err;
	struct evbuffer *tmp;
	struct req r;
	size_t bytes;

	if (req_parse(s, q, qlen, &r) != 0)
		return -1;
	peer_str(peer, who, sizeof(who));
	if (!d01_xfr_allowed(x, peer)) {
		d01_log(D01_LOG_DEBUG, "xfr_refused", "peer=%s", who);
		return queue_small(out, NULL, q, r.qend, LDNS_RCODE_REFUSED);
	}
	if (r.rcode >= 0)
		return queue_small(out, NULL, q, r.qend, r.rcode);
	/* An IXFR from a secondary at our serial or past it: up to date. */
	if (r.qtype == T_IXFR && r.has_serial &&
	    !d01_serial_gt(r.z->serial, r.serial))
		return queue_small(out, r.z, q, r.qend, -1);
	if (x->active >= D01_XFR_MAX_ACTIVE || (tmp = evbuffer_new()) == NULL) {
		d01_log(D01_LOG_WARN, "xfr_busy", "peer=%s zone=%s active=%zu",
		    who, r.z->name, x->active);
		return queue_small(out, NULL, q, r.qend, LDNS_RCODE_SERVFAIL);
	}
	d01_error_clear(&err);
	if (d01_xfr_build(s, r.z, q, qlen, D01_XFR_MAX_MSG, D01_XFR_MAX_BYTES,
		emit_framed, tmp, &err) != D01_OK) {
		d01_log(D01_LOG_WARN, "xfr_failed", "peer=%s zone=%s error=%s",
		    who, r.z->name, err.msg);
		evbuffer_free(tmp);
		return queue_small(out, NULL, q, r.qend, LDNS_RCODE_SERVFAIL);
	}
	bytes = evbuffer_get_length(tmp);
	evbuffer_add_buffer(out, tmp);
	evbuffer_free(tmp);
	x->active++;
	d01_log(D01_LOG_INFO, "xfr",
	    "peer=%s zone=%s type=%s serial=%u bytes=%zu", who, r.z->name,
	    r.qtype == T_AXFR ? "AXFR" : "IXFR", r.z->serial, bytes);
	return 1;
}

size_t
d01_xfr_udp(const struct d01_xfr *x, const struct d01_txtstore *s,
    const struct sockaddr *peer, const uint8_t *q, size_t qlen, uint8_t *out,
    size_t outcap)
{
	struct req r;

	if (req_parse(s, q, qlen, &r) != 0)
		return 0;
	if (r.qtype == T_AXFR) /* RFC 5936 §4.2: AXFR is TCP only */
		return reply_small(
		    NULL, q, r.qend, LDNS_RCODE_FORMERR, out, outcap);
	if (!d01_xfr_allowed(x, peer))
		return reply_small(
		    NULL, q, r.qend, LDNS_RCODE_REFUSED, out, outcap);
	if (r.rcode >= 0)
		return reply_small(NULL, q, r.qend, r.rcode, out, outcap);
	/* RFC 1995 §2: the single SOA; the client comes back over TCP if
	 * it is behind. */
	return reply_small(r.z, q, r.qend, -1, out, outcap);
}
