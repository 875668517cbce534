/* SPDX-License-Identifier: ISC */
/*
 * Which provider API endpoints a request's `config` may point dns01 at.
 * In `dns01 serve` the config comes from a tenant (any namespace that may
 * create an Issuer), so a URL there is an adversary's choice: it would
 * receive the tenant's credentials, or the pod's ambient ones, and its
 * replies would reach the caller (SSRF). The operator lists what tenants
 * may use with --allow-provider-endpoint; each provider's public default
 * endpoints are always allowed. In the CLI the user is the operator and
 * every endpoint is allowed (d01_endpoints_any).
 *
 * Ownership: the policy is built at start-up by its runner (server/daemon.c)
 * and borrowed through struct d01_env by every provider; it is read-only
 * once the loop runs.
 */
#ifndef D01_ENDPOINT_H
#define D01_ENDPOINT_H

#include <stddef.h>

#include <jansson.h>

#include "core/err.h"

struct d01_endpoints;

/* Everything allowed: for the CLI, whose user is the operator. */
extern const struct d01_endpoints d01_endpoints_any;

/* An empty policy (only the defaults allowed); NULL when out of memory. */
struct d01_endpoints *d01_endpoints_new(void);
void d01_endpoints_free(struct d01_endpoints *p);

/*
 * Allow one operator entry: HOST[:PORT] (https only) or
 * http://HOST[:PORT] (plain http too), HOST a name, an IPv4 address,
 * [IPv6], or *.SUFFIX for any name below SUFFIX. Without a port only the
 * scheme's default (443 or 80) is allowed. 0, or -1 with err (D01_E_CONFIG).
 */
int d01_endpoints_add(
    struct d01_endpoints *p, const char *spec, struct d01_error *err);

/*
 * Check `url` (the config field `field` of `provider`) against policy p
 * (NULL: defaults only). `defaults` lists the provider's public hosts,
 * NULL-terminated; a label "*" in one matches one DNS label (regional
 * endpoints: "sts.*.amazonaws.com"); they are allowed over https on 443.
 * Sets *custom to 0 for a default endpoint, 1 otherwise. Returns D01_OK,
 * or D01_E_CONFIG with a message naming the field and the flag that
 * would allow it. URLs with user info are refused in every mode.
 */
enum d01_err d01_endpoint_check(const struct d01_endpoints *p,
    const char *provider, const char *field, const char *url,
    const char *const *defaults, int *custom, struct d01_error *err);

/* May ambient credentials (the pod's own) go to a custom endpoint? Only
 * when everything is allowed (the CLI): never in `serve`. */
int d01_endpoints_ambient_anywhere(const struct d01_endpoints *p);

/*
 * A failure to reach a custom endpoint, as the caller may see it: the
 * transport's detail (connection refused, timeout, TLS alert) would tell
 * a tenant which ports answer on an internal host, so err's message
 * becomes a generic one and the detail goes to the debug log only.
 * Errors that are not transport failures (NETWORK, TLS, TIMEOUT) are
 * left alone. `uid` is the request's, for the log line.
 */
void d01_endpoint_hide_transport(
    struct d01_error *err, const char *provider, const char *uid);

/*
 * A `caBundle` from a config: PEM text, or base64 of PEM text (as
 * cert-manager's []byte caBundle fields are written), holding at least
 * one certificate and nothing else (never a file path: in `serve` the
 * config is a tenant's, and a path would open the webhook's files).
 * Returns a new NUL-terminated PEM copy (caller frees), or NULL with
 * err set (D01_E_CONFIG naming `what`, or D01_E_NOMEM).
 */
char *d01_ca_pem_parse(
    const char *value, const char *what, struct d01_error *err);

/*
 * The `caBundle` field of a provider's config, as above: *out is NULL when
 * the field is absent or null, else a new PEM copy (caller frees). Errors
 * name "<provider>: caBundle". D01_OK, or the error with err set.
 */
enum d01_err d01_ca_pem_config(const json_t *config, const char *provider,
    char **out, struct d01_error *err);

/*
 * The operator's trust for requests that carry the pod's own (ambient)
 * credentials, or a token bought with them: `serve --provider-ca-file`.
 * A config's caBundle is written by whoever may create an Issuer; if it
 * verified such a request, anyone who can steer the traffic and holds a
 * CA the config names would receive the pod's token. Reads `path` (PEM
 * certificates, at most D01_CA_PEM_MAX) once, at start-up, and keeps it
 * with the system store's bundle (libcurl's default CA file) in front,
 * so that the public endpoints still verify. 0, or -1 with err
 * (D01_E_CONFIG naming the flag, D01_E_NOMEM).
 */
int d01_endpoints_set_provider_ca(
    struct d01_endpoints *p, const char *path, struct d01_error *err);

/*
 * The CA bundle (PEM text, NULL: the system store) to verify a request of
 * an op with. `ambient`: the op uses the pod's own credentials, so the
 * request carries them or a token derived from them; in `serve` it then
 * gets the operator's trust (the system store, plus --provider-ca-file)
 * and never `config_ca`. Otherwise, and always in the CLI (whose user is
 * the operator: d01_endpoints_any), `config_ca`. Borrowed from p or the
 * caller; p may be NULL (serve with defaults).
 */
const char *d01_endpoints_ca(
    const struct d01_endpoints *p, int ambient, const char *config_ca);

/*
 * After a request made with d01_endpoints_ca() failed: when it was a TLS
 * failure and the config's caBundle was set aside for the operator's
 * trust, say so in err's message (the caller would otherwise wonder why
 * its caBundle did not help).
 */
void d01_endpoints_ca_explain(const struct d01_endpoints *p, int ambient,
    const char *config_ca, struct d01_error *err);

/* Longest caBundle accepted: a few dozen certificates. */
#define D01_CA_PEM_MAX (256 * 1024)

#endif
