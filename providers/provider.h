/* SPDX-License-Identifier: ISC */
/*
 * The provider table's contract. A provider is a const struct of function
 * pointers (one instance per provider, listed in providers/registry.c) whose
 * name is the solver name in the webhook URL
 * (POST /apis/<group>/v1alpha1/<name>) and the --provider of the CLI.
 *
 * Semantics every provider keeps (docs/DESIGN.md, "The provider contract"):
 *  - present is idempotent and ADDS one TXT value at ch->fqdn;
 *  - cleanup removes exactly the value ch->key and succeeds when it is
 *    already gone;
 *  - neither touches any other record, TXT value or type.
 *
 * Async call shape (the same for every async API in dns01), kept for
 * every provider by providers/op.c (op.h):
 *  - d01_provider_start returns a handle, or NULL with `err` filled, and
 *    then `cb` never runs;
 *  - otherwise `cb` runs exactly once, never before start returns, with an
 *    error whose code is D01_OK on success, at the latest at the op's
 *    deadline (D01_E_TIMEOUT); the handle is invalid once `cb` returns;
 *  - d01_provider_cancel(op) guarantees `cb` will not run and frees the op.
 */
#ifndef D01_PROVIDER_H
#define D01_PROVIDER_H

#include <jansson.h>

#include "core/env.h"
#include "core/err.h"
#include "providers/op.h"

/*
 * One challenge, borrowed for the duration of the present/cleanup call
 * only: providers copy whatever they keep. Names are lower-case, absolute
 * (trailing dot) and validated by the caller.
 */
struct d01_challenge {
	const char *uid;       /* request.uid, for log correlation */
	const char *dns_name;  /* request.dnsName */
	const char *fqdn;      /* request.resolvedFQDN */
	const char *zone;      /* request.resolvedZone */
	const char *key;       /* the TXT value */
	const char *namespace; /* request.resourceNamespace (secret refs) */
	int allow_ambient;     /* request.allowAmbientCredentials */
};

struct d01_env_opts;

/* How one environment variable fills a config field (lego's names). */
enum d01_envvar_kind {
	D01_ENVVAR_STRING,	/* copied as a JSON string */
	D01_ENVVAR_INT,		/* a decimal integer, checked */
	D01_ENVVAR_SECRET,	/* put in the in-memory secret store; the field
				 * gets {"name": "env", "key": <name>}, never the
				 * value */
	D01_ENVVAR_AMBIENT,	/* no field: read by the provider itself (listed
				 * in help only) */
	D01_ENVVAR_SECRET_FILE, /* the value is a file path (the CLI's user
				 * is the operator): the file's whole text
				 * (at most D01_SECRET_MAX bytes) goes to the
				 * secret store as with D01_ENVVAR_SECRET;
				 * never read from a request's config */
};

struct d01_envvar {
	const char *name;  /* e.g. "RFC2136_NAMESERVER"; NULL ends a table */
	const char *alt;   /* tried when `name` is unset or empty; or NULL */
	const char *field; /* config field; NULL for D01_ENVVAR_AMBIENT */
	enum d01_envvar_kind kind;
	int required; /* "<name> is not set" when missing */
};

struct d01_provider {
	const char *name;    /* solver name; [a-z0-9-], unique */
	const char *summary; /* one line for --help (cli/ prints it) */
	/* Serves from zones this process answers for (--embedded-zone,
	 * --dns-listen): `issue` needs both, present/cleanup cannot use it
	 * (the value would die with the process). */
	int needs_zones;

	/* Environment variables `present`, `cleanup` and `issue` read when
	 * no --config is given (d01_provider_env_config); NULL: none. */
	const struct d01_envvar *envvars;
	/* After the plain copy: cross-field rules and defaults (a key needs
	 * its secret, a default algorithm). NULL if none. May delete
	 * fields: a secret whose field is gone is never stored. */
	enum d01_err (*env_fixup)(json_t *config, struct d01_error *err);

	/* Once per env from d01_env_open(), before any op; stores what it
	 * owns in *state (fini gets it back). On failure it frees what it
	 * made itself: fini runs only after a successful init. NULL if not
	 * needed. */
	enum d01_err (*init)(struct d01_env *env,
	    const struct d01_env_opts *opts, void **state,
	    struct d01_error *err);
	/* Once from d01_env_close() after every op has finished or been
	 * cancelled; NULL if not needed. */
	void (*fini)(struct d01_env *env, void *state);

	/*
	 * Parse request.config (NULL when the request had none) into a
	 * provider-owned object stored in *cfg. Synchronous and pure: no I/O.
	 * The caller frees it with config_free once the op has completed.
	 */
	enum d01_err (*config_parse)(struct d01_env *env, const json_t *config,
	    void **cfg, struct d01_error *err);
	void (*config_free)(void *cfg);

	/* Size of the provider's op struct, whose first member is the
	 * struct d01_op header; op.c allocates it zeroed. */
	size_t op_size;
	/*
	 * Begin the op op.c made for Present (op->present = 1) or CleanUp:
	 * copy what it needs of `ch` (borrowed for the call), start the
	 * first step and return D01_OK; the op then ends by
	 * d01_op_finish(), which may run inside start (delivered later).
	 * Or refuse at once: return the error with err filled and without
	 * calling d01_op_finish; release still runs. `cfg` stays valid until
	 * the op has ended.
	 */
	enum d01_err (*start)(struct d01_op *op, void *cfg,
	    const struct d01_challenge *ch, struct d01_error *err);
	/*
	 * Called by op.c exactly once when the op ends, whichever way
	 * (finished, deadline, cancelled, refused by start): cancel every
	 * sub-request still pending (HTTP, DNS, secret, queue places,
	 * timers) so nothing calls back, and free what the op holds; never
	 * the op itself, never d01_op_finish. NULL: the op holds nothing.
	 */
	void (*release)(struct d01_op *op);
};

/* The table, NULL-terminated, in a stable order (discovery lists it). */
extern const struct d01_provider *const d01_providers[];

/* Provider whose name equals `name` exactly, or NULL. */
const struct d01_provider *d01_provider_find(const char *name);

/*
 * The config p's environment variables describe (p->envvars, then
 * p->env_fixup), read through `get` (getenv in the CLI; tests pass their
 * own). Secrets go into `s` under namespace D01_ENVVAR_NS, name "env":
 * the op must use that namespace. Returns the config; NULL with err set
 * (D01_E_CONFIG naming the variable), or NULL with err clear when p
 * declares no variables.
 */
#define D01_ENVVAR_NS ""
typedef const char *(*d01_getenv_fn)(const char *name);
struct d01_secrets;
json_t *d01_provider_env_config(const struct d01_provider *p, d01_getenv_fn get,
    struct d01_secrets *s, struct d01_error *err);

/*
 * An environment of one's own: `get(ctx, NAME)` answers for it (`dns01
 * renew` gives each certificate its `env.NAME` lines over the process
 * environment). Several sources may fill one secret store, so each
 * names its own secret (`secret`, under D01_ENVVAR_NS; NULL: "env"): one
 * certificate's API token is never another's.
 */
struct d01_envsrc {
	const char *(*get)(void *ctx, const char *name);
	void *ctx;
	const char *secret; /* a plain name component */
};
/* d01_provider_env_config() reading `src`. */
json_t *d01_provider_envsrc_config(const struct d01_provider *p,
    const struct d01_envsrc *src, struct d01_secrets *s, struct d01_error *err);

/*
 * The operator's own config (the CLI, `dns01 issue`; never a tenant's in
 * `serve`): a "caBundle" that is not PEM text is a file path; replace it
 * by the file's text. `config` may be NULL or lack the field. 0, or -1
 * with err.
 */
int d01_provider_config_ca_file(json_t *config, struct d01_error *err);

/* Cancel any provider op. NULL is a no-op. */
void d01_provider_cancel(struct d01_op *op);

/* Default deadline of a webhook op: inside cert-manager's 30 s. */
#define D01_OP_TIMEOUT_WEBHOOK_MS 25000

/*
 * Start p's Present or CleanUp for `ch` through op.c: the op ends with
 * D01_E_TIMEOUT at the latest `timeout_ms` (> 0) from now. Async call
 * shape above; err gets start's refusal.
 */
struct d01_op *d01_provider_start(const struct d01_provider *p,
    struct d01_env *env, void *cfg, const struct d01_challenge *ch, int present,
    long timeout_ms, d01_done_fn cb, void *arg, struct d01_error *err);

#endif
