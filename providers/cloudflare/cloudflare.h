/* SPDX-License-Identifier: ISC */
/*
 * The `cloudflare` provider (API v4): one TXT record per value. Present
 * looks for a record with the name and value and creates one only when
 * there is none; CleanUp deletes only records holding the value; other
 * records at the name are never touched.
 *
 * config (cert-manager's field names): apiTokenSecretRef, or email +
 * apiKeySecretRef (exactly one of the two refs); optional zoneID, ttl (1
 * or 60-86400, default 60), baseURL (default the public API) and caBundle
 * (a PEM file to trust instead of the system store, for private endpoints
 * and tests).
 */
#ifndef D01_CLOUDFLARE_H
#define D01_CLOUDFLARE_H

#include "providers/provider.h"

extern const struct d01_provider d01_provider_cloudflare;

#endif
