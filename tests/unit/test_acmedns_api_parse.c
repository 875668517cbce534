/* SPDX-License-Identifier: ISC */
/*
 * The acme-dns API's pure input functions (server/acmedns_api_parse.h):
 * the CIDR matcher of allowfrom (IPv4, IPv6, v4-mapped peers, prefix
 * edges), the client address behind trusted proxies (rightmost untrusted
 * X-Forwarded-For hop, forged left parts ignored, unreadable hops fatal),
 * acme-dns's validators and both bodies; and the bcrypt workers
 * (server/acmedns_api_crypt.h) on a real loop.
 */
#include <string.h>

#include <event2/event.h>

#include "harness.h"
#include "server/acmedns_api_crypt.h"
#include "server/acmedns_api_parse.h"

static int
match(const char *cidr, const char *ip)
{
	struct d01_cidr c;
	struct d01_ipaddr a;

	if (d01_cidr_parse(cidr, &c) != 0 || d01_ip_parse(ip, &a) != 0)
		return -1;
	return d01_cidr_match(&c, &a);
}

static void
t_cidr(void)
{
	struct d01_cidr c;

	CHECK_INT(match("10.0.0.0/8", "10.255.1.2"), ==, 1);
	CHECK_INT(match("10.0.0.0/8", "11.0.0.1"), ==, 0);
	CHECK_INT(match("10.1.2.3/8", "10.9.9.9"), ==, 1); /* host bits */
	CHECK_INT(match("192.168.1.128/25", "192.168.1.127"), ==, 0);
	CHECK_INT(match("192.168.1.128/25", "192.168.1.255"), ==, 1);
	CHECK_INT(match("192.168.1.1/32", "192.168.1.1"), ==, 1);
	CHECK_INT(match("192.168.1.1/32", "192.168.1.2"), ==, 0);
	CHECK_INT(match("0.0.0.0/0", "203.0.113.9"), ==, 1);
	CHECK_INT(match("0.0.0.0/0", "::1"), ==, 0); /* families apart */
	CHECK_INT(match("2001:db8::/32", "2001:db8:ffff::1"), ==, 1);
	CHECK_INT(match("2001:db8::/33", "2001:db8:8000::1"), ==, 0);
	CHECK_INT(match("[2001:db8::]/32", "[2001:db8::5]"), ==, 1);
	CHECK_INT(match("::1/128", "::1"), ==, 1);
	/* A v4-mapped peer (an IPv6 listener) is its IPv4 address. */
	CHECK_INT(match("127.0.0.0/8", "::ffff:127.0.0.5"), ==, 1);
	CHECK_INT(d01_cidr_parse("10.0.0.1", &c), ==, -1);
	CHECK_INT(d01_cidr_parse("10.0.0.1/33", &c), ==, -1);
	CHECK_INT(d01_cidr_parse("::/129", &c), ==, -1);
	CHECK_INT(d01_cidr_parse("10.0.0.1/+8", &c), ==, -1);
	CHECK_INT(d01_cidr_parse("10.0.0.1/ 8", &c), ==, -1);
	CHECK_INT(d01_cidr_parse("10.0.0.1/", &c), ==, -1);
	CHECK_INT(d01_cidr_parse("host/8", &c), ==, -1);
end:;
}

/* The client of (peer, xff) with 127.0.0.2 and ::2 trusted, as text. */
static const char *
client(const char *peer, const char *xff, char *buf)
{
	struct d01_cidr t[2];
	struct d01_ipaddr ip;
	static const char *const tr[] = {"127.0.0.2/32", "::2/128"};
	int i;

	for (i = 0; i < 2; i++)
		d01_cidr_parse(tr[i], &t[i]);
	if (d01_adns_client_addr(peer, xff, t, 2, &ip) != 0)
		return "none";
	if (ip.family == 4)
		snprintf(
		    buf, 64, "%d.%d.%d.%d", ip.a[0], ip.a[1], ip.a[2], ip.a[3]);
	else
		snprintf(
		    buf, 64, "v6:%02x%02x..%02x", ip.a[0], ip.a[1], ip.a[15]);
	return buf;
}

static void
t_xff(void)
{
	char b[64];

	/* Untrusted peer: X-Forwarded-For is not read at all. */
	CHECK_STR(client("127.0.0.1:5000", "10.0.0.1", b), "127.0.0.1");
	CHECK_STR(client("127.0.0.1:5000", "garbage", b), "127.0.0.1");
	/* Trusted: rightmost hop that is not a trusted proxy. */
	CHECK_STR(client("127.0.0.2:5000", "10.0.0.1", b), "10.0.0.1");
	CHECK_STR(client("127.0.0.2:5000", "6.6.6.6, 10.0.0.1", b), "10.0.0.1");
	CHECK_STR(
	    client("127.0.0.2:5000", "10.0.0.1,127.0.0.2", b), "10.0.0.1");
	CHECK_STR(
	    client("127.0.0.2:5000", "127.0.0.2, 127.0.0.2", b), "127.0.0.2");
	CHECK_STR(client("127.0.0.2:5000", "10.0.0.1, ,", b), "10.0.0.1");
	CHECK_STR(client("127.0.0.2:5000", "garbage, 10.0.0.1", b), "10.0.0.1");
	CHECK_STR(client("127.0.0.2:5000", "10.0.0.1, garbage", b), "none");
	CHECK_STR(client("127.0.0.2:5000", "10.0.0.1:80", b), "none");
	CHECK_STR(client("127.0.0.2:5000", "", b), "127.0.0.2");
	CHECK_STR(client("127.0.0.2:5000", NULL, b), "127.0.0.2");
	/* IPv6 peers as httpd writes them ("addr:port", unbracketed). */
	CHECK_STR(client("::2:5000", "2001:db8::1", b), "v6:2001..01");
	CHECK_STR(client("::1:5000", "2001:db8::1", b), "v6:0000..01");
	CHECK_STR(client("::ffff:127.0.0.2:5000", "[::1]", b), "v6:0000..01");
	CHECK_STR(client("nonsense", NULL, b), "none");
end:;
}

static void
t_validators(void)
{
	char u[D01_ADNS_UUID_LEN + 1];

	CHECK(
	    d01_adns_valid_txt("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_01234"));
	CHECK(
	    !d01_adns_valid_txt("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_0123"));
	CHECK(
	    !d01_adns_valid_txt("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_0123="));
	CHECK(!d01_adns_valid_txt(""));
	CHECK(d01_adns_valid_key("0123456789012345678901234567890123456789"));
	CHECK(!d01_adns_valid_key("012345678901234567890123456789012345678 "));
	CHECK(d01_adns_valid_subdomain("a"));
	CHECK(d01_adns_valid_subdomain("a-b"));
	CHECK(!d01_adns_valid_subdomain("-ab"));
	CHECK(!d01_adns_valid_subdomain("a.b"));
	CHECK_INT(
	    d01_adns_uuid_canon("0F8FAD5B-D9CB-469F-A165-70867728950E", u), ==,
	    0);
	CHECK_STR(u, "0f8fad5b-d9cb-469f-a165-70867728950e");
	CHECK_INT(
	    d01_adns_uuid_canon("0f8fad5bd9cb469fa16570867728950e", u), ==, 0);
	CHECK_STR(u, "0f8fad5b-d9cb-469f-a165-70867728950e");
	CHECK_INT(
	    d01_adns_uuid_canon("{0f8fad5b-d9cb-469f-a165-70867728950e}", u),
	    ==, 0);
	CHECK_INT(d01_adns_uuid_canon(
		      "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e", u),
	    ==, 0);
	CHECK_INT(
	    d01_adns_uuid_canon("0f8fad5b-d9cb-469f-a165_70867728950e", u), ==,
	    -1);
	CHECK_INT(d01_adns_uuid_canon("admin", u), ==, -1);
end:;
}

static void
t_bodies(void)
{
	struct d01_adns_register r;
	struct d01_adns_update u;
	const char *s;

	CHECK_INT(d01_adns_parse_register("", 0, &r), ==, D01_ADNS_REG_OK);
	s = "{\"AllowFrom\": [\"10.0.0.0/8\", \"[::1]/128\"]}";
	CHECK_INT(
	    d01_adns_parse_register(s, strlen(s), &r), ==, D01_ADNS_REG_OK);
	CHECK_INT((int)r.ncidrs, ==, 2);
	CHECK_STR(r.text[1], "::1/128");
	s = "{\"allowfrom\": [\"10.0.0.1\"]}";
	CHECK_INT(d01_adns_parse_register(s, strlen(s), &r), ==,
	    D01_ADNS_REG_BAD_CIDR);
	s = "{\"allowfrom\": [1]}";
	CHECK_INT(d01_adns_parse_register(s, strlen(s), &r), ==,
	    D01_ADNS_REG_MALFORMED);
	s = "{} {}";
	CHECK_INT(d01_adns_parse_register(s, strlen(s), &r), ==,
	    D01_ADNS_REG_MALFORMED);
	s = "null";
	CHECK_INT(
	    d01_adns_parse_register(s, strlen(s), &r), ==, D01_ADNS_REG_OK);
	/* Update: the first value, as Go's Decoder; fields in any case. */
	s = "{\"Subdomain\": \"abc\", \"TXT\": \"v\"} trailing";
	d01_adns_parse_update(s, strlen(s), &u);
	CHECK_STR(u.subdomain, "abc");
	CHECK_STR(u.txt, "v");
	s = "{\"subdomain\": \"abc\", \"txt\": 5}";
	d01_adns_parse_update(s, strlen(s), &u);
	CHECK_STR(u.subdomain, "abc");
	CHECK_STR(u.txt, "");
	s = "{\"subdomain\": \"a\\u0000b\"}";
	d01_adns_parse_update(s, strlen(s), &u);
	CHECK(strcmp(u.subdomain, "a") != 0);
	s = "{\"txt\": \"abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_01234X\"}";
	d01_adns_parse_update(s, strlen(s), &u);
	CHECK(!d01_adns_valid_txt(u.txt));
end:;
}

struct crypt_result {
	int calls, ok;
	char hash[D01_ADNS_HASH_MAX];
};

static void
crypt_cb(void *arg, int ok, const char *hash)
{
	struct crypt_result *r = arg;

	r->calls++;
	r->ok = ok;
	if (hash != NULL)
		snprintf(r->hash, sizeof(r->hash), "%s", hash);
}

static void
run_until(struct event_base *base, const int *calls, int want)
{
	int i;

	for (i = 0; i < 2000 && *calls < want; i++)
		event_base_loop(base, EVLOOP_ONCE);
}

static void
t_crypt(void)
{
	struct event_base *base = event_base_new();
	struct d01_error err = {0};
	struct d01_adns_crypt *c = d01_adns_crypt_new(base, 2, 2, 4, &err);
	struct crypt_result h = {0}, v1 = {0}, v2 = {0}, x = {0};
	struct d01_adns_job *j;

	CHECK(c != NULL);
	CHECK(d01_adns_crypt_hash(c, "secret-password", crypt_cb, &h) != NULL);
	CHECK_INT(h.calls, ==, 0); /* never inside start */
	run_until(base, &h.calls, 1);
	CHECK_INT(h.calls, ==, 1);
	CHECK(h.ok);
	CHECK(strncmp(h.hash, "$2b$04$", 7) == 0);
	CHECK(d01_adns_crypt_verify(
		  c, "secret-password", h.hash, crypt_cb, &v1) != NULL);
	CHECK(d01_adns_crypt_verify(
		  c, "secret-passworD", h.hash, crypt_cb, &v2) != NULL);
	/* The queue holds two: a third is refused at once. */
	CHECK(d01_adns_crypt_verify(c, "x", h.hash, crypt_cb, &x) == NULL);
	run_until(base, &v2.calls, 1);
	run_until(base, &v1.calls, 1);
	CHECK(v1.ok && !v2.ok);
	/* Cancelled: never called. */
	CHECK(
	    (j = d01_adns_crypt_verify(c, "x", h.hash, crypt_cb, &x)) != NULL);
	d01_adns_crypt_cancel(j);
	CHECK(d01_adns_crypt_hash(c, "y", crypt_cb, &v2) != NULL);
	run_until(base, &v2.calls, 2);
	CHECK_INT(x.calls, ==, 0);
	/* Freed with a job queued: silently dropped. */
	CHECK(d01_adns_crypt_hash(c, "z", crypt_cb, &x) != NULL);
end:
	d01_adns_crypt_free(c);
	CHECK_INT(x.calls, ==, 0);
	event_base_free(base);
}

int
main(void)
{
	RUN(t_cidr);
	RUN(t_xff);
	RUN(t_validators);
	RUN(t_bodies);
	RUN(t_crypt);
	return harness_done();
}
