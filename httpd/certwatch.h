/* SPDX-License-Identifier: ISC */
/*
 * Serving certificate reload. cert-manager renews the serving certificate
 * in place (the kubelet swaps the Secret volume's files atomically); the
 * watcher notices on a timer, builds a fresh SSL_CTX from the files and
 * hands it over, so new connections use the new pair without a restart.
 * A pair that does not load (half-written, key mismatch) is refused with a
 * log line and the old context keeps serving.
 */
#ifndef D01_CERTWATCH_H
#define D01_CERTWATCH_H

#include <openssl/ssl.h>

#include "core/err.h"

struct event_base;
struct d01_certwatch;

/*
 * Called with a new context (borrowed: up-reference it to keep it) after
 * the files changed and loaded cleanly.
 */
typedef void (*d01_certwatch_fn)(SSL_CTX *ctx, void *arg);

/*
 * Watch `cert` and `key` every `interval_ms`; new contexts ask for client
 * certificates when `client_certs` (see d01_tls_server_ctx). Strings are
 * copied. The files are assumed to be the ones the current
 * context was built from. Returns NULL with err filled on failure.
 */
struct d01_certwatch *d01_certwatch_new(struct event_base *base,
    const char *cert, const char *key, int client_certs, int interval_ms,
    d01_certwatch_fn fn, void *arg, struct d01_error *err);

void d01_certwatch_free(struct d01_certwatch *w);

#endif
