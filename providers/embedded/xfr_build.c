/* SPDX-License-Identifier: ISC */
/*
 * The AXFR-form builder and the wire pieces it shares with NOTIFY
 * (xfr.h). Written by hand rather than through ldns_pkt: a transfer is
 * thousands of RRs, all TXT below one apex, so each owner is its labels
 * below the apex plus a compression pointer to the apex's first copy in
 * the message (RFC 1035 §4.1.4), and nothing is allocated per RR.
 */
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

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

/* The end of the question (after QTYPE and QCLASS), or 0 when the
 * message is no transfer request. */
size_t
d01_xfr_question_end(const uint8_t *q, size_t qlen)
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
	return d01_xfr_question_end(q, qlen) != 0;
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
	size_t qend = d01_xfr_question_end(q, qlen), soalen, nslen;
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
