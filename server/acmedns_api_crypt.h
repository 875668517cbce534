/* SPDX-License-Identifier: ISC */
/*
 * bcrypt off the event loop for the acme-dns API. One bcrypt at cost 10
 * takes 50-100 ms of CPU, far too long for the loop that also answers
 * DNS; so hashes are made and checked on a small pool of worker threads
 * (libcrypt's crypt_r, each thread with its own struct crypt_data), with
 * a bounded queue, and the results come back to the loop through a pipe
 * the loop watches (the shape of core/dns_resolve.c).
 *
 * Async shape (docs/DESIGN.md, "The async call shape"): start returns a
 * job, or NULL when the queue is full (the caller answers 503); the
 * callback runs exactly once from the loop, never inside start; cancel
 * before it ran means never. Passwords are copied into the job and wiped
 * with it.
 */
#ifndef D01_SERVER_ACMEDNS_API_CRYPT_H
#define D01_SERVER_ACMEDNS_API_CRYPT_H

#include <stddef.h>

#include "core/err.h"

struct event_base;
struct d01_adns_crypt;
struct d01_adns_job;

#define D01_ADNS_HASH_MAX 128

/* ok: 1 when the password matched (verify) or a hash was made (hash,
 * then in `hash`, borrowed for the call). */
typedef void (*d01_adns_crypt_fn)(void *arg, int ok, const char *hash);

/* `threads` workers, at most `max_queue` jobs waiting, running or not yet
 * delivered (the rest refused), bcrypt
 * cost `cost` (4-31) for new hashes. NULL with err. */
struct d01_adns_crypt *d01_adns_crypt_new(struct event_base *base, int threads,
    size_t max_queue, int cost, struct d01_error *err);
/* Joins the workers (each finishes the job it runs); jobs not delivered
 * are dropped silently. NULL is a no-op. After the loop has stopped. */
void d01_adns_crypt_free(struct d01_adns_crypt *c);

/* A new "$2b$" hash of password. NULL: queue full. */
struct d01_adns_job *d01_adns_crypt_hash(struct d01_adns_crypt *c,
    const char *password, d01_adns_crypt_fn fn, void *arg);
/* Does password match hash (any crypt(3) hash; compared in constant
 * time)? NULL: queue full. */
struct d01_adns_job *d01_adns_crypt_verify(struct d01_adns_crypt *c,
    const char *password, const char *hash, d01_adns_crypt_fn fn, void *arg);
void d01_adns_crypt_cancel(struct d01_adns_job *j);

/* Synchronous, for start-up only (a decoy hash): 0 or -1. */
int d01_adns_crypt_hash_now(
    const char *password, int cost, char out[D01_ADNS_HASH_MAX]);

#endif
