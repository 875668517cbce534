/* SPDX-License-Identifier: ISC */
/*
 * One authorization's DNS-01 challenge, solved as a state machine:
 *   FETCH -> PRESENT -> CHECK -> RESPOND -> POLL -> CLEANUP -> DONE
 * FETCH reads the authorization (already valid: DONE at once); PRESENT
 * adds the TXT value through the provider; CHECK waits with the TXT
 * checker until every authoritative server (or the given nameservers)
 * serves it; RESPOND tells the CA; POLL reads the authorization with
 * backoff, honouring Retry-After, until valid or invalid; CLEANUP removes
 * the value, always, whatever happened before. The order runs one solver
 * per authorization, all in parallel.
 */
#ifndef D01_ISSUER_AUTHZ_H
#define D01_ISSUER_AUTHZ_H

#include "core/err.h"
#include "core/txtcheck.h"
#include "providers/provider.h"

struct d01_acme;
struct d01_solver;

/* What every solver of an order shares; borrowed, outlives the solvers. */
struct d01_solve_ctx {
	struct d01_acme *acme;
	struct d01_env *env; /* base, dns, secrets, providers' state */
	const struct d01_provider *provider;
	void *provider_cfg;    /* from provider->config_parse */
	const char *namespace; /* for secret references */
	int allow_ambient;     /* the provider may use its own credentials */
	/* Checker settings; fqdn, value and absent are filled per solver. */
	struct d01_txtcheck_opts check;
	long poll_timeout_ms; /* bound on POLL after RESPOND */
	long op_timeout_ms;   /* deadline of each provider Present/CleanUp */
};

/*
 * Done: err D01_OK when the authorization is valid (and the value was
 * cleaned up), else why, in the form "authorization for <name> ...".
 * The solver is freed when cb returns.
 */
typedef void (*d01_solver_fn)(
    void *arg, const struct d01_error *err, struct d01_solver *s);

/*
 * Start solving the authorization at `url` (copied). Async call shape
 * (docs/DESIGN.md, "The async call shape"): NULL + err and cb never
 * runs, else cb runs exactly once, later.
 */
struct d01_solver *d01_solver_start(const struct d01_solve_ctx *ctx,
    const char *url, d01_solver_fn cb, void *arg, struct d01_error *err);

/*
 * Stop early (another authorization failed): whatever is waiting is
 * dropped, the TXT value is cleaned up if it may have been added, then cb
 * runs (later, never from inside this call) with D01_E_CANCELLED unless a
 * result was already known.
 */
void d01_solver_abort(struct d01_solver *s);

/* Free without callback and without cleanup (teardown only). */
void d01_solver_cancel(struct d01_solver *s);

/* The TXT value for `token` under account key thumbprint `thumb`:
 * base64url(SHA-256(token "." thumb)) into out (44 bytes). */
int d01_dns01_value(const char *token, const char *thumb, char out[44]);

#endif
