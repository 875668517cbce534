/* SPDX-License-Identifier: ISC */
/*
 * acmedns: a client of an acme-dns server (POST /update), with
 * cert-manager's fields `host` and `accountSecretRef` (the accounts JSON
 * lego and cert-manager use). acme-dns keeps the last two values of a
 * subdomain and cannot delete: CleanUp is a logged no-op.
 */
#ifndef D01_PROVIDERS_ACMEDNS_ACMEDNS_H
#define D01_PROVIDERS_ACMEDNS_ACMEDNS_H

#include "providers/provider.h"

extern const struct d01_provider d01_provider_acmedns;

#endif
