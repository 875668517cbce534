/* SPDX-License-Identifier: ISC */
/*
 * TLS for the webhook listener: a server SSL_CTX (TLS >= 1.2, no session
 * resumption so every connection's client certificate is verified afresh)
 * that requests, but does not require, a client certificate.
 */
#ifndef D01_TLS_H
#define D01_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "core/err.h"

/*
 * Server context from PEM files. With `client_certs`, clients are asked
 * for a certificate, which is kept unverified for frontproxy.c to check
 * per request; without (demo mode) none is asked for. Returns a new
 * reference, or NULL with err filled (file names are named, OpenSSL's
 * reason appended).
 */
SSL_CTX *d01_tls_server_ctx(const char *cert_file, const char *key_file,
    int client_certs, struct d01_error *err);

/*
 * Server context with a fresh self-signed P-256 certificate for
 * "localhost" and 127.0.0.1, valid for 30 days, kept in memory only.
 */
SSL_CTX *d01_tls_demo_ctx(struct d01_error *err);

#endif
