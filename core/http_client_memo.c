/* SPDX-License-Identifier: ISC */
/*
 * The client's memo: a small, bounded, expiring map from string keys to
 * short string values, for identifiers an API client would otherwise look
 * up on every call (a Cloudflare zone ID per zone name and credential).
 * It lives in the client because the client is the one per-process object
 * every provider already shares; nothing here does I/O.
 */
#include <string.h>

#include <openssl/evp.h>

#include "core/http_client_int.h"

static void
key_hash(const char *key, unsigned char out[32])
{
	unsigned int n = 32;

	if (EVP_Digest(key, strlen(key), out, &n, EVP_sha256(), NULL) != 1)
		memset(out, 0, 32); /* never matches a live entry's hash */
}

static int
expired(const struct d01_http_memo_ent *e, const struct timespec *now)
{
	return e->expires.tv_sec < now->tv_sec ||
	    (e->expires.tv_sec == now->tv_sec &&
		e->expires.tv_nsec <= now->tv_nsec);
}

void
d01_http_memo_init(struct d01_http *h)
{
	memset(h->memo, 0, sizeof(h->memo));
}

int
d01_http_memo_get(struct d01_http *h, const char *key, char *out, size_t outlen)
{
	unsigned char kh[32];
	struct timespec now;
	size_t i, n;

	key_hash(key, kh);
	clock_gettime(CLOCK_MONOTONIC, &now);
	for (i = 0; i < D01_HTTP_MEMO_SIZE; i++) {
		const struct d01_http_memo_ent *e = &h->memo[i];

		if (expired(e, &now) || memcmp(e->key, kh, sizeof(kh)) != 0)
			continue;
		if ((n = strlen(e->value)) >= outlen)
			return -1;
		memcpy(out, e->value, n + 1);
		return 0;
	}
	return -1;
}

void
d01_http_memo_put(
    struct d01_http *h, const char *key, const char *value, long ttl_ms)
{
	struct d01_http_memo_ent *e, *victim = &h->memo[0];
	unsigned char kh[32];
	struct timespec now;
	size_t i;

	if (strlen(value) >= sizeof(victim->value) || ttl_ms <= 0)
		return;
	key_hash(key, kh);
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* The same key, else an expired slot, else the one expiring first. */
	for (i = 0; i < D01_HTTP_MEMO_SIZE; i++) {
		e = &h->memo[i];
		if (memcmp(e->key, kh, sizeof(kh)) == 0 || expired(e, &now)) {
			victim = e;
			break;
		}
		if (e->expires.tv_sec < victim->expires.tv_sec)
			victim = e;
	}
	memcpy(victim->key, kh, sizeof(kh));
	memcpy(victim->value, value, strlen(value) + 1);
	victim->expires.tv_sec = now.tv_sec + ttl_ms / 1000;
	victim->expires.tv_nsec = now.tv_nsec + (ttl_ms % 1000) * 1000000;
	if (victim->expires.tv_nsec >= 1000000000) {
		victim->expires.tv_sec++;
		victim->expires.tv_nsec -= 1000000000;
	}
}

void
d01_http_memo_forget(struct d01_http *h, const char *key)
{
	unsigned char kh[32];
	size_t i;

	key_hash(key, kh);
	for (i = 0; i < D01_HTTP_MEMO_SIZE; i++)
		if (memcmp(h->memo[i].key, kh, sizeof(kh)) == 0)
			memset(&h->memo[i], 0, sizeof(h->memo[i]));
}
