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
	free(p);
}

int
d01_endpoints_ambient_anywhere(const struct d01_endpoints *p)
{
	return p != NULL && p->any;
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
