/* SPDX-License-Identifier: ISC */
/*
 * The shared run-time environment handed explicitly to providers, the
 * server and the CLI: no module reaches for globals. Built and torn down
 * only by d01_env_open()/d01_env_close() (providers/env.h), which also
 * run every provider's init/fini, so the one owner is whoever runs the
 * event loop (server/daemon.c, cli/record.c, issuer/issue_run.c, the tests);
 * members are borrowed by everything else and outlive every operation
 * started with the env.
 *
 * Process-wide state lives here or behind `pstate`, never in mutable
 * file statics under core/ or providers/: tests/integration/
 * test_no_statics.py fails the build's tests when one appears.
 */
#ifndef D01_ENV_H
#define D01_ENV_H

#include <stddef.h>

struct event_base;
struct d01_dns;
struct d01_secrets;
struct d01_http;
struct d01_endpoints;
struct d01_provider;
struct d01_clock;

struct d01_env {
	struct event_base *base; /* the one event loop */
	/* Time as providers and the primitives read it (core/clock.h): the
	 * real clock, or a test's. Borrowed. */
	const struct d01_clock *clock;
	struct d01_dns *dns;	     /* async DNS client */
	struct d01_secrets *secrets; /* secret references */
	struct d01_http *http;	     /* async HTTP client (provider APIs) */
	/* Which provider endpoints a config may name (core/endpoint.h);
	 * NULL: only each provider's public defaults. Borrowed. */
	const struct d01_endpoints *endpoints;
	/* The provider table this env was opened with (opaque to core) and
	 * each provider's state, by table position: what its init made,
	 * handed back to its fini. Read through d01_env_provider_state(). */
	const struct d01_provider *const *providers;
	void **pstate;
	size_t nproviders;
	size_t ninited; /* providers whose init ran (the first ninited) */
};

#endif
