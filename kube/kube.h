/* SPDX-License-Identifier: ISC */
/*
 * A small Kubernetes API client on the shared async HTTP client: just
 * enough for a webhook (GET a Secret or a ConfigMap, POST a
 * SubjectAccessReview). Configuration comes from a kubeconfig file or
 * from the pod's service account (in-cluster).
 *
 * Credentials: a bearer token (inline, or a file re-read whenever it
 * changes, since the kubelet rotates projected service-account tokens
 * about hourly), a client certificate, or basic auth. Exec plugins and
 * auth providers are refused at start-up with a clear message: they
 * would run programs from the event loop.
 *
 * Ownership: the client owns its copies of every credential and wipes
 * them when freed; it borrows the d01_http, which must outlive it.
 */
#ifndef D01_KUBE_H
#define D01_KUBE_H

#include <jansson.h>

#include "core/err.h"

struct d01_http;
struct d01_kube;
struct d01_kube_call;

/* Where the service account's files are mounted in a pod. */
#define D01_KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/*
 * A client from `kubeconfig` (its current context) when non-NULL, else
 * from the in-cluster environment: KUBERNETES_SERVICE_HOST/_PORT and
 * `sa_dir` (NULL: D01_KUBE_SA_DIR) holding token, ca.crt and namespace.
 * Outside a cluster without a kubeconfig: NULL with D01_E_NOTFOUND.
 * Any other failure (unreadable file, unsupported kubeconfig): NULL with
 * D01_E_CONFIG and the reason.
 */
struct d01_kube *d01_kube_new(struct d01_http *http, const char *kubeconfig,
    const char *sa_dir, struct d01_error *err);

/* Parse a kubeconfig held in memory; relative file names are resolved
 * against `dir`. For tests and fuzzing; d01_kube_new reads the file. */
struct d01_kube *d01_kube_from_kubeconfig(struct d01_http *http,
    const char *buf, size_t len, const char *dir, struct d01_error *err);

void d01_kube_free(struct d01_kube *k);

/* The API server's URL and the namespace of the context or service
 * account ("default" when neither says); borrowed. */
const char *d01_kube_server(const struct d01_kube *k);
/* The loop the client's HTTP calls run on. */
struct event_base *d01_kube_base(const struct d01_kube *k);
const char *d01_kube_namespace(const struct d01_kube *k);

/*
 * Completion. On success (2xx with a JSON object body) err is NULL-code
 * (D01_OK) and `obj` is the parsed body, borrowed for the call. Otherwise
 * `obj` is NULL and err says why: for a Kubernetes Status reply, its
 * reason and message with the HTTP status in err->status, and the code
 * D01_E_AUTH (401), D01_E_FORBIDDEN (403), D01_E_NOTFOUND (404),
 * D01_E_RATELIMIT (429) or D01_E_UPSTREAM.
 */
typedef void (*d01_kube_fn)(
    void *arg, const struct d01_error *err, json_t *obj);

/*
 * GET `path` ("/api/v1/...", already escaped), or POST `body` (a JSON
 * object, not stolen) when non-NULL. Async call shape
 * (docs/DESIGN.md, "The async call shape"). A 401 from a token file
 * that has changed since it was read is retried once with the new token.
 */
struct d01_kube_call *d01_kube_request(struct d01_kube *k, const char *path,
    const json_t *body, d01_kube_fn cb, void *arg, struct d01_error *err);

/* Any method (GET, POST, DELETE), with `budget_ms` for all attempts
 * (<= 0 or more than the default 10 s: the default). Same shape. */
struct d01_kube_call *d01_kube_request_ex(struct d01_kube *k,
    const char *method, const char *path, const json_t *body, long budget_ms,
    d01_kube_fn cb, void *arg, struct d01_error *err);

void d01_kube_cancel(struct d01_kube_call *c);

/*
 * A watch (`path` with ?watch=1...): a stream of JSON events, one per
 * line. `on_open` runs when the server has answered 2xx (the stream is
 * open), `on_event` for each event object (borrowed; return non-zero to
 * stop the watch), and `on_end` exactly once when the stream ends for
 * any reason: cleanly (err code D01_OK, e.g. the server's timeout),
 * stopped, or failed (a non-2xx status is reported as for
 * d01_kube_request). Events longer than D01_KUBE_WATCH_LINE_MAX end it
 * with D01_E_LIMIT. `timeout_ms` bounds the whole stream. Async call
 * shape; cancel silences every callback. Callbacks must not cancel
 * their own watch (on_end may start a new one).
 */
#define D01_KUBE_WATCH_LINE_MAX (1024 * 1024)
struct d01_kube_watch;
struct d01_kube_watch_cbs {
	void (*on_open)(void *arg);
	int (*on_event)(void *arg, json_t *event);
	void (*on_end)(void *arg, const struct d01_error *err);
	void *arg;
};
struct d01_kube_watch *d01_kube_watch_start(struct d01_kube *k,
    const char *path, long timeout_ms, const struct d01_kube_watch_cbs *cbs,
    struct d01_error *err);
void d01_kube_watch_cancel(struct d01_kube_watch *w);

/* True for a DNS-1123 subdomain (Secret, ConfigMap and namespace names
 * fit it), so a name can go into a path unescaped. */
int d01_kube_name_ok(const char *name);

#endif
