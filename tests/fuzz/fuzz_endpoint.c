/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: what a tenant's config hands the endpoint policy
 * (core/endpoint.h) and what an upstream hands the redactor
 * (core/redact.h). The first byte picks the check; the rest is input.
 *  0: d01_endpoint_check with the public defaults only (the policy of a
 *     `serve` without --allow-provider-endpoint): whatever it accepts must
 *     be https to api.cloudflare.com:443 without user info, as libcurl
 *     itself parses the URL;
 *  1: an operator entry (d01_endpoints_add), then the remaining bytes as
 *     a URL checked against it;
 *  2: d01_ca_pem_parse: an accepted caBundle is PEM text of certificates;
 *  3: d01_redact with the first 16 bytes as the secret: the secret's bytes
 *     never survive in the message.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/endpoint.h"
#include "core/redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const defaults[] = {"api.cloudflare.com", NULL};

/* A NUL-terminated copy of data[0..n), stopping at an embedded NUL. */
static char *
text(const uint8_t *data, size_t n)
{
	char *s = malloc(n + 1);

	if (s != NULL) {
		memcpy(s, data, n);
		s[n] = '\0';
	}
	return s;
}

/* Does libcurl see user info in `url`? */
static int
has_user(const char *url)
{
	CURLU *u = curl_url();
	char *user = NULL;
	int yes;

	if (u == NULL)
		return 0;
	yes = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) ==
		CURLUE_OK &&
	    curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK;
	curl_free(user);
	curl_url_cleanup(u);
	return yes;
}

/* libcurl's own view of an accepted default URL. */
static void
check_default(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL;
	size_t n;
	int ok;

	if (u == NULL)
		return;
	ok = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) ==
		CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
		CURLUE_OK &&
	    curl_url_get(u, CURLUPART_USER, &user, 0) != CURLUE_OK;
	if (ok) {
		n = strlen(host);
		if (n > 0 && host[n - 1] == '.')
			host[--n] = '\0';
		for (size_t i = 0; i < n; i++)
			host[i] = (char)tolower((unsigned char)host[i]);
		ok = strcmp(scheme, "https") == 0 &&
		    strcmp(host, "api.cloudflare.com") == 0 &&
		    strcmp(port, "443") == 0;
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_url_cleanup(u);
	if (!ok)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct d01_endpoints *p = NULL;
	struct d01_error err;
	char *a = NULL, *b = NULL, *pem;
	const uint8_t *nl;
	int custom = -1;

	if (size < 1 || size > 4096)
		return 0;
	switch (data[0] % 4) {
	case 0:
		if ((a = text(data + 1, size - 1)) == NULL)
			break;
		if (d01_endpoint_check(NULL, "fuzz", "baseURL", a, defaults,
			&custom, &err) == D01_OK) {
			if (custom != 0)
				__builtin_trap(); /* NULL policy: defaults only
						   */
			check_default(a);
		} else if (err.msg[0] == '\0') {
			__builtin_trap(); /* every refusal explains itself */
		}
		break;
	case 1:
		/* "ENTRY\nURL" */
		nl = memchr(data + 1, '\n', size - 1);
		if (nl == NULL || (p = d01_endpoints_new()) == NULL)
			break;
		a = text(data + 1, (size_t)(nl - data - 1));
		b = text(nl + 1, size - (size_t)(nl + 1 - data));
		if (a == NULL || b == NULL)
			break;
		if (d01_endpoints_add(p, a, &err) != 0 && err.msg[0] == '\0')
			__builtin_trap();
		/* Whatever an entry allows, never a URL with user info
		 * ("https://api.cloudflare.com@10.0.0.1/"). */
		if (d01_endpoint_check(p, "fuzz", "baseURL", b, defaults,
			&custom, &err) == D01_OK &&
		    has_user(b))
			__builtin_trap();
		break;
	case 2:
		if ((a = text(data + 1, size - 1)) == NULL)
			break;
		if ((pem = d01_ca_pem_parse(a, "caBundle", &err)) != NULL) {
			if (strstr(pem, "-----BEGIN CERTIFICATE-----") == NULL)
				__builtin_trap();
			free(pem);
		}
		break;
	case 3:
		if (size < 1 + 16 + 1)
			break;
		a = text(data + 1, 16);
		if (a == NULL || strlen(a) < 16)
			break;
		b = malloc(4 * (size - 17) + 64);
		if (b == NULL)
			break;
		memcpy(b, data + 17, size - 17);
		b[size - 17] = '\0';
		d01_redact(b, 4 * (size - 17) + 64, a);
		if (strstr(b, a) != NULL)
			__builtin_trap();
		break;
	}
	free(a);
	free(b);
	d01_endpoints_free(p);
	return 0;
}
