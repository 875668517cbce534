/* SPDX-License-Identifier: ISC */
/*
 * kubeconfig and YAML: the shapes kubectl writes (inline data, files
 * relative to the kubeconfig, tokenFile, one context without a
 * current-context), what is refused with a clear message (exec plugins,
 * auth providers, proxies, half a client certificate, bad base64, YAML
 * aliases, nesting past the bound), token-file rotation, and in-cluster
 * configuration from KUBERNETES_SERVICE_HOST and the service-account
 * directory. Error messages never echo a token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "core/yaml.h"
#include "harness.h"
#include "kube/kube_int.h"
#include "httpd/tls.h"

#define TOKEN "eyJhbGciOiJSUzI1NiJ9.secret-token-value"

/* A real certificate in PEM (the demo one), filled in by main(). */
static char ca_pem[4096];

static int
make_ca_pem(void)
{
	struct d01_error err;
	SSL_CTX *ctx = d01_tls_demo_ctx(&err);
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int ok;

	ok = ctx != NULL && b != NULL &&
	    PEM_write_bio_X509(b, SSL_CTX_get0_certificate(ctx)) == 1 &&
	    (n = BIO_get_mem_data(b, &p)) > 0 && (size_t)n < sizeof(ca_pem);
	if (ok)
		memcpy(ca_pem, p, (size_t)n);
	BIO_free(b);
	SSL_CTX_free(ctx);
	return ok ? 0 : -1;
}

static char tmpdir[] = "/tmp/d01-kubeconfig-XXXXXX";

static void
write_file(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if ((f = fopen(path, "w")) != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static struct d01_kube *
load(const char *yaml, struct d01_error *err)
{
	d01_error_clear(err);
	return d01_kube_from_kubeconfig(NULL, yaml, strlen(yaml), tmpdir, err);
}

static void
t_yaml_shapes(void)
{
	const char *y = "a: ~\nb: 'null'\nc:\nd: [x, {e: f}]\ng: \"q\"\n"
			"h: true\n";
	struct d01_error err;
	json_t *j = d01_yaml_parse(y, strlen(y), &err), *d;

	CHECK(j != NULL);
	CHECK(json_is_null(json_object_get(j, "a")));
	CHECK_STR(json_string_value(json_object_get(j, "b")), "null");
	CHECK(json_is_null(json_object_get(j, "c")));
	d = json_object_get(j, "d");
	CHECK_INT(json_array_size(d), ==, 2);
	CHECK_STR(
	    json_string_value(json_object_get(json_array_get(d, 1), "e")), "f");
	CHECK_STR(json_string_value(json_object_get(j, "h")), "true");
end:
	json_decref(j);
}

static void
t_yaml_refusals(void)
{
	struct d01_error err;
	char deep[1024];
	json_t *j = NULL;
	size_t i;

	j = d01_yaml_parse("a: &x 1\nb: *x\n", 14, &err);
	CHECK(j == NULL);
	CHECK(strstr(err.msg, "anchors") != NULL);
	j = d01_yaml_parse("a: [1, 2\n", 9, &err);
	CHECK(j == NULL);
	CHECK_INT(err.code, ==, D01_E_INVAL);
	CHECK(strstr(err.msg, "line") != NULL);
	for (i = 0; i < 200; i++)
		deep[i] = '[';
	deep[i] = '\0';
	j = d01_yaml_parse(deep, strlen(deep), &err);
	CHECK(j == NULL);
	CHECK_INT(err.code, ==, D01_E_LIMIT);
	j = d01_yaml_parse("", 0, &err);
	CHECK(j == NULL);
	j = d01_yaml_parse("{[a]: b}", 8, &err);
	CHECK(j == NULL);
end:
	json_decref(j);
}

static void
t_token_inline(void)
{
	const char *y =
	    "apiVersion: v1\nkind: Config\n"
	    "current-context: ctx\n"
	    "contexts:\n- name: other\n  context: {cluster: no, user: no}\n"
	    "- name: ctx\n  context:\n    cluster: c\n    user: u\n"
	    "    namespace: dns01\n"
	    "clusters:\n- name: c\n  cluster:\n"
	    "    server: https://10.0.0.1:6443/\n"
	    "    insecure-skip-tls-verify: true\n"
	    "users:\n- name: u\n  user:\n    token: " TOKEN "\n";
	struct d01_error err;
	struct d01_kube *k = load(y, &err);

	CHECK(k != NULL);
	CHECK_STR(d01_kube_server(k), "https://10.0.0.1:6443");
	CHECK_STR(d01_kube_namespace(k), "dns01");
	CHECK_STR(k->token, TOKEN);
	CHECK_INT(k->insecure, ==, 1);
	CHECK(k->ca_pem == NULL);
end:
	d01_kube_free(k);
}

static void
t_files_and_rotation(void)
{
	const char *y =
	    "clusters:\n- name: c\n  cluster:\n"
	    "    server: https://k.example:443\n"
	    "    certificate-authority: ca.pem\n"
	    "contexts:\n- name: only\n  context: {cluster: c, user: u}\n"
	    "users:\n- name: u\n  user:\n    tokenFile: tok\n";
	struct d01_error err;
	struct d01_kube *k = NULL;

	write_file("ca.pem", ca_pem);
	write_file("tok", "first-token\n");
	k = load(y, &err);
	CHECK(k != NULL);
	CHECK_STR(d01_kube_namespace(k), "default");
	CHECK(k->ca_pem != NULL && strstr(k->ca_pem, "BEGIN CERT") != NULL);
	CHECK_STR(k->token, "first-token");
	CHECK_INT(d01_kube_token_refresh(k, 0), ==, 0);
	/* The kubelet replaces the file: a new inode, a new token. */
	write_file("tok.new", "second-token\n");
	{
		char a[512], b[512];

		snprintf(a, sizeof(a), "%s/tok.new", tmpdir);
		snprintf(b, sizeof(b), "%s/tok", tmpdir);
		CHECK(rename(a, b) == 0);
	}
	CHECK_INT(d01_kube_token_refresh(k, 0), ==, 1);
	CHECK_STR(k->token, "second-token");
	/* An unreadable file keeps the token we have. */
	{
		char p[512];

		snprintf(p, sizeof(p), "%s/tok", tmpdir);
		unlink(p);
	}
	CHECK_INT(d01_kube_token_refresh(k, 1), ==, -1);
	CHECK_STR(k->token, "second-token");
end:
	d01_kube_free(k);
}

static void
t_refusals(void)
{
	static const struct {
		const char *yaml, *why;
	} cases[] = {
	    {"contexts:\n- name: a\n  context: {cluster: c}\n"
	     "- name: b\n  context: {cluster: c}\n",
		"no current-context"},
	    {"current-context: x\ncontexts: []\n", "context x not found"},
	    {"current-context: a\ncontexts:\n- name: a\n  context: "
	     "{cluster: c, user: u}\nclusters:\n- name: c\n  cluster: "
	     "{server: 'https://h'}\nusers:\n- name: u\n  user:\n    exec:\n"
	     "      command: aws\n",
		"exec credential plugins are not supported"},
	    {"current-context: a\ncontexts:\n- name: a\n  context: "
	     "{cluster: c, user: u}\nclusters:\n- name: c\n  cluster: "
	     "{server: 'https://h'}\nusers:\n- name: u\n  user:\n"
	     "    auth-provider: {name: gcp}\n",
		"auth-provider is not supported"},
	    {"current-context: a\ncontexts:\n- name: a\n  context: "
	     "{cluster: c}\nclusters:\n- name: c\n  cluster: {server: "
	     "'https://h', proxy-url: 'http://p'}\n",
		"proxy-url"},
	    {"current-context: a\ncontexts:\n- name: a\n  context: "
	     "{cluster: c}\nclusters:\n- name: c\n  cluster: {server: "
	     "'ftp://h'}\n",
		"http(s) URL"},
	    {"current-context: a\ncontexts:\n- name: a\n  context: "
	     "{cluster: c}\nclusters:\n- name: c\n  cluster: {server: "
	     "'https://h', certificate-authority-data: '!!notbase64'}\n",
		"not valid base64"},
	    {"current-context: a\ncontexts:\n- name: a\n  context: "
	     "{cluster: c, user: u}\nclusters:\n- name: c\n  cluster: "
	     "{server: 'https://h'}\nusers:\n- name: u\n  user:\n"
	     "    client-certificate-data: " /* base64 of "x" */ "eA==\n",
		"go together"},
	    {"current-context: a\ncontexts:\n- name: a\n  context: "
	     "{cluster: c, user: nobody}\nclusters:\n- name: c\n  cluster: "
	     "{server: 'https://h'}\n",
		"user nobody not found"},
	    {"current-context: a\ncontexts:\n- name: a\n  context: "
	     "{cluster: c}\nclusters:\n- name: c\n  cluster: {server: "
	     "'https://h', certificate-authority: missing.pem}\n",
		"No such file"},
	    {"- just\n- a list\n", "not a mapping"},
	};
	struct d01_error err;
	struct d01_kube *k = NULL;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		k = load(cases[i].yaml, &err);
		if (k != NULL || strstr(err.msg, cases[i].why) == NULL)
			fprintf(stderr, "  case %zu: %s\n", i, err.msg);
		CHECK(k == NULL);
		CHECK(strstr(err.msg, cases[i].why) != NULL);
		CHECK(strstr(err.msg, TOKEN) == NULL);
	}
end:
	d01_kube_free(k);
}

static void
t_incluster(void)
{
	struct d01_error err;
	struct d01_kube *k = NULL;

	unsetenv("KUBERNETES_SERVICE_HOST");
	d01_error_clear(&err);
	k = d01_kube_new(NULL, NULL, tmpdir, &err);
	CHECK(k == NULL);
	CHECK_INT(err.code, ==, D01_E_NOTFOUND);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	write_file("ca.crt", ca_pem);
	write_file("token", TOKEN "\n");
	write_file("namespace", "cert-manager");
	d01_error_clear(&err);
	k = d01_kube_new(NULL, NULL, tmpdir, &err);
	CHECK(k != NULL);
	CHECK_STR(d01_kube_server(k), "https://[fd00::1]:443");
	CHECK_STR(d01_kube_namespace(k), "cert-manager");
	CHECK_STR(k->token, TOKEN);
	d01_kube_free(k);
	/* Without ca.crt there is nothing to trust the apiserver with. */
	{
		char p[512];

		snprintf(p, sizeof(p), "%s/ca.crt", tmpdir);
		unlink(p);
	}
	d01_error_clear(&err);
	k = d01_kube_new(NULL, NULL, tmpdir, &err);
	CHECK(k == NULL);
	CHECK(strstr(err.msg, "ca.crt") != NULL);
end:
	d01_kube_free(k);
	unsetenv("KUBERNETES_SERVICE_HOST");
}

static void
t_names(void)
{
	CHECK(d01_kube_name_ok("cert-manager"));
	CHECK(d01_kube_name_ok("tsig.key-1"));
	CHECK(!d01_kube_name_ok("../etc"));
	CHECK(!d01_kube_name_ok("a/b"));
	CHECK(!d01_kube_name_ok("Upper"));
	CHECK(!d01_kube_name_ok("-x"));
	CHECK(!d01_kube_name_ok(""));
	CHECK(!d01_kube_name_ok("a%2fb"));
end:;
}

int
main(void)
{
	char cmd[600];
	int rc;

	if (mkdtemp(tmpdir) == NULL || make_ca_pem() != 0)
		return 1;
	RUN(t_yaml_shapes);
	RUN(t_yaml_refusals);
	RUN(t_token_inline);
	RUN(t_files_and_rotation);
	RUN(t_refusals);
	RUN(t_incluster);
	RUN(t_names);
	rc = harness_done();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
