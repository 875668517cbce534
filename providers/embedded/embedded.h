/* SPDX-License-Identifier: ISC */
/*
 * The `embedded` provider: Present/CleanUp write the store its init made
 * from the env's zones, which the embedded DNS server (dnsd.h), also its
 * own, serves. No credentials, no network.
 */
#ifndef D01_EMBEDDED_H
#define D01_EMBEDDED_H

#include "providers/provider.h"

extern const struct d01_provider d01_provider_embedded;

struct d01_txtstore;

/* The store of env's zones (owned by the provider); NULL when the env
 * has no zones. For tests and the fuzz target. */
struct d01_txtstore *d01_embedded_store(const struct d01_env *env);

#endif
