/* SPDX-License-Identifier: ISC */
/* Shared by server/acmedns_api*.c only: the API's state and the helpers
 * the request flows (acmedns_api_req.c) use. */
#ifndef D01_SERVER_ACMEDNS_API_INT_H
#define D01_SERVER_ACMEDNS_API_INT_H

#include <openssl/sha.h>

#include "core/sfcache.h"
#include "server/acmedns_api.h"
#include "server/acmedns_api_crypt.h"
#include "server/acmedns_api_parse.h"

struct d01_req;
struct d01_httpd;

enum adns_reg_mode { REG_CLOSED, REG_TOKEN, REG_OPEN };

struct d01_acmedns_api {
	struct d01_env *env;
	const struct d01_acmedns_opts *o;
	char domain[256]; /* lower-case, no trailing dot */
	enum adns_reg_mode mode;
	unsigned char token_sha[SHA256_DIGEST_LENGTH];
	struct d01_cidr reg_from[D01_STRLIST_MAX];
	struct d01_cidr proxies[D01_STRLIST_MAX];
	size_t nreg_from, nproxies;
	struct d01_adns_crypt *crypt;
	struct d01_sfc *verified;      /* (user, password, hash) that matched */
	struct d01_sfc *buckets;       /* rate limit state per account */
	unsigned char mac[32];	       /* key of the verified cache */
	char decoy[D01_ADNS_HASH_MAX]; /* checked for unknown users */
	struct d01_httpd *httpd[D01_STRLIST_MAX];
	size_t nhttpd;
	void *ssl_ctx; /* SSL_CTX, NULL for plain HTTP */
	struct d01_certwatch *watch;
	struct d01_adns_expiry *expiry; /* memory store only */
	size_t draining;
	void (*done)(void *);
	void *done_arg;
};

/* acmedns_api_expiry.c: values older than ttl_ms deleted (memory
 * store); note on add, forget on delete. NULL when out of memory. */
struct d01_adns_expiry;
struct d01_adns_expiry *d01_adns_expiry_new(struct d01_env *env, long ttl_ms);
void d01_adns_expiry_note(
    struct d01_adns_expiry *x, const char *fqdn, const char *value);
void d01_adns_expiry_forget(
    struct d01_adns_expiry *x, const char *fqdn, const char *value);
void d01_adns_expiry_free(struct d01_adns_expiry *x);

/* acmedns_api_req.c: the route of every complete request. */
void d01_adns_route(struct d01_req *req, void *arg);
/* {"error": "<what>"} with status, as acme-dns writes it. */
void d01_adns_reply_error(struct d01_req *req, int status, const char *what);

#endif
