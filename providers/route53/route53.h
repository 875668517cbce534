/* SPDX-License-Identifier: ISC */
/*
 * The `route53` provider (REST API 2013-04-01, SigV4): adds and removes one
 * TXT value without losing any other. Simple record sets are changed with
 * a compare-and-swap batch (DELETE exactly what was read + CREATE the new
 * set), retried from a fresh read when another writer won; names already
 * using multivalue sets (cert-manager's convention) get one set per value,
 * keyed by SetIdentifier = the quoted value, so both tools interoperate.
 */
#ifndef D01_ROUTE53_H
#define D01_ROUTE53_H

#include "providers/provider.h"

extern const struct d01_provider d01_provider_route53;

#define R53_DEFAULT_ENDPOINT "https://route53.amazonaws.com"
#define R53_MAX_VALUES	     64

struct r53_cfg {
	char *endpoint; /* scheme://host[:port], no trailing slash */
	char *host;	/* host[:port] for the signed Host header */
	char *region;	/* signing region (us-east-1 for the global API) */
	char *zone_id;	/* hostedZoneID without /hostedzone/, or NULL */
	char *ca_pem;	/* caBundle: PEM text to trust, or NULL */
	char *key_id;	/* accessKeyID literal, or NULL */
	char *key_id_name, *key_id_key; /* accessKeyIDSecretRef */
	char *secret_name, *secret_key; /* secretAccessKeySecretRef */
	char *role;	    /* role: AssumeRole with the base keys, or NULL */
	char *sts_endpoint; /* default https://sts.amazonaws.com */
	unsigned ttl;
	int wait_sync; /* waitForSync: poll GetChange until INSYNC */
	/* endpoint / sts_endpoint are neither AWS's public ones nor the
	 * operator's AWS_ENDPOINT_URL_*: ambient credentials stay away. */
	int custom_endpoint, custom_sts;
};

/* One TXT record set as read. */
struct r53_set {
	char set_id[300]; /* "" for a simple set */
	int multivalue;
	long ttl;
	int nvalues;
	char values[R53_MAX_VALUES][260]; /* unquoted */
};

/* r53_config.c */
enum d01_err r53_config_parse(struct d01_env *env, const json_t *config,
    void **cfg, struct d01_error *err);
void r53_config_free(void *cfg);

/* r53_xml.c: parse replies, build change batches. */
int r53_parse_zones(const char *body, size_t len, const char *fqdn,
    char *zone_id, size_t idlen, struct d01_error *err);
int r53_parse_sets(const char *body, size_t len, const char *fqdn,
    struct r53_set *sets, int max, struct d01_error *err);
/* "Code: Message" of an error reply into err; returns 1 when it was an
 * InvalidChangeBatch (a lost compare-and-swap, worth a fresh read), 2 for
 * Throttling/PriorRequestNotComplete (worth the same request again). */
int r53_parse_error(
    const char *body, size_t len, long status, struct d01_error *err);
/* The Id ("C123", /change/ stripped) and Status of a ChangeInfo reply;
 * 0, or -1 when absent. */
int r53_parse_change(
    const char *body, size_t len, char *id, size_t idlen, int *insync);

/* The ChangeResourceRecordSets body for `present` of `value` given the
 * sets read; NULL with *noop = 1 when nothing needs to change. */
char *r53_change_batch(const char *fqdn, const struct r53_set *sets, int nsets,
    const char *value, int present, unsigned ttl, int *noop);

#endif
