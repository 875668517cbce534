/* SPDX-License-Identifier: ISC */
/*
 * Private to providers/clouddns/: the parsed config (gcp_config.c), the
 * credentials and the access-token cache (gcp_token.c), the pure JSON
 * parsers and builders (gcp_json.c, which tests/unit/test_clouddns.c and
 * the fuzz targets drive) and the op the state machine in clouddns.c
 * runs.
 */
#ifndef D01_PROVIDERS_CLOUDDNS_GCP_INT_H
#define D01_PROVIDERS_CLOUDDNS_GCP_INT_H

#include <jansson.h>

#include "core/dname.h"
#include "core/gate.h"
#include "core/http_client.h"
#include "core/secret.h"
#include "core/sfcache.h"
#include "providers/clouddns/clouddns.h"

#define GCP_DEFAULT_ENDPOINT  "https://dns.googleapis.com"
#define GCP_DEFAULT_TOKEN_URI "https://oauth2.googleapis.com/token"
#define GCP_DEFAULT_METADATA  "metadata.google.internal"
#define GCP_SCOPE	      "https://www.googleapis.com/auth/ndev.clouddns.readwrite"
#define GCP_URL_MAX	      2048
#define GCP_QUOTE_MAX	      200 /* bytes of an API's error text quoted */
#define GCP_TTL_DEFAULT	      60  /* cert-manager's */
#define GCP_TTL_LEGO	      120 /* lego's GCE_TTL default, for the CLI */
#define GCP_MAX_VALUES	      256 /* rrdatas in one TXT rrset we handle */
#define GCP_TOKEN_MAX	      4096
/* Workload identity federation (external_account). */
#define GCP_STS_SCOPE	     "https://www.googleapis.com/auth/cloud-platform"
#define GCP_SUBJECT_MAX	     16384 /* a subject token (an OIDC JWT, SAML) */
#define GCP_SUBJECT_FILE_MAX 65536 /* the file holding it */

/* The parsed `config`; every string owned (gcp_config_free). */
struct gcp_cfg {
	char *project;	 /* NULL: the key file's project_id */
	char *zone_name; /* hostedZoneName, or NULL: look it up */
	char *secret_name, *secret_key; /* serviceAccountSecretRef, or NULL */
	char *endpoint;			/* scheme://host[:port], no slash */
	char *ca_pem;			/* caBundle, or NULL */
	int custom; /* endpoint is not a default nor the operator's */
	int hide;   /* custom in serve: transport detail hidden */
	unsigned ttl;
};

/* gcp_config.c */
enum d01_err gcp_config_parse(struct d01_env *env, const json_t *config,
    void **cfg, struct d01_error *err);
void gcp_config_free(void *cfg);
enum d01_err gcp_env_fixup(json_t *config, struct d01_error *err);
extern const struct d01_envvar gcp_envvars[];
/* A key file's token_uri: Google's, or allowed by the endpoint policy
 * (it would receive the signed assertion). *custom set. */
enum d01_err gcp_check_token_uri(const struct d01_env *env, const char *uri,
    int *custom, struct d01_error *err);

/* One credential: a service-account key, the metadata server, or an
 * external account (workload identity federation: only ever from the
 * operator's GOOGLE_APPLICATION_CREDENTIALS, never a tenant's Secret,
 * since it names a file on the server to read). */
enum gcp_kind { GCP_KEY = 0, GCP_METADATA, GCP_EXTERNAL };

struct gcp_cred {
	enum gcp_kind kind;
	int ambient; /* the server's own (not the request's config) */
	char *email, *key_pem, *key_id, *token_uri, *project_id; /* KEY */
	char *metadata; /* METADATA: "http://host[:port]" */
	char *where;	/* for messages: "service account x@y" or the file */
	/* EXTERNAL: token_uri is the STS token_url; the subject token is
	 * read from subject_file at every exchange (text, or the JSON
	 * member subject_field); impersonate is the
	 * service_account_impersonation_url, or NULL. */
	char *audience, *subject_type, *subject_file, *subject_field;
	char *impersonate;
};

/* gcp_json.c: a service-account JSON key ("type": "service_account",
 * client_email, private_key, private_key_id, token_uri (default
 * Google's), project_id). The key is not parsed here (d01_jwt does it
 * at signing). D01_OK, or D01_E_CONFIG naming the field, never its
 * value. `c` is zeroed first; free with gcp_cred_free. */
enum d01_err gcp_cred_parse(
    const char *json, size_t len, struct gcp_cred *c, struct d01_error *err);
void gcp_cred_free(struct gcp_cred *c); /* wipes the key */

/* gcp_json.c: the string member k of o without NUL or control bytes
 * (nl: newlines allowed, as in PEM keys), 1..max bytes, copied into *out;
 * *out NULL when absent or null. 0, or -1 when present but not such a
 * string (or out of memory). */
int gcp_member(const json_t *o, const char *k, size_t max, int nl, char **out);

/* gcp_ext.c: an Application Default Credentials file (the operator's):
 * a service_account key as above, or an external_account (audience,
 * subject_token_type, token_url https, credential_source.file with
 * format text or json + subject_token_field_name, optional
 * service_account_impersonation_url https). credential_source.url,
 * executable and environment_id are refused by name. Same contract as
 * gcp_cred_parse. */
enum d01_err gcp_adc_parse(
    const char *json, size_t len, struct gcp_cred *c, struct d01_error *err);

/* gcp_ext.c: the subject token in a credential_source file's text:
 * the whole text less surrounding white space (field NULL), or the
 * string member `field` of a JSON object. New string (caller wipes), or
 * NULL with err saying what is wrong, never quoting the text. */
char *gcp_subject_token(
    const char *text, size_t len, const char *field, struct d01_error *err);

/* gcp_ext.c: an IAM Credentials generateAccessToken reply
 * {"accessToken", "expireTime" (RFC 3339, UTC)}: the token (new, caller
 * wipes) and its lifetime from `now` (Unix seconds); NULL with err from
 * Google's error reply (gcp_reply_error), never a token. */
char *gcp_iam_reply(long status, const char *body, size_t len, long long now,
    long *expires_in, struct d01_error *err);

/* gcp_json.c: an OAuth token reply {"access_token", "expires_in"}: the
 * token (new, caller wipes) and its lifetime in seconds; NULL with err
 * quoting the endpoint's "error" / "error_description" (never a token). */
char *gcp_token_reply(long status, const char *body, size_t len,
    long *expires_in, struct d01_error *err);

/* gcp_json.c: a Cloud DNS error reply {"error": {"code", "message",
 * "errors": [{"reason"}]}} into err (status, reason, message; control
 * bytes dropped, GCP_QUOTE_MAX bytes). D01_E_AUTH 401, D01_E_FORBIDDEN
 * 403, D01_E_NOTFOUND 404, D01_E_CONFLICT 409/412, D01_E_RATELIMIT 429,
 * else D01_E_UPSTREAM; retryable 429 and 5xx. Returns err->code. */
enum d01_err gcp_reply_error(
    long status, const char *body, size_t len, struct d01_error *err);

/* gcp_json.c: in a managedZones listing, the public zone whose dnsName
 * is the longest suffix of fqdn (with its dot) if longer than *best_len:
 * its name into best (n bytes), *best_len updated. The listing's
 * nextPageToken into next (n2 bytes, "" when none). 0, or -1 when the
 * reply is not a listing or a token is unusable. */
int gcp_zones_pick(const json_t *root, const char *fqdn, char *best, size_t n,
    size_t *best_len, char *next, size_t n2);

/* gcp_json.c: in an rrsets listing, the TXT rrset named fqdn (any case):
 * a new reference to it (checked: name, type, ttl, rrdatas of strings,
 * at most GCP_MAX_VALUES), or NULL with *bad = 0 when there is none,
 * *bad = 1 when the reply is malformed. */
json_t *gcp_rrset_find(const json_t *root, const char *fqdn, int *bad);

/* gcp_json.c: 1 when rrdata is `value` as Cloud DNS keeps it (quoted,
 * "\"v\"", or bare), else 0. */
int gcp_rrdata_is(const char *rrdata, const char *value);

/*
 * gcp_json.c: the `changes` body turning `old` (the rrset as read, or
 * NULL) into old's values plus (present) or minus (cleanup) `value`:
 * deletions [old] exactly as read, additions [new] with old's TTL (else
 * `ttl`) unless no value is left. NULL with *noop = 1 when nothing is to
 * change (present and there, cleanup and gone); NULL with *noop = 0 and
 * err on failure. New string, caller frees.
 */
char *gcp_change_body(const json_t *old, const char *fqdn, const char *value,
    int present, unsigned ttl, int *noop, struct d01_error *err);

/* The provider's state, one per env (clouddns.c's init). */
struct gcp_state {
	struct d01_sfc *tokens; /* access tokens, by gcp_token_key */
	struct d01_gate *locks; /* one change at a time per name */
	/* The TXT rrset each name has after our last change there (JSON
	 * text, "null" when deleted), so the next holder of the name's lock
	 * skips the read: its exact-match deletion still fails (412) when
	 * someone else wrote meanwhile, and it then reads. */
	struct d01_sfc *sets;
	unsigned char mac_key[32]; /* random: keys digest credentials */
	unsigned long long never;
};

struct gcp_token_wait;
typedef void (*gcp_token_fn)(
    void *arg, const struct d01_error *err, const char *token);

/* gcp_token.c: an access token for `cred` (copied), from the cache or
 * the token endpoint / metadata server, one flight per credential.
 * Async call shape. `ca_pem` may be NULL. */
struct gcp_token_wait *gcp_token_get(struct d01_env *env, struct gcp_state *st,
    const struct gcp_cred *cred, const char *ca_pem, gcp_token_fn cb, void *arg,
    struct d01_error *err);
void gcp_token_cancel(struct gcp_token_wait *w);
/* The API refused `token` (401): drop it from the cache if it is still
 * the one kept for cred, so that the next ask refreshes. */
void gcp_token_forget(struct gcp_state *st, const struct gcp_cred *cred,
    const char *ca_pem, const char *token);
/* The cache key: HMAC-SHA256 (the state's key) of everything that
 * decides the token (kind, ambient, token URI / metadata host, CA, the
 * whole key). 0 or -1. */
int gcp_token_key(const struct gcp_state *st, const struct gcp_cred *cred,
    const char *ca_pem, unsigned char key[D01_SFC_KEY]);
/* gcp_token.c: the server's own credentials (GOOGLE_APPLICATION_
 * CREDENTIALS: a service-account key or an external account; else the
 * metadata server at GCE_METADATA_HOST or Google's). D01_OK, or err
 * saying what was tried. */
enum d01_err gcp_cred_ambient(struct gcp_cred *c, struct d01_error *err);

enum gcp_step {
	G_SECRET,
	G_TOKEN,
	G_ZONE,
	G_LOCK,
	G_READ,
	G_CHANGE,
};

struct gcp_op {
	struct d01_op op; /* first: op.c allocates and frees the whole */
	struct gcp_state *state;
	const struct gcp_cfg *cfg;
	enum gcp_step st, resume; /* resume: after a token refresh */
	char uid[64], ns[254];
	char fqdn[D01_DNAME_BUF]; /* with the trailing dot */
	char value[256];
	char project[128], zone[128];
	char page_token[512];
	size_t best_len;
	int page, cas, refreshed;
	struct gcp_cred cred;
	char *token; /* wiped on release */
	json_t *old; /* the TXT rrset as read, or NULL */
	char *sent;  /* the changes body in flight */
	struct gcp_token_wait *tw;
	struct d01_secret_req *sreq;
	struct d01_http_call *call;
	struct event *retry;
	struct d01_gate_wait lock;
};

#endif
