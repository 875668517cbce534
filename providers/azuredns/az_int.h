/* SPDX-License-Identifier: ISC */
/*
 * Private to providers/azuredns/: the parsed config (az_config.c), the
 * identity path an op takes (az_creds.c), the token exchanges and their
 * cache (az_token.c), the pure parsers
 * of token replies, record sets and errors (az_parse.c, which
 * tests/unit/test_azuredns.c and the fuzz targets drive), and the op the
 * state machine in azuredns.c runs.
 */
#ifndef D01_PROVIDERS_AZUREDNS_AZ_INT_H
#define D01_PROVIDERS_AZUREDNS_AZ_INT_H

#include <jansson.h>

#include "core/dname.h"
#include "core/gate.h"
#include "core/http_client.h"
#include "core/secret.h"
#include "core/sfcache.h"
#include "core/text.h"
#include "providers/azuredns/azuredns.h"

#define AZ_RECORDS_MAX	 20    /* Azure DNS: records per record set */
#define AZ_SECRET_MAX	 4096  /* client secret or federated token */
#define AZ_TOKEN_MAX	 16384 /* access token accepted */
#define AZ_URL_MAX	 2560
#define AZ_ETAG_MAX	 128
#define AZ_QUOTE_MAX	 200 /* bytes of an upstream's error text quoted */
#define AZ_TTL_DEFAULT	 60  /* a new record set's, cert-manager's */
#define AZ_API_PUBLIC	 "2018-05-01"
#define AZ_API_PRIVATE	 "2020-06-01"
#define AZ_IMDS_DEFAULT	 "http://169.254.169.254"
#define AZ_IMDS_API	 "2018-02-01"
#define AZ_REFRESH_AHEAD 300 /* seconds before a token's expiry */

/* The parsed `config`; every string owned (az_config_free). URLs have no
 * trailing slash. */
struct az_cfg {
	char *subscription, *group;
	char *zone;	 /* hostedZoneName without the dot, or NULL */
	char *arm;	 /* endpoint (ARM base URL) */
	char *authority; /* authorityHost */
	char *resource;	 /* the token audience, "https://management..." */
	char *tenant, *client_id;
	char *secret_name, *secret_key;	     /* clientSecretSecretRef */
	char *mi_client_id, *mi_resource_id; /* managedIdentity */
	char *ca_pem;
	int private_zone;
	int custom_arm, custom_authority; /* not a cloud's public default */
	int hide; /* a custom endpoint in serve: transport detail hidden */
};

/* az_config.c */
enum d01_err az_config_parse(struct d01_env *env, const json_t *config,
    void **cfg, struct d01_error *err);
void az_config_free(void *cfg);
enum d01_err az_env_fixup(json_t *config, struct d01_error *err);
extern const struct d01_envvar az_envvars[];

/* The provider's state in the env (azuredns.c's init). */
struct az_state {
	struct d01_sfc *tokens;	   /* access tokens, by az_token_key */
	struct d01_gate *names;	   /* one write at a time per record set */
	unsigned char mac_key[32]; /* random per env: keys are HMACs */
};
struct az_state *az_state_of(const struct d01_env *env);

/* az_token.c: one token request, every string borrowed for the call. */
enum az_path { AZ_PATH_SECRET, AZ_PATH_WORKLOAD, AZ_PATH_IMDS };

struct az_token_req {
	enum az_path path;
	const char *url;    /* the token endpoint (IMDS: with its query) */
	const char *ca_pem; /* NULL: the system store */
	const char *client_id;
	const char *secret; /* client secret or client assertion; IMDS NULL */
	const char *scope;  /* "<resource>/.default"; IMDS: in url */
};

/* The token (borrowed for the call) or NULL with err. */
typedef void (*az_token_fn)(
    void *arg, const struct d01_error *err, const char *token);
struct az_token_wait;

/* Async call shape; strings copied. Concurrent askers with the same
 * whole request share one exchange; tokens are kept until
 * AZ_REFRESH_AHEAD seconds before they expire. */
struct az_token_wait *az_token_get(struct d01_env *env,
    const struct az_token_req *r, az_token_fn cb, void *arg,
    struct d01_error *err);
void az_token_cancel(struct az_token_wait *w);
/* Drop the cached token for r if it is still `token` (ARM said 401). */
void az_token_forget(
    struct d01_env *env, const struct az_token_req *r, const char *token);
/* What a path is called in messages. */
const char *az_path_name(enum az_path p);

/* az_parse.c: pure. */

/* A token endpoint's (AAD or IMDS) 2xx reply: the access token
 * (malloc'ed, printable, at most AZ_TOKEN_MAX) and expires_in (a number
 * or a digit string; -1 when absent). 0, or -1 with err. */
int az_token_parse(const char *body, size_t len, char **token,
    long long *expires_in, struct d01_error *err);
/* A token endpoint's failure: "HTTP <status>: <error>: <description>"
 * from the OAuth error fields only. D01_E_AUTH for 400/401/403. */
enum d01_err az_token_error(
    long status, const char *body, size_t len, struct d01_error *err);
/* An ARM failure: "HTTP <status>: <code>: <message>" from
 * {"error": {"code", "message"}} only. Returns err->code. */
enum d01_err az_arm_error(
    long status, const char *body, size_t len, struct d01_error *err);

/* A TXT record set as ARM returns it. */
struct az_rrset {
	int exists;
	char etag[AZ_ETAG_MAX];
	long long ttl;
	json_t *records;  /* the TXT records array (owned), or NULL */
	json_t *metadata; /* kept as is (owned), or NULL */
};
/* Parse a GET's 200 reply (public: TTL/TXTRecords, private:
 * ttl/txtRecords). 0, or -1 with err (D01_E_PROTOCOL). */
int az_rrset_parse(const char *body, size_t len, int private_zone,
    struct az_rrset *rs, struct d01_error *err);
void az_rrset_clear(struct az_rrset *rs);

enum az_change { AZ_NOOP, AZ_PUT, AZ_DELETE };
/* What Present (add `value`) or CleanUp (remove exactly `value`) makes
 * of rs: NOOP, DELETE (the last value goes) or PUT with *body (malloc'ed
 * JSON keeping every other record, the TTL and the metadata). -1 with
 * err: D01_E_LIMIT naming AZ_RECORDS_MAX when the set is full. */
int az_rrset_change(const struct az_rrset *rs, const char *value, int present,
    int private_zone, char **body, struct d01_error *err);

/* One Present or CleanUp; see azuredns.c for the steps. */
enum az_step { AZ_SECRET, AZ_TOKEN, AZ_GATE, AZ_GET, AZ_WRITE };

struct az_op {
	struct d01_op op; /* first: op.c allocates and frees the whole */
	const struct az_cfg *cfg;
	struct az_state *state;
	enum az_step st;
	enum az_path path;
	char uid[64], ns[254];
	char fqdn[D01_DNAME_BUF], zone[D01_DNAME_BUF], rel[D01_DNAME_BUF];
	char value[256];
	char rrurl[AZ_URL_MAX]; /* the record set, with api-version */
	char tokurl[AZ_URL_MAX];
	char scope[300];
	char client_id[128];
	char fedfile[512]; /* workload identity: the token file, for
			      messages */
	char *secret;	   /* client secret or assertion; wiped */
	char *token;	   /* the ARM access token; wiped */
	int refreshed;	   /* one new token after a 401 */
	int tries;	   /* record set writes lost to another writer */
	enum az_change change;
	struct az_rrset rs;
	struct d01_secret_req *sreq;
	struct az_token_wait *tok;
	struct d01_gate_wait gate;
	struct d01_http_call *call;
	struct event *retry; /* the pause before re-reading after a 412 */
};

/* az_creds.c: pick the identity path and fill o's token request (the
 * first step: AZ_SECRET or AZ_TOKEN). 0, or -1 with err. */
int az_credentials(
    struct az_op *o, const struct d01_challenge *ch, struct d01_error *err);

#endif
