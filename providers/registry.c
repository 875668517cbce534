/* SPDX-License-Identifier: ISC */
/* The provider table: every provider dns01 knows, looked up by name. */
#include <string.h>

#include "providers/provider.h"
#include "providers/acmedns/acmedns.h"
#include "providers/akamai/akamai.h"
#include "providers/azuredns/azuredns.h"
#include "providers/cloudflare/cloudflare.h"
#include "providers/clouddns/clouddns.h"
#include "providers/digitalocean/digitalocean.h"
#include "providers/embedded/embedded.h"
#include "providers/rfc2136/rfc2136.h"
#include "providers/route53/route53.h"

const struct d01_provider *const d01_providers[] = {
    &d01_provider_embedded,
    &d01_provider_rfc2136,
    &d01_provider_cloudflare,
    &d01_provider_route53,
    &d01_provider_acmedns,
    &d01_provider_digitalocean,
    &d01_provider_akamai,
    &d01_provider_clouddns,
    &d01_provider_azuredns,
    NULL,
};

const struct d01_provider *
d01_provider_find(const char *name)
{
	size_t i;

	for (i = 0; d01_providers[i] != NULL; i++)
		if (strcmp(d01_providers[i]->name, name) == 0)
			return d01_providers[i];
	return NULL;
}
