/* SPDX-License-Identifier: ISC */
/*
 * The embedded DNS server's TSIG keyring and UPDATE policy: keys read from
 * the operator's BIND-style key files (`--tsig-keyfile`, several
 * `key "name" { algorithm hmac-sha256; secret "base64"; };` blocks, `#`,
 * `//` and C comments) and, per key, what it may change
 * (`--update-policy KEY=zonesub|name:FQDN|subdomain:FQDN`, TXT only).
 * A key without a grant may sign queries (and transfers, where allowed)
 * but may not update anything.
 *
 * Ownership: the keyring owns its keys (secrets are wiped on free) and
 * its grants; lookups return borrowed pointers valid until the next load
 * or the keyring's free. Loaded at start-up, read-only afterwards. Error
 * messages name FILE:LINE and never quote the file's text (it holds secrets).
 */
#ifndef D01_EMBEDDED_TSIGKEYS_H
#define D01_EMBEDDED_TSIGKEYS_H

#include <stddef.h>

#include "core/err.h"
#include "core/tsig.h"

#define D01_KEYRING_MAX_KEYS	 256
#define D01_KEYRING_MAX_GRANTS	 1024
#define D01_KEYRING_MAX_FILE	 (1 << 20)
#define D01_KEYRING_MAX_SECRET	 1024 /* base64 characters */
#define D01_KEYRING_MAX_KEYFILES 16

struct d01_keyring;

struct d01_keyring *d01_keyring_new(void);
void d01_keyring_free(struct d01_keyring *kr);

/*
 * Parse key-file text (`len` bytes, need not be NUL-terminated) and add
 * its keys; `file` names it in errors ("FILE:LINE: ..."). A key name
 * already in the keyring, a malformed block, an unsupported algorithm or
 * a secret that is not base64 is D01_E_CONFIG; nothing of a failed text
 * is kept.
 */
enum d01_err d01_keyring_parse(struct d01_keyring *kr, const char *text,
    size_t len, const char *file, struct d01_error *err);

/* Read `path` (at most D01_KEYRING_MAX_FILE bytes) and parse it. */
enum d01_err d01_keyring_load(
    struct d01_keyring *kr, const char *path, struct d01_error *err);

/*
 * Add one `--update-policy` grant: "KEY=zonesub", "KEY=name:FQDN" or
 * "KEY=subdomain:FQDN". KEY must already be in the keyring.
 */
enum d01_err d01_keyring_grant(
    struct d01_keyring *kr, const char *spec, struct d01_error *err);

/*
 * The key named `name` (any case, with or without the trailing dot), or
 * NULL. The public lookup for every TSIG user of the DNS server (UPDATE,
 * signed queries, transfers).
 */
const struct d01_tsig_key *d01_keyring_find(
    const struct d01_keyring *kr, const char *name);

size_t d01_keyring_count(const struct d01_keyring *kr);

/*
 * 1 when key `k` may change TXT values at `fqdn` in `zone` (both
 * lower-case, absolute; fqdn inside zone): a zonesub grant, a name grant
 * equal to fqdn, or a subdomain grant equal to or above it. 0 otherwise,
 * and always for a key without grants.
 */
int d01_keyring_allows(const struct d01_keyring *kr,
    const struct d01_tsig_key *k, const char *zone, const char *fqdn);

#endif
