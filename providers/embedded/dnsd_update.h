/* SPDX-License-Identifier: ISC */
/*
 * DNS UPDATE (RFC 2136) into the embedded zones, TSIG-signed (RFC 8945),
 * TXT only, and TSIG-signed queries. Two halves:
 *
 *  - the decision (dnsd_update.c), pure: a message and the local store in,
 *    a refusal or a list of TXT changes out, and the reply's bytes;
 *  - the updater (dnsd_updater.c): applies the changes through the one
 *    write path (d01_provider_start on the embedded provider, so a back
 *    end such as Kubernetes or PostgreSQL gets them too) and answers when
 *    they are held, within UPDATE_DEADLINE_MS; one UPDATE per zone at a
 *    time (core/gate.h), so prerequisites are evaluated against the state
 *    the previous UPDATE left.
 *
 * Order of checks: parse (FORMERR), TSIG (unsigned: REFUSED; unknown key:
 * NOTAUTH+BADKEY; bad MAC: NOTAUTH+BADSIG; time: NOTAUTH+BADTIME), zone
 * section (one SOA/IN question naming an embedded apex, else FORMERR or
 * NOTAUTH), prerequisites (§3.2), prescan (§3.4.1), policy (REFUSED for
 * a name outside the key's grants or a type other than TXT), changes.
 */
#ifndef D01_EMBEDDED_DNSD_UPDATE_H
#define D01_EMBEDDED_DNSD_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/dname.h"
#include "core/err.h"
#include "providers/embedded/dnsd_tsig.h"

struct d01_txtstore;
struct d01_keyring;
struct d01_env;

#define D01_UPDATE_MAX_MSG	16384 /* bytes of one UPDATE */
#define D01_UPDATE_MAX_RRS	64    /* prerequisites, and updates */
#define D01_UPDATE_MAX_CHANGES	256   /* values written by one UPDATE */
#define D01_UPDATE_MAX_INFLIGHT 64    /* UPDATEs held at once */
#define D01_UPDATE_DEADLINE_MS	8000  /* inside the DNS TCP idle time */

#define D01_RCODE_YXDOMAIN 6
#define D01_RCODE_YXRRSET  7
#define D01_RCODE_NXRRSET  8
#define D01_RCODE_NOTAUTH  9
#define D01_RCODE_NOTZONE  10

struct d01_update_change {
	int add; /* 1 add the value, 0 remove it */
	char fqdn[D01_DNAME_BUF];
	char value[256];
};

/* One UPDATE's decision, and what its reply needs. */
struct d01_update {
	int rcode; /* -1: not decided yet (changes to apply) */
	int is_signed;
	struct d01_tsig_req tsig;
	char zone[D01_DNAME_BUF];
	const char *why; /* a short reason for the log, static */
	struct d01_update_change changes[D01_UPDATE_MAX_CHANGES];
	size_t nchanges;
};

/*
 * The first half: parse, TSIG, zone section. Sets u->rcode to the final
 * rcode of a refusal, or -1 when prerequisites are to be evaluated (the
 * zone is in u->zone). `now` is wall-clock Unix seconds.
 */
void d01_update_check(const struct d01_txtstore *store,
    const struct d01_keyring *kr, const uint8_t *q, size_t len, int64_t now,
    struct d01_update *u);

/*
 * The second half, against the store as it is now: prerequisites,
 * prescan, policy and the list of changes. Sets u->rcode to a refusal,
 * or leaves -1 with u->changes to apply (perhaps none: then answer
 * NOERROR). Call only after d01_update_check left -1.
 */
void d01_update_plan(const struct d01_txtstore *store,
    const struct d01_keyring *kr, const uint8_t *q, size_t len,
    struct d01_update *u);

/* Both halves at once: the pure entry point of tests and fuzzing. */
void d01_update_decide(const struct d01_txtstore *store,
    const struct d01_keyring *kr, const uint8_t *q, size_t len, int64_t now,
    struct d01_update *u);

/*
 * The reply to request q with `rcode`: header, the zone section echoed,
 * the TSIG (signed when the request's verified). Its length in out, or 0.
 */
size_t d01_update_reply(const struct d01_update *u, const uint8_t *q,
    size_t len, int rcode, uint8_t *out, size_t cap, int64_t now);

/*
 * A TSIG-signed query (opcode QUERY with a TSIG RR): the answer
 * d01_dnsd_answer gives the query without its TSIG, signed; or NOTAUTH
 * with the TSIG error. 0 when the input deserves no reply.
 */
size_t d01_dnsd_signed_answer(const struct d01_txtstore *store,
    const struct d01_keyring *kr, const uint8_t *q, size_t len, uint8_t *out,
    size_t cap, int tcp, int64_t now);

/* The updater: the asynchronous half. */
struct d01_updater;
struct d01_update_job;

/* `env`, `store` and `kr` are borrowed and outlive the updater. */
struct d01_updater *d01_updater_new(struct d01_env *env,
    const struct d01_txtstore *store, const struct d01_keyring *kr);
/* Every job must have ended or been cancelled. NULL is a no-op. */
void d01_updater_free(struct d01_updater *up);

/* The reply, borrowed for the call; len 0: send nothing. */
typedef void (*d01_update_done_fn)(void *arg, const uint8_t *reply, size_t len);

/* 1 when the updater takes message q: an UPDATE, or a TSIG-signed
 * query. */
int d01_updater_wants(const uint8_t *q, size_t len);

/*
 * Handle a message the DNS server got (q, len, borrowed): when the
 * updater does not take it (not UPDATE, not signed) return NULL with
 * *outlen 0; when a reply is known at once, write it to out and set
 * *outlen; otherwise return a job whose `cb` runs once from the loop
 * with the reply (after D01_UPDATE_DEADLINE_MS at the latest, SERVFAIL),
 * unless d01_update_cancel() is called first.
 */
struct d01_update_job *d01_updater_handle(struct d01_updater *up,
    const uint8_t *q, size_t len, uint8_t *out, size_t cap, size_t *outlen,
    int tcp, d01_update_done_fn cb, void *arg);

/* The callback will not run; the job is freed. NULL is a no-op. */
void d01_update_cancel(struct d01_update_job *job);

#endif
