/* SPDX-License-Identifier: ISC */
/*
 * The embedded provider's data: the zones this process is authoritative for
 * and, per owner name, a set of TXT values. Present adds one value, CleanUp
 * removes one; several values at one name coexist. Pure data, no I/O: the
 * webhook writes it and the embedded DNS server (dnsd.h) reads it, both on
 * the one event-loop thread.
 *
 * Names are stored lower-case and absolute (trailing dot). Strings passed in
 * are copied; strings returned are borrowed and valid until the next change.
 */
#ifndef D01_EMBEDDED_STORE_H
#define D01_EMBEDDED_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Bounds: past them add() fails with D01_E_LIMIT instead of growing. */
#define D01_STORE_MAX_ZONES	64
#define D01_STORE_MAX_NAMES	100000
#define D01_STORE_MAX_VALUES	64  /* per name */
#define D01_STORE_MAX_VALUE_LEN 255 /* one TXT character-string */

struct d01_txtstore;

struct d01_txtzone {
	const char *name;	/* apex, lower-case, trailing dot */
	const char *ns;		/* NS host name served at the apex */
	const char *hostmaster; /* SOA RNAME */
	uint32_t serial;	/* SOA serial, bumped on every change */
};

struct d01_txtstore *d01_txtstore_new(void);
void d01_txtstore_free(struct d01_txtstore *s);
/* Drop every value; the zones stay (a fresh start for the fuzz target). */
void d01_txtstore_clear(struct d01_txtstore *s);

/*
 * Serve `zone` (any case, with or without trailing dot). `ns` is the NS host
 * name for the apex; NULL means "ns.<zone>". Fails on a malformed name, a
 * duplicate zone or too many zones.
 */
enum d01_err d01_txtstore_add_zone(struct d01_txtstore *s, const char *zone,
    const char *ns, struct d01_error *err);

/* Number of zones, and zone i (0 <= i < count), borrowed. */
size_t d01_txtstore_zone_count(const struct d01_txtstore *s);
const struct d01_txtzone *d01_txtstore_zone(
    const struct d01_txtstore *s, size_t i);

/*
 * The zone with the longest apex that is `name` or an ancestor of it, or
 * NULL. `name` must be lower-case and absolute.
 */
const struct d01_txtzone *d01_txtstore_find_zone(
    const struct d01_txtstore *s, const char *name);

/*
 * Add `value` at `fqdn` (lower-case, absolute, inside a served zone).
 * Idempotent: an existing identical value is success. Errors: NOTFOUND when
 * no served zone covers fqdn, LIMIT past the bounds, INVAL for a value that
 * is empty or longer than 255 bytes.
 */
enum d01_err d01_txtstore_add(struct d01_txtstore *s, const char *fqdn,
    const char *value, struct d01_error *err);

/*
 * d01_txtstore_add, and on success the held copies of fqdn and value in
 * *fqdn_ref and *value_ref (either may be NULL): borrowed, and unlike
 * the strings above they stay valid and unmoved until this value is
 * removed or the store cleared or freed, so a caller mirroring many
 * values (kube/kube_store.c) keeps references instead of a second copy.
 */
enum d01_err d01_txtstore_add_ref(struct d01_txtstore *s, const char *fqdn,
    const char *value, const char **fqdn_ref, const char **value_ref,
    struct d01_error *err);

/* Remove exactly `value` at `fqdn`; success when it is not there. */
enum d01_err d01_txtstore_remove(struct d01_txtstore *s, const char *fqdn,
    const char *value, struct d01_error *err);

/*
 * The values at `fqdn` (lower-case, absolute): stores their count in *n and
 * returns a borrowed array, or NULL with *n = 0 when the name has none.
 */
const char *const *d01_txtstore_values(
    const struct d01_txtstore *s, const char *fqdn, size_t *n);

/*
 * 1 when some stored name is `name` or lies below it (so `name` exists as
 * an empty non-terminal and the answer is NODATA, not NXDOMAIN).
 */
int d01_txtstore_name_exists(const struct d01_txtstore *s, const char *name);

/*
 * Zone transfers and NOTIFY (dnsd_xfr.c, notify.c).
 *
 * set_clock: serials follow time from now on. Without a clock a zone's
 * serial starts at 1 and counts changes (tests, the fuzz target). With
 * one it starts at the time in hundredths of a second since 2020-01-01
 * and every change sets it to max(serial + 1, that time) in RFC 1982
 * arithmetic, so a restarted instance starts above every serial it
 * served unless it restarts before the clock has caught up with a burst
 * of more than 100 changes a second (each change past that rate puts
 * the serial 10 ms ahead). Why not seconds: a burst of 1000 Presents
 * would then need a 17-minute pause. The cost: the uint32 wraps every
 * 497 days, which RFC 1982 allows as long as a secondary's copy is less
 * than 248 days old (the SOA expire is one day). `c` is borrowed and
 * must outlive the store. Call it before adding zones.
 *
 * on_change: fn(arg, zone) after every change of a zone's data, its
 * serial already bumped: add, remove, and clear (every zone). One slot;
 * NULL removes it. fn must not change the store.
 *
 * walk: fn for every name holding values whose zone (longest match) is
 * z, with its values, in no particular order; stops at the first
 * non-zero return and returns it, else 0. The store must not change
 * during the walk.
 */
struct d01_clock;
void d01_txtstore_set_clock(struct d01_txtstore *s, const struct d01_clock *c);
typedef void (*d01_txtstore_change_fn)(void *arg, const struct d01_txtzone *z);
void d01_txtstore_on_change(
    struct d01_txtstore *s, d01_txtstore_change_fn fn, void *arg);
typedef int (*d01_txtstore_walk_fn)(
    void *arg, const char *name, const char *const *values, size_t n);
int d01_txtstore_walk(const struct d01_txtstore *s, const struct d01_txtzone *z,
    d01_txtstore_walk_fn fn, void *arg);

/* RFC 1982: 1 when serial a is later than b. */
static inline int
d01_serial_gt(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(a - b) < 0x80000000u;
}

#endif
