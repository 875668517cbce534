/* SPDX-License-Identifier: ISC */
/*
 * The shared run-time environment handed explicitly to providers, the
 * server and the CLI: no module reaches for globals. Owned by whoever runs
 * the event loop (cli/serve.c, cli/present.c, ...); members are borrowed by
 * everything else and outlive every operation started with the env.
 */
#ifndef D01_ENV_H
#define D01_ENV_H

struct event_base;
struct d01_txtstore;
struct d01_dns;
struct d01_secrets;
struct d01_http;
struct d01_endpoints;

struct d01_env {
	struct event_base *base;     /* the one event loop */
	struct d01_txtstore *store;  /* embedded zones; NULL if none */
	struct d01_dns *dns;	     /* async DNS client */
	struct d01_secrets *secrets; /* secret references; NULL if none */
	struct d01_http *http;	     /* async HTTP client (provider APIs) */
	/* Which provider endpoints a config may name (core/endpoint.h);
	 * NULL: only each provider's public defaults. */
	const struct d01_endpoints *endpoints;
};

#endif
