/* SPDX-License-Identifier: ISC */
/*
 * The `rfc2136` provider: DNS UPDATE (RFC 2136), TSIG-signed (RFC 8945), to
 * any authoritative server (BIND, Knot, PowerDNS, Windows DNS). Present
 * adds one TXT RR to resolvedZone; CleanUp deletes exactly that RR (class
 * NONE), so other values and records at the name are never touched.
 */
#ifndef D01_RFC2136_H
#define D01_RFC2136_H

#include "core/dns.h"
#include "providers/provider.h"

extern const struct d01_provider d01_provider_rfc2136;

/* The parsed `config` (cert-manager's rfc2136 fields). */
struct rfc2136_cfg {
	char nameserver[300];			/* as configured */
	char key_name[256];			/* "" when unsigned */
	char algorithm[32];			/* wire name */
	char secret_name[254], secret_key[254]; /* tsigSecretSecretRef */
	int tcp;				/* protocol: TCP */
	unsigned ttl;				/* default 60 */
};

/* rfc2136_config.c */
enum d01_err rfc2136_config_parse(struct d01_env *env, const json_t *config,
    void **cfg, struct d01_error *err);
void rfc2136_config_free(void *cfg);
/* The rules of lego's RFC2136_* variables (provider.h, env_fixup): a key
 * needs its secret, hmac-sha1 by default; no key, no secret. */
enum d01_err rfc2136_env_fixup(json_t *config, struct d01_error *err);

#endif
