/* SPDX-License-Identifier: ISC */
/*
 * ChallengePayload decoding (cert-manager's
 * pkg/acme/webhook/apis/acme/v1alpha1): the envelope
 * (apiVersion/kind optional but checked when present, `request` required)
 * and every field of `request`, validated and normalised. Pure: no I/O, so
 * it is also the fuzz target for the webhook's input.
 */
#ifndef D01_PAYLOAD_H
#define D01_PAYLOAD_H

#include <stddef.h>

#include <jansson.h>

#include "core/dname.h"
#include "providers/provider.h"

#define D01_PAYLOAD_API_VERSION "webhook.acme.cert-manager.io/v1alpha1"
#define D01_PAYLOAD_KIND	"ChallengePayload"

struct d01_payload {
	json_t *request; /* the `request` object (own reference), echoed */
	json_t *config;	 /* request.config, borrowed from request; NULL
			    when absent or null */
	int present;	 /* action: 1 Present, 0 CleanUp */
	char uid[128];
	char fqdn[D01_DNAME_BUF], zone[D01_DNAME_BUF];
	/* Strings point into `fqdn`, `zone`, `uid` or `request`. */
	struct d01_challenge ch;
};

/*
 * Decode body[0..len) into `p`. Returns 0, or -1 with a client-facing
 * reason in why[0..whylen) (the caller answers 400 with it). On success
 * the caller releases `p` with d01_payload_clear().
 */
int d01_payload_decode(const char *body, size_t len, struct d01_payload *p,
    char *why, size_t whylen);

/* Release what d01_payload_decode() took. Safe on a zeroed struct. */
void d01_payload_clear(struct d01_payload *p);

#endif
