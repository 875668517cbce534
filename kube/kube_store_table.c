/* SPDX-License-Identifier: ISC */
/*
 * The mirror's table (kube_store_int.h): objects by the digest their name
 * carries, parsed from the API's JSON, and put into or taken out of the
 * local DNS store through the sink. No I/O; list and watch, which feed it,
 * are in kube_store.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "kube/kube_store_int.h"

int64_t
ks_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- the table of objects, by name ---------------------------------- */

/* The id is a SHA-256 digest (checked against the object's content
 * before an entry exists): its first bytes are already uniform. */
static size_t
ks_hash(const unsigned char *id)
{
	return ((size_t)id[0] << 8 | id[1]) & (KS_NBUCKETS - 1);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
ks_name_id(const char *name, unsigned char id[KS_ID_LEN])
{
	size_t i;
	int hi, lo;

	if (strncmp(name, "txt-", 4) != 0 || strlen(name) != 4 + 2 * KS_ID_LEN)
		return -1;
	for (i = 0; i < KS_ID_LEN; i++) {
		if ((hi = hexval(name[4 + 2 * i])) < 0 ||
		    (lo = hexval(name[5 + 2 * i])) < 0)
			return -1;
		id[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

void
ks_id_name(const unsigned char id[KS_ID_LEN], char out[KS_NAME_MAX])
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	memcpy(out, "txt-", 4);
	for (i = 0; i < KS_ID_LEN; i++) {
		out[4 + 2 * i] = hex[id[i] >> 4];
		out[5 + 2 * i] = hex[id[i] & 15];
	}
	out[4 + 2 * KS_ID_LEN] = '\0';
}

struct ks_entry *
ks_find(struct ks_table *t, const unsigned char *id)
{
	struct ks_entry *e;

	for (e = t->b[ks_hash(id)]; e != NULL; e = e->next)
		if (memcmp(e->id, id, KS_ID_LEN) == 0)
			return e;
	return NULL;
}

void
ks_put(struct ks_table *t, struct ks_entry *e)
{
	size_t h = ks_hash(e->id);

	e->next = t->b[h];
	t->b[h] = e;
	t->n++;
}

void
ks_del(struct ks_table *t, struct ks_entry *e)
{
	struct ks_entry **pp = &t->b[ks_hash(e->id)];

	for (; *pp != NULL; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			t->n--;
			return;
		}
}

void
ks_entry_free(struct ks_entry *e)
{
	if (e == NULL)
		return;
	if (!e->held)
		free((char *)e->fqdn); /* value is in the same allocation */
	free(e);
}

void
ks_table_free(struct ks_table *t)
{
	struct ks_entry *e, *n;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < KS_NBUCKETS; i++)
		for (e = t->b[i]; e != NULL; e = n) {
			n = e->next;
			ks_entry_free(e);
		}
	free(t);
}

struct ks_entry *
ks_entry_new(const char *name, const char *fqdn, const char *value,
    int64_t created_ms, uint64_t rv)
{
	struct ks_entry *e;
	size_t fl = strlen(fqdn), vl = strlen(value);
	char *text;

	if (fl > 1024 || vl > 1024 || (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if (ks_name_id(name, e->id) != 0 ||
	    (text = malloc(fl + vl + 2)) == NULL) {
		free(e);
		return NULL;
	}
	memcpy(text, fqdn, fl + 1);
	memcpy(text + fl + 1, value, vl + 1);
	e->fqdn = text;
	e->value = text + fl + 1;
	e->created_ms = created_ms;
	e->rv = rv;
	return e;
}

/* Put e's value into the local store; from now on e points at the
 * store's copy and its own text is gone. */
enum d01_err
ks_hold(struct d01_kube_store *s, struct ks_entry *e, struct d01_error *err)
{
	struct d01_recstore_held h = {NULL, NULL};
	enum d01_err rc;

	if (e->held)
		return D01_OK;
	if ((rc = s->sink.add(s->sink.ctx, e->fqdn, e->value, &h, err)) !=
	    D01_OK)
		return rc;
	free((char *)e->fqdn);
	e->fqdn = h.fqdn;
	e->value = h.value;
	e->held = 1;
	return D01_OK;
}

/* "2026-12-07T06:50:21.123Z" (the fraction optional) in ms; -1 if not. */
static int64_t
parse_time_ms(const char *t)
{
	struct tm tm;
	int ms = 0, n = 0, len = 0;
	const char *p;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL ||
	    sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
		&tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return -1;
	p = t + n;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, len++)
			if (len < 3)
				ms = ms * 10 + (*p - '0');
		for (; len < 3; len++)
			ms *= 10;
	}
	if (strcmp(p, "Z") != 0)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

uint64_t
ks_parse_rv(const char *rv)
{
	char *end;
	unsigned long long v;

	if (rv == NULL || *rv == '\0')
		return 0;
	v = strtoull(rv, &end, 10);
	return *end == '\0' ? (uint64_t)v : 0;
}

/* An object of ours as an entry, or NULL when it is malformed, for a zone
 * this replica does not serve, or named otherwise than its content says
 * (so one value is always one object, and a delete by name removes
 * exactly the value it names). */
struct ks_entry *
ks_entry_parse(struct d01_kube_store *s, json_t *obj)
{
	json_t *md = json_object_get(obj, "metadata");
	json_t *spec = json_object_get(obj, "spec");
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *rv =
	    json_string_value(json_object_get(md, "resourceVersion"));
	const char *zone = json_string_value(json_object_get(spec, "zone"));
	const char *fqdn = json_string_value(json_object_get(spec, "name"));
	const char *value = json_string_value(json_object_get(spec, "value"));
	const char *served;
	char want[KS_NAME_MAX];
	size_t vlen;
	int64_t created;

	if (name == NULL || zone == NULL || fqdn == NULL || value == NULL)
		return NULL;
	vlen = strlen(value);
	if (vlen == 0 || vlen > 255 || strlen(fqdn) > 255)
		return NULL;
	served = s->sink.zone_of(s->sink.ctx, fqdn);
	if (served == NULL || strcmp(served, zone) != 0)
		return NULL;
	ks_object_name(zone, fqdn, value, want);
	if (strcmp(want, name) != 0)
		return NULL;
	created =
	    parse_time_ms(json_string_value(json_object_get(spec, "created")));
	if (created < 0)
		created = ks_wall_ms(); /* unknown: its age counts from now */
	return ks_entry_new(name, fqdn, value, created, ks_parse_rv(rv));
}

void
ks_observe_convergence(struct d01_kube_store *s, const struct ks_entry *e)
{
	double d = (double)(ks_wall_ms() - e->created_ms) / 1000.0;
	size_t i;

	if (d < 0)
		d = 0; /* clocks a little apart */
	s->st.conv_count++;
	s->st.conv_sum_s += d;
	for (i = 0; i < D01_KSTORE_NBUCKETS; i++)
		if (d <= d01_kstore_buckets[i])
			s->st.conv_le[i]++;
}

/* Put an entry (taken) into the mirror and the local store; `fresh`:
 * seen from the API, so its convergence delay counts. */
void
ks_apply_entry(struct d01_kube_store *s, struct ks_entry *e, int fresh)
{
	struct ks_entry *old = ks_find(s->t, e->id);
	struct d01_error err;
	char name[KS_NAME_MAX];

	if (old != NULL) {
		if (e->rv > old->rv)
			old->rv = e->rv;
		ks_entry_free(e);
		return;
	}
	if (s->t->n >= D01_KSTORE_MAX_OBJS || ks_hold(s, e, &err) != D01_OK) {
		ks_id_name(e->id, name);
		d01_log(D01_LOG_WARN, "kstore_skip",
		    "object=%s msg=\"not held locally: the local store is "
		    "full\"",
		    name);
		ks_entry_free(e);
		return;
	}
	if (fresh)
		ks_observe_convergence(s, e);
	ks_put(s->t, e);
}

void
ks_remove_local(struct d01_kube_store *s, const char *name)
{
	unsigned char id[KS_ID_LEN];
	struct ks_entry *e;
	struct d01_error err;

	if (ks_name_id(name, id) != 0 || (e = ks_find(s->t, id)) == NULL)
		return;
	ks_del(s->t, e);
	if (e->held)
		s->sink.remove(s->sink.ctx, e->fqdn, e->value, &err);
	ks_entry_free(e);
}
