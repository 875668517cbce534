/* SPDX-License-Identifier: ISC */
/*
 * The acme-dns API's input (acmedns_api_parse.h): pure, bounded, and
 * strict where a lenient reading would let an address or an account
 * through that acme-dns would not.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "server/acmedns_api_parse.h"

/* --- addresses ------------------------------------------------------ */

/* Copy s without '[' and ']' (acme-dns's sanitizeIPv6addr); -1 when it
 * does not fit. */
static int
unbracket(const char *s, char *out, size_t n)
{
	size_t j = 0;

	for (; *s != '\0'; s++) {
		if (*s == '[' || *s == ']')
			continue;
		if (j + 1 >= n)
			return -1;
		out[j++] = *s;
	}
	out[j] = '\0';
	return 0;
}

static const unsigned char v4mapped[12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* The literal alone (no brackets), v4-mapped kept as IPv6. */
static int
parse_literal(const char *s, struct d01_ipaddr *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, ip->a) == 1) {
		ip->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->a) == 1) {
		ip->family = 6;
		return 0;
	}
	return -1;
}

int
d01_ip_parse(const char *s, struct d01_ipaddr *ip)
{
	char buf[INET6_ADDRSTRLEN + 4];

	if (unbracket(s, buf, sizeof(buf)) != 0 || parse_literal(buf, ip) != 0)
		return -1;
	if (ip->family == 6 && memcmp(ip->a, v4mapped, 12) == 0) {
		memmove(ip->a, ip->a + 12, 4);
		memset(ip->a + 4, 0, 12);
		ip->family = 4;
	}
	return 0;
}

int
d01_cidr_parse(const char *s, struct d01_cidr *c)
{
	char buf[D01_ADNS_CIDR_TEXT];
	char *slash, *end;
	long bits;

	memset(c, 0, sizeof(*c));
	if (unbracket(s, buf, sizeof(buf)) != 0 ||
	    (slash = strchr(buf, '/')) == NULL)
		return -1;
	*slash++ = '\0';
	/* Decimal digits only: no sign, no spaces, at most three. */
	if (*slash == '\0' || strlen(slash) > 3 ||
	    strspn(slash, "0123456789") != strlen(slash))
		return -1;
	bits = strtol(slash, &end, 10);
	if (parse_literal(buf, &c->net) != 0 ||
	    bits > (c->net.family == 4 ? 32 : 128))
		return -1;
	c->bits = (int)bits;
	return 0;
}

int
d01_cidr_match(const struct d01_cidr *c, const struct d01_ipaddr *ip)
{
	int full = c->bits / 8, rest = c->bits % 8;
	unsigned char mask;

	if (ip->family == 0 || ip->family != c->net.family)
		return 0;
	if (memcmp(c->net.a, ip->a, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (c->net.a[full] & mask) == (ip->a[full] & mask);
}

int
d01_cidr_any(const struct d01_cidr *c, size_t n, const struct d01_ipaddr *ip)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (d01_cidr_match(&c[i], ip))
			return 1;
	return 0;
}

/* "ip:port" (IPv6 unbracketed, as httpd writes it) into ip. */
static int
peer_addr(const char *peer, struct d01_ipaddr *ip)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *colon;

	if (strlen(peer) >= sizeof(buf))
		return -1;
	strcpy(buf, peer);
	if ((colon = strrchr(buf, ':')) == NULL)
		return -1;
	*colon = '\0';
	return d01_ip_parse(buf, ip);
}

int
d01_adns_client_addr(const char *peer, const char *xff,
    const struct d01_cidr *trusted, size_t ntrusted, struct d01_ipaddr *out)
{
	const char *end, *start, *a, *b;
	char hop[INET6_ADDRSTRLEN + 4];
	struct d01_ipaddr ip;

	memset(out, 0, sizeof(*out));
	if (peer_addr(peer, &ip) != 0)
		return -1;
	*out = ip;
	if (!d01_cidr_any(trusted, ntrusted, &ip) || xff == NULL)
		return 0;
	/* Right to left: each hop was added by the proxy before it. */
	end = xff + strlen(xff);
	while (end > xff) {
		start = end;
		while (start > xff && start[-1] != ',')
			start--;
		for (a = start; a < end && (*a == ' ' || *a == '\t'); a++)
			;
		for (b = end; b > a && (b[-1] == ' ' || b[-1] == '\t'); b--)
			;
		end = start > xff ? start - 1 : xff;
		if (a == b)
			continue; /* an empty item, as acme-dns skips */
		if ((size_t)(b - a) >= sizeof(hop))
			goto bad;
		memcpy(hop, a, (size_t)(b - a));
		hop[b - a] = '\0';
		if (d01_ip_parse(hop, &ip) != 0)
			goto bad;
		*out = ip;
		if (!d01_cidr_any(trusted, ntrusted, &ip))
			return 0;
	}
	return 0; /* every hop trusted: the leftmost one */
bad:
	memset(out, 0, sizeof(*out));
	return -1;
}

/* --- acme-dns's validators --------------------------------------------- */

static int
b64url_chars(const char *s, size_t want)
{
	size_t n = strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

	return n == want && s[n] == '\0';
}

int
d01_adns_valid_txt(const char *s)
{
	return b64url_chars(s, D01_ADNS_TXT_LEN);
}

int
d01_adns_valid_key(const char *s)
{
	return b64url_chars(s, D01_ADNS_KEY_LEN);
}

int
d01_adns_valid_subdomain(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[n - 1]))
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

int
d01_adns_uuid_canon(const char *s, char out[D01_ADNS_UUID_LEN + 1])
{
	static const int dash[] = {8, 13, 18, 23};
	char hex[33];
	size_t n = strlen(s), i, j = 0, d = 0;

	if (n == 45 && strncasecmp(s, "urn:uuid:", 9) == 0) {
		s += 9;
		n = 36;
	} else if (n == 38 && s[0] == '{' && s[37] == '}') {
		s++;
		n = 36;
	}
	if (n != 36 && n != 32)
		return -1;
	for (i = 0; i < n; i++) {
		if (n == 36 && d < 4 && (int)i == dash[d]) {
			if (s[i] != '-')
				return -1;
			d++;
			continue;
		}
		if (!isxdigit((unsigned char)s[i]))
			return -1;
		hex[j++] = (char)tolower((unsigned char)s[i]);
	}
	hex[j] = '\0';
	snprintf(out, D01_ADNS_UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex,
	    hex + 8, hex + 12, hex + 16, hex + 20);
	return 0;
}

/* --- bodies ------------------------------------------------------------ */

/* The member of obj named `name` in any case (Go's field matching);
 * the last one wins, as in Go. */
static json_t *
member_nocase(json_t *obj, const char *name)
{
	const char *k;
	json_t *v, *found = NULL;

	json_object_foreach(obj, k, v) if (strcasecmp(k, name) == 0) found = v;
	return found;
}

enum d01_adns_reg_res
d01_adns_parse_register(
    const char *body, size_t len, struct d01_adns_register *out)
{
	enum d01_adns_reg_res res = D01_ADNS_REG_MALFORMED;
	json_error_t jerr;
	json_t *root, *af, *v;
	const char *s;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return D01_ADNS_REG_OK;
	root = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (root == NULL)
		return D01_ADNS_REG_MALFORMED;
	if (json_is_null(root)) {
		res = D01_ADNS_REG_OK;
		goto out;
	}
	if (!json_is_object(root))
		goto out;
	af = member_nocase(root, "allowfrom");
	if (af == NULL || json_is_null(af)) {
		res = D01_ADNS_REG_OK;
		goto out;
	}
	if (!json_is_array(af))
		goto out;
	json_array_foreach(
	    af, i, v) if (!json_is_string(v)) goto out; /* a type error: Go's
							   Unmarshal fails */
	res = D01_ADNS_REG_BAD_CIDR;
	json_array_foreach(af, i, v)
	{
		s = json_string_value(v);
		if (out->ncidrs == D01_ADNS_MAX_CIDRS ||
		    strlen(s) != json_string_length(v) ||
		    d01_cidr_parse(s, &out->cidrs[out->ncidrs]) != 0 ||
		    unbracket(s, out->text[out->ncidrs], D01_ADNS_CIDR_TEXT) !=
			0)
			goto out;
		out->ncidrs++;
	}
	res = D01_ADNS_REG_OK;
out:
	json_decref(root);
	return res;
}

static void
copy_field(json_t *obj, const char *name, char *dst, size_t n)
{
	json_t *v = member_nocase(obj, name);
	const char *s;

	dst[0] = '\0';
	if (!json_is_string(v))
		return;
	s = json_string_value(v);
	/* Too long (or with a NUL inside): "", which matches no account
	 * and is no valid value. For txt, keep a too-long marker. */
	if (strlen(s) != json_string_length(v) || strlen(s) >= n) {
		if (n > 1) {
			memset(dst, '!', n - 1);
			dst[n - 1] = '\0';
		}
		return;
	}
	memcpy(dst, s, strlen(s) + 1);
}

void
d01_adns_parse_update(const char *body, size_t len, struct d01_adns_update *out)
{
	json_error_t jerr;
	json_t *root;

	memset(out, 0, sizeof(*out));
	root = json_loadb(body, len,
	    JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (root == NULL)
		return;
	if (json_is_object(root)) {
		copy_field(
		    root, "subdomain", out->subdomain, sizeof(out->subdomain));
		copy_field(root, "txt", out->txt, sizeof(out->txt));
	}
	json_decref(root);
}

int
d01_adns_allowfrom_load(const char *text, struct d01_cidr *c, size_t max)
{
	json_error_t jerr;
	json_t *root, *v;
	size_t i, n = 0;

	if ((root = json_loads(text, 0, &jerr)) == NULL)
		return -1;
	if (!json_is_array(root)) {
		json_decref(root);
		return -1;
	}
	json_array_foreach(root, i, v)
	{
		if (n == max)
			break;
		if (json_is_string(v) &&
		    d01_cidr_parse(json_string_value(v), &c[n]) == 0)
			n++;
	}
	json_decref(root);
	return (int)n;
}
