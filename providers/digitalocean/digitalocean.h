/* SPDX-License-Identifier: ISC */
/*
 * digitalocean: DigitalOcean's Domains API (v2), one TXT record per value,
 * with cert-manager's field tokenSecretRef plus baseURL and ttl.
 */
#ifndef D01_PROVIDERS_DIGITALOCEAN_DIGITALOCEAN_H
#define D01_PROVIDERS_DIGITALOCEAN_DIGITALOCEAN_H

#include "providers/provider.h"

extern const struct d01_provider d01_provider_digitalocean;

#endif
