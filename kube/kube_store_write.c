/* SPDX-License-Identifier: ISC */
/*
 * Writes to the Kubernetes store (kube_store.h): Present creates the
 * value's object (409 AlreadyExists is success), CleanUp deletes it (404
 * is success), and expiry deletes objects older than the TTL. A write
 * answers only once the API has accepted it and the local store holds
 * the change, so the replica that answered Present already serves it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "core/log.h"
#include "kube/kube.h"
#include "kube/kube_store_int.h"

#define MAX_EXPIRING 16

struct ks_write {
	LIST_ENTRY(ks_write) link;
	struct d01_kube_store *s;
	struct d01_kube_call *call;
	d01_recstore_fn cb; /* NULL: an expiry delete */
	void *arg;
	int present;
	char name[KS_NAME_MAX];
	char *fqdn, *value;
};

static void
hex_digest(const char *a, const char *b, const char *c, char *out, size_t n)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	size_t i;

	/* Separators keep ("a.", "b") and ("a", ".b") apart. */
	if (x == NULL || EVP_DigestInit_ex(x, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(x, a, strlen(a) + 1) != 1 ||
	    (b != NULL && EVP_DigestUpdate(x, b, strlen(b) + 1) != 1) ||
	    (c != NULL && EVP_DigestUpdate(x, c, strlen(c) + 1) != 1) ||
	    EVP_DigestFinal_ex(x, md, &mdlen) != 1)
		memset(md, 0, sizeof(md));
	EVP_MD_CTX_free(x);
	for (i = 0; i < 32 && 2 * i + 2 < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* "txt-" and 52 hex digits (208 bits) of SHA-256(zone, name, value): the
 * same value always gets the same name, so creates are idempotent. */
void
ks_object_name(const char *zone, const char *fqdn, const char *value,
    char out[KS_NAME_MAX])
{
	memcpy(out, "txt-", 4);
	hex_digest(zone, fqdn, value, out + 4, 53);
}

void
ks_zone_label(const char *zone, char out[64])
{
	size_t n = strlen(zone), i;
	int ok = 1;

	if (n > 0 && zone[n - 1] == '.')
		n--;
	for (i = 0; i < n; i++)
		if (!((zone[i] >= 'a' && zone[i] <= 'z') ||
			(zone[i] >= '0' && zone[i] <= '9') || zone[i] == '-' ||
			zone[i] == '.'))
			ok = 0;
	if (ok && n > 0 && n <= 63 && zone[0] != '-' && zone[n - 1] != '-') {
		memcpy(out, zone, n);
		out[n] = '\0';
		return;
	}
	memcpy(out, "h-", 2);
	hex_digest(zone, NULL, NULL, out + 2, 41);
}

static void
write_free(struct ks_write *w)
{
	LIST_REMOVE(w, link);
	free(w->fqdn);
	free(w->value);
	free(w);
}

static void
write_end(struct ks_write *w, const struct d01_error *err)
{
	d01_recstore_fn cb = w->cb;
	void *arg = w->arg;

	write_free(w);
	if (cb != NULL)
		cb(arg, err);
}

static void
create_done(void *arg, const struct d01_error *err, json_t *obj)
{
	struct ks_write *w = arg;
	struct d01_kube_store *s = w->s;
	struct ks_entry *e = NULL;
	struct d01_error e2;

	w->call = NULL;
	d01_error_clear(&e2);
	if (err->code != D01_OK && err->code != D01_E_CONFLICT) {
		e2 = *err;
		d01_error_prefix(
		    &e2, "kubernetes store: creating %s/%s: ", s->ns, w->name);
		write_end(w, &e2);
		return;
	}
	/* Created (or there already): held here at once; its watch event
	 * later finds it and changes nothing. */
	if (obj != NULL)
		e = ks_entry_parse(s, obj);
	if (e == NULL)
		e = ks_entry_new(w->name, w->fqdn, w->value, ks_wall_ms(), 0);
	if (e != NULL)
		ks_apply_entry(s, e, 0);
	if (!s->sink.has(s->sink.ctx, w->fqdn, w->value))
		d01_error_set(&e2, e == NULL ? D01_E_NOMEM : D01_E_LIMIT,
		    "kubernetes store: %s/%s was written but the local store "
		    "cannot hold it",
		    s->ns, w->name);
	write_end(w, &e2);
}

static void
delete_done(void *arg, const struct d01_error *err, json_t *obj)
{
	struct ks_write *w = arg;
	struct d01_kube_store *s = w->s;
	unsigned char id[KS_ID_LEN];
	struct ks_entry *e =
	    ks_name_id(w->name, id) == 0 ? ks_find(s->t, id) : NULL;
	struct d01_error e2;

	(void)obj;
	w->call = NULL;
	d01_error_clear(&e2);
	if (err->code != D01_OK && err->code != D01_E_NOTFOUND) {
		e2 = *err;
		d01_error_prefix(
		    &e2, "kubernetes store: deleting %s/%s: ", s->ns, w->name);
		if (w->cb == NULL && e != NULL)
			e->deleting = 0; /* the next scan tries again */
	} else {
		if (w->cb == NULL)
			s->st.expired++;
		ks_remove_local(s, w->name);
		s->sink.remove(s->sink.ctx, w->fqdn, w->value, &e2);
		d01_error_clear(&e2);
	}
	if (w->cb == NULL) {
		s->expiring--;
		if (e2.code != D01_OK)
			d01_log(D01_LOG_WARN, "kstore_expire", "msg=\"%s\"",
			    e2.msg);
	}
	write_end(w, &e2);
}

static json_t *
object_json(struct d01_kube_store *s, const char *zone, struct ks_write *w)
{
	char zl[64], nh[48], created[40];
	int64_t now = ks_wall_ms();
	time_t secs = (time_t)(now / 1000);
	struct tm tm;

	ks_zone_label(zone, zl);
	hex_digest(w->fqdn, NULL, NULL, nh, 41);
	gmtime_r(&secs, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(created + strlen(created), sizeof(created) - strlen(created),
	    ".%03dZ", (int)(now % 1000));
	return json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s}}, s:{s:s, s:s, "
			 "s:s, s:s, s:s}}",
	    "apiVersion", D01_KSTORE_GROUP "/" D01_KSTORE_VERSION, "kind",
	    D01_KSTORE_KIND, "metadata", "name", w->name, "labels",
	    "dns01.io/zone", zl, "dns01.io/name-hash", nh, "spec", "zone", zone,
	    "name", w->fqdn, "value", w->value, "created", created, "writer",
	    s->writer);
}

static struct ks_write *
write_new(struct d01_kube_store *s, int present, const char *zone,
    const char *fqdn, const char *value)
{
	struct ks_write *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->s = s;
	w->present = present;
	ks_object_name(zone, fqdn, value, w->name);
	if ((w->fqdn = strdup(fqdn)) == NULL ||
	    (w->value = strdup(value)) == NULL) {
		free(w->fqdn);
		free(w);
		return NULL;
	}
	LIST_INSERT_HEAD(&s->writes, w, link);
	return w;
}

static int
write_send(
    struct ks_write *w, const char *zone, long budget_ms, struct d01_error *err)
{
	struct d01_kube_store *s = w->s;
	char path[512];
	json_t *body = NULL;

	if (w->present) {
		if ((body = object_json(s, zone, w)) == NULL) {
			d01_error_set(err, D01_E_NOMEM, "out of memory");
			return -1;
		}
		snprintf(path, sizeof(path), "%s", s->base_path);
	} else {
		snprintf(path, sizeof(path), "%s/%s", s->base_path, w->name);
	}
	w->call = d01_kube_request_ex(s->k, w->present ? "POST" : "DELETE",
	    path, body, budget_ms, w->present ? create_done : delete_done, w,
	    err);
	json_decref(body);
	return w->call != NULL ? 0 : -1;
}

static void *
kstore_start(void *ctx, int present, const char *zone, const char *fqdn,
    const char *value, long budget_ms, d01_recstore_fn cb, void *arg,
    struct d01_error *err)
{
	struct d01_kube_store *s = ctx;
	struct ks_write *w;

	if ((w = write_new(s, present, zone, fqdn, value)) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	w->cb = cb;
	w->arg = arg;
	if (write_send(w, zone, budget_ms, err) != 0) {
		d01_error_prefix(err, "kubernetes store: ");
		write_free(w);
		return NULL;
	}
	return w;
}

static void
kstore_cancel(void *handle)
{
	struct ks_write *w = handle;

	if (w == NULL)
		return;
	d01_kube_cancel(w->call);
	write_free(w);
}

void
d01_kube_store_backend(
    struct d01_kube_store *s, struct d01_recstore_backend *be)
{
	be->start = kstore_start;
	be->acct_start = NULL; /* no acme-dns accounts in TXTRecords */
	be->cancel = kstore_cancel;
	be->ctx = s;
}

/* Delete values older than the TTL, at most MAX_EXPIRING at once; any
 * replica may, and two deleting one object is harmless (404). */
void
ks_expire(struct d01_kube_store *s)
{
	int64_t cutoff = ks_wall_ms() - (int64_t)s->ttl_s * 1000;
	struct d01_error err;
	struct ks_entry *e;
	struct ks_write *w;
	const char *zone;
	char name[KS_NAME_MAX];
	size_t i;

	for (i = 0; i < KS_NBUCKETS && s->expiring < MAX_EXPIRING; i++)
		for (e = s->t->b[i]; e != NULL && s->expiring < MAX_EXPIRING;
		     e = e->next) {
			if (e->deleting || e->created_ms > cutoff)
				continue;
			zone = s->sink.zone_of(s->sink.ctx, e->fqdn);
			if (zone == NULL ||
			    (w = write_new(s, 0, zone, e->fqdn, e->value)) ==
				NULL)
				continue;
			if (write_send(w, zone, 0, &err) != 0) {
				write_free(w);
				continue;
			}
			e->deleting = 1;
			s->expiring++;
			ks_id_name(e->id, name);
			d01_log(D01_LOG_INFO, "kstore_expire",
			    "object=%s/%s age_s=%lld", s->ns, name,
			    (long long)((ks_wall_ms() - e->created_ms) / 1000));
		}
}

void
ks_writes_cancel(struct d01_kube_store *s)
{
	struct ks_write *w;

	while ((w = LIST_FIRST(&s->writes)) != NULL)
		kstore_cancel(w);
}
