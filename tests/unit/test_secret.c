/* SPDX-License-Identifier: ISC */
/*
 * Secret references: the directory back end laid out like a mounted
 * Secret (with the ..data symlinks the kubelet makes), newline trimming,
 * references that try to leave the directory, size and type limits, the
 * in-memory back end, and the async call shape (never synchronous, cancel
 * means no callback). Errors never carry the value.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/secret.h"
#include "harness.h"

#define VALUE "c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3QtbGVhaw=="

struct got {
	int calls, started, early;
	enum d01_err code;
	char value[128];
	size_t len;
	char msg[D01_ERROR_MSG_MAX];
};

static void
got_cb(void *arg, const struct d01_error *err, const char *value, size_t len)
{
	struct got *g = arg;

	g->calls++;
	g->early |= !g->started;
	g->code = err->code;
	snprintf(g->msg, sizeof(g->msg), "%s", err->msg);
	g->len = len;
	snprintf(g->value, sizeof(g->value), "%s", value ? value : "(null)");
}

static int
write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(data, f);
	return fclose(f);
}

/* <root>/ns1/tsig/ laid out as the kubelet does: key -> ..data/key. */
static int
make_tree(char *root)
{
	char p[512], q[512];
	char *big;
	int rc;

	if (mkdtemp(root) == NULL)
		return -1;
	snprintf(p, sizeof(p), "%s/ns1", root);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/ns1/tsig", root);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/ns1/tsig/..2026_11_28", root);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/ns1/tsig/..data", root);
	if (symlink("..2026_11_28", p) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/ns1/tsig/..2026_11_28/secret", root);
	write_file(p, VALUE "\n");
	snprintf(p, sizeof(p), "%s/ns1/tsig/secret", root);
	if (symlink("..data/secret", p) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/ns1/tsig/crlf", root);
	write_file(p, "v\r\n");
	snprintf(p, sizeof(p), "%s/ns1/tsig/two-newlines", root);
	write_file(p, "v\n\n");
	snprintf(p, sizeof(p), "%s/ns1/tsig/dir", root);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/ns1/tsig/fifo", root);
	mkfifo(p, 0600);
	snprintf(q, sizeof(q), "%s/ns1/tsig/big", root);
	big = malloc(D01_SECRET_MAX + 2);
	memset(big, 'a', D01_SECRET_MAX + 1);
	big[D01_SECRET_MAX + 1] = '\0';
	rc = write_file(q, big);
	free(big);
	return rc;
}

/* One lookup, run to completion. */
static void
lookup(struct event_base *base, struct d01_secrets *s, const char *ns,
    const char *name, const char *key, struct got *g)
{
	struct d01_secret_ref ref = {name, key};
	struct d01_error err;

	memset(g, 0, sizeof(*g));
	if (d01_secret_get(s, ns, &ref, got_cb, g, &err) == NULL) {
		g->code = err.code;
		snprintf(g->msg, sizeof(g->msg), "%s", err.msg);
		return;
	}
	g->started = 1;
	event_base_loop(base, EVLOOP_NONBLOCK);
}

static void
t_directory(void)
{
	static const struct {
		const char *ns, *name, *key;
		enum d01_err code;
		const char *value;
	} cases[] = {
	    {"ns1", "tsig", "secret", D01_OK, VALUE},
	    {"ns1", "tsig", "crlf", D01_OK, "v"},
	    {"ns1", "tsig", "two-newlines", D01_OK, "v\n"},
	    {"ns1", "tsig", "missing", D01_E_NOTFOUND, NULL},
	    {"ns2", "tsig", "secret", D01_E_NOTFOUND, NULL},
	    {"ns1", "tsig", "dir", D01_E_CONFIG, NULL},
	    {"ns1", "tsig", "fifo", D01_E_CONFIG, NULL},
	    {"ns1", "tsig", "big", D01_E_LIMIT, NULL},
	    {"ns1", "..", "ns1", D01_E_CONFIG, NULL},
	    {"..", "ns1", "tsig", D01_E_CONFIG, NULL},
	    {"ns1", "tsig/../tsig", "secret", D01_E_CONFIG, NULL},
	    {"ns1", "tsig", "..data/secret", D01_E_CONFIG, NULL},
	};
	char root[] = "/tmp/d01-secret-XXXXXX";
	struct event_base *base = event_base_new();
	struct d01_secrets *s = d01_secrets_new(base);
	struct d01_error err;
	struct got g;
	size_t i;

	CHECK(base != NULL && s != NULL);
	CHECK_INT(make_tree(root), ==, 0);
	CHECK_INT(
	    d01_secrets_set_dir(s, "/nonexistent", &err), ==, D01_E_CONFIG);
	CHECK_INT(d01_secrets_set_dir(s, root, &err), ==, D01_OK);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lookup(base, s, cases[i].ns, cases[i].name, cases[i].key, &g);
		if (g.code != cases[i].code)
			fprintf(stderr, "  case %zu: %s\n", i, g.msg);
		CHECK_INT(g.code, ==, cases[i].code);
		CHECK(strstr(g.msg, VALUE) == NULL);
		if (cases[i].value != NULL) {
			CHECK_INT(g.calls, ==, 1);
			CHECK_STR(g.value, cases[i].value);
			CHECK_INT(g.len, ==, strlen(cases[i].value));
		} else if (g.calls == 1) {
			CHECK_STR(g.value, "(null)");
			/* Errors name the reference, never the value. */
			CHECK(strstr(g.msg, cases[i].key) != NULL);
		}
		CHECK_INT(g.early, ==, 0);
	}
end:
	d01_secrets_free(s);
	if (base != NULL)
		event_base_free(base);
	if (root[strlen(root) - 1] != 'X') {
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			fprintf(stderr, "  could not remove %s\n", root);
	}
}

static void
t_memory_and_shape(void)
{
	struct event_base *base = event_base_new();
	struct d01_secrets *s = d01_secrets_new(base);
	struct d01_secret_ref ref = {"env", "RFC2136_TSIG_SECRET"};
	struct d01_error err;
	struct got g = {0}, never = {0};

	CHECK(base != NULL && s != NULL);
	CHECK_INT(
	    d01_secrets_put(s, "", "env", "RFC2136_TSIG_SECRET", VALUE, &err),
	    ==, D01_OK);
	/* The callback comes from the loop, not from inside get. */
	CHECK(d01_secret_get(s, "", &ref, got_cb, &g, &err) != NULL);
	CHECK_INT(g.calls, ==, 0);
	g.started = 1;
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK_INT(g.calls, ==, 1);
	CHECK_INT(g.early, ==, 0);
	CHECK_STR(g.value, VALUE);
	/* Another namespace does not see it (and there is no directory). */
	lookup(base, s, "default", "env", "RFC2136_TSIG_SECRET", &g);
	CHECK_INT(g.code, ==, D01_E_NOTFOUND);
	CHECK(strstr(g.msg, "default/env") != NULL);
	/* Cancel: no callback, ever. */
	d01_secret_cancel(d01_secret_get(s, "", &ref, got_cb, &never, &err));
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK_INT(never.calls, ==, 0);
	/* No store: NULL at once with a reason, and no callback. */
	CHECK(d01_secret_get(NULL, "ns", &ref, got_cb, &never, &err) == NULL);
	CHECK_INT(err.code, ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "--secrets-dir") != NULL);
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK_INT(never.calls, ==, 0);
end:
	d01_secrets_free(s);
	if (base != NULL)
		event_base_free(base);
}

static void
t_ref_parse(void)
{
	json_t *c = json_loads("{\"ok\": {\"name\": \"tsig\", \"key\": \"k\"},"
			       " \"nokey\": {\"name\": \"tsig\"},"
			       " \"str\": \"tsig\", \"empty\": {\"name\": "
			       "\"\", \"key\": \"k\"}}",
	    0, NULL);
	struct d01_secret_ref ref;
	struct d01_error err;

	CHECK(c != NULL);
	CHECK_INT(d01_secret_ref_parse(c, "ok", &ref, &err), ==, D01_OK);
	CHECK_STR(ref.name, "tsig");
	CHECK_STR(ref.key, "k");
	CHECK_INT(
	    d01_secret_ref_parse(c, "nokey", &ref, &err), ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "nokey") != NULL);
	CHECK_INT(d01_secret_ref_parse(c, "str", &ref, &err), ==, D01_E_CONFIG);
	CHECK_INT(
	    d01_secret_ref_parse(c, "empty", &ref, &err), ==, D01_E_CONFIG);
	CHECK_INT(
	    d01_secret_ref_parse(c, "absent", &ref, &err), ==, D01_E_CONFIG);
end:
	json_decref(c);
}

/* Names and keys as the API server accepts them; anything else is said
 * to be a bad name or key, never "not found" or another field's fault. */
static void
t_ref_names(void)
{
	static const struct {
		const char *name, *key;
		const char *want; /* NULL: accepted; else in the message */
	} cases[] = {
	    {"tsig", "tls.crt", NULL},
	    {"a-b.c-d.e1", "A_b-c.d", NULL},
	    {"0", "..x", NULL}, /* the API allows a key starting ".." */
	    {"Tsig", "k", "ref.name is not a valid Secret name"},
	    {"a..b", "k", "ref.name"},
	    {"-a", "k", "ref.name"},
	    {"a-", "k", "ref.name"},
	    {"a.-b", "k", "ref.name"},
	    {"a/b", "k", "ref.name"},
	    {"..", "k", "ref.name"},
	    {"tsig", ".", "ref.key is not a valid Secret key"},
	    {"tsig", "..", "ref.key"},
	    {"tsig", "a/b", "ref.key"},
	    {"tsig", "a b", "ref.key"},
	};
	char big[300];
	struct d01_secret_ref ref;
	struct d01_error err;
	json_t *c = NULL;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = json_pack("{s:{s:s,s:s}}", "ref", "name", cases[i].name,
		    "key", cases[i].key);
		CHECK(c != NULL);
		if (cases[i].want == NULL) {
			CHECK_INT(d01_secret_ref_parse(c, "ref", &ref, &err),
			    ==, D01_OK);
			CHECK_STR(ref.name, cases[i].name);
		} else {
			CHECK_INT(d01_secret_ref_parse(c, "ref", &ref, &err),
			    ==, D01_E_CONFIG);
			if (strstr(err.msg, cases[i].want) == NULL) {
				fprintf(stderr, "  case %zu: %s\n", i, err.msg);
				CHECK(0);
			}
		}
		json_decref(c);
		c = NULL;
	}
	/* 253 characters is the limit, 254 is over it (and says so). */
	memset(big, 'a', sizeof(big));
	big[253] = '\0';
	c = json_pack("{s:{s:s,s:s}}", "ref", "name", big, "key", "k");
	CHECK_INT(d01_secret_ref_parse(c, "ref", &ref, &err), ==, D01_OK);
	json_decref(c);
	big[253] = 'a';
	big[254] = '\0';
	c = json_pack("{s:{s:s,s:s}}", "ref", "name", big, "key", "k");
	CHECK_INT(d01_secret_ref_parse(c, "ref", &ref, &err), ==, D01_E_CONFIG);
	CHECK(strstr(err.msg, "at most 253") != NULL);
end:
	json_decref(c);
}

int
main(void)
{
	RUN(t_directory);
	RUN(t_memory_and_shape);
	RUN(t_ref_parse);
	RUN(t_ref_names);
	return harness_done();
}
