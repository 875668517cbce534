/* SPDX-License-Identifier: ISC */
/*
 * In-memory TXT sets for the embedded zones.
 *
 * Every owner name with values, and every name between such a name and its
 * zone apex, is a node in one hash table. A node counts the value-holding
 * names strictly below it (`below`), so "does this name exist" (NXDOMAIN vs
 * NODATA for an empty non-terminal) is one lookup instead of a scan; a node
 * with no values and nothing below is removed at once, so memory follows
 * what is presented, never what was asked.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/dname.h"
#include "providers/embedded/store.h"

struct node {
	struct node *next; /* hash chain */
	uint32_t hash;
	uint32_t below;	      /* value-holding names strictly below */
	uint8_t nvalues, cap; /* <= D01_STORE_MAX_VALUES */
	/* A name holds one value almost always and a replica mirrors
	 * 10,000s of names: one value sits in the node (cap 1: `one`, and
	 * values() hands out its address), more in an array grown on
	 * demand. A value's string never moves while it is held (callers
	 * keep references, d01_txtstore_add_ref). */
	union {
		char *one;
		char **arr;
	} v;
	char name[]; /* in the same allocation; never moves either */
};

/* The node's values as an array (the inline one for cap <= 1). */
static char **
node_values(struct node *n)
{
	return n->cap <= 1 ? &n->v.one : n->v.arr;
}

struct zone {
	struct d01_txtzone pub;
	char *name, *ns, *hostmaster;
};

struct d01_txtstore {
	struct node **buckets;
	size_t nbuckets; /* power of two */
	size_t nnodes;
	size_t nnames; /* nodes with values */
	struct zone zones[D01_STORE_MAX_ZONES];
	size_t nzones;
	/* Serials and the change hook (d01_txtstore_set_clock/on_change). */
	const struct d01_clock *clock;
	int64_t tick0; /* serial time at mono 0, in hundredths of a second */
	d01_txtstore_change_fn on_change;
	void *on_change_arg;
};

/* 2020-01-01T00:00:00Z: serial time counts hundredths of a second from
 * it (store.h says why). */
#define SERIAL_EPOCH 1577836800

/* The serial time now: wall clock at set_clock, then the monotonic
 * clock, so a wall-clock step back during a run cannot lower it. */
static uint32_t
serial_now(const struct d01_txtstore *s)
{
	return (uint32_t)(s->tick0 + d01_clock_mono_ms(s->clock) / 10);
}

static void
changed(struct d01_txtstore *s, struct zone *z)
{
	uint32_t next = z->pub.serial + 1, t;

	if (s->clock != NULL && d01_serial_gt(t = serial_now(s), next))
		next = t;
	z->pub.serial = next;
	if (s->on_change != NULL)
		s->on_change(s->on_change_arg, &z->pub);
}

static uint32_t
hash_name(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct d01_txtstore *
d01_txtstore_new(void)
{
	struct d01_txtstore *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->nbuckets = 64;
	if ((s->buckets = calloc(s->nbuckets, sizeof(*s->buckets))) == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

static void
node_free(struct node *n)
{
	size_t i;

	char **v = node_values(n);

	for (i = 0; i < n->nvalues; i++)
		free(v[i]);
	if (n->cap > 1)
		free(n->v.arr);
	free(n);
}

void
d01_txtstore_clear(struct d01_txtstore *s)
{
	size_t i;
	struct node *n, *next;

	for (i = 0; i < s->nbuckets; i++) {
		for (n = s->buckets[i]; n != NULL; n = next) {
			next = n->next;
			node_free(n);
		}
		s->buckets[i] = NULL;
	}
	s->nnodes = s->nnames = 0;
	for (i = 0; i < s->nzones; i++)
		changed(s, &s->zones[i]);
}

void
d01_txtstore_free(struct d01_txtstore *s)
{
	size_t i;

	if (s == NULL)
		return;
	s->on_change = NULL; /* going away is no change to announce */
	d01_txtstore_clear(s);
	for (i = 0; i < s->nzones; i++) {
		free(s->zones[i].name);
		free(s->zones[i].ns);
		free(s->zones[i].hostmaster);
	}
	free(s->buckets);
	free(s);
}

enum d01_err
d01_txtstore_add_zone(struct d01_txtstore *s, const char *zone, const char *ns,
    struct d01_error *err)
{
	char name[256], nsname[256], rname[256];
	struct zone *z;
	size_t i;

	if (d01_dname_normalise(name, sizeof(name), zone) != 0)
		return d01_error_set(err, D01_E_CONFIG,
		    "embedded zone %.255s: not a valid DNS name", zone);
	/* Room for the derived "ns." and "hostmaster." owner names. */
	if (strlen(name) > 240)
		return d01_error_set(err, D01_E_CONFIG,
		    "embedded zone %.255s: name too long", name);
	if (ns == NULL) {
		snprintf(nsname, sizeof(nsname), "ns.%.240s", name);
	} else if (d01_dname_normalise(nsname, sizeof(nsname), ns) != 0) {
		return d01_error_set(err, D01_E_CONFIG,
		    "embedded zone %s: NS name %.255s is not valid", name, ns);
	}
	for (i = 0; i < s->nzones; i++)
		if (strcmp(s->zones[i].name, name) == 0)
			return d01_error_set(err, D01_E_CONFIG,
			    "embedded zone %s given twice", name);
	if (s->nzones == D01_STORE_MAX_ZONES)
		return d01_error_set(err, D01_E_LIMIT,
		    "more than %d embedded zones", D01_STORE_MAX_ZONES);
	snprintf(rname, sizeof(rname), "hostmaster.%.240s", name);
	z = &s->zones[s->nzones];
	z->name = strdup(name);
	z->ns = strdup(nsname);
	z->hostmaster = strdup(rname);
	if (z->name == NULL || z->ns == NULL || z->hostmaster == NULL) {
		free(z->name);
		free(z->ns);
		free(z->hostmaster);
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	}
	z->pub.name = z->name;
	z->pub.ns = z->ns;
	z->pub.hostmaster = z->hostmaster;
	z->pub.serial = s->clock != NULL ? serial_now(s) : 1;
	s->nzones++;
	return D01_OK;
}

size_t
d01_txtstore_zone_count(const struct d01_txtstore *s)
{
	return s->nzones;
}

const struct d01_txtzone *
d01_txtstore_zone(const struct d01_txtstore *s, size_t i)
{
	return i < s->nzones ? &s->zones[i].pub : NULL;
}

static struct zone *
find_zone(const struct d01_txtstore *s, const char *name)
{
	struct zone *best = NULL;
	size_t i;

	for (i = 0; i < s->nzones; i++) {
		struct zone *z = (struct zone *)&s->zones[i];

		if (d01_dname_in_zone(name, z->name) &&
		    (best == NULL || strlen(z->name) > strlen(best->name)))
			best = z;
	}
	return best;
}

const struct d01_txtzone *
d01_txtstore_find_zone(const struct d01_txtstore *s, const char *name)
{
	struct zone *z = find_zone(s, name);

	return z != NULL ? &z->pub : NULL;
}

static struct node *
node_get(const struct d01_txtstore *s, const char *name)
{
	uint32_t h = hash_name(name);
	struct node *n;

	for (n = s->buckets[h & (s->nbuckets - 1)]; n != NULL; n = n->next)
		if (n->hash == h && strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

/* Double the table when it gets full; on allocation failure keep going
 * with longer chains rather than failing the caller. */
static void
table_grow(struct d01_txtstore *s)
{
	size_t nb = s->nbuckets * 2, i;
	struct node **b, *n, *next;

	if ((b = calloc(nb, sizeof(*b))) == NULL)
		return;
	for (i = 0; i < s->nbuckets; i++)
		for (n = s->buckets[i]; n != NULL; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = nb;
}

static struct node *
node_add(struct d01_txtstore *s, const char *name)
{
	struct node *n;
	size_t slot;

	size_t len = strlen(name);

	if ((n = calloc(1, sizeof(*n) + len + 1)) == NULL)
		return NULL;
	memcpy(n->name, name, len + 1);
	/* Chains of two on average: a DNS lookup stays a few compares and
	 * the bucket array costs 4 bytes per node instead of 8 or more. */
	if (s->nnodes >= 2 * s->nbuckets)
		table_grow(s);
	n->hash = hash_name(name);
	slot = n->hash & (s->nbuckets - 1);
	n->next = s->buckets[slot];
	s->buckets[slot] = n;
	s->nnodes++;
	return n;
}

static void
node_unlink(struct d01_txtstore *s, struct node *victim)
{
	struct node **pp = &s->buckets[victim->hash & (s->nbuckets - 1)];

	while (*pp != victim)
		pp = &(*pp)->next;
	*pp = victim->next;
	s->nnodes--;
	node_free(victim);
}

/* The parent of an absolute name ("a.b." -> "b."), or NULL for the root. */
static const char *
name_parent(const char *name)
{
	const char *dot = strchr(name, '.');

	return (dot == NULL || dot[1] == '\0') ? NULL : dot + 1;
}

/*
 * Adjust `below` by delta on every ancestor of `name` up to and including
 * the apex, creating missing ancestors (delta > 0) or dropping ones that
 * became empty (delta < 0). Returns -1 only when a creation failed, after
 * undoing what it did.
 */
static int
ancestors_adjust(
    struct d01_txtstore *s, const char *name, const char *apex, int delta)
{
	const char *p = name;
	struct node *n;

	while (strcmp(p, apex) != 0 && (p = name_parent(p)) != NULL) {
		if ((n = node_get(s, p)) == NULL) {
			if (delta < 0 || (n = node_add(s, p)) == NULL) {
				if (delta > 0)
					ancestors_adjust(s, name, p, -1);
				return delta > 0 ? -1 : 0;
			}
		}
		n->below = delta > 0 ? n->below + 1 : n->below - 1;
		if (n->below == 0 && n->nvalues == 0)
			node_unlink(s, n);
	}
	return 0;
}

/* Room for one more value at n: the inline slot, then an array doubled
 * up to D01_STORE_MAX_VALUES. */
static int
node_reserve(struct node *n)
{
	size_t cap;
	char **v;

	if (n->nvalues < n->cap)
		return 0;
	if (n->cap == 0) { /* a new name, or an empty non-terminal */
		n->cap = 1;
		return 0;
	}
	cap = n->cap * 2 > D01_STORE_MAX_VALUES ? D01_STORE_MAX_VALUES
						: n->cap * 2;
	if (n->cap == 1) {
		if ((v = malloc(cap * sizeof(*v))) == NULL)
			return -1;
		v[0] = n->v.one;
	} else if ((v = realloc(n->v.arr, cap * sizeof(*v))) == NULL) {
		return -1;
	}
	n->v.arr = v;
	n->cap = (uint8_t)cap;
	return 0;
}

enum d01_err
d01_txtstore_add_ref(struct d01_txtstore *s, const char *fqdn,
    const char *value, const char **fqdn_ref, const char **value_ref,
    struct d01_error *err)
{
	struct zone *z;
	struct node *n;
	char **v, *copy;
	size_t i, vlen = strlen(value);
	int created = 0;

	if (vlen == 0 || vlen > D01_STORE_MAX_VALUE_LEN)
		return d01_error_set(err, D01_E_INVAL,
		    "TXT value must be 1 to %d bytes, got %zu",
		    D01_STORE_MAX_VALUE_LEN, vlen);
	if ((z = find_zone(s, fqdn)) == NULL)
		return d01_error_set(err, D01_E_NOTFOUND,
		    "%.255s is not inside any embedded zone", fqdn);
	if ((n = node_get(s, fqdn)) != NULL) {
		v = node_values(n);
		for (i = 0; i < n->nvalues; i++)
			if (strcmp(v[i], value) == 0) {
				copy = v[i];
				goto held; /* idempotent */
			}
		if (n->nvalues == D01_STORE_MAX_VALUES)
			return d01_error_set(err, D01_E_LIMIT,
			    "%s already holds %d TXT values", fqdn,
			    D01_STORE_MAX_VALUES);
	} else {
		if (s->nnames >= D01_STORE_MAX_NAMES)
			return d01_error_set(err, D01_E_LIMIT,
			    "embedded store holds %d names already",
			    D01_STORE_MAX_NAMES);
		if ((n = node_add(s, fqdn)) == NULL)
			return d01_error_set(err, D01_E_NOMEM, "out of memory");
		created = 1;
	}
	if (node_reserve(n) != 0 || (copy = strdup(value)) == NULL)
		goto nomem;
	/* A name that starts holding values counts once in its ancestors. */
	if (n->nvalues == 0 && ancestors_adjust(s, fqdn, z->name, +1) != 0) {
		free(copy);
		goto nomem;
	}
	node_values(n)[n->nvalues] = copy;
	if (n->nvalues++ == 0)
		s->nnames++;
	changed(s, z);
held:
	if (fqdn_ref != NULL)
		*fqdn_ref = n->name;
	if (value_ref != NULL)
		*value_ref = copy;
	return D01_OK;
nomem:
	if (created)
		node_unlink(s, n);
	return d01_error_set(err, D01_E_NOMEM, "out of memory");
}

enum d01_err
d01_txtstore_add(struct d01_txtstore *s, const char *fqdn, const char *value,
    struct d01_error *err)
{
	return d01_txtstore_add_ref(s, fqdn, value, NULL, NULL, err);
}

enum d01_err
d01_txtstore_remove(struct d01_txtstore *s, const char *fqdn, const char *value,
    struct d01_error *err)
{
	struct zone *z;
	struct node *n;
	char **v;
	size_t i;

	(void)err;
	if ((z = find_zone(s, fqdn)) == NULL || (n = node_get(s, fqdn)) == NULL)
		return D01_OK; /* already gone */
	v = node_values(n);
	for (i = 0; i < n->nvalues; i++)
		if (strcmp(v[i], value) == 0)
			break;
	if (i == n->nvalues)
		return D01_OK;
	free(v[i]);
	/* Keep the order of the remaining values: answers stay stable. */
	memmove(&v[i], &v[i + 1], (n->nvalues - i - 1) * sizeof(v[0]));
	if (--n->nvalues == 0) {
		s->nnames--;
		ancestors_adjust(s, fqdn, z->name, -1);
		if (n->below == 0)
			node_unlink(s, n);
	}
	/* After the change is complete: the hook may read the store. */
	changed(s, z);
	return D01_OK;
}

const char *const *
d01_txtstore_values(const struct d01_txtstore *s, const char *fqdn, size_t *n)
{
	struct node *node = node_get(s, fqdn);

	if (node == NULL || node->nvalues == 0) {
		*n = 0;
		return NULL;
	}
	*n = node->nvalues;
	return (const char *const *)node_values(node);
}

int
d01_txtstore_name_exists(const struct d01_txtstore *s, const char *name)
{
	return node_get(s, name) != NULL;
}

void
d01_txtstore_set_clock(struct d01_txtstore *s, const struct d01_clock *c)
{
	s->clock = c;
	if (c != NULL)
		s->tick0 = (d01_clock_wall_ms(c) - SERIAL_EPOCH * 1000LL) / 10 -
		    d01_clock_mono_ms(c) / 10;
}

void
d01_txtstore_on_change(
    struct d01_txtstore *s, d01_txtstore_change_fn fn, void *arg)
{
	s->on_change = fn;
	s->on_change_arg = arg;
}

int
d01_txtstore_walk(const struct d01_txtstore *s, const struct d01_txtzone *z,
    d01_txtstore_walk_fn fn, void *arg)
{
	const struct zone *owner;
	struct node *n;
	size_t i;
	int rc;

	for (i = 0; i < s->nbuckets; i++)
		for (n = s->buckets[i]; n != NULL; n = n->next) {
			if (n->nvalues == 0)
				continue;
			/* A name in a sub-zone we also serve is the
			 * sub-zone's, not z's. */
			owner = find_zone(s, n->name);
			if (owner == NULL || &owner->pub != z)
				continue;
			if ((rc = fn(arg, n->name,
				 (const char *const *)node_values(n),
				 n->nvalues)) != 0)
				return rc;
		}
	return 0;
}
