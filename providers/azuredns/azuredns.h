/* SPDX-License-Identifier: ISC */
/*
 * azuredns: Azure DNS through Azure Resource Manager (public dnsZones and
 * privateDnsZones), one TXT record set per name written back whole under
 * its etag, with cert-manager's field names. Credentials: a service
 * principal's client secret, or (only with allowAmbientCredentials) Azure
 * Workload Identity or a managed identity from IMDS.
 */
#ifndef D01_PROVIDERS_AZUREDNS_AZUREDNS_H
#define D01_PROVIDERS_AZUREDNS_AZUREDNS_H

#include "providers/provider.h"

extern const struct d01_provider d01_provider_azuredns;

#endif
