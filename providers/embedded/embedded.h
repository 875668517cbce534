/* SPDX-License-Identifier: ISC */
/*
 * The `embedded` provider: Present/CleanUp write env->store, which the
 * embedded DNS server (dnsd.h) serves. No credentials, no network.
 */
#ifndef D01_EMBEDDED_H
#define D01_EMBEDDED_H

#include "providers/provider.h"

extern const struct d01_provider d01_provider_embedded;

#endif
