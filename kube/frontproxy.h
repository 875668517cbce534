/* SPDX-License-Identifier: ISC */
/*
 * Front-proxy (request-header) authentication, as the kube-apiserver's
 * aggregator uses it (Kubernetes' authenticating proxy, requestheader-*
 * flags): the TLS client certificate
 * must chain to the requestheader CA for client use (clientAuth EKU, or
 * none) and, when allowed names are set, carry one of them as its CN;
 * only then are the identity headers believed.
 *
 * A trust is an immutable snapshot of the CA, the allowed names and the
 * header names; the server swaps in a new one when the flags' CA file or
 * the kube-system ConfigMap changes. The TLS layer does not verify client
 * certificates itself (a handshake without the proxy certificate must
 * still succeed for probes); the first request on a connection verifies
 * the peer against the current trust and the result is remembered on
 * the connection until the trust changes.
 */
#ifndef D01_FRONTPROXY_H
#define D01_FRONTPROXY_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "core/err.h"

struct d01_req;

#define D01_FP_MAX_NAMES 32

struct d01_fp_trust {
	unsigned gen;			 /* unique per snapshot */
	X509_STORE *store;		 /* requestheader CA bundle */
	char *allowed[D01_FP_MAX_NAMES]; /* allowed CNs; none: any */
	size_t nallowed;
	char *user_hdrs[D01_FP_MAX_NAMES];
	size_t nuser;
	char *group_hdrs[D01_FP_MAX_NAMES];
	size_t ngroup;
	char *extra_prefixes[D01_FP_MAX_NAMES];
	size_t nextra;
	char *uid_hdrs[D01_FP_MAX_NAMES];
	size_t nuid;
	char source[128]; /* for logs: the file or the ConfigMap */
};

/* The identity a verified front proxy vouches for. */
struct d01_identity {
	char user[512];
	char uid[256];
	json_t *groups; /* array of strings */
	json_t *extra;	/* object: key -> array of strings */
};

/*
 * A trust from a PEM CA bundle (`len` bytes) with the Go webhook's default
 * header names (X-Remote-User, X-Remote-Group, X-Remote-Extra-; no uid
 * header). NULL with err when the bundle holds no certificate.
 */
struct d01_fp_trust *d01_fp_trust_new(
    const char *pem, size_t len, const char *source, struct d01_error *err);

/*
 * Replace one name list from a comma-separated flag value or, with
 * `json` set, a JSON array of strings (the ConfigMap's format). `list`
 * is one of the trust's arrays, `n` its count.
 */
enum d01_err d01_fp_trust_set_names(
    char **list, size_t *n, const char *value, int json, struct d01_error *err);

/*
 * A trust from ConfigMap kube-system/extension-apiserver-authentication
 * (its `data` object). Returns NULL with D01_E_NOTFOUND when it has no
 * requestheader-client-ca-file: the cluster has no front proxy configured.
 */
struct d01_fp_trust *d01_fp_trust_from_configmap(
    const json_t *data, struct d01_error *err);

void d01_fp_trust_free(struct d01_fp_trust *t);

/* Call once before serving: the SSL ex_data slot for per-connection
 * results. Returns 0, or -1 when OpenSSL has no slot to give. */
int d01_fp_init(void);

/*
 * Authenticate `req` against `t` (NULL: nobody can be authenticated).
 * Returns 0 and fills `id` (free with d01_identity_clear), or -1 with
 * `why` set to a static reason.
 */
int d01_fp_authenticate(const struct d01_fp_trust *t, struct d01_req *req,
    struct d01_identity *id, const char **why);

void d01_identity_clear(struct d01_identity *id);

/* True when the identity is in `group`. */
int d01_identity_in_group(const struct d01_identity *id, const char *group);

#endif
