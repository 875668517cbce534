/* SPDX-License-Identifier: ISC */
/*
 * NOTIFY (providers/embedded/notify.h) on a test clock: the message, the
 * coalescing of a burst of changes, the retries with backoff and the
 * give-up, the response that ends them (from the right peer with the
 * right ID only), the store's change hook driving it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "harness.h"
#include "core/clock.h"
#include "providers/embedded/notify.h"
#include "providers/embedded/store.h"

#define ZONE "example.test."

struct sent {
	size_t n;
	uint8_t last[1024];
	size_t lastlen;
	struct sockaddr_storage to;
	uint16_t port[64], id[64];
};

static void
capture(void *arg, const struct sockaddr *to, socklen_t tolen,
    const uint8_t *msg, size_t len)
{
	struct sent *s = arg;

	if (s->n < 64) {
		s->port[s->n] = ntohs(
		    ((const struct sockaddr_in *)(const void *)to)->sin_port);
		s->id[s->n] = (uint16_t)(msg[0] << 8 | msg[1]);
	}
	s->n++;
	memcpy(&s->to, to, tolen);
	if (len <= sizeof(s->last)) {
		memcpy(s->last, msg, len);
		s->lastlen = len;
	}
}

struct fixture {
	struct d01_test_clock tc;
	struct d01_txtstore *s;
	struct d01_notify *nf;
	struct sent sent;
};

static int
setup(struct fixture *f, const char *const *targets, size_t n)
{
	memset(f, 0, sizeof(*f));
	d01_test_clock_init(&f->tc, 1700000000);
	if ((f->s = d01_txtstore_new()) == NULL)
		return -1;
	d01_txtstore_set_clock(f->s, &f->tc.clock);
	if (d01_txtstore_add_zone(f->s, ZONE, NULL, NULL) != D01_OK ||
	    (f->nf = d01_notify_new(
		 NULL, &f->tc.clock, f->s, targets, n, NULL)) == NULL)
		return -1;
	d01_notify_set_sender(f->nf, capture, &f->sent);
	d01_txtstore_on_change(f->s, d01_notify_changed, f->nf);
	return 0;
}

static void
teardown(struct fixture *f)
{
	d01_txtstore_free(f->s);
	d01_notify_free(f->nf);
}

static void
add(struct fixture *f, const char *v)
{
	d01_txtstore_add(f->s, "_acme-challenge." ZONE, v, NULL);
}

/* A NOTIFY response with ID id from addr:port. */
static void
respond_id(
    struct fixture *f, const char *addr, uint16_t port, uint16_t id, int rcode)
{
	struct sockaddr_in from = {.sin_family = AF_INET};
	uint8_t r[12];

	memcpy(r, f->sent.last, 12);
	r[0] = (uint8_t)(id >> 8);
	r[1] = (uint8_t)id;
	r[2] |= 0x80;
	r[3] = (uint8_t)rcode;
	inet_pton(AF_INET, addr, &from.sin_addr);
	from.sin_port = htons(port);
	d01_notify_input(f->nf, (struct sockaddr *)&from, r, sizeof(r));
}

/* The reply to the last NOTIFY sent. */
static void
respond(struct fixture *f, const char *addr, uint16_t port, int rcode)
{
	respond_id(f, addr, port, f->sent.id[f->sent.n - 1], rcode);
}

static void
t_message(void)
{
	const char *t[] = {"127.0.0.1:5300"};
	struct fixture f;
	ldns_pkt *p = NULL;
	const ldns_rr *q;

	CHECK(setup(&f, t, 1) == 0);
	add(&f, "v1");
	CHECK_INT(f.sent.n, ==, 0); /* nothing from inside the change */
	d01_notify_tick(f.nf);
	CHECK_INT(f.sent.n, ==, 1);
	CHECK_INT(f.sent.port[0], ==, 5300);
	CHECK(ldns_wire2pkt(&p, f.sent.last, f.sent.lastlen) == LDNS_STATUS_OK);
	CHECK_INT(ldns_pkt_get_opcode(p), ==, LDNS_PACKET_NOTIFY);
	CHECK(ldns_pkt_aa(p) && !ldns_pkt_qr(p));
	q = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	CHECK(q != NULL);
	CHECK_INT(ldns_rr_get_type(q), ==, LDNS_RR_TYPE_SOA);
	CHECK_INT(ldns_dname_compare(ldns_rr_owner(q),
		      ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_answer(p), 0))),
	    ==, 0);
	CHECK_INT(ldns_rdf2native_int32(
		      ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 2)),
	    ==, d01_txtstore_zone(f.s, 0)->serial);
end:
	ldns_pkt_free(p);
	teardown(&f);
}

static void
t_coalesce(void)
{
	const char *t[] = {"127.0.0.1", "127.0.0.2:5300"};
	struct fixture f;
	char v[16];
	int i;

	CHECK(setup(&f, t, 2) == 0);
	for (i = 0; i < 20; i++) { /* a burst: one round */
		snprintf(v, sizeof(v), "v%d", i);
		add(&f, v);
	}
	d01_notify_tick(f.nf);
	CHECK_INT(f.sent.n, ==, 2); /* one per target */
	CHECK_INT(f.sent.port[0], ==, 53);
	CHECK_INT(f.sent.port[1], ==, 5300);
	respond_id(&f, "127.0.0.1", 53, f.sent.id[0], 0);
	respond_id(&f, "127.0.0.2", 5300, f.sent.id[1], 0);
	CHECK_INT(d01_notify_pending(f.nf), ==, 0);
	/* Changes 100 ms later wait for the coalescing second. */
	d01_test_clock_advance(&f.tc, 100);
	add(&f, "late1");
	add(&f, "late2");
	d01_notify_tick(f.nf);
	CHECK_INT(f.sent.n, ==, 2);
	d01_test_clock_advance(&f.tc, 899);
	d01_notify_tick(f.nf);
	CHECK_INT(f.sent.n, ==, 2);
	d01_test_clock_advance(&f.tc, 1);
	CHECK_INT(d01_notify_tick(f.nf), >, 0); /* retries pending */
	CHECK_INT(f.sent.n, ==, 4); /* the second round, both targets */
end:
	teardown(&f);
}

static void
t_retry_and_give_up(void)
{
	const char *t[] = {"127.0.0.1:5300"};
	const int64_t waits[] = {1000, 2000, 4000, 8000, 16000};
	struct fixture f;
	size_t i;

	CHECK(setup(&f, t, 1) == 0);
	add(&f, "v");
	d01_notify_tick(f.nf);
	CHECK_INT(f.sent.n, ==, 1);
	for (i = 0; i < 5; i++) {
		d01_test_clock_advance(&f.tc, waits[i] - 1);
		d01_notify_tick(f.nf);
		CHECK_INT(f.sent.n, ==, i + 1); /* not yet */
		d01_test_clock_advance(&f.tc, 1);
		d01_notify_tick(f.nf);
		CHECK_INT(f.sent.n, ==, i + 2); /* retry i + 1 */
	}
	CHECK_INT(d01_notify_pending(f.nf), ==, 1);
	d01_test_clock_advance(&f.tc, 32000);
	CHECK_INT(d01_notify_tick(f.nf), ==, -1); /* given up: idle */
	CHECK_INT(f.sent.n, ==, 6);
	CHECK_INT(d01_notify_pending(f.nf), ==, 0);
end:
	teardown(&f);
}

static void
t_response_ends_retries(void)
{
	const char *t[] = {"127.0.0.1:5300"};
	struct fixture f;

	CHECK(setup(&f, t, 1) == 0);
	add(&f, "v");
	d01_notify_tick(f.nf);
	CHECK_INT(f.sent.n, ==, 1);
	respond(&f, "127.0.0.2", 5300, 0); /* another host: ignored */
	respond(&f, "127.0.0.1", 5301, 0); /* another port: ignored */
	respond_id(&f, "127.0.0.1", 5300, (uint16_t)(f.sent.id[0] ^ 1), 0);
	CHECK_INT(d01_notify_pending(f.nf), ==, 1);
	respond(&f, "127.0.0.1", 5300, 0);
	CHECK_INT(d01_notify_pending(f.nf), ==, 0);
	d01_test_clock_advance(&f.tc, 60000);
	CHECK_INT(d01_notify_tick(f.nf), ==, -1);
	CHECK_INT(f.sent.n, ==, 1);
	/* A refusal ends them too (logged): retrying would not help. */
	add(&f, "w");
	d01_notify_tick(f.nf);
	CHECK_INT(f.sent.n, ==, 2);
	respond(&f, "127.0.0.1", 5300, LDNS_RCODE_REFUSED);
	CHECK_INT(d01_notify_pending(f.nf), ==, 0);
end:
	teardown(&f);
}

static void
t_bad_targets(void)
{
	const char *bad[] = {"example.com", "1.2.3.4:99999", "[::1", ""};
	struct d01_error err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(d01_notify_new(NULL, d01_clock_real(), NULL, &bad[i], 1,
			  &err) == NULL);
		CHECK_INT(err.code, ==, D01_E_CONFIG);
	}
end:;
}

int
main(void)
{
	RUN(t_message);
	RUN(t_coalesce);
	RUN(t_retry_and_give_up);
	RUN(t_response_ends_retries);
	RUN(t_bad_targets);
	return harness_done();
}
