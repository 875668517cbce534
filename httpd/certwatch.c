/* SPDX-License-Identifier: ISC */
/* Reload the serving certificate when its files change; see certwatch.h. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "core/log.h"
#include "httpd/certwatch.h"
#include "httpd/tls.h"

#define NFILES 2

/* What identifies one version of a file: a swap changes at least one. */
struct fileid {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	int missing;
};

struct d01_certwatch {
	struct event *timer;
	char *path[NFILES]; /* cert, key */
	int client_certs;
	struct fileid seen[NFILES];
	d01_certwatch_fn fn;
	void *arg;
};

static void
fileid_get(const char *path, struct fileid *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (path == NULL)
		return;
	/* stat() follows the kubelet's ..data symlink to the real file. */
	if (stat(path, &st) != 0) {
		id->missing = 1;
		return;
	}
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime = st.st_mtim;
}

static int
fileid_same(const struct fileid *a, const struct fileid *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec && a->missing == b->missing;
}

static void
certwatch_tick(evutil_socket_t fd, short what, void *arg)
{
	char qm[600], qp[300];
	struct d01_certwatch *w = arg;
	struct fileid now[NFILES];
	struct d01_error err;
	SSL_CTX *ctx;
	int i, changed = 0;

	(void)fd;
	(void)what;
	for (i = 0; i < NFILES; i++) {
		fileid_get(w->path[i], &now[i]);
		changed |= !fileid_same(&now[i], &w->seen[i]);
	}
	if (!changed)
		return;
	/* Remember this version whatever happens: a pair that fails now is
	 * retried when a file changes again, not on every tick. */
	memcpy(w->seen, now, sizeof(now));
	d01_error_clear(&err);
	if ((ctx = d01_tls_server_ctx(
		 w->path[0], w->path[1], w->client_certs, &err)) == NULL) {
		d01_log(D01_LOG_ERR, "tls_reload_failed",
		    "cert=%s reason=%s action=keep_serving_old",
		    d01_log_quote(qp, sizeof(qp), w->path[0]),
		    d01_log_quote(qm, sizeof(qm), err.msg));
		return;
	}
	d01_log(D01_LOG_INFO, "tls_reloaded", "cert=%s",
	    d01_log_quote(qp, sizeof(qp), w->path[0]));
	w->fn(ctx, w->arg);
	SSL_CTX_free(ctx);
}

struct d01_certwatch *
d01_certwatch_new(struct event_base *base, const char *cert, const char *key,
    int client_certs, int interval_ms, d01_certwatch_fn fn, void *arg,
    struct d01_error *err)
{
	struct d01_certwatch *w;
	const char *paths[NFILES] = {cert, key};
	struct timeval tv = {interval_ms / 1000, (interval_ms % 1000) * 1000};
	int i;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		goto nomem;
	for (i = 0; i < NFILES; i++) {
		if (paths[i] != NULL && (w->path[i] = strdup(paths[i])) == NULL)
			goto nomem;
		fileid_get(w->path[i], &w->seen[i]);
	}
	w->client_certs = client_certs;
	w->fn = fn;
	w->arg = arg;
	if ((w->timer = event_new(base, -1, EV_PERSIST, certwatch_tick, w)) ==
		NULL ||
	    event_add(w->timer, &tv) != 0)
		goto nomem;
	return w;
nomem:
	d01_certwatch_free(w);
	d01_error_set(err, D01_E_NOMEM, "certificate watcher: out of memory");
	return NULL;
}

void
d01_certwatch_free(struct d01_certwatch *w)
{
	int i;

	if (w == NULL)
		return;
	if (w->timer != NULL)
		event_free(w->timer);
	for (i = 0; i < NFILES; i++)
		free(w->path[i]);
	free(w);
}
