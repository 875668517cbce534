/* SPDX-License-Identifier: ISC */
/*
 * The `akamai` provider: Akamai Edge DNS through the Zone Management API
 * (config-dns v2), requests signed with EdgeGrid (edgegrid.h). A TXT
 * record set at a name holds all its values: Present and CleanUp read
 * the set and write it back with the one value added or removed (create
 * when absent, delete when the last value goes), keeping every other
 * value and the owner's TTL, and re-read it to see that the change held
 * (another writer may have written a stale set meanwhile); a conflict or
 * a lost change starts again from a fresh read, within the op's deadline.
 *
 * config (cert-manager's field names): serviceConsumerDomain (the API
 * client's host), clientTokenSecretRef, clientSecretSecretRef,
 * accessTokenSecretRef; dns01's own: ttl (30-86400, default 300; the TTL
 * of a set we create, an existing set keeps its own), caBundle (PEM text),
 * and edgercSecretRef + edgercSection (a Secret key holding an .edgerc
 * file; whatever the fields above leave out is taken from its section).
 */
#ifndef D01_PROVIDERS_AKAMAI_AKAMAI_H
#define D01_PROVIDERS_AKAMAI_AKAMAI_H

#include "providers/provider.h"

extern const struct d01_provider d01_provider_akamai;

#endif
