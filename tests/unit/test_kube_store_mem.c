/* SPDX-License-Identifier: ISC */
/*
 * The Kubernetes store's mirror (kube/kube_store_int.h): what a mirrored
 * value costs on top of the local store that serves it, and that the
 * mirror's references into the local store follow adds and removes.
 * Issue 14's goal is 10,000 values in < 4 MiB above idle, mirror and
 * local store together (bench/replicas.py).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "harness.h"
#include "kube/kube_store_int.h"
#include "providers/embedded/store.h"

/* The local store behind a sink, as the embedded provider wires it. */
static enum d01_err
sink_add(void *ctx, const char *fqdn, const char *value,
    struct d01_recstore_held *held, struct d01_error *err)
{
	if (held == NULL)
		return d01_txtstore_add(ctx, fqdn, value, err);
	return d01_txtstore_add_ref(
	    ctx, fqdn, value, &held->fqdn, &held->value, err);
}

static enum d01_err
sink_remove(
    void *ctx, const char *fqdn, const char *value, struct d01_error *err)
{
	return d01_txtstore_remove(ctx, fqdn, value, err);
}

static void
sink_clear(void *ctx)
{
	d01_txtstore_clear(ctx);
}

static const char *
sink_zone_of(void *ctx, const char *fqdn)
{
	const struct d01_txtzone *z = d01_txtstore_find_zone(ctx, fqdn);

	return z != NULL ? z->name : NULL;
}

static struct d01_txtstore *
zone_store(void)
{
	struct d01_txtstore *t = d01_txtstore_new();

	if (t != NULL && d01_txtstore_add_zone(t, "example.test", NULL, NULL))
		return NULL;
	return t;
}

/* A mirror over local store t: only what ks_apply_entry and
 * ks_remove_local use. */
static struct d01_kube_store *
mirror_new(struct d01_txtstore *t)
{
	struct d01_kube_store *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->t = calloc(1, sizeof(*s->t))) == NULL) {
		free(s);
		return NULL;
	}
	s->sink.add = sink_add;
	s->sink.remove = sink_remove;
	s->sink.clear = sink_clear;
	s->sink.zone_of = sink_zone_of;
	s->sink.ctx = t;
	return s;
}

static void
mirror_free(struct d01_kube_store *s)
{
	struct ks_entry *e, *n;
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < KS_NBUCKETS; i++)
		for (e = s->t->b[i]; e != NULL; e = n) {
			n = e->next;
			ks_entry_free(e);
		}
	free(s->t);
	free(s);
}

static void
value_at(int i, char *fqdn, char *val, char *name)
{
	snprintf(fqdn, 64, "_acme-challenge.b%d.example.test.", i);
	snprintf(val, 64, "%-43d", i); /* an ACME digest's size */
	ks_object_name("example.test.", fqdn, val, name);
}

static void
t_references_follow(void)
{
	struct d01_txtstore *t = zone_store();
	struct d01_kube_store *s = NULL;
	char fqdn[64], val[64], name[KS_NAME_MAX], back[KS_NAME_MAX];
	unsigned char id[KS_ID_LEN];
	struct ks_entry *e;
	size_t n;
	int i;

	CHECK(t != NULL);
	CHECK((s = mirror_new(t)) != NULL);
	for (i = 0; i < 3; i++) {
		value_at(i, fqdn, val, name);
		CHECK((e = ks_entry_new(name, fqdn, val, 1, 7)) != NULL);
		ks_apply_entry(s, e, 0);
	}
	/* A second value at one name: the store's array grows, the
	 * references held by the mirror stay put. */
	snprintf(fqdn, sizeof(fqdn), "_acme-challenge.b1.example.test.");
	ks_object_name("example.test.", fqdn, "second", name);
	CHECK((e = ks_entry_new(name, fqdn, "second", 1, 8)) != NULL);
	ks_apply_entry(s, e, 0);
	CHECK_INT(s->t->n, ==, 4);
	value_at(1, fqdn, val, name);
	CHECK(ks_name_id(name, id) == 0);
	ks_id_name(id, back);
	CHECK_STR(back, name);
	CHECK((e = ks_find(s->t, id)) != NULL);
	CHECK(e->held);
	CHECK_STR(e->fqdn, fqdn);
	CHECK_STR(e->value, val);
	CHECK(d01_txtstore_values(t, fqdn, &n) != NULL);
	CHECK_INT(n, ==, 2);
	/* Removing through the mirror removes exactly that value. */
	ks_remove_local(s, name);
	CHECK_INT(s->t->n, ==, 3);
	CHECK(ks_find(s->t, id) == NULL);
	CHECK(d01_txtstore_values(t, fqdn, &n) != NULL);
	CHECK_INT(n, ==, 1);
	CHECK(ks_name_id("txt-XYZ", id) != 0);
	CHECK(ks_name_id("txt-0123456789abcdef0123456789abcdef0123456789abcdef"
			 "012G",
		  id) != 0);
end:
	mirror_free(s);
	d01_txtstore_free(t);
}

/* Heap bytes the mirror adds per value, beyond the local store. */
static void
t_memory_per_value(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
	struct d01_txtstore *t1 = zone_store(), *t2 = zone_store();
	struct d01_kube_store *s = NULL;
	char fqdn[64], val[64], name[KS_NAME_MAX];
	struct mallinfo2 m0, m1, m2;
	struct ks_entry *e;
	size_t both, local, per;
	int i, n = 10000;

	CHECK(t1 != NULL && t2 != NULL);
	CHECK((s = mirror_new(t1)) != NULL);
	m0 = mallinfo2();
	for (i = 0; i < n; i++) {
		value_at(i, fqdn, val, name);
		CHECK((e = ks_entry_new(name, fqdn, val, 1, (uint64_t)i)) !=
		    NULL);
		ks_apply_entry(s, e, 0);
	}
	m1 = mallinfo2();
	for (i = 0; i < n; i++) {
		value_at(i, fqdn, val, name);
		CHECK_INT(d01_txtstore_add(t2, fqdn, val, NULL), ==, D01_OK);
	}
	m2 = mallinfo2();
	CHECK_INT(s->t->n, ==, (size_t)n);
	both = m1.uordblks > m0.uordblks ? m1.uordblks - m0.uordblks : 0;
	local = m2.uordblks > m1.uordblks ? m2.uordblks - m1.uordblks : 0;
	if (both / n < 64 || local / n < 64) {
		/* ASan and valgrind keep their own heaps. */
		printf("# heap counters unavailable: bound not checked\n");
	} else {
		per = both > local ? (both - local) / n : 0;
		printf("# mirror %zu heap bytes per value (local store %zu)\n",
		    per, local / n);
		/* An entry is an 80-byte chunk; the old one (64-byte name,
		 * own fqdn and value) was 208. */
		CHECK_INT(per, <=, 96);
		CHECK_INT(both / n, <, 400);
	}
end:
	mirror_free(s);
	d01_txtstore_free(t1);
	d01_txtstore_free(t2);
#endif
}

int
main(void)
{
	RUN(t_references_follow);
	RUN(t_memory_per_value);
	return harness_done();
}
