/* SPDX-License-Identifier: ISC */
/* TSIG key files and UPDATE grants; see tsigkeys.h. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/dname.h"
#include "core/file.h"
#include "providers/embedded/tsigkeys.h"

enum grant_kind { GRANT_ZONESUB, GRANT_NAME, GRANT_SUBDOMAIN };

struct grant {
	size_t key; /* index in keys: they may move while files load */
	enum grant_kind kind;
	char name[D01_DNAME_BUF]; /* GRANT_NAME, GRANT_SUBDOMAIN */
};

struct d01_keyring {
	struct d01_tsig_key *keys;
	size_t nkeys, capkeys;
	struct grant *grants;
	size_t ngrants, capgrants;
};

struct d01_keyring *
d01_keyring_new(void)
{
	return calloc(1, sizeof(struct d01_keyring));
}

void
d01_keyring_free(struct d01_keyring *kr)
{
	size_t i;

	if (kr == NULL)
		return;
	for (i = 0; i < kr->nkeys; i++)
		d01_tsig_key_clear(&kr->keys[i]);
	free(kr->keys);
	free(kr->grants);
	free(kr);
}

size_t
d01_keyring_count(const struct d01_keyring *kr)
{
	return kr != NULL ? kr->nkeys : 0;
}

const struct d01_tsig_key *
d01_keyring_find(const struct d01_keyring *kr, const char *name)
{
	char norm[D01_DNAME_BUF];
	size_t i;

	if (kr == NULL || name == NULL ||
	    d01_dname_normalise(norm, sizeof(norm), name) != 0)
		return NULL;
	for (i = 0; i < kr->nkeys; i++)
		if (strcmp(kr->keys[i].name, norm) == 0)
			return &kr->keys[i];
	return NULL;
}

/* The tokenizer: words, "strings", { } ; and comments, counting lines. */
enum tok { T_END, T_WORD, T_STRING, T_OPEN, T_CLOSE, T_SEMI, T_BAD };

struct lex {
	const char *p, *end;
	const char *file;
	unsigned line;
	char text[D01_KEYRING_MAX_SECRET + 1]; /* the last word or string */
	size_t len;
	int bad; /* the last token was T_BAD */
};

/* Skip blanks and comments; -1 on an unterminated C comment. */
static int
skip(struct lex *lx)
{
	while (lx->p < lx->end) {
		char c = *lx->p;

		if (c == '\n')
			lx->line++;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			lx->p++;
		} else if (c == '#' ||
		    (c == '/' && lx->p + 1 < lx->end && lx->p[1] == '/')) {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else if (c == '/' && lx->p + 1 < lx->end && lx->p[1] == '*') {
			for (lx->p += 2;; lx->p++) {
				if (lx->p + 1 >= lx->end)
					return -1;
				if (*lx->p == '\n')
					lx->line++;
				if (lx->p[0] == '*' && lx->p[1] == '/')
					break;
			}
			lx->p += 2;
		} else {
			break;
		}
	}
	return 0;
}

static enum tok
next_raw(struct lex *lx)
{
	const char *s;

	lx->len = 0;
	lx->text[0] = '\0';
	if (skip(lx) != 0)
		return T_BAD;
	if (lx->p >= lx->end)
		return T_END;
	switch (*lx->p) {
	case '{':
		lx->p++;
		return T_OPEN;
	case '}':
		lx->p++;
		return T_CLOSE;
	case ';':
		lx->p++;
		return T_SEMI;
	case '"':
		for (s = ++lx->p; lx->p < lx->end && *lx->p != '"'; lx->p++)
			if (*lx->p == '\n' || *lx->p == '\\' || *lx->p == '\0')
				return T_BAD;
		if (lx->p >= lx->end || (size_t)(lx->p - s) >= sizeof(lx->text))
			return T_BAD;
		lx->len = (size_t)(lx->p - s);
		memcpy(lx->text, s, lx->len);
		lx->text[lx->len] = '\0';
		lx->p++;
		return T_STRING;
	default:
		for (s = lx->p; lx->p < lx->end; lx->p++)
			if (strchr(" \t\r\n{};\"#", *lx->p) != NULL ||
			    *lx->p == '\0')
				break;
		if (lx->p == s || (size_t)(lx->p - s) >= sizeof(lx->text))
			return T_BAD;
		lx->len = (size_t)(lx->p - s);
		memcpy(lx->text, s, lx->len);
		lx->text[lx->len] = '\0';
		return T_WORD;
	}
}

static enum tok
next(struct lex *lx)
{
	enum tok t = next_raw(lx);

	lx->bad = t == T_BAD;
	return t;
}

/* Every message names FILE:LINE and never the text read (secrets). */
static enum d01_err
syntax(struct lex *lx, struct d01_error *err, const char *what)
{
	OPENSSL_cleanse(lx->text, sizeof(lx->text));
	if (lx->bad)
		what = "unterminated string or comment, or a token too long";
	return d01_error_set(
	    err, D01_E_CONFIG, "%.200s:%u: %s", lx->file, lx->line, what);
}

static enum d01_err
add_key(struct d01_keyring *kr, const char *name, const char *alg,
    const char *secret, struct d01_error *err)
{
	struct d01_tsig_key k, *nk;
	size_t cap;

	if (d01_tsig_key_init(&k, name, alg, secret, err) != D01_OK)
		return err->code;
	if (d01_keyring_find(kr, k.name) != NULL) {
		d01_error_set(
		    err, D01_E_CONFIG, "key %s is defined twice", k.name);
		goto fail;
	}
	if (kr->nkeys == D01_KEYRING_MAX_KEYS) {
		d01_error_set(err, D01_E_CONFIG, "more than %d TSIG keys",
		    D01_KEYRING_MAX_KEYS);
		goto fail;
	}
	if (kr->nkeys == kr->capkeys) {
		cap = kr->capkeys ? kr->capkeys * 2 : 8;
		if ((nk = realloc(kr->keys, cap * sizeof(*nk))) == NULL) {
			d01_error_set(err, D01_E_NOMEM, "out of memory");
			goto fail;
		}
		kr->keys = nk;
		kr->capkeys = cap;
	}
	kr->keys[kr->nkeys++] = k;
	return D01_OK;
fail:
	d01_tsig_key_clear(&k);
	return err->code;
}

/* The body of `key NAME { ... };` after the opening brace. */
static enum d01_err
parse_key(struct d01_keyring *kr, struct lex *lx, const char *name,
    struct d01_error *err)
{
	char alg[64] = "", *secret = NULL;
	unsigned line = lx->line;
	enum d01_err rc;
	enum tok t;
	int is_alg;

	for (;;) {
		t = next(lx);
		if (t == T_CLOSE)
			break;
		if (t != T_WORD ||
		    (strcmp(lx->text, "algorithm") != 0 &&
			strcmp(lx->text, "secret") != 0)) {
			rc = syntax(lx, err,
			    "expected 'algorithm', 'secret' or '}' in a key "
			    "block");
			goto out;
		}
		is_alg = strcmp(lx->text, "algorithm") == 0;
		if ((is_alg ? alg[0] != '\0' : secret != NULL)) {
			rc = syntax(lx, err, "algorithm or secret given twice");
			goto out;
		}
		t = next(lx);
		if ((t != T_WORD && t != T_STRING) || lx->len == 0 ||
		    (is_alg && lx->len >= sizeof(alg))) {
			rc = syntax(lx, err,
			    is_alg ? "expected an algorithm name"
				   : "expected a quoted base64 secret");
			goto out;
		}
		if (is_alg)
			memcpy(alg, lx->text, lx->len + 1);
		else if ((secret = strdup(lx->text)) == NULL) {
			rc = d01_error_set(err, D01_E_NOMEM, "out of memory");
			goto out;
		}
		OPENSSL_cleanse(lx->text, sizeof(lx->text));
		if (next(lx) != T_SEMI) {
			rc = syntax(lx, err,
			    is_alg ? "expected ';' after the algorithm"
				   : "expected ';' after the secret");
			goto out;
		}
	}
	if (next(lx) != T_SEMI) {
		rc = syntax(lx, err, "expected ';' after the key block");
		goto out;
	}
	if (alg[0] == '\0' || secret == NULL) {
		rc = d01_error_set(err, D01_E_CONFIG,
		    "%.200s:%u: key %.255s needs both algorithm and secret",
		    lx->file, line, name);
		goto out;
	}
	/* BIND requires the algorithm; no default here either. */
	if ((rc = add_key(kr, name, alg, secret, err)) != D01_OK)
		d01_error_prefix(err, "%.200s:%u: ", lx->file, line);
out:
	if (secret != NULL) {
		OPENSSL_cleanse(secret, strlen(secret));
		free(secret);
	}
	return rc;
}

enum d01_err
d01_keyring_parse(struct d01_keyring *kr, const char *text, size_t len,
    const char *file, struct d01_error *err)
{
	struct lex lx = {.p = text, .end = text + len, .file = file, .line = 1};
	char name[D01_DNAME_BUF];
	size_t before = kr->nkeys;
	enum d01_err rc = D01_OK;
	enum tok t;

	while ((t = next(&lx)) != T_END) {
		if (t != T_WORD || strcmp(lx.text, "key") != 0) {
			rc = syntax(&lx, err, "expected 'key'");
			break;
		}
		t = next(&lx);
		if ((t != T_STRING && t != T_WORD) || lx.len >= sizeof(name) ||
		    lx.len == 0) {
			rc = syntax(&lx, err, "expected a key name");
			break;
		}
		memcpy(name, lx.text, lx.len + 1);
		if (next(&lx) != T_OPEN) {
			rc =
			    syntax(&lx, err, "expected '{' after the key name");
			break;
		}
		if ((rc = parse_key(kr, &lx, name, err)) != D01_OK)
			break;
	}
	if (rc == D01_OK && kr->nkeys == before)
		rc = d01_error_set(
		    err, D01_E_CONFIG, "%.200s: no key in the file", file);
	if (rc != D01_OK)
		while (kr->nkeys > before)
			d01_tsig_key_clear(&kr->keys[--kr->nkeys]);
	OPENSSL_cleanse(lx.text, sizeof(lx.text));
	return rc;
}

enum d01_err
d01_keyring_load(
    struct d01_keyring *kr, const char *path, struct d01_error *err)
{
	char *text = NULL;
	size_t len = 0;
	enum d01_err rc;

	if ((rc = d01_file_read(
		 path, D01_KEYRING_MAX_FILE, &text, &len, err)) != D01_OK) {
		d01_error_prefix(err, "--tsig-keyfile: ");
		return rc;
	}
	rc = d01_keyring_parse(kr, text, len, path, err);
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

enum d01_err
d01_keyring_grant(
    struct d01_keyring *kr, const char *spec, struct d01_error *err)
{
	const char *eq = strchr(spec, '='), *what;
	const struct d01_tsig_key *k;
	char kname[D01_DNAME_BUF + 1];
	struct grant g = {0};
	struct grant *ng;
	size_t n, cap;

	if (eq == NULL || eq == spec || (size_t)(eq - spec) >= sizeof(kname))
		return d01_error_set(err, D01_E_CONFIG,
		    "--update-policy %.300s: expected KEY=zonesub, "
		    "KEY=name:FQDN or KEY=subdomain:FQDN",
		    spec);
	n = (size_t)(eq - spec);
	memcpy(kname, spec, n);
	kname[n] = '\0';
	if ((k = d01_keyring_find(kr, kname)) == NULL)
		return d01_error_set(err, D01_E_CONFIG,
		    "--update-policy %.300s: no --tsig-keyfile defines key "
		    "%.255s",
		    spec, kname);
	g.key = (size_t)(k - kr->keys);
	what = eq + 1;
	if (strcmp(what, "zonesub") == 0) {
		g.kind = GRANT_ZONESUB;
	} else if (strncmp(what, "name:", 5) == 0 ||
	    strncmp(what, "subdomain:", 10) == 0) {
		g.kind = what[0] == 'n' ? GRANT_NAME : GRANT_SUBDOMAIN;
		what = strchr(what, ':') + 1;
		if (d01_dname_normalise(g.name, sizeof(g.name), what) != 0)
			return d01_error_set(err, D01_E_CONFIG,
			    "--update-policy %.300s: %.255s is not a valid "
			    "name",
			    spec, what);
	} else {
		return d01_error_set(err, D01_E_CONFIG,
		    "--update-policy %.300s: expected zonesub, name:FQDN or "
		    "subdomain:FQDN after '='",
		    spec);
	}
	if (kr->ngrants == D01_KEYRING_MAX_GRANTS)
		return d01_error_set(err, D01_E_CONFIG,
		    "more than %d --update-policy grants",
		    D01_KEYRING_MAX_GRANTS);
	if (kr->ngrants == kr->capgrants) {
		cap = kr->capgrants ? kr->capgrants * 2 : 8;
		if ((ng = realloc(kr->grants, cap * sizeof(*ng))) == NULL)
			return d01_error_set(err, D01_E_NOMEM, "out of memory");
		kr->grants = ng;
		kr->capgrants = cap;
	}
	kr->grants[kr->ngrants++] = g;
	return D01_OK;
}

int
d01_keyring_allows(const struct d01_keyring *kr, const struct d01_tsig_key *k,
    const char *zone, const char *fqdn)
{
	const struct grant *g;
	size_t i;

	if (kr == NULL || k == NULL || !d01_dname_in_zone(fqdn, zone))
		return 0;
	for (i = 0; i < kr->ngrants; i++) {
		g = &kr->grants[i];
		if (&kr->keys[g->key] != k)
			continue;
		if (g->kind == GRANT_ZONESUB ||
		    (g->kind == GRANT_NAME && strcmp(g->name, fqdn) == 0) ||
		    (g->kind == GRANT_SUBDOMAIN &&
			d01_dname_in_zone(fqdn, g->name)))
			return 1;
	}
	return 0;
}
