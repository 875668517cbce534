/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: DNS UPDATE messages (providers/embedded/dnsd_update.c) on a
 * store with two zones (one nested) and held values, and a keyring with
 * BIND's recorded test key (the corpus holds its signed request, which
 * verifies at the fixed time used here). Each input goes through the
 * whole decision and its reply, through the signed-query path, and,
 * because a mutated message never carries a valid MAC, through the
 * prerequisite and update sections directly as if its TSIG had verified
 * (d01_update_plan with the zone and key set), so those parsers are
 * reached too. Transfer requests (AXFR/IXFR, signed or not; the corpus
 * holds a signed AXFR) also go to the zone-transfer entry points with
 * --allow-transfer key:dns01-test-key and 127.0.0.1 (dnsd_xfr.c: TSIG
 * check, ACL, signed multi-message replies). Invariants: replies fit and
 * echo the ID; a refusal plans nothing; planned changes lie inside the
 * zone; framed transfer messages fit in 64 KiB.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>

#include "core/clock.h"
#include "core/dname.h"
#include "providers/embedded/dnsd_update.h"
#include "providers/embedded/store.h"
#include "providers/embedded/tsigkeys.h"
#include "providers/embedded/xfr.h"

#define NOW 0x6b0b4fb0LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct d01_txtstore *store;
static struct d01_keyring *kr;
static struct d01_update *u;
static struct d01_xfr *xfr;
static struct d01_test_clock tc;

static void
setup(void)
{
	static const char keys[] =
	    "key \"dns01-test-key.\" { algorithm hmac-sha256; secret "
	    "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"; };";
	static const char *allow[] = {"key:dns01-test-key", "127.0.0.1"};

	store = d01_txtstore_new();
	kr = d01_keyring_new();
	u = malloc(sizeof(*u));
	if (store == NULL || kr == NULL || u == NULL ||
	    d01_txtstore_add_zone(store, "example.test", NULL, NULL) ||
	    d01_txtstore_add_zone(store, "sub.example.test", NULL, NULL) ||
	    d01_txtstore_add(
		store, "_acme-challenge.example.test.", "K1", NULL) ||
	    d01_txtstore_add(
		store, "_acme-challenge.example.test.", "K2", NULL) ||
	    d01_keyring_parse(kr, keys, strlen(keys), "fuzz", NULL) ||
	    d01_keyring_grant(
		kr, "dns01-test-key=subdomain:example.test", NULL))
		abort();
	d01_test_clock_init(&tc, NOW);
	if ((xfr = d01_xfr_new(allow, 2, NULL)) == NULL ||
	    d01_xfr_set_keys(xfr, kr, &tc.clock, NULL) != D01_OK)
		abort();
}

static void
check_reply(
    const uint8_t *q, size_t len, const uint8_t *out, size_t n, size_t cap)
{
	if (n > cap)
		__builtin_trap();
	if (n != 0 &&
	    (n < 12 || len < 12 || out[0] != q[0] || out[1] != q[1] ||
		(out[2] & 0x80) == 0))
		__builtin_trap();
}

static void
check_plan(void)
{
	size_t i;

	if (u->rcode >= 0 && u->nchanges != 0)
		__builtin_trap();
	for (i = 0; i < u->nchanges; i++)
		if (!d01_dname_in_zone(u->changes[i].fqdn, "example.test.") ||
		    u->changes[i].value[0] == '\0')
			__builtin_trap();
}

/* A transfer request through both entry points, from a listed address
 * and from another one (the input's size picks). */
static void
transfer(const uint8_t *q, size_t len, uint8_t *out, size_t cap)
{
	struct sockaddr_in peer = {.sin_family = AF_INET};
	struct evbuffer *buf;
	uint8_t hdr[2];
	size_t n;

	peer.sin_addr.s_addr = htonl(len % 2 ? 0x7f000001 : 0x7f000002);
	n = d01_xfr_udp(xfr, store, (struct sockaddr *)&peer, q, len, out, cap);
	check_reply(q, len, out, n, cap);
	if ((buf = evbuffer_new()) == NULL)
		abort();
	if (d01_xfr_tcp(xfr, store, (struct sockaddr *)&peer, q, len, buf) > 0)
		d01_xfr_done(xfr);
	while (evbuffer_remove(buf, hdr, 2) == 2) {
		n = (size_t)hdr[0] << 8 | hdr[1];
		if (n > cap || evbuffer_remove(buf, out, n) != (int)n)
			__builtin_trap();
		check_reply(q, len, out, n, cap);
	}
	evbuffer_free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[65535];
	size_t n;

	if (store == NULL)
		setup();
	d01_update_decide(store, kr, data, size, NOW, u);
	check_plan();
	n = d01_update_reply(
	    u, data, size, u->rcode < 0 ? 0 : u->rcode, out, 512, NOW);
	check_reply(data, size, out, n, 512);
	n = d01_dnsd_signed_answer(store, kr, data, size, out, 512, 0, NOW);
	check_reply(data, size, out, n, 512);
	n = d01_dnsd_signed_answer(
	    store, kr, data, size, out, sizeof(out), 1, NOW);
	check_reply(data, size, out, n, sizeof(out));
	if (d01_xfr_is_request(data, size))
		transfer(data, size, out, sizeof(out));
	/* As if the TSIG had verified. */
	memset(u, 0, sizeof(*u));
	u->rcode = -1;
	u->is_signed = 1;
	u->tsig.key = d01_keyring_find(kr, "dns01-test-key.");
	strcpy(u->zone, "example.test.");
	d01_update_plan(store, kr, data, size, u);
	check_plan();
	return 0;
}
