/* SPDX-License-Identifier: ISC */
/* Secret references: directory and in-memory back ends; see secret.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "core/secret.h"

struct mem_secret {
	struct mem_secret *next;
	char *ns, *name, *key, *value;
};

struct d01_secrets {
	struct event_base *base;
	char *dir;
	struct mem_secret *mem;
	struct d01_secret_backend be; /* start == NULL: none */
};

struct d01_secret_req {
	struct d01_secrets *s;
	void *be_req; /* a back-end lookup in flight */
	struct event *ev;
	d01_secret_fn cb;
	void *arg;
	struct d01_error err;
	char *value;
	size_t len;
};

/* A Secret's name: an RFC 1123 subdomain, as the API server checks it:
 * dot-separated labels of [a-z0-9-] that start and end alphanumeric. */
static int
secret_name_ok(const char *n, size_t len)
{
	size_t i;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		int alnum = (n[i] >= 'a' && n[i] <= 'z') ||
		    (n[i] >= '0' && n[i] <= '9');
		int edge = i == 0 || i == len - 1 || n[i - 1] == '.' ||
		    n[i + 1] == '.';

		if (alnum || (n[i] == '-' && !edge))
			continue;
		if (n[i] == '.' && i > 0 && i < len - 1 && n[i - 1] != '.')
			continue;
		return 0;
	}
	return 1;
}

/* A key of a Secret's data: [-._a-zA-Z0-9]+, at most 253, not "." or
 * "..", as the API server checks it. */
static int
secret_key_ok(const char *k, size_t len)
{
	size_t i;

	if (len == 0 || len > 253 || strcmp(k, ".") == 0 ||
	    strcmp(k, "..") == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)k[i]) &&
		    strchr("-._", k[i]) == NULL)
			return 0;
	return 1;
}

enum d01_err
d01_secret_ref_parse(const json_t *config, const char *field,
    struct d01_secret_ref *ref, struct d01_error *err)
{
	json_t *o = json_object_get(config, field), *n, *k;

	n = json_object_get(o, "name");
	k = json_object_get(o, "key");
	if (!json_is_object(o) || !json_is_string(n) || !json_is_string(k) ||
	    json_string_length(n) == 0 || json_string_length(k) == 0)
		return d01_error_set(err, D01_E_CONFIG,
		    "%s must be {\"name\": ..., \"key\": ...}", field);
	/* Said here, precisely: otherwise such a reference fails later
	 * as "not found", or with a message about another field. */
	if (!secret_name_ok(json_string_value(n), json_string_length(n)))
		return d01_error_set(err, D01_E_CONFIG,
		    "%s.name is not a valid Secret name (at most 253 "
		    "characters: a-z, 0-9, '-' and '.')",
		    field);
	if (!secret_key_ok(json_string_value(k), json_string_length(k)))
		return d01_error_set(err, D01_E_CONFIG,
		    "%s.key is not a valid Secret key (at most 253 "
		    "characters: a-z, A-Z, 0-9, '-', '_' and '.')",
		    field);
	ref->name = json_string_value(n);
	ref->key = json_string_value(k);
	return D01_OK;
}

struct d01_secrets *
d01_secrets_new(struct event_base *base)
{
	struct d01_secrets *s = calloc(1, sizeof(*s));

	if (s != NULL)
		s->base = base;
	return s;
}

static void
wipe_free(char *p)
{
	if (p != NULL) {
		OPENSSL_cleanse(p, strlen(p));
		free(p);
	}
}

void
d01_secrets_free(struct d01_secrets *s)
{
	struct mem_secret *m, *next;

	if (s == NULL)
		return;
	for (m = s->mem; m != NULL; m = next) {
		next = m->next;
		free(m->ns);
		free(m->name);
		free(m->key);
		wipe_free(m->value);
		free(m);
	}
	free(s->dir);
	free(s);
}

enum d01_err
d01_secrets_set_dir(
    struct d01_secrets *s, const char *dir, struct d01_error *err)
{
	struct stat st;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return d01_error_set(err, D01_E_CONFIG,
		    "secrets directory %.200s: not a directory", dir);
	free(s->dir);
	if ((s->dir = strdup(dir)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	return D01_OK;
}

enum d01_err
d01_secrets_put(struct d01_secrets *s, const char *ns, const char *name,
    const char *key, const char *value, struct d01_error *err)
{
	struct mem_secret *m = calloc(1, sizeof(*m));

	if (m == NULL || (m->ns = strdup(ns)) == NULL ||
	    (m->name = strdup(name)) == NULL ||
	    (m->key = strdup(key)) == NULL ||
	    (m->value = strdup(value)) == NULL) {
		if (m != NULL) {
			free(m->ns);
			free(m->name);
			free(m->key);
			free(m);
		}
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	}
	m->next = s->mem;
	s->mem = m;
	return D01_OK;
}

/*
 * Kubernetes names are DNS subdomains and keys are [-._a-zA-Z0-9]; either
 * way nothing here may walk out of the directory.
 */
static int
component_ok(const char *c)
{
	size_t i, n = strlen(c);

	if (n == 0 || n > 253 || strcmp(c, ".") == 0 || strcmp(c, "..") == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!((c[i] >= 'a' && c[i] <= 'z') ||
			(c[i] >= 'A' && c[i] <= 'Z') ||
			(c[i] >= '0' && c[i] <= '9') || c[i] == '-' ||
			c[i] == '.' || c[i] == '_'))
			return 0;
	return 1;
}

/*
 * Open <dir>/<ns>/<name>/<key> for reading: a regular file, reached by
 * following symlinks (Secret volumes link key -> ..data/key; the
 * components were checked, so the path stays under the directory), and
 * opened non-blocking so a FIFO put there cannot stall the loop.
 */
static int
dir_open(const struct d01_secrets *s, const char *ns,
    const struct d01_secret_ref *ref, struct d01_error *err)
{
	char path[4096];
	struct stat st;
	int fd;

	if (!component_ok(ns) || !component_ok(ref->name) ||
	    !component_ok(ref->key)) {
		d01_error_set(err, D01_E_CONFIG,
		    "secret %.100s/%.100s key %.100s: not a valid reference",
		    ns, ref->name, ref->key);
		return -1;
	}
	snprintf(
	    path, sizeof(path), "%s/%s/%s/%s", s->dir, ns, ref->name, ref->key);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		d01_error_set(err,
		    errno == ENOENT ? D01_E_NOTFOUND : D01_E_FORBIDDEN,
		    "secret %s/%s key %s: %s", ns, ref->name, ref->key,
		    errno == ENOENT ? "not found" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		d01_error_set(err, D01_E_CONFIG,
		    "secret %s/%s key %s: not a regular file", ns, ref->name,
		    ref->key);
		return -1;
	}
	return fd;
}

/*
 * Read the value. A small synchronous read: Secret volumes are tmpfs and
 * the value is bounded, so it cannot stall the loop the way a network
 * lookup would.
 */
static enum d01_err
dir_read(const struct d01_secrets *s, const char *ns,
    const struct d01_secret_ref *ref, char **out, size_t *outlen,
    struct d01_error *err)
{
	char *buf = NULL;
	ssize_t n = 0;
	size_t len = 0;
	int fd;

	if ((fd = dir_open(s, ns, ref, err)) < 0)
		return err->code;
	if ((buf = malloc(D01_SECRET_MAX + 1)) == NULL) {
		close(fd);
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	}
	while (len <= D01_SECRET_MAX &&
	    ((n = read(fd, buf + len, D01_SECRET_MAX + 1 - len)) > 0 ||
		(n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	close(fd);
	if (n < 0 || len > D01_SECRET_MAX) {
		OPENSSL_cleanse(buf, len);
		free(buf);
		return d01_error_set(err, n < 0 ? D01_E_CONFIG : D01_E_LIMIT,
		    "secret %s/%s key %s: %s", ns, ref->name, ref->key,
		    n < 0 ? "cannot be read" : "too large");
	}
	/* `kubectl create secret --from-file` keeps the file's newline. */
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return D01_OK;
}

static void
req_fire(evutil_socket_t fd, short what, void *arg)
{
	struct d01_secret_req *r = arg;

	(void)fd;
	(void)what;
	r->cb(r->arg, &r->err, r->err.code == D01_OK ? r->value : NULL, r->len);
	d01_secret_cancel(r);
}

void
d01_secrets_set_backend(
    struct d01_secrets *s, const struct d01_secret_backend *be)
{
	s->be = *be;
}

/* The back end answered: pass it on, then free the request. */
static void
be_done(void *arg, const struct d01_error *err, const char *value, size_t len)
{
	struct d01_secret_req *r = arg;

	r->be_req = NULL;
	r->cb(r->arg, err, value, len);
	d01_secret_cancel(r);
}

struct d01_secret_req *
d01_secret_get(struct d01_secrets *s, const char *ns,
    const struct d01_secret_ref *ref, d01_secret_fn cb, void *arg,
    struct d01_error *err)
{
	struct d01_secret_req *r;
	struct mem_secret *m;

	if (s == NULL) {
		d01_error_set(err, D01_E_CONFIG,
		    "secret %s/%s: no secret store configured (dns01 serve "
		    "--secrets-dir, or in-cluster credentials)",
		    ns, ref->name);
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->ev = event_new(s->base, -1, 0, req_fire, r)) == NULL) {
		free(r);
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	r->s = s;
	r->cb = cb;
	r->arg = arg;
	d01_error_clear(&r->err);
	for (m = s->mem; m != NULL; m = m->next)
		if (strcmp(m->ns, ns) == 0 && strcmp(m->name, ref->name) == 0 &&
		    strcmp(m->key, ref->key) == 0)
			break;
	if (m != NULL) {
		if ((r->value = strdup(m->value)) == NULL)
			d01_error_set(&r->err, D01_E_NOMEM, "out of memory");
		r->len = r->value != NULL ? strlen(r->value) : 0;
	} else if (s->dir != NULL) {
		dir_read(s, ns, ref, &r->value, &r->len, &r->err);
	} else if (s->be.start != NULL) {
		r->be_req = s->be.start(s->be.ctx, ns, ref, be_done, r, err);
		if (r->be_req == NULL) {
			d01_secret_cancel(r);
			return NULL;
		}
		return r;
	} else if (s->mem != NULL) {
		d01_error_set(&r->err, D01_E_NOTFOUND,
		    "secret %s/%s key %s: not found", ns, ref->name, ref->key);
	} else {
		/* Not "not found": nothing was looked at. */
		d01_error_set(&r->err, D01_E_CONFIG,
		    "secret %s/%s key %s: Secret references have no source "
		    "(no --secrets-dir, and no Kubernetes API: not in a "
		    "cluster, no --kubeconfig)",
		    ns, ref->name, ref->key);
	}
	event_active(r->ev, 0, 0);
	return r;
}

void
d01_secret_cancel(struct d01_secret_req *r)
{
	if (r == NULL)
		return;
	if (r->be_req != NULL)
		r->s->be.cancel(r->be_req);
	event_free(r->ev);
	if (r->value != NULL) {
		OPENSSL_cleanse(r->value, r->len);
		free(r->value);
	}
	free(r);
}

void
d01_secret_wipe(char **p)
{
	if (*p != NULL) {
		OPENSSL_cleanse(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}
