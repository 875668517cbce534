/* SPDX-License-Identifier: ISC */
/*
 * Account and certificate keys: generation (EC P-256/P-384, RSA
 * 2048/3072/4096), PEM (PKCS#8) load and save. Saved keys are 0600 and
 * written atomically (issuer/files.h). Key material never reaches a log
 * line or an error message; PEM buffers are wiped before being freed.
 * Keys are OpenSSL EVP_PKEYs: the caller owns what these functions return
 * and frees it with EVP_PKEY_free.
 */
#ifndef D01_KEY_H
#define D01_KEY_H

#include <stddef.h>

#include <openssl/evp.h>

#include "core/err.h"

enum d01_key_type {
	D01_KEY_EC256 = 0,
	D01_KEY_EC384,
	D01_KEY_RSA2048,
	D01_KEY_RSA3072,
	D01_KEY_RSA4096,
	D01_KEY__MAX
};

/* "ec256", "ec384", "rsa2048", ... -> type. Returns 0, or -1 if unknown. */
int d01_key_type_parse(const char *s, enum d01_key_type *out);
const char *d01_key_type_name(enum d01_key_type t);

/* A new key of type `t`; NULL with err filled on failure. Blocks for a
 * moment for RSA: call it before the event loop runs. */
EVP_PKEY *d01_key_generate(enum d01_key_type t, struct d01_error *err);

/*
 * Parse a PEM private key (PKCS#8, or traditional EC/RSA). Encrypted keys
 * are refused rather than prompted for. Only EC P-256/P-384 and RSA of
 * 2048..8192 bits are accepted.
 */
EVP_PKEY *d01_key_from_pem(const char *pem, size_t len, struct d01_error *err);

/* Load `path`: D01_E_NOTFOUND in err->code when it does not exist. */
EVP_PKEY *d01_key_load(const char *path, struct d01_error *err);

/*
 * PKCS#8 PEM of `key` in a new buffer (*pem, NUL-terminated, *len without
 * the NUL). Free it with d01_key_pem_free, which wipes it first.
 */
enum d01_err d01_key_to_pem(
    EVP_PKEY *key, char **pem, size_t *len, struct d01_error *err);
void d01_key_pem_free(char *pem, size_t len);

/* Save `key` to `path` atomically with mode 0600. */
enum d01_err d01_key_save(
    const char *path, EVP_PKEY *key, struct d01_error *err);

#endif
