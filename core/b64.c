/* SPDX-License-Identifier: ISC */
/* Standard base64 decoding; see b64.h. */
#include <limits.h>
#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/b64.h"

unsigned char *
d01_b64_decode_new(const char *src, size_t len, size_t *outlen)
{
	EVP_ENCODE_CTX *ctx;
	unsigned char *out;
	int n = 0, fin = 0, ok;

	if (len > INT_MAX / 2 || (out = malloc(len / 4 * 3 + 4)) == NULL)
		return NULL;
	if ((ctx = EVP_ENCODE_CTX_new()) == NULL) {
		free(out);
		return NULL;
	}
	EVP_DecodeInit(ctx);
	ok = EVP_DecodeUpdate(
		 ctx, out, &n, (const unsigned char *)src, (int)len) >= 0 &&
	    EVP_DecodeFinal(ctx, out + n, &fin) == 1;
	EVP_ENCODE_CTX_free(ctx);
	/* EVP accepts a stray '-' (an old PEM quirk): not base64 here. */
	for (size_t i = 0; ok && i < len; i++)
		ok = src[i] != '-';
	if (!ok) {
		OPENSSL_cleanse(out, len / 4 * 3 + 4);
		free(out);
		return NULL;
	}
	*outlen = (size_t)(n + fin);
	out[*outlen] = '\0';
	return out;
}
