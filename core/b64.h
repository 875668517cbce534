/* SPDX-License-Identifier: ISC */
/*
 * Standard base64 (RFC 4648 §4, with padding), as Kubernetes encodes
 * Secret data and kubeconfig *-data fields. The decoder is OpenSSL's EVP
 * one, which also skips the line breaks PEM-minded tools insert.
 */
#ifndef D01_B64_H
#define D01_B64_H

#include <stddef.h>

/*
 * Decode `len` characters of `src` into a new buffer with a NUL after the
 * `*outlen` decoded bytes (the caller wipes and frees it). NULL when the
 * input is not base64 or memory ran out.
 */
unsigned char *d01_b64_decode_new(const char *src, size_t len, size_t *outlen);

#endif
