/* SPDX-License-Identifier: ISC */
/*
 * The cloudflare provider without the network: config parsing, the reply
 * parsers, query escaping and redaction; then the provider's async call
 * shape (never a synchronous callback, exactly once, cancel-safe at every
 * step) against a minimal in-process API peer on the same event loop.
 * The behaviour against the strict fake is in
 * tests/integration/test_cloudflare.py.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/endpoint.h"
#include "core/redact.h"
#include "harness.h"
#include "providers/env.h"
#include "providers/cloudflare/cf_int.h"

/* Deadline of every op here: long past each test's own bounds. */
#define OP_TIMEOUT_MS 60000

/* Parse under `policy` (NULL: only Cloudflare's own API allowed). */
static enum d01_err
parse_with(const struct d01_endpoints *policy, const char *json,
    struct cf_cfg **out, struct d01_error *err)
{
	json_t *j = json_loads(json, 0, NULL);
	struct d01_env env = {.endpoints = policy};
	enum d01_err rc;

	d01_error_clear(err);
	*out = NULL;
	rc = cf_config_parse(&env, j, (void **)out, err);
	json_decref(j);
	return rc;
}

/* As the CLI does: every endpoint allowed. */
static enum d01_err
parse(const char *json, struct cf_cfg **out, struct d01_error *err)
{
	return parse_with(&d01_endpoints_any, json, out, err);
}

static void
t_config(void)
{
	static const char *const bad[] = {
	    "{}",
	    "[]",
	    "{\"apiTokenSecretRef\":{\"name\":\"a\",\"key\":\"b\"},"
	    "\"apiKeySecretRef\":{\"name\":\"a\",\"key\":\"b\"}}",
	    "{\"apiKeySecretRef\":{\"name\":\"a\",\"key\":\"b\"}}",
	    "{\"apiTokenSecretRef\":{\"name\":\"a\"}}",
	    "{\"apiTokenSecretRef\":{\"name\":\"a\",\"key\":\"b\"},\"ttl\":30}",
	    "{\"apiTokenSecretRef\":{\"name\":\"a\",\"key\":\"b\"},\"ttl\":"
	    "\"60\"}",
	    "{\"apiTokenSecretRef\":{\"name\":\"a\",\"key\":\"b\"},"
	    "\"baseURL\":\"ftp://x\"}",
	    "{\"apiTokenSecretRef\":{\"name\":\"a\",\"key\":\"b\"},"
	    "\"baseURL\":\"https://x/?a=b\"}",
	    "{\"apiTokenSecretRef\":{\"name\":\"a\",\"key\":\"b\"},"
	    "\"baseURL\":\"https://x/a b\"}",
	    "{\"apiTokenSecretRef\":{\"name\":\"a\",\"key\":\"b\"},"
	    "\"zoneID\":\"../user\"}",
	    "{\"apiTokenSecretRef\":{\"name\":\"a\",\"key\":\"b\"},"
	    "\"zoneID\":5}",
	    "{\"apiKeySecretRef\":{\"name\":\"a\",\"key\":\"b\"},"
	    "\"email\":\"a@b\\r\\nX-Evil: 1\"}",
	};
	struct cf_cfg *c = NULL;
	struct d01_error err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &c, &err) == D01_OK) {
			fprintf(stderr, "  accepted: %s\n", bad[i]);
			CHECK(0);
		}
		CHECK(c == NULL);
		CHECK(strstr(err.msg, "cloudflare") != NULL);
	}
	CHECK(parse("{\"apiTokenSecretRef\":{\"name\":\"cf\",\"key\":\"t\"}}",
		  &c, &err) == D01_OK);
	CHECK_STR(c->base_url, CF_DEFAULT_BASE);
	CHECK_INT(c->ttl, ==, 60);
	CHECK_INT(c->use_token, ==, 1);
	CHECK_STR(c->secret_name, "cf");
	cf_config_free(c);
	c = NULL;
	CHECK(parse("{\"apiKeySecretRef\":{\"name\":\"cf\",\"key\":\"k\"},"
		    "\"email\":\"ops@example.test\",\"ttl\":1,\"zoneID\":"
		    "\"0123abcd\",\"baseURL\":\"http://127.0.0.1:1/v4/\"}",
		  &c, &err) == D01_OK);
	CHECK_INT(c->use_token, ==, 0);
	CHECK_INT(c->ttl, ==, 1);
	CHECK_STR(c->zone_id, "0123abcd");
	CHECK_STR(c->base_url, "http://127.0.0.1:1/v4");
end:
	cf_config_free(c);
}

static void
t_envelope(void)
{
	const char *chain =
	    "{\"success\":false,\"errors\":[{\"code\":6003,\"message\":"
	    "\"Invalid request headers\",\"error_chain\":[{\"code\":6111,"
	    "\"message\":\"Invalid format for\\nAuthorization header\"}]}],"
	    "\"messages\":[],\"result\":null}";
	const char *list = "{\"success\":true,\"errors\":[],\"result\":[],"
			   "\"result_info\":{\"page\":1,\"total_pages\":3}}";
	struct d01_error err;
	json_t *root = NULL, *res;
	int pages = 0, code = 0;

	d01_error_clear(&err);
	res = cf_envelope(200, list, strlen(list), &root, &pages, &code, &err);
	CHECK(res != NULL && json_is_array(res));
	CHECK_INT(pages, ==, 3);
	json_decref(root);
	root = NULL;
	res =
	    cf_envelope(400, chain, strlen(chain), &root, &pages, &code, &err);
	CHECK(res == NULL);
	CHECK_INT(code, ==, 6003);
	CHECK_STR(err.msg,
	    "HTTP 400: [6003] Invalid request headers <- [6111] Invalid "
	    "format for Authorization header");
	CHECK_INT(err.retryable, ==, 0);
	json_decref(root);
	root = NULL;
	d01_error_clear(&err);
	res = cf_envelope(429, "<html>", 6, &root, &pages, &code, &err);
	CHECK(res == NULL);
	CHECK_INT(err.code, ==, D01_E_RATELIMIT);
	CHECK_INT(err.retryable, ==, 1);
	CHECK(strstr(err.msg, "not a JSON reply") != NULL);
	/* success:true with an error status is still a failure. */
	json_decref(root);
	root = NULL;
	d01_error_clear(&err);
	CHECK(cf_envelope(
		  500, list, strlen(list), &root, &pages, &code, &err) == NULL);
	CHECK_INT(err.status, ==, 500);
end:
	json_decref(root);
}

static void
t_records(void)
{
	const char *recs =
	    "[{\"id\":\"a1\",\"type\":\"TXT\",\"name\":\"_acme-challenge.Ex."
	    "test\","
	    "\"content\":\"\\\"v1\\\"\"},"
	    "{\"id\":\"a2\",\"type\":\"TXT\",\"name\":\"_acme-challenge.ex."
	    "test\","
	    "\"content\":\"v1\"},"
	    "{\"id\":\"a3\",\"type\":\"TXT\",\"name\":\"_acme-challenge.ex."
	    "test\","
	    "\"content\":\"V1\"},"
	    "{\"id\":\"a4\",\"type\":\"CNAME\",\"name\":\"_acme-challenge.ex."
	    "test\","
	    "\"content\":\"v1\"},"
	    "{\"id\":\"a5\",\"type\":\"TXT\",\"name\":\"other.ex.test\","
	    "\"content\":\"v1\"},"
	    "{\"id\":\"../"
	    "a6\",\"type\":\"TXT\",\"name\":\"_acme-challenge.ex.test\","
	    "\"content\":\"v1\"},"
	    "{\"id\":\"a7\",\"type\":\"TXT\",\"name\":\"_acme-challenge.ex."
	    "test\","
	    "\"content\":\"\\\"v1\"}]";
	const char *zones = "[{\"id\":\"z0\",\"name\":\"sub.ex.test\"},"
			    "{\"id\":\"z1\",\"name\":\"EX.test\"}]";
	char ids[CF_MAX_IDS][CF_ID_MAX], id[CF_ID_MAX];
	json_t *r = json_loads(recs, 0, NULL), *z = json_loads(zones, 0, NULL);
	int n = 0;

	CHECK(r != NULL && z != NULL);
	CHECK_INT(cf_records_match(
		      r, "_acme-challenge.ex.test", "v1", ids, CF_MAX_IDS, &n),
	    ==, 2);
	CHECK_INT(n, ==, 2);
	CHECK_STR(ids[0], "a1");
	CHECK_STR(ids[1], "a2");
	n = 0; /* the cap holds; hits are still counted */
	CHECK_INT(
	    cf_records_match(r, "_acme-challenge.ex.test", "v1", ids, 1, &n),
	    ==, 2);
	CHECK_INT(n, ==, 1);
	CHECK_INT(cf_zone_pick(z, "ex.test", id, sizeof(id)), ==, 0);
	CHECK_STR(id, "z1");
	CHECK_INT(cf_zone_pick(z, "nope.test", id, sizeof(id)), ==, -1);
end:
	json_decref(r);
	json_decref(z);
}

static void
t_escape_redact(void)
{
	char out[64], msg[128];

	CHECK_INT(d01_url_escape(out, sizeof(out), "a b/c?&=\"x\"~_-."), ==, 0);
	CHECK_STR(out, "a%20b%2Fc%3F%26%3D%22x%22~_-.");
	CHECK_INT(d01_url_escape(out, 4, "abcd"), ==, -1);
	snprintf(
	    msg, sizeof(msg), "bad token s3cr3t-token, again s3cr3t-token");
	d01_redact(msg, sizeof(msg), "s3cr3t-token");
	CHECK_STR(msg, "bad token [redacted], again [redacted]");
	snprintf(msg, sizeof(msg), "key abcdef!");
	d01_redact(msg, sizeof(msg), "abcdef");
	CHECK_STR(msg, "key [redacted]!");
end:;
}

/* A minimal API peer: one zone, an empty record list, creates succeed;
 * requests to /hold are kept unanswered (for cancel-in-flight). */
struct peer {
	struct event_base *base;
	struct evhttp *http;
	int port, hits, bad_auth, zone_hits;
	struct evhttp_request *held;
	int hold_zones, nzheld; /* /zones requests kept for later */
	struct evhttp_request *zheld[32];
};

static void
zone_answer(struct evhttp_request *req)
{
	evbuffer_add_printf(evhttp_request_get_output_buffer(req),
	    "{\"success\":true,\"errors\":[],\"result\":[{\"id\":"
	    "\"zone1\",\"name\":\"ex.test\"}],\"result_info\":"
	    "{\"page\":1,\"total_pages\":1}}");
	evhttp_send_reply(req, 200, "OK", NULL);
}

static void
peer_cb(struct evhttp_request *req, void *arg)
{
	struct peer *p = arg;
	const char *uri = evhttp_request_get_uri(req);
	const char *auth = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Authorization");
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	p->hits++;
	if (auth == NULL || strcmp(auth, "Bearer tok-123") != 0)
		p->bad_auth++;
	if (strstr(uri, "/hold/") != NULL) {
		p->held = req; /* answered (or dropped) by evhttp_free */
		return;
	}
	if (strstr(uri, "/zones?") != NULL) {
		p->zone_hits++;
		if (p->hold_zones && p->nzheld < 32)
			p->zheld[p->nzheld++] = req;
		else
			zone_answer(req);
		return;
	}
	if (evhttp_request_get_command(req) == EVHTTP_REQ_GET)
		evbuffer_add_printf(out,
		    "{\"success\":true,\"errors\":[],\"result\":[],"
		    "\"result_info\":{\"page\":1,\"total_pages\":0}}");
	else
		evbuffer_add_printf(out,
		    "{\"success\":true,\"errors\":[],\"result\":{\"id\":"
		    "\"rec1\"}}");
	evhttp_send_reply(req, 200, "OK", NULL);
}

static int
peer_start(struct peer *p, struct event_base *base)
{
	struct evhttp_bound_socket *b;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	memset(p, 0, sizeof(*p));
	p->base = base;
	if ((p->http = evhttp_new(base)) == NULL ||
	    (b = evhttp_bind_socket_with_handle(p->http, "127.0.0.1", 0)) ==
		NULL)
		return -1;
	evhttp_set_gencb(p->http, peer_cb, p);
	getsockname(evhttp_bound_socket_get_fd(b), (struct sockaddr *)&sa, &sl);
	p->port = ntohs(sa.sin_port);
	return 0;
}

struct probe {
	int calls, started;
	enum d01_err code;
	char msg[D01_ERROR_MSG_MAX];
	struct event_base *base;
};

static void
probe_cb(void *arg, const struct d01_error *err)
{
	struct probe *pr = arg;

	pr->calls++;
	if (!pr->started)
		pr->calls += 100; /* synchronous: fails the count checks */
	pr->code = err->code;
	snprintf(pr->msg, sizeof(pr->msg), "%s", err->msg);
	event_base_loopexit(pr->base, NULL);
}

struct fixture {
	struct event_base *base;
	struct d01_env env;
	struct peer peer;
	struct cf_cfg *cfg;
};

static int
fixture_new(struct fixture *f, const char *path)
{
	char json[256];
	struct d01_error err;

	memset(f, 0, sizeof(*f));
	if (d01_env_open(&f->env, NULL, &err) != D01_OK ||
	    (f->base = f->env.base) == NULL ||
	    peer_start(&f->peer, f->base) != 0)
		return -1;
	d01_secrets_put(f->env.secrets, "ns", "cf", "token", "tok-123", NULL);
	d01_secrets_put(f->env.secrets, "ns", "cf", "nl", "tok\n123", NULL);
	snprintf(json, sizeof(json),
	    "{\"apiTokenSecretRef\":{\"name\":\"cf\",\"key\":\"%s\"},"
	    "\"baseURL\":\"http://127.0.0.1:%d%s\"}",
	    strcmp(path, "/nl") == 0 ? "nl" : "token", f->peer.port, path);
	return parse(json, &f->cfg, &err) == D01_OK ? 0 : -1;
}

static void
fixture_free(struct fixture *f)
{
	cf_config_free(f->cfg);
	if (f->peer.http != NULL)
		evhttp_free(f->peer.http);
	d01_env_close(&f->env);
}

static const struct d01_challenge ch = {
    .uid = "u1",
    .fqdn = "_acme-challenge.www.ex.test.",
    .zone = "ex.test.",
    .key = "value-1",
    .namespace = "ns",
};

static void
spin(struct event_base *base, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Success: exactly once, never before present() returns. */
static void
t_shape_ok(void)
{
	struct fixture f;
	struct probe pr = {0};
	struct d01_op *op;

	CHECK(fixture_new(&f, "") == 0);
	pr.base = f.base;
	op = d01_provider_start(&d01_provider_cloudflare, &f.env, f.cfg, &ch, 1,
	    OP_TIMEOUT_MS, probe_cb, &pr, NULL);
	CHECK(op != NULL);
	pr.started = 1;
	CHECK_INT(pr.calls, ==, 0);
	spin(f.base, 5000);
	CHECK_INT(pr.calls, ==, 1);
	CHECK_INT(pr.code, ==, D01_OK);
	CHECK_INT(f.peer.hits, ==, 3); /* zone, list, create */
	CHECK_INT(f.peer.bad_auth, ==, 0);
	/* The zone ID is remembered: cleanup needs list (+ nothing). */
	memset(&pr, 0, sizeof(pr));
	pr.base = f.base;
	CHECK(d01_provider_start(&d01_provider_cloudflare, &f.env, f.cfg, &ch,
		  0, OP_TIMEOUT_MS, probe_cb, &pr, NULL) != NULL);
	pr.started = 1;
	spin(f.base, 5000);
	CHECK_INT(pr.calls, ==, 1);
	CHECK_INT(pr.code, ==, D01_OK);
	CHECK_INT(f.peer.hits, ==, 4);
end:
	fixture_free(&f);
}

/* Failures arrive through the callback too, once, later. */
static void
t_shape_errors(void)
{
	struct fixture f;
	struct probe pr = {0};
	struct d01_env none = {0};
	struct d01_error err;

	CHECK(fixture_new(&f, "/nl") == 0);
	pr.base = f.base;
	CHECK(d01_provider_start(&d01_provider_cloudflare, &f.env, f.cfg, &ch,
		  1, OP_TIMEOUT_MS, probe_cb, &pr, NULL) != NULL);
	pr.started = 1;
	spin(f.base, 5000);
	CHECK_INT(pr.calls, ==, 1);
	CHECK_INT(pr.code, ==, D01_E_CONFIG);
	CHECK(strstr(pr.msg, "control character") != NULL);
	CHECK(strstr(pr.msg, "123") == NULL);
	CHECK_INT(f.peer.hits, ==, 0);
	/* No HTTP client: NULL at once, and the callback never runs. */
	memset(&pr, 0, sizeof(pr));
	none.base = f.base;
	d01_error_clear(&err);
	CHECK(d01_provider_start(&d01_provider_cloudflare, &none, f.cfg, &ch, 1,
		  OP_TIMEOUT_MS, probe_cb, &pr, &err) == NULL);
	CHECK(err.code != D01_OK);
	spin(f.base, 100);
	CHECK_INT(pr.calls, ==, 0);
end:
	fixture_free(&f);
}

/* Cancel right after start (secret pending) and while a request is in
 * flight: the callback never runs, nothing leaks (ASan/LSan). */
static void
t_cancel(void)
{
	struct fixture f;
	struct probe pr = {0};
	struct d01_op *op;

	CHECK(fixture_new(&f, "/hold") == 0);
	pr.base = f.base;
	op = d01_provider_start(&d01_provider_cloudflare, &f.env, f.cfg, &ch, 1,
	    OP_TIMEOUT_MS, probe_cb, &pr, NULL);
	CHECK(op != NULL);
	d01_provider_cancel(op);
	spin(f.base, 100);
	CHECK_INT(pr.calls, ==, 0);
	op = d01_provider_start(&d01_provider_cloudflare, &f.env, f.cfg, &ch, 0,
	    OP_TIMEOUT_MS, probe_cb, &pr, NULL);
	CHECK(op != NULL);
	pr.started = 1;
	spin(f.base, 300);
	CHECK(f.peer.held != NULL); /* the zone lookup is waiting */
	d01_provider_cancel(op);
	CHECK_INT(d01_http_inflight(f.env.http), ==, 0);
	spin(f.base, 100);
	CHECK_INT(pr.calls, ==, 0);
end:
	fixture_free(&f);
}

/* An API that never answers: the op ends by its deadline (300 ms), with
 * the step in the message, and nothing is left in flight. */
static void
t_deadline(void)
{
	struct fixture f;
	struct probe pr = {0};
	struct d01_op *op;

	CHECK(fixture_new(&f, "/hold") == 0);
	pr.base = f.base;
	op = d01_provider_start(&d01_provider_cloudflare, &f.env, f.cfg, &ch, 1,
	    300, probe_cb, &pr, NULL);
	CHECK(op != NULL);
	pr.started = 1;
	spin(f.base, 10000);
	CHECK(f.peer.held != NULL); /* the zone lookup went out */
	CHECK_INT(pr.calls, ==, 1);
	/* The HTTP call's budget (the op's, less a reserve) or the op's
	 * deadline: either way a timeout, in the zone lookup. */
	CHECK(pr.code == D01_E_TIMEOUT || pr.code == D01_E_NETWORK);
	CHECK(strstr(pr.msg,
		  "cloudflare: present "
		  "_acme-challenge.www.ex.test") != NULL);
	CHECK(strstr(pr.msg, "looking up the zone") != NULL);
	CHECK_INT(d01_http_inflight(f.env.http), ==, 0);
	spin(f.base, 300);
	CHECK_INT(pr.calls, ==, 1);
end:
	fixture_free(&f);
}

struct many {
	int calls, ok;
	struct event_base *base;
	int want;
};

static void
many_cb(void *arg, const struct d01_error *err)
{
	struct many *m = arg;

	m->calls++;
	m->ok += err->code == D01_OK;
	if (m->calls == m->want)
		event_base_loopexit(m->base, NULL);
}

/* 20 Presents at once in one zone: one zone lookup, the others wait on
 * it; the leader cancelled mid-lookup hands over to one new leader. */
static void
t_coalesce(void)
{
	struct fixture f;
	struct many m = {0};
	struct d01_challenge c = ch;
	struct d01_op *ops[20];
	char names[20][64];
	int i, lead = -1;

	CHECK(fixture_new(&f, "") == 0);
	f.peer.hold_zones = 1;
	m.base = f.base;
	m.want = 19;
	for (i = 0; i < 20; i++) {
		snprintf(names[i], sizeof(names[i]),
		    "_acme-challenge.h%d.ex.test.", i);
		c.fqdn = names[i];
		CHECK((ops[i] = d01_provider_start(&d01_provider_cloudflare,
			   &f.env, f.cfg, &c, 1, OP_TIMEOUT_MS, many_cb, &m,
			   NULL)) != NULL);
	}
	spin(f.base, 300);
	CHECK_INT(f.peer.zone_hits, ==, 1);
	CHECK_INT(m.calls, ==, 0); /* every op is alive: peeking is safe */
	for (i = 0; i < 20; i++)
		if (((struct cf_op *)ops[i])->leading)
			lead = lead < 0 ? i : 99;
	CHECK(lead >= 0 && lead < 20);
	d01_provider_cancel(ops[lead]);
	spin(f.base, 300);
	CHECK_INT(f.peer.zone_hits, ==, 2); /* one new leader, not 19 */
	f.peer.hold_zones = 0;
	for (i = 0; i < f.peer.nzheld; i++)
		zone_answer(f.peer.zheld[i]);
	spin(f.base, 5000);
	CHECK_INT(m.calls, ==, 19);
	CHECK_INT(m.ok, ==, 19);
	CHECK_INT(f.peer.zone_hits, ==, 2);
end:
	fixture_free(&f);
}

int
main(void)
{
	RUN(t_config);
	RUN(t_envelope);
	RUN(t_records);
	RUN(t_escape_redact);
	RUN(t_shape_ok);
	RUN(t_shape_errors);
	RUN(t_cancel);
	RUN(t_deadline);
	RUN(t_coalesce);
	return harness_done();
}
