/* SPDX-License-Identifier: ISC */
/* Kubernetes API requests; see kube.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/file.h"
#include "core/http_client.h"
#include "core/log.h"
#include "httpd/http.h"
#include "kube/kube_int.h"

/* Per attempt, and for all attempts of one request. A webhook call waits
 * for these, so they stay well inside its own budget. */
#define KUBE_TIMEOUT_MS 5000
#define KUBE_BUDGET_MS	10000
#define KUBE_MAX_BODY	(1024 * 1024)
#define TOKEN_MAX	(64 * 1024)

struct d01_kube_call {
	struct d01_kube *k;
	struct d01_http_call *hc;
	d01_kube_fn cb;
	void *arg;
	char *path;
	char *body; /* JSON text, or NULL */
	char method[8];
	long budget_ms;
	int retried;
};

static void
wipe_free(char *p)
{
	if (p != NULL) {
		OPENSSL_cleanse(p, strlen(p));
		free(p);
	}
}

int
d01_kube_token_refresh(struct d01_kube *k, int force)
{
	char qm[600], qp[300];
	struct d01_error err;
	struct stat st;
	char *buf;
	size_t len;

	memset(&st, 0, sizeof(st));
	if (k->token_file == NULL)
		return 0;
	/* A stat per request is the price of noticing a rotated token at
	 * once; the projected volume is tmpfs, so it costs microseconds. */
	if (!force && stat(k->token_file, &st) == 0 &&
	    st.st_ino == k->token_st.st_ino &&
	    st.st_mtim.tv_sec == k->token_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == k->token_st.st_mtim.tv_nsec &&
	    st.st_size == k->token_st.st_size)
		return 0;
	d01_error_clear(&err);
	/* stat first: a swap between the two makes the next stat differ,
	 * and the re-read then finds the same token: harmless. */
	if ((force && stat(k->token_file, &st) != 0) ||
	    d01_file_read(k->token_file, TOKEN_MAX, &buf, &len, &err) !=
		D01_OK) {
		d01_log(D01_LOG_WARN, "kube_token_unreadable", "msg=%s",
		    d01_log_quote(qm, sizeof(qm),
			err.msg[0] ? err.msg : strerror(errno)));
		return -1;
	}
	while (len > 0 &&
	    (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
		buf[len - 1] == ' '))
		buf[--len] = '\0';
	k->token_st = st;
	if (len == 0 || strpbrk(buf, "\r\n") != NULL) {
		d01_log(D01_LOG_WARN, "kube_token_unusable",
		    "file=%s reason=\"empty or several lines\"",
		    d01_log_quote(qp, sizeof(qp), k->token_file));
		wipe_free(buf);
		return -1;
	}
	if (k->token != NULL && strcmp(k->token, buf) == 0) {
		wipe_free(buf);
		return 0;
	}
	if (k->token != NULL)
		d01_log(D01_LOG_INFO, "kube_token_reloaded", "file=%s",
		    d01_log_quote(qp, sizeof(qp), k->token_file));
	wipe_free(k->token);
	k->token = buf;
	return 1;
}

static struct d01_kube *
kube_alloc(struct d01_http *http, struct d01_error *err)
{
	struct d01_kube *k = calloc(1, sizeof(*k));

	if (k == NULL)
		d01_error_set(err, D01_E_NOMEM, "out of memory");
	else
		k->http = http;
	return k;
}

struct d01_kube *
d01_kube_from_kubeconfig(struct d01_http *http, const char *buf, size_t len,
    const char *dir, struct d01_error *err)
{
	struct d01_kube *k = kube_alloc(http, err);

	if (k != NULL &&
	    d01_kube_config_kubeconfig(k, buf, len, dir, err) != D01_OK) {
		d01_kube_free(k);
		k = NULL;
	}
	return k;
}

struct d01_kube *
d01_kube_new(struct d01_http *http, const char *kubeconfig, const char *sa_dir,
    struct d01_error *err)
{
	struct d01_kube *k;
	char *buf = NULL, *dir = NULL, *slash;
	size_t len;

	if (kubeconfig == NULL) {
		if ((k = kube_alloc(http, err)) != NULL &&
		    d01_kube_config_incluster(k, sa_dir, err) != D01_OK) {
			d01_kube_free(k);
			k = NULL;
		}
		return k;
	}
	if (d01_file_read(kubeconfig, D01_KUBE_FILE_MAX, &buf, &len, err) !=
	    D01_OK) {
		err->code = D01_E_CONFIG; /* not "no cluster": a bad flag */
		return NULL;
	}
	if ((dir = strdup(kubeconfig)) == NULL) {
		wipe_free(buf);
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	else
		dir[0] = '\0';
	k = d01_kube_from_kubeconfig(http, buf, len, dir, err);
	if (k == NULL)
		d01_error_prefix(err, "%s: ", kubeconfig);
	OPENSSL_cleanse(buf, len);
	free(buf);
	free(dir);
	return k;
}

void
d01_kube_free(struct d01_kube *k)
{
	if (k == NULL)
		return;
	free(k->server);
	free(k->ns);
	free(k->ca_pem);
	wipe_free(k->cert_pem);
	wipe_free(k->key_pem);
	wipe_free(k->basic);
	wipe_free(k->token);
	free(k->token_file);
	free(k);
}

const char *
d01_kube_server(const struct d01_kube *k)
{
	return k->server;
}

struct event_base *
d01_kube_base(const struct d01_kube *k)
{
	return d01_http_base(k->http);
}

const char *
d01_kube_namespace(const struct d01_kube *k)
{
	return k->ns;
}

int
d01_kube_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			c == '-' || c == '.'))
			return 0;
	}
	return name[0] != '-' && name[0] != '.' && name[n - 1] != '-' &&
	    name[n - 1] != '.';
}

static enum d01_err
status_code(long status)
{
	switch (status) {
	case 401:
		return D01_E_AUTH;
	case 403:
		return D01_E_FORBIDDEN;
	case 404:
		return D01_E_NOTFOUND;
	case 409:
		return D01_E_CONFLICT;
	case 429:
		return D01_E_RATELIMIT;
	default:
		return D01_E_UPSTREAM;
	}
}

/* A Status reply as an error; the message is the server's, made printable
 * and bounded (it names objects and users, never Secret values). */
void
d01_kube_status_error(
    struct d01_error *err, const struct d01_http_response *resp)
{
	json_t *st = json_loadb(resp->body, resp->len, 0, NULL);
	const char *msg = json_string_value(json_object_get(st, "message"));
	const char *reason = json_string_value(json_object_get(st, "reason"));
	char clean[300];
	size_t i;

	snprintf(clean, sizeof(clean), "%s", msg ? msg : "");
	for (i = 0; clean[i] != '\0'; i++)
		if ((unsigned char)clean[i] < 0x20 || clean[i] == 0x7f)
			clean[i] = ' ';
	if (clean[0] != '\0')
		d01_error_set(err, status_code(resp->status), "HTTP %ld %s: %s",
		    resp->status,
		    reason ? reason : d01_http_reason((int)resp->status),
		    clean);
	else
		d01_error_set(err, status_code(resp->status), "HTTP %ld %s",
		    resp->status,
		    reason ? reason : d01_http_reason((int)resp->status));
	err->status = resp->status;
	err->retryable = resp->status == 429 || resp->status >= 500;
	json_decref(st);
}

static void call_done(void *arg, const struct d01_error *herr,
    const struct d01_http_response *resp);

int
d01_kube_prepare(struct d01_kube *k, const char *path,
    struct d01_http_request *req, char **url, char **auth,
    struct d01_error *err)
{
	size_t alen;

	*url = *auth = NULL;
	if ((*url = malloc(strlen(k->server) + strlen(path) + 1)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return -1;
	}
	sprintf(*url, "%s%s", k->server, path);
	d01_kube_token_refresh(k, 0);
	if (k->token != NULL || k->basic != NULL) {
		alen = strlen(k->token ? k->token : k->basic) + 32;
		if ((*auth = malloc(alen)) == NULL) {
			free(*url);
			*url = NULL;
			d01_error_set(err, D01_E_NOMEM, "out of memory");
			return -1;
		}
		snprintf(*auth, alen, "Authorization: %s %s",
		    k->token ? "Bearer" : "Basic",
		    k->token ? k->token : k->basic);
	}
	req->url = *url;
	req->ca_pem = k->ca_pem;
	req->client_cert_pem = k->cert_pem;
	req->client_key_pem = k->key_pem;
	req->insecure = k->insecure;
	return 0;
}

void
d01_kube_wipe_free(char *p)
{
	wipe_free(p);
}

static int
call_send(struct d01_kube_call *c, struct d01_error *err)
{
	struct d01_kube *k = c->k;
	struct d01_http_request req = {0};
	const char *headers[4];
	char *url, *auth;
	size_t n = 0;
	int rc = -1;

	if (d01_kube_prepare(k, c->path, &req, &url, &auth, err) != 0)
		return -1;
	if (auth != NULL)
		headers[n++] = auth;
	headers[n++] = "Accept: application/json";
	if (c->body != NULL)
		headers[n++] = "Content-Type: application/json";
	headers[n] = NULL;
	req.method = c->method;
	req.headers = headers;
	req.body = c->body;
	req.body_len = c->body != NULL ? strlen(c->body) : 0;
	req.timeout_ms =
	    c->budget_ms < KUBE_TIMEOUT_MS ? c->budget_ms : KUBE_TIMEOUT_MS;
	req.budget_ms = c->budget_ms;
	req.max_attempts = 3;
	req.max_response = KUBE_MAX_BODY;
	if ((c->hc = d01_http_start(k->http, &req, call_done, c, err)) != NULL)
		rc = 0;
	wipe_free(auth);
	free(url);
	return rc;
}

static void
call_free(struct d01_kube_call *c)
{
	free(c->path);
	free(c->body);
	free(c);
}

static void
call_done(void *arg, const struct d01_error *herr,
    const struct d01_http_response *resp)
{
	struct d01_kube_call *c = arg;
	struct d01_error err;
	json_t *obj = NULL;

	c->hc = NULL;
	d01_error_clear(&err);
	if (resp == NULL) {
		err = *herr;
	} else if (resp->status == 401 && !c->retried &&
	    d01_kube_token_refresh(c->k, 1) == 1) {
		/* Rotated since we read it: once more with the new one. */
		c->retried = 1;
		if (call_send(c, &err) == 0)
			return;
	} else if (resp->status < 200 || resp->status > 299) {
		d01_kube_status_error(&err, resp);
	} else if ((obj = json_loadb(resp->body, resp->len, 0, NULL)) == NULL ||
	    !json_is_object(obj)) {
		d01_error_set(&err, D01_E_PROTOCOL,
		    "HTTP %ld with a body that is not a JSON object",
		    resp->status);
	}
	if (err.code != D01_OK)
		d01_error_prefix(&err, "%s %s: ", c->method, c->path);
	c->cb(c->arg, &err, err.code == D01_OK ? obj : NULL);
	json_decref(obj);
	call_free(c);
}

struct d01_kube_call *
d01_kube_request(struct d01_kube *k, const char *path, const json_t *body,
    d01_kube_fn cb, void *arg, struct d01_error *err)
{
	return d01_kube_request_ex(k, body != NULL ? "POST" : "GET", path, body,
	    KUBE_BUDGET_MS, cb, arg, err);
}

struct d01_kube_call *
d01_kube_request_ex(struct d01_kube *k, const char *method, const char *path,
    const json_t *body, long budget_ms, d01_kube_fn cb, void *arg,
    struct d01_error *err)
{
	struct d01_kube_call *c;

	if (strlen(method) >= sizeof(c->method)) {
		d01_error_set(err, D01_E_INTERNAL, "bad method");
		return NULL;
	}

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL ||
	    (body != NULL &&
		(c->body = json_dumps(body, JSON_COMPACT)) == NULL)) {
		if (c != NULL)
			call_free(c);
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	c->k = k;
	c->cb = cb;
	c->arg = arg;
	snprintf(c->method, sizeof(c->method), "%s", method);
	/* Never above the default: a webhook call waits for it. */
	c->budget_ms = budget_ms > 0 && budget_ms < KUBE_BUDGET_MS
	    ? budget_ms
	    : KUBE_BUDGET_MS;
	if (call_send(c, err) != 0) {
		call_free(c);
		return NULL;
	}
	return c;
}

void
d01_kube_cancel(struct d01_kube_call *c)
{
	if (c == NULL)
		return;
	d01_http_cancel(c->hc);
	call_free(c);
}
