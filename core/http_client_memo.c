/* SPDX-License-Identifier: ISC */
/*
 * The client's memo: a small, bounded, expiring map from string keys to
 * short string values, for identifiers an API client would otherwise look
 * up on every call (a zone ID per zone name and credential), with single
 * flight. It is a single-flight cache (core/sfcache.h) under string keys
 * (hashed); a value is kept with its NUL. It lives in the client because
 * the client is the one per-env object every provider already shares;
 * nothing here does I/O.
 *
 * Callers name keys, not leader handles (a lookup's leader ends it with
 * put or abandon by key), so a leader is detached from its flight at
 * once; abandon fails the flight, and every waiter hears found = 0.
 */
#include <string.h>

#include "core/clock.h"
#include "core/http_client_int.h"

static struct d01_sfc *
memo_new(struct d01_http *h, const struct d01_clock *clock)
{
	const struct d01_sfc_cfg cfg = {D01_HTTP_MEMO_SIZE, 0, 0};

	return d01_sfc_new(h->base, clock, &cfg);
}

int
d01_http_memo_init(struct d01_http *h)
{
	h->memo = memo_new(h, d01_clock_real());
	return h->memo != NULL ? 0 : -1;
}

void
d01_http_memo_fini(struct d01_http *h)
{
	d01_sfc_free(h->memo);
	h->memo = NULL;
}

int
d01_http_set_clock(struct d01_http *h, const struct d01_clock *clock)
{
	struct d01_sfc *m = memo_new(h, clock);

	if (m == NULL)
		return -1;
	d01_sfc_free(h->memo);
	h->memo = m;
	return 0;
}

/* A value that fits out (with its NUL), copied; 0 or -1. */
static int
copy_out(const void *v, size_t len, char *out, size_t outlen)
{
	if (v == NULL || len == 0 || len > outlen ||
	    ((const char *)v)[len - 1] != '\0')
		return -1;
	memcpy(out, v, len);
	return 0;
}

int
d01_http_memo_get(struct d01_http *h, const char *key, char *out, size_t outlen)
{
	unsigned char k[D01_SFC_KEY];
	const void *v;
	size_t len = 0;

	if (d01_sfc_key_str(key, k) != 0 ||
	    (v = d01_sfc_peek(h->memo, k, &len)) == NULL)
		return -1;
	return copy_out(v, len, out, outlen);
}

static void
heard(void *arg, const struct d01_sfc_out *o)
{
	struct d01_http_memo_wait *w = arg;

	w->cb(w->arg, o->res == D01_SFC_HIT);
}

enum d01_http_memo_res
d01_http_memo_lookup(struct d01_http *h, const char *key, char *out,
    size_t outlen, struct d01_http_memo_wait *w, d01_http_memo_fn cb, void *arg)
{
	unsigned char k[D01_SFC_KEY];
	struct d01_sfc_out o;
	struct d01_error err;

	memset(w, 0, sizeof(*w));
	w->cb = cb;
	w->arg = arg;
	d01_error_clear(&err);
	if (d01_sfc_key_str(key, k) != 0)
		return D01_HTTP_MEMO_LEAD; /* lead alone */
	switch (d01_sfc_get(h->memo, k, &w->sw, heard, w, &o, &err)) {
	case D01_SFC_WAIT:
		return D01_HTTP_MEMO_WAIT;
	case D01_SFC_HIT:
		if (copy_out(o.val, o.len, out, outlen) == 0)
			return D01_HTTP_MEMO_HIT;
		return D01_HTTP_MEMO_LEAD; /* does not fit: look it up */
	case D01_SFC_LEAD:
		d01_sfc_detach(&w->sw); /* ended by key: put or abandon */
		return D01_HTTP_MEMO_LEAD;
	default:
		return D01_HTTP_MEMO_LEAD; /* no memory: lead alone */
	}
}

void
d01_http_memo_put(
    struct d01_http *h, const char *key, const char *value, long ttl_ms)
{
	unsigned char k[D01_SFC_KEY];
	size_t n = strlen(value) + 1;

	if (n > D01_HTTP_MEMO_VALUE_MAX || ttl_ms <= 0) {
		d01_http_memo_abandon(h, key);
		return;
	}
	if (d01_sfc_key_str(key, k) == 0)
		d01_sfc_set(h->memo, k, value, n, ttl_ms);
}

void
d01_http_memo_abandon(struct d01_http *h, const char *key)
{
	unsigned char k[D01_SFC_KEY];
	struct d01_error err;

	d01_error_set(&err, D01_E_INTERNAL, "the lookup was abandoned");
	if (d01_sfc_key_str(key, k) == 0)
		d01_sfc_fail_key(h->memo, k, &err);
}

void
d01_http_memo_forget(struct d01_http *h, const char *key)
{
	unsigned char k[D01_SFC_KEY];

	if (d01_sfc_key_str(key, k) == 0)
		d01_sfc_forget(h->memo, k);
}

void
d01_http_memo_unwait(struct d01_http_memo_wait *w)
{
	if (w != NULL)
		d01_sfc_cancel(&w->sw);
}
