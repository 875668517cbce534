/* SPDX-License-Identifier: ISC */
/* Shared by server/acmedns_api*.c only: the API's state and the helpers
 * the request flows (acmedns_api_req.c) use. */
#ifndef D01_SERVER_ACMEDNS_API_INT_H
#define D01_SERVER_ACMEDNS_API_INT_H

#include <openssl/sha.h>

#include "core/sfcache.h"
#include "server/acmedns_api.h"
#include "server/acmedns_api_crypt.h"
#include "server/acmedns_api_limit.h"
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
	struct d01_adns_limit *lim;    /* per source address */
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

/* A request that must wait (bcrypt, the store), owned by the request:
 * every way it ends (a reply, or the server aborting it) frees it with
 * d01_adns_call_free, which cancels what it waits on and gives back the
 * bcrypt job its source holds. */
struct d01_op;
struct d01_adns_job;
struct d01_recstore_backend;
struct d01_adns_call {
	struct d01_acmedns_api *api;
	struct d01_req *req;
	int present; /* update: 1 POST, 0 DELETE */
	int known;   /* the user exists (else the decoy hash is checked) */
	int have_client;
	struct d01_ipaddr client;
	struct d01_ipaddr source; /* whom the limits charge */
	struct d01_adns_src *src; /* holds a bcrypt job of source's */
	char user[D01_ADNS_UUID_LEN + 1];
	char pw[D01_ADNS_KEY_LEN + 1];
	char sub[D01_ADNS_UUID_LEN + 1];
	char hash[D01_ADNS_HASH_MAX];
	char fqdn[D01_ADNS_UUID_LEN + 260]; /* update: where the value goes */
	char *allowfrom; /* register: the account's JSON text */
	struct d01_adns_update body;
	struct d01_sfc_wait wait;
	struct d01_adns_job *job;
	struct d01_op *op;
	void *acct_write;
	const struct d01_recstore_backend *be;
};
void d01_adns_call_free(struct d01_adns_call *c);
/* For d01_req_on_abort. */
void d01_adns_call_abort(void *arg);
/* Reply {"error": what} with status, then free c. */
void d01_adns_call_error(struct d01_adns_call *c, int status, const char *what);
/* The client behind trusted proxies; 0, or -1 (none to believe). */
int d01_adns_client_of(
    struct d01_acmedns_api *api, struct d01_req *req, struct d01_ipaddr *ip);
/* Whom the per-source limits charge: the client, else the peer. */
void d01_adns_source_of(const struct d01_ipaddr *client, int have_client,
    struct d01_req *req, struct d01_ipaddr *src);
/* 429 too_many_requests with Retry-After. */
void d01_adns_reply_limited(struct d01_req *req, long retry_s);
/* Hold a bcrypt job of c->source's (c->src); 0, or -1 with the 429 sent
 * and c->req cleared (c still the caller's to free). */
int d01_adns_hold_job(struct d01_adns_call *c);

/* acmedns_api_register.c: POST /register. */
void d01_adns_do_register(struct d01_acmedns_api *api, struct d01_req *req);

#endif
