/* SPDX-License-Identifier: ISC */
/*
 * The embedded DNS server's fast path: an ordinary query (one question,
 * perhaps an OPT) answered from its wire form straight into the caller's
 * buffer. The reference path (dnsd_answer.c) parses every query into an
 * ldns packet, prints the name to look it up, builds the reply as ldns
 * objects and writes it through a 64 KiB buffer: per query about a dozen
 * allocations and a vfprintf, most of the server's CPU under load
 * (bench/results/2026-12-07-authdns.md). Here: no allocation at all.
 *
 * The reply must be the reference's, byte for byte, so this file
 * reproduces what ldns 1.8.3's ldns_pkt2wire writes: the same header
 * bits, the same record order, and its name compression (every suffix of
 * every name written below offset 16384 is remembered, names compare case-
 * insensitively, the first name written that matches is pointed to;
 * owner names always, rdata names of SOA and NS). Anything else declines
 * and goes to the reference, so odd input behaves exactly as before.
 */
#include <string.h>

#include "core/dname.h"
#include "providers/embedded/dnsd_answer.h"
#include "providers/embedded/store.h"

#define HDR	 12
#define MAX_NAME 250 /* wire length we take; longer ones decline */
#define NAMES	 512 /* compression entries: 4 names of <= 127 labels */

enum {
	T_NS = 2,
	T_SOA = 6,
	T_TXT = 16,
	T_OPT = 41,
	T_TKEY = 249,
	T_TSIG = 250,
	T_IXFR = 251,
	T_AXFR = 252,
	T_MAILB = 253,
	T_MAILA = 254,
	T_ANY = 255,
	C_IN = 1,
	C_ANY = 255,
	R_NOERROR = 0,
	R_FORMERR = 1,
	R_NXDOMAIN = 3,
	R_NOTIMP = 4,
	R_REFUSED = 5,
};

/* The query as the fast path reads it. */
struct fq {
	const uint8_t *q;
	size_t namelen; /* wire length of the question name, with the 0 */
	uint16_t qtype, qclass;
	int edns;	    /* an OPT was present */
	size_t limit;	    /* UDP size limit */
	char key[MAX_NAME]; /* lower-case presentation form (the store's) */
};

/* The reply's content, decided before a byte is written. */
struct plan {
	int rcode, aa;
	const struct d01_txtzone *z;
	int soa_an, ns_an, soa_ns; /* SOA/NS in answer, SOA in authority */
	const char *const *vals;   /* TXT values in the answer */
	size_t nvals;
};

/* The reply being written, and the compression table. */
struct wr {
	uint8_t *b;
	size_t cap, len;
	int full;	       /* something did not fit into cap */
	uint16_t names[NAMES]; /* offsets of remembered names */
	size_t nnames;
	int overflow; /* table full: decline (never seen) */
};

static uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/*
 * Bytes ldns_rdf2str prints as themselves (isgraph, not one of the five
 * it escapes): for names of these only, the store key built here is the
 * reference's. The rest (dots, spaces, binary) is rare: it declines.
 */
static int
plain(uint8_t c)
{
	return c > 0x20 && c < 0x7f && c != '.' && c != ';' && c != '(' &&
	    c != ')' && c != '\\';
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Parse header, question and optional OPT; 0 or -1 to decline. */
static int
parse(struct fq *f, const uint8_t *q, size_t qlen)
{
	size_t pos = HDR, k = 0, i, l;

	f->q = q;
	/* A query (QR clear, opcode 0) with QD=1, AN=NS=0, AR<=1, and the
	 * first length byte of its name in reach. */
	if (qlen <= HDR || (q[2] & 0xf8) != 0 || get16(q + 4) != 1 ||
	    get16(q + 6) != 0 || get16(q + 8) != 0 || get16(q + 10) > 1)
		return -1;
	while ((l = q[pos]) != 0) {
		/* Pointers, extended labels, names past MAX_NAME: decline;
		 * pos + l + 1 < qlen keeps the next length byte in reach. */
		if (l > 63 || pos + l + 1 >= qlen ||
		    pos + l + 1 - HDR >= MAX_NAME)
			return -1;
		for (i = 1; i <= l; i++) {
			if (!plain(q[pos + i]))
				return -1;
			f->key[k++] = (char)lower(q[pos + i]);
		}
		f->key[k++] = '.';
		pos += l + 1;
	}
	if (pos == HDR) /* the root: declines (no zone is ".") */
		return -1;
	f->key[k] = '\0';
	f->namelen = ++pos - HDR;
	if (pos + 4 > qlen)
		return -1;
	f->qtype = get16(q + pos);
	f->qclass = get16(q + pos + 2);
	pos += 4;
	f->edns = q[11] == 1;
	f->limit = D01_DNSD_PLAIN_UDP;
	if (f->edns) {
		/* Root owner, type OPT, version 0, rdata within the message
		 * (ldns does not look into the options). Bytes past the last
		 * RR are ignored, as ldns ignores them. */
		if (pos + 11 > qlen || q[pos] != 0 ||
		    get16(q + pos + 1) != T_OPT || q[pos + 6] != 0 ||
		    pos + 11 + get16(q + pos + 9) > qlen)
			return -1;
		if (get16(q + pos + 3) > D01_DNSD_PLAIN_UDP)
			f->limit = get16(q + pos + 3) < D01_DNSD_EDNS_SIZE
			    ? get16(q + pos + 3)
			    : D01_DNSD_EDNS_SIZE;
	}
	return 0;
}

/* The rcode of a query type that never reaches the data, else -1. */
static int
qtype_rcode(uint16_t t)
{
	switch (t) {
	case T_AXFR:
	case T_IXFR:
		return R_REFUSED;
	case T_OPT:
	case T_TSIG:
	case T_TKEY:
		return R_FORMERR;
	case T_MAILA:
	case T_MAILB:
		return R_NOTIMP;
	default:
		return -1;
	}
}

/* What to answer: the reference's respond() and fill(), in its order. */
static void
decide(const struct d01_txtstore *s, const struct fq *f, struct plan *p)
{
	const struct d01_txtzone *z = d01_txtstore_find_zone(s, f->key);
	int apex, any = f->qtype == T_ANY, rc;
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	p->z = z;
	if (z == NULL || (f->qclass != C_IN && f->qclass != C_ANY)) {
		p->rcode = R_REFUSED;
		return;
	}
	if ((rc = qtype_rcode(f->qtype)) >= 0) {
		p->rcode = rc;
		return;
	}
	p->aa = 1;
	apex = strcmp(f->key, z->name) == 0;
	p->vals = d01_txtstore_values(s, f->key, &n);
	p->soa_an = apex && (f->qtype == T_SOA || any);
	p->ns_an = apex && (f->qtype == T_NS || any);
	p->nvals = f->qtype == T_TXT || any ? n : 0;
	if (p->soa_an || p->ns_an || p->nvals > 0)
		return;
	/* NODATA or NXDOMAIN, the SOA in authority either way. */
	p->soa_ns = 1;
	p->rcode = n > 0 || apex || d01_txtstore_name_exists(s, f->key) ||
		(d01_dname_in_zone(z->ns, z->name) &&
		    d01_dname_in_zone(z->ns, f->key))
	    ? R_NOERROR
	    : R_NXDOMAIN;
}

static void
put(struct wr *w, const void *p, size_t n)
{
	if (w->full || n > w->cap - w->len) {
		w->full = 1;
		return;
	}
	memcpy(w->b + w->len, p, n);
	w->len += n;
}

static void
put16(struct wr *w, unsigned v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	put(w, b, 2);
}

static void
put32(struct wr *w, uint32_t v)
{
	put16(w, v >> 16);
	put16(w, v & 0xffff);
}

/* 1 when the name written at b[at] (pointers allowed) equals the
 * uncompressed wire name n, ignoring ASCII case. Only the len bytes
 * written so far are read: an entry for a longer suffix of the name being
 * written runs into bytes not written yet, which hold whatever the buffer
 * held before (a previous reply) and must never count as a match. */
static int
same_name(const uint8_t *b, size_t len, size_t at, const uint8_t *n)
{
	size_t i;

	for (;;) {
		/* Our own pointers, always to earlier names we wrote. */
		while (at + 1 < len && (b[at] & 0xc0) == 0xc0)
			at = (size_t)(b[at] & 0x3f) << 8 | b[at + 1];
		if (at >= len || at + n[0] >= len)
			return 0;
		if (b[at] != n[0])
			return 0;
		if (n[0] == 0)
			return 1;
		for (i = 1; i <= n[0]; i++)
			if (lower(b[at + i]) != lower(n[i]))
				return 0;
		at += (size_t)n[0] + 1;
		n += n[0] + 1;
	}
}

/* Write uncompressed wire name n as ldns compresses it. */
static void
put_name(struct wr *w, const uint8_t *n)
{
	size_t i;

	while (*n != 0 && !w->full) {
		for (i = 0; i < w->nnames; i++)
			if (same_name(w->b, w->len, w->names[i], n)) {
				put16(w, 0xc000u | w->names[i]);
				return;
			}
		if (w->len < 16384) {
			if (w->nnames == NAMES)
				w->overflow = 1;
			else
				w->names[w->nnames++] = (uint16_t)w->len;
		}
		put(w, n, (size_t)n[0] + 1);
		n += n[0] + 1;
	}
	put(w, "", 1);
}

/* Wire form of a normalised name ("a.b." -> 1a1b0) into out[256]. */
static void
text2wire(const char *s, uint8_t *out)
{
	size_t lenpos = 0, pos = 1;

	for (; *s != '\0'; s++) {
		if (*s == '.') {
			out[lenpos] = (uint8_t)(pos - lenpos - 1);
			lenpos = pos++;
		} else {
			out[pos++] = (uint8_t)*s;
		}
	}
	out[lenpos] = 0;
}

/* An RR header: owner, type, class IN, ttl; returns where RDLENGTH is. */
static size_t
rr_head(struct wr *w, const uint8_t *owner, unsigned type, uint32_t ttl)
{
	size_t at;

	put_name(w, owner);
	put16(w, type);
	put16(w, C_IN);
	put32(w, ttl);
	at = w->len;
	put16(w, 0);
	return at;
}

static void
rdlength(struct wr *w, size_t at)
{
	size_t n = w->len - at - 2;

	if (!w->full) {
		w->b[at] = (uint8_t)(n >> 8);
		w->b[at + 1] = (uint8_t)n;
	}
}

static void
put_soa(struct wr *w, const struct d01_txtzone *z, const uint8_t *apex)
{
	const uint32_t times[] = {
	    z->serial, 3600, 600, 86400, D01_DNSD_SOA_MINIMUM};
	uint8_t n[256];
	size_t at = rr_head(w, apex, T_SOA, D01_DNSD_SOA_MINIMUM), i;

	text2wire(z->ns, n);
	put_name(w, n);
	text2wire(z->hostmaster, n);
	put_name(w, n);
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		put32(w, times[i]);
	rdlength(w, at);
}

/* The whole reply, or with trunc only header, question and OPT (TC). */
static void
emit(struct wr *w, const struct fq *f, const struct plan *p, int trunc)
{
	const uint8_t *q = f->q, *qname = q + HDR;
	uint8_t apex[256], hdr[HDR], ns[256];
	size_t i, at;

	hdr[0] = q[0];
	hdr[1] = q[1];
	hdr[2] = (uint8_t)(0x80 | p->aa << 2 | trunc << 1 | (q[2] & 0x01));
	hdr[3] = (uint8_t)((q[3] & 0x10) | (p->rcode & 0x0f));
	hdr[4] = 0;
	hdr[5] = 1;
	at = trunc ? 0 : (size_t)p->soa_an + (size_t)p->ns_an + p->nvals;
	hdr[6] = (uint8_t)(at >> 8);
	hdr[7] = (uint8_t)at;
	hdr[8] = 0;
	hdr[9] = (uint8_t)(trunc ? 0 : p->soa_ns);
	hdr[10] = 0;
	hdr[11] = (uint8_t)f->edns;
	put(w, hdr, HDR);
	put_name(w, qname);
	put(w, qname + f->namelen, 4); /* QTYPE, QCLASS as asked */
	if (!trunc && p->z != NULL)
		text2wire(p->z->name, apex);
	if (!trunc && p->soa_an)
		put_soa(w, p->z, apex);
	if (!trunc && p->ns_an) {
		at = rr_head(w, apex, T_NS, D01_DNSD_TTL);
		text2wire(p->z->ns, ns);
		put_name(w, ns);
		rdlength(w, at);
	}
	for (i = 0; !trunc && i < p->nvals; i++) {
		size_t n = strlen(p->vals[i]);
		uint8_t len = (uint8_t)n;

		at = rr_head(w, qname, T_TXT, D01_DNSD_TTL);
		put(w, &len, 1);
		put(w, p->vals[i], n);
		rdlength(w, at);
	}
	if (!trunc && p->soa_ns)
		put_soa(w, p->z, apex);
	if (f->edns) {
		/* Root owner, OPT, our size, extended rcode 0 (no rcode we
		 * give here passes 15), version 0, no flags, no options. */
		static const uint8_t opt[] = {0, 0, T_OPT,
		    D01_DNSD_EDNS_SIZE >> 8, D01_DNSD_EDNS_SIZE & 0xff, 0, 0, 0,
		    0, 0, 0};

		put(w, opt, sizeof(opt));
	}
}

int
d01_dnsd_answer_fast(const struct d01_txtstore *store, const uint8_t *q,
    size_t qlen, uint8_t *out, size_t outcap, int tcp, size_t *len)
{
	struct fq f;
	struct plan p;
	struct wr w;
	size_t i, limit;

	if (parse(&f, q, qlen) != 0)
		return 0;
	decide(store, &f, &p);
	/* A value the reference cannot write (over 255 bytes) makes it
	 * answer SERVFAIL: leave that to it. The store refuses them. */
	for (i = 0; i < p.nvals; i++)
		if (strlen(p.vals[i]) > 255)
			return 0;
	limit = tcp ? D01_DNSD_TCP_MAX : f.limit;
	w.b = out;
	w.cap = limit < outcap ? limit : outcap;
	w.len = 0;
	w.full = w.overflow = 0;
	w.nnames = 0;
	emit(&w, &f, &p, 0);
	if (w.full) {
		/* RFC 2181 §9: every RR set dropped, TC set, OPT kept. */
		w.len = 0;
		w.full = 0;
		w.nnames = 0;
		emit(&w, &f, &p, 1);
	}
	if (w.overflow)
		return 0;
	*len = w.full ? 0 : w.len;
	return 1;
}
