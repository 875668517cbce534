/* SPDX-License-Identifier: ISC */
/*
 * Where the front-proxy trust comes from, kept current:
 *  - a CA file given by flag (--requestheader-client-ca-file) with the
 *    header names of the other --requestheader-* flags, re-read when the
 *    file changes;
 *  - else ConfigMap kube-system/extension-apiserver-authentication, read
 *    at start-up and again every interval (the kube-apiserver rewrites it
 *    when its front-proxy CA rotates).
 * Each new trust is handed to the callback, which owns it from then on.
 * A failed refresh keeps the old trust (the callback sees the error).
 */
#ifndef D01_FP_SOURCE_H
#define D01_FP_SOURCE_H

#include "core/err.h"
#include "kube/frontproxy.h"

struct event_base;
struct d01_kube;
struct d01_fp_source;

/* Comma-separated flag values; NULL: the default. */
struct d01_fp_flags {
	const char *allowed; /* default: any CN */
	const char *user;    /* default: X-Remote-User */
	const char *group;   /* default: X-Remote-Group */
	const char *extra;   /* default: X-Remote-Extra- */
	const char *uid;     /* default: none */
};

/* `t` is a new trust (owned by the callee), or NULL with err. */
typedef void (*d01_fp_source_fn)(
    void *arg, struct d01_fp_trust *t, const struct d01_error *err);

/*
 * From a file: the first trust is built now and handed to `fn` before
 * this returns (NULL + err when it cannot be, and then nothing starts).
 */
struct d01_fp_source *d01_fp_source_file(struct event_base *base,
    const char *ca_file, const struct d01_fp_flags *flags, int interval_ms,
    d01_fp_source_fn fn, void *arg, struct d01_error *err);

/* From the ConfigMap: the first read starts now; `fn` runs from the
 * loop with its outcome, then after every later read that changed it
 * or failed. */
struct d01_fp_source *d01_fp_source_configmap(struct event_base *base,
    struct d01_kube *k, int interval_ms, d01_fp_source_fn fn, void *arg,
    struct d01_error *err);

void d01_fp_source_free(struct d01_fp_source *s);

#endif
