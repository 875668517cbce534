/* SPDX-License-Identifier: ISC */
/*
 * The rfc2136 provider without BIND: config parsing with cert-manager's
 * field names, the exact UPDATE it sends (zone section, one TXT RR, class
 * IN + TTL to add, class NONE + TTL 0 to delete, RD clear, TSIG), how it
 * judges replies (unsigned, REFUSED), and the async call shape at every
 * step: never called back inside present/cleanup, exactly once, never after
 * cancel. Interop with a real server is tests/integration/test_rfc2136.py.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/secret.h"
#include "harness.h"
#include "providers/env.h"
#include "providers/rfc2136/rfc2136.h"

/* Deadline of every op here: long past each test's own bounds. */
#define OP_TIMEOUT_MS 60000

#define SECRET "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define FQDN   "_acme-challenge.www.example.test."

enum mode { SIGNED, UNSIGNED, REFUSED, SILENT };

struct fake {
	int fd, port;
	struct event *ev;
	enum mode mode;
	ldns_pkt *last; /* the last UPDATE received */
	int verified;	/* its TSIG verified with the key */
};

static void
fake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fake *f = arg;
	uint8_t buf[1500], *out = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ssize_t n =
	    recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl);
	ldns_pkt *a = NULL;
	ldns_rdf *qmac;
	size_t olen;

	(void)what;
	ldns_pkt_free(f->last);
	f->last = NULL;
	if (n <= 0 || ldns_wire2pkt(&f->last, buf, (size_t)n) != LDNS_STATUS_OK)
		return;
	f->verified = ldns_pkt_tsig(f->last) != NULL &&
	    ldns_pkt_tsig_verify(
		f->last, buf, (size_t)n, "dns01-test-key.", SECRET, NULL);
	if (f->mode == SILENT)
		return;
	a = ldns_pkt_new();
	ldns_pkt_set_id(a, ldns_pkt_id(f->last));
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_opcode(a, LDNS_PACKET_UPDATE);
	ldns_pkt_set_rcode(
	    a, f->mode == REFUSED ? LDNS_RCODE_REFUSED : LDNS_RCODE_NOERROR);
	ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION,
	    ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(f->last), 0)));
	if (f->mode != UNSIGNED && ldns_pkt_tsig(f->last) != NULL) {
		qmac = ldns_rr_rdf(ldns_pkt_tsig(f->last), 3);
		ldns_pkt_tsig_sign(
		    a, "dns01-test-key.", SECRET, 300, "hmac-sha256.", qmac);
	}
	if (ldns_pkt2wire(&out, a, &olen) == LDNS_STATUS_OK)
		sendto(fd, out, olen, 0, (struct sockaddr *)&ss, sl);
	LDNS_FREE(out);
	ldns_pkt_free(a);
}

static int
fake_start(struct fake *f, struct event_base *base)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);

	memset(f, 0, sizeof(*f));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((f->fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    bind(f->fd, (struct sockaddr *)&sa, sl) != 0 ||
	    getsockname(f->fd, (struct sockaddr *)&sa, &sl) != 0)
		return -1;
	f->port = ntohs(sa.sin_port);
	f->ev = event_new(base, f->fd, EV_READ | EV_PERSIST, fake_cb, f);
	return event_add(f->ev, NULL);
}

static void
fake_stop(struct fake *f)
{
	if (f->ev != NULL)
		event_free(f->ev);
	if (f->fd > 0)
		close(f->fd);
	ldns_pkt_free(f->last);
}

struct result {
	struct event_base *base;
	int calls, started, early;
	struct d01_error err;
};

static void
done_cb(void *arg, const struct d01_error *err)
{
	struct result *r = arg;

	r->calls++;
	r->early |= !r->started;
	r->err = *err;
	event_base_loopexit(r->base, NULL);
}

static void *
parse(struct d01_env *env, const char *json, struct d01_error *err)
{
	json_t *j = json_loads(json, 0, NULL);
	void *cfg = NULL;

	if (j == NULL || rfc2136_config_parse(env, j, &cfg, err) != D01_OK)
		cfg = NULL;
	json_decref(j);
	return cfg;
}

static void
t_config(void)
{
	static const char *const bad[] = {
	    "{}",
	    "{\"nameserver\": 5}",
	    "{\"nameserver\": \"bad..name\"}",
	    "{\"nameserver\": \"192.0.2.1:0\"}",
	    "{\"nameserver\": \"192.0.2.1\", \"protocol\": \"QUIC\"}",
	    "{\"nameserver\": \"192.0.2.1\", \"ttl\": \"60\"}",
	    "{\"nameserver\": \"192.0.2.1\", \"ttl\": 0}",
	    "{\"nameserver\": \"192.0.2.1\", \"tsigKeyName\": \"k\"}",
	    "{\"nameserver\": \"192.0.2.1\", \"tsigKeyName\": \"k\", "
	    "\"tsigAlgorithm\": \"HMACSHA384\", \"tsigSecretSecretRef\": "
	    "{\"name\": \"n\", \"key\": \"k\"}}",
	};
	struct d01_env env = {0};
	struct d01_error err;
	struct rfc2136_cfg *c = NULL;
	size_t i;

	c = parse(&env,
	    "{\"nameserver\": \"[2001:db8::1]:5353\", \"tsigKeyName\": "
	    "\"Dns01-Test-Key\", \"tsigAlgorithm\": \"hmacsha512\", "
	    "\"tsigSecretSecretRef\": {\"name\": \"tsig\", \"key\": \"s\"}, "
	    "\"protocol\": \"tcp\", \"ttl\": 120}",
	    &err);
	CHECK(c != NULL);
	CHECK_STR(c->nameserver, "[2001:db8::1]:5353");
	CHECK_STR(c->key_name, "dns01-test-key.");
	CHECK_STR(c->algorithm, "hmac-sha512.");
	CHECK_STR(c->secret_name, "tsig");
	CHECK_STR(c->secret_key, "s");
	CHECK_INT(c->tcp, ==, 1);
	CHECK_INT(c->ttl, ==, 120);
	rfc2136_config_free(c);
	/* Defaults: UDP, TTL 60, no key; a host name is fine. */
	c = parse(&env, "{\"nameserver\": \" bind.dns.svc:53\\t\"}", &err);
	CHECK(c != NULL);
	CHECK_STR(c->nameserver, "bind.dns.svc:53");
	CHECK_INT(c->tcp, ==, 0);
	CHECK_INT(c->ttl, ==, 60);
	CHECK_STR(c->key_name, "");
	rfc2136_config_free(c);
	c = NULL;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d01_error_clear(&err);
		CHECK(parse(&env, bad[i], &err) == NULL);
		CHECK_INT(err.code, ==, D01_E_CONFIG);
		CHECK(strncmp(err.msg, "rfc2136: ", 9) == 0);
	}
	/* A reference that is there but invalid is named as such, not as
	 * a missing tsigSecretSecretRef. */
	{
		char json[600], name[260];

		memset(name, 'n', 254);
		name[254] = '\0';
		snprintf(json, sizeof(json),
		    "{\"nameserver\": \"192.0.2.1\", \"tsigKeyName\": \"k\", "
		    "\"tsigSecretSecretRef\": {\"name\": \"%s\", \"key\": "
		    "\"k\"}}",
		    name);
		CHECK(parse(&env, json, &err) == NULL);
		CHECK(strstr(err.msg,
			  "tsigSecretSecretRef.name is not a valid "
			  "Secret name") != NULL);
		CHECK(strstr(err.msg, "needs") == NULL);
	}
end:
	rfc2136_config_free(c);
}

/* Run one Present (present = 1) or CleanUp to completion into r. */
static void
run_op(struct d01_env *env, void *cfg, int present, const char *value,
    struct result *r)
{
	struct d01_challenge ch = {.uid = "u",
	    .fqdn = FQDN,
	    .zone = "example.test.",
	    .key = value,
	    .namespace = "ns"};
	struct d01_op *op;

	memset(r, 0, sizeof(*r));
	r->base = env->base;
	op = d01_provider_start(&d01_provider_rfc2136, env, cfg, &ch, present,
	    OP_TIMEOUT_MS, done_cb, r, &r->err);
	if (op == NULL)
		return;
	r->started = 1;
	event_base_loopexit(env->base, &(struct timeval){5, 0});
	event_base_dispatch(env->base);
}

/* The one RR of the update section. */
static ldns_rr *
update_rr(const ldns_pkt *p)
{
	return ldns_rr_list_rr(ldns_pkt_authority(p), 0);
}

static void
t_update_wire_and_replies(void)
{
	struct d01_env env = {0};
	struct event_base *base =
	    d01_env_open(&env, NULL, &(struct d01_error){0}) == D01_OK
	    ? env.base
	    : NULL;
	struct fake f = {0};
	struct result r;
	void *cfg = NULL;
	char json[400];
	ldns_rr *rr;

	CHECK(base != NULL);
	CHECK_INT(d01_secrets_put(env.secrets, "ns", "tsig", "s", SECRET, NULL),
	    ==, D01_OK);
	CHECK_INT(fake_start(&f, base), ==, 0);
	snprintf(json, sizeof(json),
	    "{\"nameserver\": \"127.0.0.1:%d\", \"tsigKeyName\": "
	    "\"dns01-test-key\", \"tsigAlgorithm\": \"HMACSHA256\", "
	    "\"tsigSecretSecretRef\": {\"name\": \"tsig\", \"key\": \"s\"}}",
	    f.port);
	CHECK((cfg = parse(&env, json, &r.err)) != NULL);
	/* Present: one TXT RR, class IN, TTL 60, signed; zone section. */
	run_op(&env, cfg, 1, "v1", &r);
	CHECK_INT(r.calls, ==, 1);
	CHECK_INT(r.early, ==, 0);
	CHECK_INT(r.err.code, ==, D01_OK);
	CHECK(f.last != NULL && f.verified);
	CHECK_INT(ldns_pkt_get_opcode(f.last), ==, LDNS_PACKET_UPDATE);
	CHECK_INT(ldns_pkt_rd(f.last), ==, 0);
	CHECK_INT(ldns_pkt_qdcount(f.last), ==, 1);
	CHECK_INT(ldns_pkt_ancount(f.last), ==, 0); /* no prerequisites */
	CHECK_INT(ldns_pkt_nscount(f.last), ==, 1);
	CHECK_INT(
	    ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(f.last), 0)), ==,
	    LDNS_RR_TYPE_SOA);
	rr = update_rr(f.last);
	CHECK_INT(ldns_rr_get_type(rr), ==, LDNS_RR_TYPE_TXT);
	CHECK_INT(ldns_rr_get_class(rr), ==, LDNS_RR_CLASS_IN);
	CHECK_INT(ldns_rr_ttl(rr), ==, 60);
	CHECK_INT(ldns_rr_rd_count(rr), ==, 1);
	CHECK_INT(ldns_rdf_size(ldns_rr_rdf(rr, 0)), ==, 3);
	CHECK_MEM(ldns_rdf_data(ldns_rr_rdf(rr, 0)), "\002v1", 3);
	/* CleanUp: exactly that RR, class NONE, TTL 0. */
	run_op(&env, cfg, 0, "v1", &r);
	CHECK_INT(r.err.code, ==, D01_OK);
	rr = update_rr(f.last);
	CHECK_INT(ldns_rr_get_class(rr), ==, LDNS_RR_CLASS_NONE);
	CHECK_INT(ldns_rr_ttl(rr), ==, 0);
	CHECK_MEM(ldns_rdf_data(ldns_rr_rdf(rr, 0)), "\002v1", 3);
	/* An unsigned reply to a signed update is not believed. */
	f.mode = UNSIGNED;
	run_op(&env, cfg, 1, "v1", &r);
	CHECK_INT(r.err.code, ==, D01_E_AUTH);
	CHECK(strstr(r.err.msg, "not TSIG-signed") != NULL);
	/* REFUSED names the server, the rcode and the zone. */
	f.mode = REFUSED;
	run_op(&env, cfg, 1, "v1", &r);
	CHECK_INT(r.err.code, ==, D01_E_AUTH);
	CHECK(strstr(r.err.msg, "rfc2136: present " FQDN) != NULL);
	CHECK(strstr(r.err.msg, "answered REFUSED for zone example.test.") !=
	    NULL);
	CHECK(strstr(r.err.msg, "127.0.0.1:") != NULL);
	CHECK(strstr(r.err.msg, SECRET) == NULL);
end:
	rfc2136_config_free(cfg);
	fake_stop(&f);
	d01_env_close(&env);
}

/* Cancel at every step; a missing secret fails through the callback. */
static void
t_shape(void)
{
	struct d01_env env = {0};
	struct event_base *base =
	    d01_env_open(&env, NULL, &(struct d01_error){0}) == D01_OK
	    ? env.base
	    : NULL;
	struct d01_challenge ch = {.uid = "u",
	    .fqdn = FQDN,
	    .zone = "example.test.",
	    .key = "v",
	    .namespace = "ns"};
	struct fake f = {0};
	struct result never = {0}, r;
	struct d01_op *op;
	void *cfg = NULL;
	char json[400];
	int i;

	CHECK(base != NULL);
	CHECK_INT(fake_start(&f, base), ==, 0);
	f.mode = SILENT;
	snprintf(json, sizeof(json),
	    "{\"nameserver\": \"localhost:%d\", \"tsigKeyName\": \"k\", "
	    "\"tsigSecretSecretRef\": {\"name\": \"tsig\", \"key\": \"s\"}}",
	    f.port);
	CHECK((cfg = parse(&env, json, &r.err)) != NULL);
	/* The secret cannot be read (the store has no source at all):
	 * reported through the callback, later. */
	run_op(&env, cfg, 1, "v", &r);
	CHECK_INT(r.calls, ==, 1);
	CHECK_INT(r.early, ==, 0);
	CHECK_INT(r.err.code, ==, D01_E_CONFIG);
	CHECK(strstr(r.err.msg, "no source") != NULL);
	CHECK(strstr(r.err.msg, "ns/tsig") != NULL);
	CHECK_INT(d01_secrets_put(env.secrets, "ns", "tsig", "s", SECRET, NULL),
	    ==, D01_OK);
	/* Cancel after 0..3 loop turns: resolving, reading the secret,
	 * waiting for the (silent) server. */
	never.base = base;
	for (i = 0; i < 4; i++) {
		op = d01_provider_start(&d01_provider_rfc2136, &env, cfg, &ch,
		    1, OP_TIMEOUT_MS, done_cb, &never, NULL);
		CHECK(op != NULL);
		for (int k = 0; k < i; k++)
			event_base_loop(base, EVLOOP_ONCE);
		d01_provider_cancel(op);
	}
	event_base_loopexit(base, &(struct timeval){0, 300000});
	event_base_dispatch(base);
	CHECK_INT(never.calls, ==, 0);
end:
	rfc2136_config_free(cfg);
	fake_stop(&f);
	d01_env_close(&env);
}

/* A server that never answers: the op ends at its deadline (300 ms, far
 * inside the DNS client's own 2 s per try), naming the step and the
 * server, and its exchange is cancelled: nothing calls back later. */
static void
t_deadline(void)
{
	struct d01_env env = {0};
	struct event_base *base =
	    d01_env_open(&env, NULL, &(struct d01_error){0}) == D01_OK
	    ? env.base
	    : NULL;
	struct d01_challenge ch = {.uid = "u",
	    .fqdn = FQDN,
	    .zone = "example.test.",
	    .key = "v",
	    .namespace = "ns"};
	struct fake f = {0};
	struct result r = {0};
	struct timespec t0, t1;
	void *cfg = NULL;
	char json[200], want[200];
	long ms;

	CHECK(base != NULL);
	CHECK_INT(fake_start(&f, base), ==, 0);
	f.mode = SILENT;
	snprintf(
	    json, sizeof(json), "{\"nameserver\": \"127.0.0.1:%d\"}", f.port);
	CHECK((cfg = parse(&env, json, &r.err)) != NULL);
	r.base = base;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(d01_provider_start(&d01_provider_rfc2136, &env, cfg, &ch, 1, 300,
		  done_cb, &r, &r.err) != NULL);
	r.started = 1;
	event_base_loopexit(base, &(struct timeval){10, 0});
	event_base_dispatch(base);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (long)(t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK_INT(r.calls, ==, 1);
	CHECK_INT(r.early, ==, 0);
	CHECK_INT(r.err.code, ==, D01_E_TIMEOUT);
	snprintf(want, sizeof(want),
	    "rfc2136: present " FQDN ": timed out after 300 ms while sending "
	    "the UPDATE to 127.0.0.1:%d",
	    f.port);
	CHECK_STR(r.err.msg, want);
	CHECK(f.last != NULL); /* the UPDATE went out */
	CHECK(ms >= 290 && ms < 10000);
	/* Past the DNS client's next try (2 s): no retry went out, no
	 * second callback. */
	ldns_pkt_free(f.last);
	f.last = NULL;
	event_base_loopexit(base, &(struct timeval){2, 500000});
	event_base_dispatch(base);
	CHECK(f.last == NULL);
	CHECK_INT(r.calls, ==, 1);
end:
	rfc2136_config_free(cfg);
	fake_stop(&f);
	d01_env_close(&env);
}

int
main(void)
{
	RUN(t_config);
	RUN(t_update_wire_and_replies);
	RUN(t_shape);
	RUN(t_deadline);
	return harness_done();
}
