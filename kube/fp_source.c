/* SPDX-License-Identifier: ISC */
/* Front-proxy trust sources; see fp_source.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "core/file.h"
#include "core/log.h"
#include "kube/fp_source.h"
#include "kube/kube.h"
#include "kube/kube_int.h"

#define CM_PATH                                                                \
	"/api/v1/namespaces/kube-system/configmaps/"                           \
	"extension-apiserver-authentication"

struct d01_fp_source {
	struct event *timer;
	d01_fp_source_fn fn;
	void *arg;
	/* file */
	char *ca_file;
	struct d01_fp_flags flags; /* strings owned */
	struct stat seen;
	/* configmap */
	struct d01_kube *k;
	struct d01_kube_call *call;
	json_t *data; /* last data seen, to skip unchanged reads */
};

static struct d01_fp_trust *
file_trust(struct d01_fp_source *s, struct d01_error *err)
{
	struct d01_fp_trust *t;
	struct stat st;
	char *pem;
	size_t len;

	if (stat(s->ca_file, &st) != 0) {
		d01_error_set(
		    err, D01_E_CONFIG, "%s: %s", s->ca_file, strerror(errno));
		return NULL;
	}
	if (d01_file_read(s->ca_file, D01_KUBE_FILE_MAX, &pem, &len, err) !=
	    D01_OK)
		return NULL;
	s->seen = st;
	t = d01_fp_trust_new(pem, len, s->ca_file, err);
	free(pem);
	if (t == NULL)
		return NULL;
	if ((s->flags.allowed &&
		d01_fp_trust_set_names(
		    t->allowed, &t->nallowed, s->flags.allowed, 0, err)) ||
	    (s->flags.user &&
		d01_fp_trust_set_names(
		    t->user_hdrs, &t->nuser, s->flags.user, 0, err)) ||
	    (s->flags.group &&
		d01_fp_trust_set_names(
		    t->group_hdrs, &t->ngroup, s->flags.group, 0, err)) ||
	    (s->flags.extra &&
		d01_fp_trust_set_names(
		    t->extra_prefixes, &t->nextra, s->flags.extra, 0, err)) ||
	    (s->flags.uid &&
		d01_fp_trust_set_names(
		    t->uid_hdrs, &t->nuid, s->flags.uid, 0, err))) {
		d01_fp_trust_free(t);
		return NULL;
	}
	if (t->nuser == 0) {
		d01_error_set(err, D01_E_CONFIG,
		    "--requestheader-username-headers must name a header");
		d01_fp_trust_free(t);
		return NULL;
	}
	return t;
}

static void
file_tick(evutil_socket_t fd, short what, void *arg)
{
	char qm[600], qp[300];
	struct d01_fp_source *s = arg;
	struct d01_fp_trust *t;
	struct d01_error err;
	struct stat st;

	(void)fd;
	(void)what;
	if (stat(s->ca_file, &st) != 0 ||
	    (st.st_ino == s->seen.st_ino && st.st_size == s->seen.st_size &&
		st.st_mtim.tv_sec == s->seen.st_mtim.tv_sec &&
		st.st_mtim.tv_nsec == s->seen.st_mtim.tv_nsec))
		return;
	d01_error_clear(&err);
	if ((t = file_trust(s, &err)) == NULL) {
		d01_log(D01_LOG_ERR, "requestheader_reload_failed",
		    "file=%s reason=%s action=keep_old",
		    d01_log_quote(qp, sizeof(qp), s->ca_file),
		    d01_log_quote(qm, sizeof(qm), err.msg));
		s->fn(s->arg, NULL, &err);
		return;
	}
	d01_log(D01_LOG_INFO, "requestheader_reloaded", "file=%s",
	    d01_log_quote(qp, sizeof(qp), s->ca_file));
	s->fn(s->arg, t, NULL);
}

static struct d01_fp_source *
source_new(struct event_base *base, int interval_ms, event_callback_fn tick,
    d01_fp_source_fn fn, void *arg)
{
	struct d01_fp_source *s = calloc(1, sizeof(*s));
	struct timeval tv = {interval_ms / 1000, (interval_ms % 1000) * 1000};

	if (s == NULL)
		return NULL;
	s->fn = fn;
	s->arg = arg;
	if ((s->timer = event_new(base, -1, EV_PERSIST, tick, s)) == NULL ||
	    event_add(s->timer, &tv) != 0) {
		d01_fp_source_free(s);
		return NULL;
	}
	return s;
}

struct d01_fp_source *
d01_fp_source_file(struct event_base *base, const char *ca_file,
    const struct d01_fp_flags *flags, int interval_ms, d01_fp_source_fn fn,
    void *arg, struct d01_error *err)
{
	struct d01_fp_source *s;
	struct d01_fp_trust *t;

	if ((s = source_new(base, interval_ms, file_tick, fn, arg)) == NULL ||
	    (s->ca_file = strdup(ca_file)) == NULL ||
	    (flags->allowed && !(s->flags.allowed = strdup(flags->allowed))) ||
	    (flags->user && !(s->flags.user = strdup(flags->user))) ||
	    (flags->group && !(s->flags.group = strdup(flags->group))) ||
	    (flags->extra && !(s->flags.extra = strdup(flags->extra))) ||
	    (flags->uid && !(s->flags.uid = strdup(flags->uid)))) {
		d01_fp_source_free(s);
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	if ((t = file_trust(s, err)) == NULL) {
		d01_fp_source_free(s);
		return NULL;
	}
	fn(arg, t, NULL);
	return s;
}

static void cm_tick(evutil_socket_t fd, short what, void *arg);

static void
cm_read(void *arg, const struct d01_error *kerr, json_t *obj)
{
	struct d01_fp_source *s = arg;
	struct d01_fp_trust *t;
	struct d01_error err;
	json_t *data;

	s->call = NULL;
	if (obj == NULL) {
		err = *kerr;
		d01_error_prefix(&err, "front-proxy trust: ");
		s->fn(s->arg, NULL, &err);
		return;
	}
	data = json_object_get(obj, "data");
	if (s->data != NULL && json_equal(s->data, data))
		return; /* unchanged: keep the trust and its verdicts */
	d01_error_clear(&err);
	if ((t = d01_fp_trust_from_configmap(data, &err)) == NULL) {
		s->fn(s->arg, NULL, &err);
		return;
	}
	json_decref(s->data);
	s->data = json_deep_copy(data);
	d01_log(D01_LOG_INFO, "requestheader_loaded",
	    "source=configmap allowed_names=%zu username_headers=%zu",
	    t->nallowed, t->nuser);
	s->fn(s->arg, t, NULL);
}

static void
cm_tick(evutil_socket_t fd, short what, void *arg)
{
	struct d01_fp_source *s = arg;
	struct d01_error err;

	(void)fd;
	(void)what;
	if (s->call != NULL)
		return; /* the last read is still going */
	d01_error_clear(&err);
	if ((s->call = d01_kube_request(
		 s->k, CM_PATH, NULL, cm_read, s, &err)) == NULL)
		s->fn(s->arg, NULL, &err);
}

struct d01_fp_source *
d01_fp_source_configmap(struct event_base *base, struct d01_kube *k,
    int interval_ms, d01_fp_source_fn fn, void *arg, struct d01_error *err)
{
	struct d01_fp_source *s;

	if ((s = source_new(base, interval_ms, cm_tick, fn, arg)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	s->k = k;
	if ((s->call = d01_kube_request(k, CM_PATH, NULL, cm_read, s, err)) ==
	    NULL) {
		d01_fp_source_free(s);
		return NULL;
	}
	return s;
}

void
d01_fp_source_free(struct d01_fp_source *s)
{
	if (s == NULL)
		return;
	if (s->timer != NULL)
		event_free(s->timer);
	d01_kube_cancel(s->call);
	json_decref(s->data);
	free(s->ca_file);
	free((char *)s->flags.allowed);
	free((char *)s->flags.user);
	free((char *)s->flags.group);
	free((char *)s->flags.extra);
	free((char *)s->flags.uid);
	free(s);
}
