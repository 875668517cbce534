/* SPDX-License-Identifier: ISC */
/*
 * clouddns: Google Cloud DNS (API v1), one TXT rrset per name holding
 * every value, changed by an exact-match deletions + additions `changes`
 * request; cert-manager's fields project, hostedZoneName and
 * serviceAccountSecretRef, plus endpoint, caBundle and ttl. Credentials:
 * the service-account key (a signed JWT exchanged for an access token),
 * or when the request allows ambient credentials the server's own
 * (GOOGLE_APPLICATION_CREDENTIALS, else the GKE/GCE metadata server).
 */
#ifndef D01_PROVIDERS_CLOUDDNS_CLOUDDNS_H
#define D01_PROVIDERS_CLOUDDNS_CLOUDDNS_H

#include "providers/provider.h"

extern const struct d01_provider d01_provider_clouddns;

#endif
