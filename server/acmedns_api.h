/* SPDX-License-Identifier: ISC */
/*
 * The acme-dns-compatible HTTP API (POST /register, POST /update,
 * GET /health; and DELETE /update beyond acme-dns) on its own listeners,
 * writing the embedded provider's zones: accounts into its account table
 * (providers/embedded/accounts.h, through the store back end's
 * acct_start when one is plugged), values through d01_provider_start()
 * on d01_provider_embedded like every other writer. Statuses and error
 * bodies are acme-dns's (README, "Replacing acme-dns").
 *
 * Ownership: the options and the strings they point to are the caller's
 * and outlive the API; the env too. The API owns its listeners, its
 * bcrypt workers and every request in progress.
 */
#ifndef D01_SERVER_ACMEDNS_API_H
#define D01_SERVER_ACMEDNS_API_H

#include <stddef.h>

#include "core/err.h"
#include "core/strlist.h"

struct d01_env;

struct d01_acmedns_opts {
	struct d01_strlist listen;	    /* ADDR:PORT, [V6]:PORT */
	const char *cert, *key;		    /* TLS, or: */
	int insecure_http;		    /* plain HTTP, on purpose */
	const char *domain;		    /* under an embedded zone */
	const char *registration;	    /* open|token|closed (NULL:
					       token with a token file, else
					       closed) */
	const char *token_file;		    /* the registration token */
	struct d01_strlist reg_allowfrom;   /* who may register (CIDRs) */
	struct d01_strlist trusted_proxies; /* X-Forwarded-For from these */
	long rate;			    /* writes a minute per account;
					       0: no limit */
	long bcrypt_cost;		    /* of new hashes (10) */
	long reg_rate;	/* registrations a minute per source address (the
			   server: 10 times it); 0: no limit */
	long fail_rate; /* failed passwords a minute per source address,
			   then 429 before any bcrypt; 0: no limit */
	long reload_ms; /* certificate reload check */
	long op_ms;	/* each write's deadline */
	long ttl_ms;	/* --embedded-record-ttl: older values are deleted */
};

struct d01_acmedns_api;

/* Check the options against the env (its zones, its store back end),
 * read the token file, make the TLS context and listen. NULL with err
 * (D01_E_CONFIG when the options cannot work). */
struct d01_acmedns_api *d01_acmedns_api_new(struct d01_env *env,
    const struct d01_acmedns_opts *o, struct d01_error *err);

/* Stop listening, let requests in progress finish within deadline_ms,
 * then done(arg) once. */
void d01_acmedns_api_shutdown(struct d01_acmedns_api *api, int deadline_ms,
    void (*done)(void *), void *arg);

/* NULL is a no-op. Before the env is closed. */
void d01_acmedns_api_free(struct d01_acmedns_api *api);

#endif
