/* SPDX-License-Identifier: ISC */
/*
 * Certificate signing requests for ACME finalize (RFC 8555 §7.4): PKCS#10
 * with the order's names as dNSName SANs (wildcards included) and the
 * first name as CN when it fits in 64 bytes, signed with the certificate
 * key (SHA-256; SHA-384 for P-384 keys).
 */
#ifndef D01_CSR_H
#define D01_CSR_H

#include <stddef.h>

#include <openssl/evp.h>

#include "core/err.h"

/*
 * Build and sign a CSR for `n` names (borrowed, without trailing dots).
 * *der gets a new buffer (caller frees with free()), *len its size.
 */
enum d01_err d01_csr_make(EVP_PKEY *key, const char *const *names, size_t n,
    unsigned char **der, size_t *len, struct d01_error *err);

#endif
