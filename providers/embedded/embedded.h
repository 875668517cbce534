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

/*
 * The store back end (core/recstore.h). sink: fill `sink` with the local
 * store's side, for a back end to keep it; -1 when env has no zones.
 * set_backend: Present/CleanUp go through `be` (copied; its ctx must
 * outlive every op, so unplug it with NULL before freeing it); NULL
 * returns to memory only. -1 when env has no zones.
 */
struct d01_recstore_sink;
struct d01_recstore_backend;
int d01_embedded_sink(
    const struct d01_env *env, struct d01_recstore_sink *sink);
int d01_embedded_set_backend(
    const struct d01_env *env, const struct d01_recstore_backend *be);

/*
 * The acme-dns accounts (accounts.h), owned by the provider beside its
 * store; NULL when env has no zones. Written through the sink by a back
 * end, or directly when there is none.
 */
struct d01_acctab;
struct d01_acctab *d01_embedded_accounts(const struct d01_env *env);

/* The back end plugged in (borrowed), or NULL: memory only. Writers
 * other than Present/CleanUp (the acme-dns API's registration) use its
 * acct_start; values go through d01_provider_start() on this provider
 * like any Present, so every writer shares one path. */
const struct d01_recstore_backend *d01_embedded_backend(
    const struct d01_env *env);

/*
 * The TSIG keys of --tsig-keyfile (tsigkeys.h; owned by the provider,
 * read-only after start-up), or NULL when none were given. Look a key up
 * with d01_keyring_find().
 */
struct d01_keyring;
const struct d01_keyring *d01_embedded_keyring(const struct d01_env *env);

#endif
