/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: PEM from outside and the command line. The first byte
 * (modulo 8; 5-7 act as 3) picks what the rest is:
 *   0  the serving certificate and key of `dns01 serve`
 *      (d01_tls_server_ctx, which takes paths: each part is handed over
 *      as a memfd) and the requestheader CA bundle (d01_fp_trust_new),
 *      split at "\n%%\n" into up to three parts;
 *   1  a private key (d01_key_from_pem: --account-key, --out key.pem);
 *   2  a certificate chain, as the ACME server sends it and as --out
 *      holds it (d01_cert_info_parse, d01_acme_chain_check, the renewal
 *      decision over what was parsed);
 *   3  one flag value through every value parser the CLI uses:
 *      durations, ages, nameservers, key types, log levels, base64url
 *      keys, domain names, name lists;
 *   4  the arguments of `dns01 serve`, one per line (d01_serve_parse,
 *      d01_serve_check, d01_daemon_split).
 * cli/common.c and cli/serve_flags.c are compiled into this target
 * (tests/CMakeLists.txt): cli/ is not part of the d01 libraries.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/err.h>

#include "cli/cli.h"
#include "cli/serve.h"
#include "core/dname.h"
#include "core/dns.h"
#include "core/log.h"
#include "core/b64url.h"
#include "issuer/key.h"
#include "issuer/order.h"
#include "issuer/renew.h"
#include "kube/frontproxy.h"
#include "httpd/tls.h"

#define SPLIT "\n%%\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A file holding buf[0..len): a memfd named by its /proc path. */
static int
memfile(const char *buf, size_t len, char *path, size_t n)
{
	int fd = memfd_create("fuzz_pem", MFD_CLOEXEC);

	if (fd < 0 || (len > 0 && write(fd, buf, len) != (ssize_t)len))
		abort();
	snprintf(path, n, "/proc/self/fd/%d", fd);
	return fd;
}

static void
serving_files(const char *b, size_t n)
{
	const char *part[3] = {b, "", ""}, *end = b + n, *s;
	size_t len[3] = {n, 0, 0};
	char cert[40], key[40];
	int fd[2], np = 1;
	struct d01_fp_trust *t;
	struct d01_error err;
	SSL_CTX *ctx;

	/* Up to three parts: certificate chain, key, requestheader CA. */
	while (np < 3 &&
	    (s = memmem(part[np - 1], len[np - 1], SPLIT, strlen(SPLIT))) !=
		NULL) {
		len[np - 1] = (size_t)(s - part[np - 1]);
		part[np] = s + strlen(SPLIT);
		len[np] = (size_t)(end - part[np]);
		np++;
	}
	fd[0] = memfile(part[0], len[0], cert, sizeof(cert));
	fd[1] = memfile(part[1], len[1], key, sizeof(key));
	d01_error_clear(&err);
	ctx = d01_tls_server_ctx(cert, key, np == 3, &err);
	if (ctx == NULL && err.msg[0] == '\0')
		__builtin_trap(); /* every refusal says why */
	SSL_CTX_free(ctx);
	close(fd[0]);
	close(fd[1]);
	if (np == 3) {
		d01_error_clear(&err);
		t = d01_fp_trust_new(part[2], len[2], "fuzz", &err);
		if ((t == NULL && err.msg[0] == '\0') ||
		    (t != NULL && t->store == NULL))
			__builtin_trap();
		d01_fp_trust_free(t);
	}
	ERR_clear_error();
}

static void
private_key(const char *b, size_t n)
{
	struct d01_error err;
	EVP_PKEY *k = d01_key_from_pem(b, n, &err), *again;
	char *pem;
	size_t len;

	if (k == NULL) {
		ERR_clear_error();
		return;
	}
	/* What was accepted saves and reads back as the same key. */
	if (d01_key_to_pem(k, &pem, &len, &err) != D01_OK)
		__builtin_trap();
	if ((again = d01_key_from_pem(pem, len, &err)) == NULL ||
	    EVP_PKEY_eq(k, again) != 1)
		__builtin_trap();
	d01_key_pem_free(pem, len);
	EVP_PKEY_free(again);
	EVP_PKEY_free(k);
}

static void
certificate(const char *b, size_t n)
{
	static EVP_PKEY *key;
	static const char *const names[] = {"example.test", "*.example.test"};
	struct d01_cert_info ci;
	struct d01_ari_window ari = {1795900000, 1796000000, ""};
	struct d01_renew_input in = {
	    &ci, names, 2, 1795903408, 30L * 86400, 0, NULL, 0.5, 0, 0};
	struct d01_renew_decision d;
	struct d01_error err;
	size_t i, k;

	if (key == NULL &&
	    (key = d01_key_generate(D01_KEY_EC256, NULL)) == NULL)
		abort();
	(void)d01_acme_chain_check(b, n, key, names, 2, &err);
	if (d01_cert_info_parse(b, n, &ci, &err) != D01_OK) {
		if (ci.names != NULL || ci.nnames != 0)
			__builtin_trap(); /* failure leaves it empty */
		ERR_clear_error();
		return;
	}
	for (i = 0; i < ci.nnames; i++)
		for (k = 0; ci.names[i][k] != '\0'; k++)
			if (ci.names[i][k] >= 'A' && ci.names[i][k] <= 'Z')
				__builtin_trap();
	d01_renew_decide(&in, &d);
	in.ari = &ari;
	d01_renew_decide(&in, &d);
	if ((unsigned)d.why >= D01_RENEW__MAX)
		__builtin_trap();
	d01_cert_info_clear(&ci);
	ERR_clear_error();
}

/* --requestheader-allowed-names and the other header-name lists, and
 * the same lists as the ConfigMap writes them (JSON arrays). */
static void
name_list(const char *v)
{
	char *list[D01_FP_MAX_NAMES] = {NULL};
	struct d01_error err;
	size_t n = 0;
	int json;

	for (json = 0; json < 2; json++) {
		if (d01_fp_trust_set_names(list, &n, v, json, &err) == D01_OK &&
		    n > D01_FP_MAX_NAMES)
			__builtin_trap();
		while (n > 0)
			free(list[--n]);
	}
}

static void
flag_value(const char *v)
{
	struct d01_dns_server srv;
	enum d01_key_type kt;
	enum d01_log_level lv;
	unsigned char raw[256];
	char name[D01_DNAME_BUF];
	long n;

	if (d01_cli_duration_ms(v, &n) == 0 && (n < 1 || n > 86400000L))
		__builtin_trap();
	if (d01_cli_age_s(v, &n) == 0 && (n < 0 || n > 3650L * 86400))
		__builtin_trap();
	if (d01_dns_server_parse(v, 53, &srv, NULL) == D01_OK) {
		if (srv.label[0] == '\0' ||
		    (srv.len != sizeof(struct sockaddr_in) &&
			srv.len != sizeof(struct sockaddr_in6)))
			__builtin_trap();
		if (!d01_dns_hostport_ok(v))
			__builtin_trap(); /* an IP literal is a nameserver */
	} else {
		(void)d01_dns_hostport_ok(v);
	}
	if (d01_key_type_parse(v, &kt) == 0 &&
	    strcmp(d01_key_type_name(kt), v) != 0)
		__builtin_trap();
	if (d01_log_parse_level(v, &lv) == 0 &&
	    (lv < D01_LOG_ERR || lv > D01_LOG_DEBUG))
		__builtin_trap();
	if (d01_b64url_decode(raw, sizeof(raw), v, strlen(v)) >
	    (long)sizeof(raw))
		__builtin_trap();
	if (d01_dname_normalise(name, sizeof(name), v) == 0 &&
	    (strlen(name) > 254 || name[strlen(name) - 1] != '.'))
		__builtin_trap();
	name_list(v);
}

/* `dns01 serve` with one argument per line; defaults as d01_cmd_serve
 * sets them. */
static void
serve_args(char *s)
{
	struct d01_daemon_opts o = {.port = 8443,
	    .reload_ms = 10000,
	    .trust_refresh_ms = 60000,
	    .request_ms = 30000,
	    .idle_ms = 60000,
	    .max_inflight = 512};
	const char *list[D01_STRLIST_MAX];
	char *argv[33] = {"serve"}, *csv;
	int argc = 1;

	for (argv[argc] = strtok(s, "\n"); argv[argc] != NULL && argc < 32;
	     argv[argc] = strtok(NULL, "\n"))
		argc++;
	argv[argc] = NULL;
	if (d01_serve_parse(&o, argc, argv) < 0 && d01_serve_check(&o) == 0) {
		if (o.group == NULL || o.bind == NULL || o.port < 1 ||
		    o.port > 65535)
			__builtin_trap();
		if (o.allow_paths_csv != NULL &&
		    (csv = strdup(o.allow_paths_csv)) != NULL) {
			if (d01_daemon_split(csv, list, D01_STRLIST_MAX) >
			    D01_STRLIST_MAX)
				__builtin_trap();
			free(csv);
		}
	}
	d01_log_set_level(D01_LOG_ERR); /* --log-level may have changed it */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *b = (const char *)data + 1;
	char *s;

	if (size < 1)
		return 0;
	d01_log_set_level(D01_LOG_ERR);
	switch (data[0] % 8) {
	case 0:
		serving_files(b, size - 1);
		return 0;
	case 1:
		private_key(b, size - 1);
		return 0;
	case 2:
		certificate(b, size - 1);
		return 0;
	default:
		break;
	}
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, b, size - 1);
	s[size - 1] = '\0';
	if (data[0] % 8 == 4)
		serve_args(s);
	else
		flag_value(s);
	free(s);
	return 0;
}
