/* SPDX-License-Identifier: ISC */
/* Private to kube/kube*.c: the client's configuration. */
#ifndef D01_KUBE_INT_H
#define D01_KUBE_INT_H

#include <sys/stat.h>

#include "kube/kube.h"

/* Largest token, CA bundle or client certificate file read. */
#define D01_KUBE_FILE_MAX (1024 * 1024)

struct d01_kube {
	struct d01_http *http;
	char *server; /* scheme://host[:port][/prefix], no trailing '/' */
	char *ns;     /* context or service-account namespace */
	char *ca_pem; /* NULL: the system trust store */
	int insecure;
	char *cert_pem, *key_pem; /* client certificate, both or neither */
	char *basic;		  /* base64 of user:password, or NULL */
	char *token;		  /* bearer token, or NULL */
	char *token_file;	  /* re-read when it changes, or NULL */
	struct stat token_st;	  /* of the file when last read */
};

/* kube_config.c: fill `k` from a kubeconfig or the pod environment. */
enum d01_err d01_kube_config_kubeconfig(struct d01_kube *k, const char *buf,
    size_t len, const char *dir, struct d01_error *err);
enum d01_err d01_kube_config_incluster(
    struct d01_kube *k, const char *sa_dir, struct d01_error *err);

/* (Re)read the token file when it changed since the last read, or always
 * when `force`. Returns 1 when the token changed, 0 when not, -1 when the
 * file could not be read (the old token is kept). */
int d01_kube_token_refresh(struct d01_kube *k, int force);

/* Fill req's URL, trust and client certificate for `path`; *url and
 * *auth ("Authorization: ..." or NULL) are the caller's to free, *auth
 * with d01_kube_wipe_free. 0, or -1 with err. */
struct d01_http_request;
int d01_kube_prepare(struct d01_kube *k, const char *path,
    struct d01_http_request *req, char **url, char **auth,
    struct d01_error *err);
void d01_kube_wipe_free(char *p);

/* A non-2xx reply as an error (kube.h, d01_kube_fn). */
struct d01_http_response;
void d01_kube_status_error(
    struct d01_error *err, const struct d01_http_response *resp);

#endif
