/* SPDX-License-Identifier: ISC */
/*
 * Private to providers/akamai/: the parsed config (ak_config.c), the
 * .edgerc reader (ak_edgerc.c), the API exchange and its reply parsers
 * (ak_api.c), and the op that the state machine in akamai.c drives.
 */
#ifndef D01_PROVIDERS_AKAMAI_AK_INT_H
#define D01_PROVIDERS_AKAMAI_AK_INT_H

#include <jansson.h>

#include "core/dname.h"
#include "core/gate.h"
#include "core/http_client.h"
#include "core/secret.h"
#include "providers/akamai/akamai.h"

#define AK_HOST_MAX	   256	/* serviceConsumerDomain, port included */
#define AK_SECRET_MAX	   1024 /* longest token or client secret */
#define AK_EDGERC_MAX	   65536
#define AK_MAX_RDATA	   1024 /* values in one TXT record set */
#define AK_RDATA_LEN_MAX   4096 /* one value's rdata text */
#define AK_QUOTE_MAX	   200	/* bytes of the API's error text quoted */
#define AK_DEFAULT_TTL	   300
#define AK_TTL_MIN	   30
#define AK_TTL_MAX	   86400
#define AK_MAX_TRIES	   12 /* read-modify-write rounds per op */
#define AK_MAX_ATTEMPTS	   4  /* sends of one request (429, 5xx, drops) */
#define AK_DEFAULT_SECTION "default"

/* Which credential; also the order they are read in. */
enum ak_cred { AK_CLIENT_TOKEN, AK_CLIENT_SECRET, AK_ACCESS_TOKEN, AK_NCREDS };

/* The parsed `config`; every string is owned (ak_config_free). */
struct ak_cfg {
	char *host;		   /* serviceConsumerDomain, or NULL: .edgerc */
	char *ref_name[AK_NCREDS]; /* secret refs; NULL: from .edgerc */
	char *ref_key[AK_NCREDS];
	char *edgerc_name, *edgerc_key; /* edgercSecretRef, or NULL */
	char *section;			/* edgercSection */
	char *ca_pem;			/* caBundle, or NULL */
	int custom;			/* host is not Akamai's own */
	unsigned ttl;			/* for a record set we create */
};

/* ak_config.c */
enum d01_err ak_config_parse(struct d01_env *env, const json_t *config,
    void **cfg, struct d01_error *err);
void ak_config_free(void *cfg);
/* AKAMAI_* variables: explicit ones win, the .edgerc fills the rest. */
enum d01_err ak_env_fixup(json_t *config, struct d01_error *err);
/* host[:port] as a serviceConsumerDomain may be: a name or address,
 * letters, digits, '.', '-', ':' and brackets, 1..AK_HOST_MAX-1 bytes.
 * A leading "https://" and one trailing '/' are dropped in place. */
int ak_host_clean(char *host);
/* The endpoint policy for `host` (core/endpoint.h): Akamai's own API
 * hosts (*.luna.akamaiapis.net) always, others as the operator allows. */
enum d01_err ak_host_check(const struct d01_endpoints *policy, const char *host,
    int *custom, struct d01_error *err);

/* ak_edgerc.c: the .edgerc INI file (Akamai's credentials file) */
struct ak_edgerc {
	char *host; /* each NULL when the section lacks it */
	char *cred[AK_NCREDS];
};
/*
 * Read section `section` of `text` (len bytes): "[name]" headers,
 * "key = value" (or "key: value") lines, '#' and ';' comment lines,
 * blank lines; values may be wrapped in matching quotes. Keys other than
 * host, client_token, client_secret and access_token are ignored.
 * D01_OK with *out filled (free with ak_edgerc_free), or D01_E_CONFIG
 * naming the line (never quoting it: it may hold a secret).
 */
enum d01_err ak_edgerc_parse(const char *text, size_t len, const char *section,
    struct ak_edgerc *out, struct d01_error *err);
/* Wipe and free what out holds; safe on a zeroed struct. */
void ak_edgerc_free(struct ak_edgerc *e);

/* ak_api.c: reply parsers (pure; what the fuzz target drives) */

/* A TXT record set as read. rdata is owned (json_decref). */
struct ak_rrset {
	int exists;
	long ttl;
	json_t *rdata; /* array of strings, Akamai's rdata text */
};
/*
 * Parse a record set reply for `name` (no trailing dot): an object with
 * name (same name, any case, trailing dot allowed), type "TXT", ttl
 * 0..2147483647 and rdata, an array of 1..AK_MAX_RDATA non-empty strings
 * of at most AK_RDATA_LEN_MAX bytes without control characters. D01_OK
 * with *out set, or D01_E_PROTOCOL.
 */
enum d01_err ak_rrset_parse(const char *body, size_t len, const char *name,
    struct ak_rrset *out, struct d01_error *err);
/* 1 when rdata holds `value`, quoted ("\"v\"", as Akamai keeps it) or
 * bare. */
int ak_rdata_has(const json_t *rdata, const char *value);
/* A new array: rdata plus "\"value\"" / rdata less every form of value.
 * NULL when out of memory. */
json_t *ak_rdata_with(const json_t *rdata, const char *value);
json_t *ak_rdata_without(const json_t *rdata, const char *value);
/* The JSON body of a record set: a new string, or NULL. */
char *ak_rrset_body(const char *name, long ttl, const json_t *rdata);
/*
 * An error reply (RFC 7807 problem details, as the API sends them) as
 * err: "HTTP <status>: <title>: <detail>" with control characters
 * dropped, AK_QUOTE_MAX bytes at most, the status kept, retryable for
 * 429 and 5xx; never the raw body when it is no problem object.
 */
void ak_problem(
    long status, const char *body, size_t len, struct d01_error *err);

/* ak_api.c: the exchange */

enum ak_step {
	AK_SECRET,
	AK_ZONE,
	AK_GATE,
	AK_READ,
	AK_WRITE,
};

struct ak_state {
	struct d01_gate *gate; /* one writer per record set in this process */
};

struct event;

/* One Present or CleanUp; see akamai.c for the steps. */
struct ak_op {
	struct d01_op op;    /* first: op.c allocates and frees the whole */
	struct d01_env *env; /* op.env, for brevity */
	const struct ak_cfg *cfg;
	struct ak_state *state;
	enum ak_step st;
	char uid[64];
	char name[D01_DNAME_BUF]; /* the FQDN without the trailing dot */
	char zone[D01_DNAME_BUF]; /* the zone once known, or "" */
	char candidate[D01_DNAME_BUF];
	size_t walk;
	char value[256], ns[254];
	char host[AK_HOST_MAX];
	int custom;	       /* host is not Akamai's own */
	char *cred[AK_NCREDS]; /* wiped and freed on release */
	int next_secret;       /* 0..AK_NCREDS: refs; AK_NCREDS: .edgerc */
	int verifying;	       /* this read checks the write before it */
	int tries;	       /* read-modify-write rounds */
	int attempts;	       /* sends of the current request */
	struct ak_rrset set;   /* the last read */
	char method[8];	       /* the current request, kept for resends */
	char path[1024];
	char *body;
	struct d01_secret_req *sreq;
	struct d01_http_call *call;
	struct d01_gate_wait gate;
	struct event *timer; /* backoff between sends and rounds */
};

/* akamai.c: run the current step; end the op with err (NULL: success),
 * scrubbed of every credential (then leave o alone: d01_op_finish). */
void ak_step(struct ak_op *o);
void ak_finish(struct ak_op *o, struct d01_error *err);

/* ak_creds.c: read the next credential, or check them all and go on to
 * AK_ZONE when every one is read. */
void ak_creds_next(struct ak_op *o);

/* Sign and send o->method/o->path/o->body within the op's budget; the
 * reply goes to cb(o, ...). NULL with err filled on failure. */
struct d01_http_call *ak_api_send(
    struct ak_op *o, d01_http_fn cb, struct d01_error *err);

#endif
