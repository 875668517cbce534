/* SPDX-License-Identifier: ISC */
/*
 * The endpoint policy (endpoint.h). URLs are taken apart with libcurl's
 * own parser, so the host and port checked are the ones libcurl will
 * connect to (it normalises "127.1" and friends the same way for both).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/b64.h"
#include "core/endpoint.h"
#include "core/file.h"
#include "core/log.h"

#define HOST_MAX 256

struct rule {
	char host[HOST_MAX]; /* lower case, no trailing dot */
	int wildcard;	     /* host is a suffix: any name below it */
	long port;
	int http; /* plain http allowed too */
};

struct d01_endpoints {
	int any; /* the CLI: everything allowed */
	struct rule *rules;
	size_t n;
	/* The operator's trust for ambient credentials: the system bundle
	 * and --provider-ca-file; NULL: the system store as it is. */
	char *ambient_ca;
};

const struct d01_endpoints d01_endpoints_any = {.any = 1};

struct d01_endpoints *
d01_endpoints_new(void)
{
	return calloc(1, sizeof(struct d01_endpoints));
}

void
d01_endpoints_free(struct d01_endpoints *p)
{
	if (p == NULL)
		return;
	free(p->rules);
	free(p->ambient_ca);
	free(p);
}

int
d01_endpoints_ambient_anywhere(const struct d01_endpoints *p)
{
	return p != NULL && p->any;
}

const char *
d01_endpoints_ca(
    const struct d01_endpoints *p, int ambient, const char *config_ca)
{
	if (!ambient || (p != NULL && p->any))
		return config_ca;
	return p != NULL ? p->ambient_ca : NULL;
}

void
d01_endpoints_ca_explain(const struct d01_endpoints *p, int ambient,
    const char *config_ca, struct d01_error *err)
{
	size_t n;

	if (err == NULL || err->code != D01_E_TLS || config_ca == NULL ||
	    d01_endpoints_ca(p, ambient, config_ca) == config_ca)
		return;
	n = strlen(err->msg);
	snprintf(err->msg + n, sizeof(err->msg) - n,
	    " (ambient credentials are verified with the operator's CAs "
	    "(--provider-ca-file), not the config's caBundle)");
}

/* Largest system CA bundle read: Debian's is about 220 KiB. */
#define SYSTEM_CA_MAX (4 * 1024 * 1024)

/*
 * The system store's bundle file, as libcurl would use it: its built-in
 * CA file, else OpenSSL's default. A new copy of its text, or NULL (none
 * or unreadable: libcurl then has only its CA directory, if any, and the
 * operator's file).
 */
static char *
system_ca(void)
{
	CURL *e = curl_easy_init();
	const char *path = NULL;
	char *text = NULL;
	size_t len;
	struct d01_error err;

	if (e == NULL ||
	    curl_easy_getinfo(e, CURLINFO_CAINFO, &path) != CURLE_OK ||
	    path == NULL)
		path = X509_get_default_cert_file();
	d01_error_clear(&err);
	if (d01_file_read(path, SYSTEM_CA_MAX, &text, &len, &err) != D01_OK)
		d01_log(D01_LOG_WARN, "provider_ca",
		    "system CA bundle %s not read (%s): the operator's CAs "
		    "alone verify ambient credentials",
		    path, err.msg);
	curl_easy_cleanup(e);
	return text;
}

int
d01_endpoints_set_provider_ca(
    struct d01_endpoints *p, const char *path, struct d01_error *err)
{
	char *text = NULL, *pem = NULL, *sys = NULL;
	size_t len, slen;
	int rc = -1;

	if (d01_file_read(path, D01_CA_PEM_MAX, &text, &len, err) != D01_OK) {
		d01_error_prefix(err, "--provider-ca-file %s: ", path);
		err->code =
		    err->code == D01_E_NOMEM ? D01_E_NOMEM : D01_E_CONFIG;
		goto out;
	}
	if ((pem = d01_ca_pem_parse(text, "--provider-ca-file", err)) == NULL) {
		if (err->code != D01_E_NOMEM)
			d01_error_set(err, D01_E_CONFIG,
			    "--provider-ca-file %s: not PEM certificates "
			    "(-----BEGIN CERTIFICATE-----...) and nothing else",
			    path);
		goto out;
	}
	sys = system_ca();
	slen = sys != NULL ? strlen(sys) : 0;
	free(p->ambient_ca);
	if ((p->ambient_ca = malloc(slen + 1 + strlen(pem) + 1)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto out;
	}
	/* A newline between the two: a bundle need not end with one. */
	snprintf(p->ambient_ca, slen + 1 + strlen(pem) + 1, "%s\n%s",
	    sys != NULL ? sys : "", pem);
	rc = 0;
out:
	free(text);
	free(pem);
	free(sys);
	return rc;
}

/* The parts of a URL that decide where a request goes. */
struct where {
	int https;
	char host[HOST_MAX];
	long port;
};

/*
 * Parse `url` with libcurl: http(s) only, no user info (a name before an
 * '@' reads like the host to a person, and is not), host lower-cased
 * without its trailing dot, the scheme's port when none is given. When
 * `bare` is set, nothing may follow the authority but "/". 0, or -1.
 */
static int
parse_where(const char *url, int bare, struct where *w)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL;
	char *path = NULL, *query = NULL;
	size_t i, n;
	int rc = -1;

	if (u == NULL ||
	    curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) !=
		CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
		CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
		goto out;
	if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)
		goto out;
	if (bare &&
	    ((curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
		 strcmp(path, "/") != 0) ||
		curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK))
		goto out;
	n = strlen(host);
	if (n > 1 && host[n - 1] == '.')
		host[--n] = '\0';
	if (n == 0 || n >= sizeof(w->host))
		goto out;
	for (i = 0; i <= n; i++)
		w->host[i] = (char)tolower((unsigned char)host[i]);
	w->https = strcmp(scheme, "https") == 0;
	w->port = strtol(port, NULL, 10);
	rc = w->port > 0 && w->port < 65536 ? 0 : -1;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	return rc;
}

int
d01_endpoints_add(
    struct d01_endpoints *p, const char *spec, struct d01_error *err)
{
	char url[HOST_MAX + 32];
	const char *rest = spec;
	struct rule r = {.http = 0}, *grown;
	struct where w;
	int wildcard = 0, http = 0;

	if (strncmp(spec, "http://", 7) == 0) {
		http = 1;
		rest = spec + 7;
	} else if (strncmp(spec, "https://", 8) == 0) {
		rest = spec + 8;
	}
	/* libcurl refuses '*' in a host: parse the suffix under a stand-in
	 * label, then drop it. */
	if (strncmp(rest, "*.", 2) == 0) {
		wildcard = 1;
		rest++;
	}
	if (strlen(rest) > HOST_MAX ||
	    snprintf(url, sizeof(url), "%s://%s%s", http ? "http" : "https",
		wildcard ? "w" : "", rest) >= (int)sizeof(url) ||
	    parse_where(url, 1, &w) != 0 ||
	    (wildcard && strchr(w.host + 2, '.') == NULL))
		goto bad;
	/* w.host fits r.host: both are HOST_MAX. */
	memcpy(r.host, wildcard ? w.host + 2 : w.host,
	    strlen(wildcard ? w.host + 2 : w.host) + 1);
	r.wildcard = wildcard;
	r.port = w.port;
	r.http = http;
	if ((grown = realloc(p->rules, (p->n + 1) * sizeof(*grown))) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return -1;
	}
	p->rules = grown;
	p->rules[p->n++] = r;
	return 0;
bad:
	d01_error_set(err, D01_E_CONFIG,
	    "--allow-provider-endpoint %.300s: want HOST[:PORT], "
	    "*.SUFFIX[:PORT] or http://HOST[:PORT] (no user, path or query; "
	    "a wildcard needs a suffix with a dot)",
	    spec);
	return -1;
}

/* `host` matches pattern `pat`, where a "*" label matches one label of
 * letters, digits and '-'. */
static int
default_match(const char *host, const char *pat)
{
	size_t n;

	while (*pat != '\0') {
		if (pat[0] == '*' && (pat[1] == '.' || pat[1] == '\0')) {
			n = strspn(
			    host, "abcdefghijklmnopqrstuvwxyz0123456789-");
			if (n == 0)
				return 0;
			host += n;
			pat++;
			continue;
		}
		if (*host != *pat)
			return 0;
		host++;
		pat++;
	}
	return *host == '\0';
}

static int
rule_match(const struct rule *r, const struct where *w)
{
	size_t hn = strlen(w->host), rn = strlen(r->host);

	if (r->port != w->port || (!w->https && !r->http))
		return 0;
	if (!r->wildcard)
		return strcmp(r->host, w->host) == 0;
	return hn > rn + 1 && w->host[hn - rn - 1] == '.' &&
	    strcmp(w->host + hn - rn, r->host) == 0;
}

enum d01_err
d01_endpoint_check(const struct d01_endpoints *p, const char *provider,
    const char *field, const char *url, const char *const *defaults,
    int *custom, struct d01_error *err)
{
	struct where w;
	char hostport[HOST_MAX + 16];
	size_t i;

	*custom = 1;
	if (parse_where(url, 0, &w) != 0)
		return d01_error_set(err, D01_E_CONFIG,
		    "%s: %s must be an http(s) URL without user info", provider,
		    field);
	for (i = 0; defaults != NULL && defaults[i] != NULL; i++)
		if (w.https && w.port == 443 &&
		    default_match(w.host, defaults[i])) {
			*custom = 0;
			return D01_OK;
		}
	if (p != NULL && p->any)
		return D01_OK;
	for (i = 0; p != NULL && i < p->n; i++)
		if (rule_match(&p->rules[i], &w))
			return D01_OK;
	snprintf(hostport, sizeof(hostport), "%s:%ld", w.host, w.port);
	return d01_error_set(err, D01_E_CONFIG,
	    "%s: %s %s://%s is not allowed: the webhook's operator must "
	    "list it with --allow-provider-endpoint %s%s",
	    provider, field, w.https ? "https" : "http", hostport,
	    w.https ? "" : "http://", hostport);
}

void
d01_endpoint_hide_transport(
    struct d01_error *err, const char *provider, const char *uid)
{
	char qd[600], qu[80];

	if (err->code != D01_E_NETWORK && err->code != D01_E_TLS &&
	    err->code != D01_E_TIMEOUT)
		return;
	d01_log(D01_LOG_DEBUG, "upstream_unreachable",
	    "provider=%s uid=%s detail=%s", provider,
	    d01_log_quote(qu, sizeof(qu), uid),
	    d01_log_quote(qd, sizeof(qd), err->msg));
	/* One message and one code for refused, filtered, timed out and
	 * not TLS alike: none of them may tell ports apart. */
	d01_error_set(err, D01_E_NETWORK,
	    "upstream unreachable (details in the webhook's debug log)");
	err->retryable = 1;
}

/* Every PEM block of pem is a certificate OpenSSL reads; count them. */
static int
count_certs(const char *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	char *name = NULL, *hdr = NULL;
	unsigned char *data = NULL;
	const unsigned char *q;
	long dlen;
	X509 *x;
	int n = 0;

	if (b == NULL)
		return -1;
	while (PEM_read_bio(b, &name, &hdr, &data, &dlen) == 1) {
		q = data;
		x = strcmp(name, "CERTIFICATE") == 0 ? d2i_X509(NULL, &q, dlen)
						     : NULL;
		n = x != NULL && n >= 0 ? n + 1 : -1;
		X509_free(x);
		OPENSSL_free(name);
		OPENSSL_free(hdr);
		OPENSSL_free(data);
		name = hdr = NULL;
		data = NULL;
	}
	ERR_clear_error(); /* the end of the input reads as an error */
	BIO_free(b);
	return n;
}

char *
d01_ca_pem_parse(const char *value, const char *what, struct d01_error *err)
{
	size_t len = strlen(value), dlen = 0;
	unsigned char *dec = NULL;
	const char *pem = value;
	char *out = NULL;

	if (len > D01_CA_PEM_MAX) {
		d01_error_set(err, D01_E_CONFIG, "%s is longer than %d bytes",
		    what, D01_CA_PEM_MAX);
		return NULL;
	}
	if (strstr(value, "-----BEGIN ") == NULL &&
	    (dec = d01_b64_decode_new(value, len, &dlen)) != NULL &&
	    memchr(dec, '\0', dlen) == NULL) {
		pem = (const char *)dec;
		len = dlen;
	}
	if (strstr(pem, "-----BEGIN ") == NULL || count_certs(pem, len) < 1) {
		d01_error_set(err, D01_E_CONFIG,
		    "%s must be PEM text (-----BEGIN CERTIFICATE-----...), "
		    "or base64 of it, holding only certificates; the webhook "
		    "never reads it as a file path",
		    what);
		goto out;
	}
	if ((out = malloc(len + 1)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(out, pem, len);
	out[len] = '\0';
out:
	free(dec);
	return out;
}

enum d01_err
d01_ca_pem_config(const json_t *config, const char *provider, char **out,
    struct d01_error *err)
{
	json_t *v = json_object_get(config, "caBundle");
	char what[64];

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return D01_OK;
	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return d01_error_set(err, D01_E_CONFIG,
		    "%s: caBundle must be a string of PEM text", provider);
	snprintf(what, sizeof(what), "%s: caBundle", provider);
	*out = d01_ca_pem_parse(json_string_value(v), what, err);
	return *out != NULL ? D01_OK : err->code;
}
