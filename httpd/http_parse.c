/* SPDX-License-Identifier: ISC */
/* HTTP/1.1 request-head parser; see http_parse.h for the rules it keeps. */
#include <string.h>
#include <strings.h>

#include "httpd/http_parse.h"

/* RFC 9110 tchar. */
static int
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Cut the next line out of [*p, end): returns it NUL-terminated without
 * its CR LF (or bare LF), or NULL when there is no line end. */
static char *
next_line(char **p, char *end, size_t *linelen)
{
	char *line = *p, *nl = memchr(line, '\n', (size_t)(end - line));

	if (nl == NULL)
		return NULL;
	*p = nl + 1;
	if (nl > line && nl[-1] == '\r')
		nl--;
	*nl = '\0';
	*linelen = (size_t)(nl - line);
	return line;
}

static int
parse_request_line(char *line, struct d01_http_head *h, const char **why)
{
	char *sp1, *sp2, *q;
	size_t i;

	if ((sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL || strchr(sp2 + 1, ' ')) {
		*why = "malformed request line";
		return 400;
	}
	*sp1 = *sp2 = '\0';
	h->method = line;
	h->target = sp1 + 1;
	if (*h->method == '\0') {
		*why = "empty method";
		return 400;
	}
	for (i = 0; h->method[i] != '\0'; i++)
		if (!is_tchar((unsigned char)h->method[i])) {
			*why = "malformed method";
			return 400;
		}
	/* Only origin-form: proxies and CONNECT are not our business. */
	if (h->target[0] != '/') {
		*why = "request target must start with '/'";
		return 400;
	}
	for (i = 0; h->target[i] != '\0'; i++)
		if ((unsigned char)h->target[i] <= 0x20 ||
		    (unsigned char)h->target[i] >= 0x7f) {
			*why = "invalid byte in request target";
			return 400;
		}
	if (strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || sp2[8] < '0' ||
	    sp2[8] > '9' || sp2[9] != '\0') {
		*why = "unsupported HTTP version";
		return strncmp(sp2 + 1, "HTTP/", 5) == 0 ? 505 : 400;
	}
	h->minor = sp2[8] - '0';
	h->path = h->target;
	h->query = "";
	if ((q = strchr(sp1 + 1, '?')) != NULL) {
		*q = '\0';
		h->query = q + 1;
	}
	return 0;
}

static int
parse_header_line(char *line, struct d01_http_head *h, const char **why)
{
	char *colon, *v, *e;
	size_t i;

	if (*line == ' ' || *line == '\t') {
		*why = "obsolete line folding";
		return 400;
	}
	if ((colon = strchr(line, ':')) == NULL || colon == line) {
		*why = "malformed header line";
		return 400;
	}
	for (i = 0; line + i < colon; i++)
		if (!is_tchar((unsigned char)line[i])) {
			*why = "malformed header name";
			return 400;
		}
	if (h->nheaders == D01_HTTP_MAX_HEADERS) {
		*why = "too many header fields";
		return 431;
	}
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*e = '\0';
	for (i = 0; v[i] != '\0'; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') ||
		    v[i] == 0x7f) {
			*why = "control character in header value";
			return 400;
		}
	h->headers[h->nheaders].name = line;
	h->headers[h->nheaders].value = v;
	h->nheaders++;
	return 0;
}

/* Does the comma-separated list `v` contain `token` (case-insensitive)? */
static int
list_has(const char *v, const char *token)
{
	size_t tl = strlen(token);

	while (*v != '\0') {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		if (strncasecmp(v, token, tl) == 0 &&
		    (v[tl] == '\0' || v[tl] == ',' || v[tl] == ' ' ||
			v[tl] == '\t'))
			return 1;
		while (*v != '\0' && *v != ',')
			v++;
	}
	return 0;
}

static int
parse_content_length(const char *v, int64_t *out)
{
	int64_t n = 0;

	if (*v == '\0')
		return -1;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9' || n > (INT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (*v - '0');
	}
	*out = n;
	return 0;
}

/* Work out body framing and connection reuse from the header fields. */
static int
derive_framing(struct d01_http_head *h, const char **why)
{
	const char *te = NULL;
	int64_t cl;
	size_t i;
	int close = 0, keep = 0, have_host = 0;

	h->content_length = -1;
	for (i = 0; i < h->nheaders; i++) {
		const char *n = h->headers[i].name, *v = h->headers[i].value;

		if (strcasecmp(n, "Content-Length") == 0) {
			if (parse_content_length(v, &cl) != 0 ||
			    (h->content_length >= 0 &&
				h->content_length != cl)) {
				*why = "invalid Content-Length";
				return 400;
			}
			h->content_length = cl;
		} else if (strcasecmp(n, "Transfer-Encoding") == 0) {
			if (te != NULL || strcasecmp(v, "chunked") != 0) {
				*why = "unsupported Transfer-Encoding";
				return 501;
			}
			te = v;
		} else if (strcasecmp(n, "Connection") == 0) {
			close |= list_has(v, "close");
			keep |= list_has(v, "keep-alive");
		} else if (strcasecmp(n, "Expect") == 0) {
			if (strcasecmp(v, "100-continue") != 0) {
				*why = "unsupported expectation";
				return 417;
			}
			h->expect_continue = 1;
		} else if (strcasecmp(n, "Host") == 0) {
			have_host++;
		}
	}
	/* Both framings at once is the classic smuggling vector. */
	if (te != NULL && h->content_length >= 0) {
		*why = "both Content-Length and Transfer-Encoding";
		return 400;
	}
	if (h->minor >= 1 && have_host != 1) {
		*why = "HTTP/1.1 request needs exactly one Host header";
		return 400;
	}
	h->chunked = te != NULL;
	h->keep_alive = h->minor >= 1 ? !close : (keep && !close);
	return 0;
}

int
d01_http_parse_head(char *buf, size_t len, size_t max_line,
    struct d01_http_head *h, const char **why)
{
	char *p = buf, *end = buf + len, *line;
	size_t linelen;
	const char *dummy;
	int rc;

	if (why == NULL)
		why = &dummy;
	memset(h, 0, sizeof(*h));
	/* Never NULL, even after a failure: error replies read them. */
	h->method = h->target = h->path = h->query = "";
	h->content_length = -1;
	if (memchr(buf, '\0', len) != NULL) {
		*why = "NUL byte in request head";
		return 400;
	}
	/* RFC 9112 2.2: ignore at least one empty line before the request. */
	if ((line = next_line(&p, end, &linelen)) != NULL && linelen == 0)
		line = next_line(&p, end, &linelen);
	if (line == NULL || linelen == 0) {
		*why = "missing request line";
		return 400;
	}
	if (linelen > max_line) {
		*why = "request line too long";
		return 414;
	}
	if ((rc = parse_request_line(line, h, why)) != 0)
		return rc;
	for (;;) {
		if ((line = next_line(&p, end, &linelen)) == NULL) {
			*why = "request head not terminated";
			return 400;
		}
		if (linelen == 0)
			break;
		if ((rc = parse_header_line(line, h, why)) != 0)
			return rc;
	}
	return derive_framing(h, why);
}

const char *
d01_http_head_get(const struct d01_http_head *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->nheaders; i++)
		if (strcasecmp(h->headers[i].name, name) == 0)
			return h->headers[i].value;
	return NULL;
}
