/* SPDX-License-Identifier: ISC */
/*
 * The one way to build a struct d01_env (core/env.h): the event loop, the
 * DNS and HTTP clients, the secret store, then every provider's init in
 * table order; closing runs every fini in reverse and frees the rest.
 * `serve`, `present`/`cleanup`, `issue` and the unit tests all go through
 * here, so a provider's process-wide state (rfc2136's gate, route53's
 * locks and STS sessions, the embedded store and DNS listener) exists
 * exactly once per env and is gone when the env is.
 *
 * This lives in providers/, not core/: it walks the provider table, and
 * core never calls into providers (core <- providers <- server/issuer <-
 * cli).
 */
#ifndef D01_PROVIDERS_ENV_H
#define D01_PROVIDERS_ENV_H

#include "core/env.h"
#include "core/err.h"

/* What the env is opened with; every pointer is borrowed for the call
 * (endpoints: for the env's life). Zero means the default. */
struct d01_env_opts {
	/* The table to initialise, NULL-terminated; NULL: d01_providers.
	 * Tests pass their own (a counting provider). */
	const struct d01_provider *const *providers;
	size_t dns_max_inflight; /* 0: 64 */
	const char *secrets_dir; /* NULL: no directory (in-memory/backend) */
	const struct d01_endpoints *endpoints; /* NULL: public defaults */
	/* Zones this process answers for and where (embedded provider);
	 * no zones: no store; no dns_listen: no listener. */
	const char *const *zones;
	size_t nzones;
	const char *dns_listen; /* "ADDR:PORT" */
	/* More listeners (`serve --dns-listen` repeated), zone transfers
	 * to --allow-transfer and NOTIFY to --notify (providers/embedded/
	 * xfr.h, notify.h). Arrays of n entries, borrowed for the call. */
	const char *const *dns_listens;
	size_t ndns_listens;
	const char *const *allow_transfer;
	size_t nallow_transfer;
	const char *const *notify;
	size_t nnotify;
	/* DNS UPDATE and signed queries on dns_listen: the operator's
	 * BIND-style key files and the grants ("KEY=zonesub", ...); no key
	 * files: no UPDATE (providers/embedded/tsigkeys.h). */
	const char *const *tsig_keyfiles;
	size_t ntsig_keyfiles;
	const char *const *update_policies;
	size_t nupdate_policies;
	/* NULL: the real clock; tests pass a d01_test_clock's, which must
	 * outlive the env (core/clock.h). */
	const struct d01_clock *clock;
};

/*
 * Build *env (which the caller zeroes or not: it is overwritten). On
 * failure returns the error with err set and leaves *env closed (safe to
 * pass to d01_env_close() again). D01_E_CONFIG for a bad option.
 */
enum d01_err d01_env_open(
    struct d01_env *env, const struct d01_env_opts *o, struct d01_error *err);

/* Every op started with env must have completed or been cancelled. The
 * env is zeroed; closing a closed or zeroed env is a no-op. */
void d01_env_close(struct d01_env *env);

/* The state provider p's init stored in this env; NULL when p is not in
 * the env's table or made none. A linear look-up by pointer over a table
 * of a handful of entries: cheaper than any op it starts. */
void *d01_env_provider_state(
    const struct d01_env *env, const struct d01_provider *p);

#endif
