/* SPDX-License-Identifier: ISC */
/*
 * The acme-dns accounts: two hash tables over one set of entries, by
 * username (every update looks one up) and by subdomain (a subdomain has
 * one owner). Keys are server-made labels, but X-Api-User is whatever a
 * client sends: lookups hash it with a per-table random seed, so nobody
 * can aim at one chain.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "providers/embedded/accounts.h"

struct entry {
	struct entry *next_user, *next_sub;
	uint64_t huser, hsub;
	struct d01_recstore_acct pub; /* strings below, one allocation */
	char buf[];
};

struct d01_acctab {
	struct entry **by_user, **by_sub;
	size_t nbuckets; /* power of two */
	size_t count;
	uint64_t seed;
};

/* The hash is a secret's: wipe the strings, not just free them. */
static void
entry_free(struct entry *e)
{
	memset(e->buf, 0,
	    (size_t)(e->pub.hash - e->buf) + strlen(e->pub.hash) + 1);
	free(e);
}

static uint64_t
hash_str(uint64_t seed, const char *s)
{
	uint64_t h = 14695981039346656037ull ^ seed; /* FNV-1a, seeded */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h ^ (h >> 29);
}

struct d01_acctab *
d01_acctab_new(void)
{
	struct d01_acctab *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->nbuckets = 64;
	t->by_user = calloc(t->nbuckets, sizeof(*t->by_user));
	t->by_sub = calloc(t->nbuckets, sizeof(*t->by_sub));
	if (t->by_user == NULL || t->by_sub == NULL ||
	    RAND_bytes((unsigned char *)&t->seed, sizeof(t->seed)) != 1) {
		d01_acctab_free(t);
		return NULL;
	}
	return t;
}

void
d01_acctab_clear(struct d01_acctab *t)
{
	struct entry *e, *next;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nbuckets; i++) {
		for (e = t->by_user[i]; e != NULL; e = next) {
			next = e->next_user;
			entry_free(e);
		}
		t->by_user[i] = t->by_sub[i] = NULL;
	}
	t->count = 0;
}

void
d01_acctab_free(struct d01_acctab *t)
{
	if (t == NULL)
		return;
	if (t->by_user != NULL && t->by_sub != NULL)
		d01_acctab_clear(t);
	free(t->by_user);
	free(t->by_sub);
	free(t);
}

size_t
d01_acctab_count(const struct d01_acctab *t)
{
	return t->count;
}

static struct entry *
find_user(const struct d01_acctab *t, const char *username, uint64_t h)
{
	struct entry *e;

	for (e = t->by_user[h & (t->nbuckets - 1)]; e != NULL; e = e->next_user)
		if (e->huser == h && strcmp(e->pub.username, username) == 0)
			return e;
	return NULL;
}

static struct entry *
find_sub(const struct d01_acctab *t, const char *sub, uint64_t h)
{
	struct entry *e;

	for (e = t->by_sub[h & (t->nbuckets - 1)]; e != NULL; e = e->next_sub)
		if (e->hsub == h && strcmp(e->pub.subdomain, sub) == 0)
			return e;
	return NULL;
}

const struct d01_recstore_acct *
d01_acctab_get(const struct d01_acctab *t, const char *username)
{
	struct entry *e = find_user(t, username, hash_str(t->seed, username));

	return e != NULL ? &e->pub : NULL;
}

const struct d01_recstore_acct *
d01_acctab_by_subdomain(const struct d01_acctab *t, const char *subdomain)
{
	struct entry *e = find_sub(t, subdomain, hash_str(t->seed, subdomain));

	return e != NULL ? &e->pub : NULL;
}

static void
unlink_entry(struct d01_acctab *t, struct entry *x)
{
	struct entry **pp;

	for (pp = &t->by_user[x->huser & (t->nbuckets - 1)]; *pp != x;
	     pp = &(*pp)->next_user)
		;
	*pp = x->next_user;
	for (pp = &t->by_sub[x->hsub & (t->nbuckets - 1)]; *pp != x;
	     pp = &(*pp)->next_sub)
		;
	*pp = x->next_sub;
	t->count--;
}

static void
link_entry(struct d01_acctab *t, struct entry *e)
{
	size_t u = e->huser & (t->nbuckets - 1);
	size_t s = e->hsub & (t->nbuckets - 1);

	e->next_user = t->by_user[u];
	t->by_user[u] = e;
	e->next_sub = t->by_sub[s];
	t->by_sub[s] = e;
	t->count++;
}

/* Double the tables at a load of 1; a failed grow leaves them as they
 * are (longer chains, still correct). */
static void
grow(struct d01_acctab *t)
{
	struct entry **nu, **ns, *e, *next;
	size_t n = t->nbuckets * 2, i;

	if (t->count < t->nbuckets)
		return;
	nu = calloc(n, sizeof(*nu));
	ns = calloc(n, sizeof(*ns));
	if (nu == NULL || ns == NULL) {
		free(nu);
		free(ns);
		return;
	}
	for (i = 0; i < t->nbuckets; i++)
		for (e = t->by_user[i]; e != NULL; e = next) {
			next = e->next_user;
			e->next_user = nu[e->huser & (n - 1)];
			nu[e->huser & (n - 1)] = e;
			e->next_sub = ns[e->hsub & (n - 1)];
			ns[e->hsub & (n - 1)] = e;
		}
	free(t->by_user);
	free(t->by_sub);
	t->by_user = nu;
	t->by_sub = ns;
	t->nbuckets = n;
}

/* One lower-case DNS label of letters, digits and '-' (acme-dns makes
 * UUIDs; an imported database holds nothing else). */
static int
is_label(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > D01_ACCT_LABEL_MAX || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

static char *
put_str(char **p, const char *s)
{
	size_t n = strlen(s) + 1;
	char *at = *p;

	memcpy(at, s, n);
	*p += n;
	return at;
}

enum d01_err
d01_acctab_put(struct d01_acctab *t, const struct d01_recstore_acct *a,
    struct d01_error *err)
{
	struct entry *e, *old, *owner;
	uint64_t hu, hs;
	size_t len;
	char *p;

	if (a->username == NULL || a->hash == NULL || a->subdomain == NULL ||
	    a->allowfrom == NULL || !is_label(a->username) ||
	    !is_label(a->subdomain) || strlen(a->hash) == 0 ||
	    strlen(a->hash) > D01_ACCT_HASH_MAX ||
	    strlen(a->allowfrom) > D01_ACCT_ALLOWFROM_MAX)
		return d01_error_set(err, D01_E_INVAL,
		    "account: username and subdomain must be one lower-case "
		    "DNS label, the hash 1 to %d bytes, allowfrom at most %d",
		    D01_ACCT_HASH_MAX, D01_ACCT_ALLOWFROM_MAX);
	hu = hash_str(t->seed, a->username);
	hs = hash_str(t->seed, a->subdomain);
	old = find_user(t, a->username, hu);
	owner = find_sub(t, a->subdomain, hs);
	if (owner != NULL && owner != old)
		return d01_error_set(err, D01_E_CONFLICT,
		    "account: subdomain %s belongs to another account",
		    a->subdomain);
	if (old == NULL && t->count >= D01_ACCT_MAX)
		return d01_error_set(err, D01_E_LIMIT,
		    "account: %d accounts at most", D01_ACCT_MAX);
	len = strlen(a->username) + strlen(a->hash) + strlen(a->subdomain) +
	    strlen(a->allowfrom) + 4;
	if ((e = calloc(1, sizeof(*e) + len)) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	p = e->buf;
	e->pub.username = put_str(&p, a->username);
	e->pub.subdomain = put_str(&p, a->subdomain);
	e->pub.allowfrom = put_str(&p, a->allowfrom);
	e->pub.hash = put_str(&p, a->hash);
	e->huser = hu;
	e->hsub = hs;
	if (old != NULL) {
		unlink_entry(t, old);
		entry_free(old);
	}
	link_entry(t, e);
	grow(t);
	return D01_OK;
}

void
d01_acctab_remove(struct d01_acctab *t, const char *username)
{
	struct entry *e = find_user(t, username, hash_str(t->seed, username));

	if (e == NULL)
		return;
	unlink_entry(t, e);
	entry_free(e);
}
