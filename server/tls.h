/* SPDX-License-Identifier: ISC */
/*
 * TLS for the webhook listener: a server SSL_CTX (TLS >= 1.2, no session
 * resumption so every connection's client certificate is verified afresh)
 * that requests, but does not require, a client certificate and verifies
 * it against the front-proxy CA; and the checks that turn a connection's
 * verified certificate into a trusted front-proxy identity.
 */
#ifndef D01_TLS_H
#define D01_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "core/err.h"

/*
 * Server context from PEM files. `client_ca_file` may be NULL (no client
 * certificates requested: demo mode). Returns a new reference, or NULL with
 * err filled (file names are named, OpenSSL's reason appended).
 */
SSL_CTX *d01_tls_server_ctx(const char *cert_file, const char *key_file,
    const char *client_ca_file, struct d01_error *err);

/*
 * Server context with a fresh self-signed P-256 certificate for
 * "localhost" and 127.0.0.1, valid for 30 days, kept in memory only.
 */
SSL_CTX *d01_tls_demo_ctx(struct d01_error *err);

/*
 * Verify the peer of `ssl` as a front-proxy: it presented a certificate
 * whose chain verified against the context's client CA for client use
 * (clientAuth EKU or no EKU), and, when `allowed` is non-empty, whose
 * subject CN is one of `allowed[0..nallowed)`. Returns 0 and copies the CN
 * to `cn`, or -1 with `why` set to a static reason.
 */
int d01_tls_peer_front_proxy(SSL *ssl, const char *const *allowed,
    size_t nallowed, char *cn, size_t cnlen, const char **why);

#endif
