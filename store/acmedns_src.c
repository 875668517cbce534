/* SPDX-License-Identifier: ISC */
/*
 * Reading an acme-dns database (acmedns_src.h). Both engines hand rows to
 * the same two collectors, so what is carried over and what is refused
 * does not depend on where the rows came from.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "core/secret.h"
#include "core/text.h"
#include "store/acmedns_src.h"

static void
note(struct d01_acmedns_src *src, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	char *dup;

	src->skipped++;
	if (src->nwhy >= D01_ACMEDNS_SRC_MAXWHY)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if ((dup = strdup(line)) != NULL)
		src->why[src->nwhy++] = dup;
}

/* One lower-case label; acme-dns makes UUIDs and lower-cases on lookup. */
static int
label_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

int
d01_acmedns_src_check_acct(const struct d01_recstore_acct *a, const char **why)
{
	json_t *j, *v;
	size_t i;

	if (!label_ok(a->username))
		return *why = "username is not one lower-case DNS label", -1;
	if (!label_ok(a->subdomain))
		return *why = "subdomain is not one lower-case DNS label", -1;
	/* bcrypt, as acme-dns writes it ($2a$), or another $2?$ variant. */
	if (strlen(a->hash) < 59 || strlen(a->hash) > 128 ||
	    strncmp(a->hash, "$2", 2) != 0 || a->hash[3] != '$')
		return *why = "password is not a bcrypt hash", -1;
	j = json_loads(a->allowfrom, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_array(j)) {
		json_decref(j);
		return *why = "allowfrom is not a JSON array", -1;
	}
	json_array_foreach(j, i, v) if (!json_is_string(v))
	{
		json_decref(j);
		return *why = "allowfrom holds a non-string", -1;
	}
	json_decref(j);
	return 0;
}

/* acme-dns hands the hash to its driver as bytes; a PostgreSQL text
 * column may show them as bytea hex ("\x2432..."). */
static char *
hash_text(const char *raw)
{
	size_t n = strlen(raw), i;
	char *out;

	if (n < 4 || raw[0] != '\\' || raw[1] != 'x' || n % 2 != 0)
		return strdup(raw);
	if ((out = malloc((n - 2) / 2 + 1)) == NULL)
		return NULL;
	for (i = 0; 2 + 2 * i < n; i++) {
		unsigned int b;

		if (sscanf(raw + 2 + 2 * i, "%2x", &b) != 1 || b == 0) {
			free(out);
			return strdup(raw);
		}
		out[i] = (char)b;
	}
	out[i] = '\0';
	return out;
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static enum d01_err
take_acct(struct d01_acmedns_src *src, const char *user, const char *hash,
    const char *sub, const char *afrom, size_t *cap, struct d01_error *err)
{
	struct d01_recstore_acct a = {0}, *grown;
	const char *why;
	char *u = NULL, *h = NULL, *s = NULL, *f = NULL;
	enum d01_err rc = D01_OK;

	u = strdup(user);
	h = hash_text(hash);
	s = strdup(sub);
	f = strdup(afrom != NULL && *afrom != '\0' ? afrom : "[]");
	if (u == NULL || h == NULL || s == NULL || f == NULL)
		goto nomem;
	lower(u);
	lower(s);
	a.username = u;
	a.hash = h;
	a.subdomain = s;
	a.allowfrom = f;
	if (d01_acmedns_src_check_acct(&a, &why) != 0) {
		char name[80];

		d01_clean_copy(name, sizeof(name), u);
		note(src, "account %s: %s", name, why);
		goto drop;
	}
	if (src->naccts == *cap) {
		size_t n = *cap != 0 ? *cap * 2 : 64;

		if ((grown = realloc(src->accts, n * sizeof(*grown))) == NULL)
			goto nomem;
		src->accts = grown;
		*cap = n;
	}
	src->accts[src->naccts++] = a;
	return D01_OK;
nomem:
	rc = d01_error_set(err, D01_E_NOMEM, "out of memory");
drop:
	free(u);
	d01_secret_wipe(&h);
	free(s);
	free(f);
	return rc;
}

static int
txt_ok(const char *v)
{
	size_t i;

	if (strlen(v) != 43)
		return 0;
	for (i = 0; i < 43; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') ||
			(v[i] >= 'A' && v[i] <= 'Z') ||
			(v[i] >= '0' && v[i] <= '9') || v[i] == '-' ||
			v[i] == '_'))
			return 0;
	return 1;
}

static enum d01_err
take_value(struct d01_acmedns_src *src, const char *sub, const char *value,
    int64_t updated, size_t *cap, struct d01_error *err)
{
	struct d01_acmedns_value *grown;
	char *s, *v;

	if (value == NULL || *value == '\0')
		return D01_OK; /* a slot acme-dns made but never wrote */
	if (!txt_ok(value)) {
		char name[80];

		d01_clean_copy(name, sizeof(name), sub);
		note(src, "txt of %s: not 43 bytes of base64url", name);
		return D01_OK;
	}
	if (src->nvalues == *cap) {
		size_t n = *cap != 0 ? *cap * 2 : 64;

		if ((grown = realloc(src->values, n * sizeof(*grown))) == NULL)
			return d01_error_set(err, D01_E_NOMEM, "out of memory");
		src->values = grown;
		*cap = n;
	}
	s = strdup(sub);
	v = strdup(value);
	if (s == NULL || v == NULL) {
		free(s);
		free(v);
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	}
	lower(s);
	src->values[src->nvalues].subdomain = s;
	src->values[src->nvalues].value = v;
	src->values[src->nvalues].updated = updated;
	src->nvalues++;
	return D01_OK;
}

static const char q_accts[] =
    "SELECT Username, Password, Subdomain, AllowFrom FROM records";
static const char q_txt[] = "SELECT Subdomain, Value, LastUpdate FROM txt";

static const char *
col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? (const char *)t : "";
}

static enum d01_err
read_sqlite(
    const char *path, struct d01_acmedns_src *src, struct d01_error *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t ca = 0, cv = 0, rows = 0;
	int rc;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		d01_error_set(err, D01_E_CONFIG, "acme-dns database %s: %s",
		    path, db != NULL ? sqlite3_errmsg(db) : "cannot open");
		goto out;
	}
	if (sqlite3_prepare_v2(db, q_accts, -1, &st, NULL) != SQLITE_OK)
		goto sqlerr;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (++rows > D01_ACMEDNS_SRC_MAXROWS)
			goto toomany;
		if (take_acct(src, col(st, 0), col(st, 1), col(st, 2),
			col(st, 3), &ca, err) != D01_OK)
			goto out;
	}
	if (rc != SQLITE_DONE)
		goto sqlerr;
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, q_txt, -1, &st, NULL) != SQLITE_OK)
		goto sqlerr;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (++rows > D01_ACMEDNS_SRC_MAXROWS)
			goto toomany;
		if (take_value(src, col(st, 0), col(st, 1),
			sqlite3_column_int64(st, 2), &cv, err) != D01_OK)
			goto out;
	}
	if (rc != SQLITE_DONE)
		goto sqlerr;
	goto out;
toomany:
	d01_error_set(err, D01_E_LIMIT,
	    "acme-dns database %s: more than %d rows", path,
	    D01_ACMEDNS_SRC_MAXROWS);
	goto out;
sqlerr:
	d01_error_set(err, D01_E_CONFIG,
	    "acme-dns database %s: %s (is it an acme-dns database?)", path,
	    sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return err->code;
}

static enum d01_err
pg_query(PGconn *c, const char *q, PGresult **res, struct d01_error *err)
{
	*res = PQexec(c, q);
	if (PQresultStatus(*res) == PGRES_TUPLES_OK)
		return D01_OK;
	d01_error_set(err, D01_E_CONFIG,
	    "acme-dns database (postgres): %s (is it an acme-dns database?)",
	    PQresultErrorMessage(*res));
	return err->code;
}

static enum d01_err
read_pg(const char *url, struct d01_acmedns_src *src, struct d01_error *err)
{
	PGconn *c = PQconnectdb(url);
	PGresult *res = NULL;
	size_t ca = 0, cv = 0;
	int i, n;

	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		/* libpq's message names host and user, not the password. */
		d01_error_set(err, D01_E_CONFIG,
		    "acme-dns database (postgres): %s",
		    c != NULL ? PQerrorMessage(c) : "out of memory");
		goto out;
	}
	if (pg_query(c, q_accts, &res, err) != D01_OK)
		goto out;
	n = PQntuples(res);
	if (n > D01_ACMEDNS_SRC_MAXROWS)
		goto toomany;
	for (i = 0; i < n; i++)
		if (take_acct(src, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
			PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), &ca,
			err) != D01_OK)
			goto out;
	PQclear(res);
	if (pg_query(c, q_txt, &res, err) != D01_OK)
		goto out;
	n = PQntuples(res);
	if (n > D01_ACMEDNS_SRC_MAXROWS)
		goto toomany;
	for (i = 0; i < n; i++)
		if (take_value(src, PQgetvalue(res, i, 0),
			PQgetvalue(res, i, 1),
			strtoll(PQgetvalue(res, i, 2), NULL, 10), &cv,
			err) != D01_OK)
			goto out;
	goto out;
toomany:
	d01_error_set(err, D01_E_LIMIT,
	    "acme-dns database (postgres): more than %d rows",
	    D01_ACMEDNS_SRC_MAXROWS);
out:
	PQclear(res);
	PQfinish(c);
	return err->code;
}

enum d01_err
d01_acmedns_src_read(
    const char *url, struct d01_acmedns_src *src, struct d01_error *err)
{
	memset(src, 0, sizeof(*src));
	d01_error_clear(err);
	if ((src->why = calloc(D01_ACMEDNS_SRC_MAXWHY, sizeof(char *))) == NULL)
		return d01_error_set(err, D01_E_NOMEM, "out of memory");
	if (strncmp(url, "sqlite:", 7) == 0)
		return read_sqlite(url + 7, src, err);
	if (strncmp(url, "postgres://", 11) == 0 ||
	    strncmp(url, "postgresql://", 13) == 0)
		return read_pg(url, src, err);
	return d01_error_set(
	    err, D01_E_CONFIG, "--from must be sqlite:PATH or postgres://...");
}

void
d01_acmedns_src_free(struct d01_acmedns_src *src)
{
	size_t i;

	for (i = 0; i < src->naccts; i++) {
		char *h = (char *)src->accts[i].hash;

		free((char *)src->accts[i].username);
		d01_secret_wipe(&h);
		free((char *)src->accts[i].subdomain);
		free((char *)src->accts[i].allowfrom);
	}
	free(src->accts);
	for (i = 0; i < src->nvalues; i++) {
		free(src->values[i].subdomain);
		free(src->values[i].value);
	}
	free(src->values);
	for (i = 0; i < src->nwhy; i++)
		free(src->why[i]);
	free(src->why);
	memset(src, 0, sizeof(*src));
}
