/* SPDX-License-Identifier: ISC */
/* Directory + account find-or-create, as a state machine (see account.h). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "core/log.h"
#include "issuer/acme.h"
#include "issuer/account.h"
#include "core/jws.h"
#include "issuer/objects.h"

enum acc_state {
	ACC_DIRECTORY = 0, /* GET the directory */
	ACC_FIND,	   /* newAccount, onlyReturnExisting */
	ACC_CREATE,	   /* newAccount with contact (+ EAB) */
	ACC_DONE,
	ACC__MAX
};

struct d01_acme_account_op {
	struct d01_acme *a;
	enum acc_state state;
	char *directory, *email, *eab_kid;
	unsigned char *eab_key;
	size_t eab_len;
	int key_existed, only_existing;
	struct d01_acme_req *req;
	d01_done_fn cb;
	void *arg;
};

static void step(struct d01_acme_account_op *op, struct d01_error *err);

static void
op_free(struct d01_acme_account_op *op)
{
	d01_acme_req_cancel(op->req);
	free(op->directory);
	free(op->email);
	free(op->eab_kid);
	if (op->eab_key != NULL)
		OPENSSL_cleanse(op->eab_key, op->eab_len);
	free(op->eab_key);
	free(op);
}

void
d01_acme_account_cancel(struct d01_acme_account_op *op)
{
	if (op != NULL)
		op_free(op);
}

static void
finish(struct d01_acme_account_op *op, const struct d01_error *err)
{
	d01_done_fn cb = op->cb;
	void *arg = op->arg;

	op->req = NULL; /* completed: nothing to cancel */
	op_free(op);
	cb(arg, err);
}

/* The newAccount payload for the current state; new string or NULL. */
static char *
account_payload(struct d01_acme_account_op *op, struct d01_error *err)
{
	const struct d01_acme_dir *d = d01_acme_directory(op->a);
	json_t *p = json_object(), *eab;
	char *s = NULL;

	if (p == NULL)
		goto out;
	if (op->state == ACC_FIND) {
		json_object_set_new(p, "onlyReturnExisting", json_true());
	} else {
		json_object_set_new(p, "termsOfServiceAgreed", json_true());
		if (op->email != NULL)
			json_object_set_new(p, "contact",
			    json_pack("[s+]", "mailto:", op->email));
		if (op->eab_kid != NULL) {
			eab = d01_jws_eab(op->eab_kid, op->eab_key, op->eab_len,
			    d01_acme_key(op->a), d->new_account, err);
			if (eab == NULL)
				goto out;
			json_object_set_new(p, "externalAccountBinding", eab);
		}
	}
	s = json_dumps(p, JSON_COMPACT);
out:
	if (s == NULL && err != NULL && err->code == D01_OK)
		d01_error_set(err, D01_E_NOMEM, "out of memory");
	json_decref(p);
	return s;
}

static void
reply_cb(void *arg, const struct d01_error *rerr, const struct d01_acme_resp *r)
{
	struct d01_acme_account_op *op = arg;
	struct d01_error err = *rerr;

	op->req = NULL;
	if (op->state == ACC_DIRECTORY) {
		if (err.code == D01_OK &&
		    d01_acme_set_directory(op->a, r->body, r->len, &err) ==
			D01_OK) {
			op->state = op->key_existed ? ACC_FIND : ACC_CREATE;
		} else {
			d01_error_prefix(&err, "directory %s: ", op->directory);
			op->state = ACC_DONE;
		}
	} else if (op->state == ACC_FIND && err.code == D01_E_NOTFOUND &&
	    op->only_existing) {
		d01_error_prefix(&err, "newAccount: no account for this key: ");
		op->state = ACC_DONE;
	} else if (op->state == ACC_FIND && err.code == D01_E_NOTFOUND) {
		d01_error_clear(&err); /* accountDoesNotExist: create it */
		op->state = ACC_CREATE;
	} else if (err.code != D01_OK) {
		d01_error_prefix(&err, "newAccount: ");
		op->state = ACC_DONE;
	} else if (r->location[0] == '\0' ||
	    d01_acme_account_status(r->body, r->len) != D01_ACME_ST_VALID) {
		d01_error_set(&err, D01_E_PROTOCOL,
		    "newAccount: HTTP %ld without a valid account and Location",
		    r->status);
		op->state = ACC_DONE;
	} else if (d01_acme_set_kid(op->a, r->location) != D01_OK) {
		d01_error_set(&err, D01_E_NOMEM, "out of memory");
		op->state = ACC_DONE;
	} else {
		d01_log(D01_LOG_INFO, "acme-account", "found=%s status=%ld",
		    op->state == ACC_FIND ? "existing" : "created", r->status);
		op->state = ACC_DONE;
	}
	step(op, &err);
}

/* Run the current state: start its request, or finish. */
static void
step(struct d01_acme_account_op *op, struct d01_error *err)
{
	const struct d01_acme_dir *d = d01_acme_directory(op->a);
	char *payload = NULL;

	switch (op->state) {
	case ACC_DIRECTORY:
		op->req = d01_acme_get(op->a, op->directory, reply_cb, op, err);
		break;
	case ACC_FIND:
	case ACC_CREATE:
		if (op->state == ACC_CREATE && d->eab_required &&
		    op->eab_kid == NULL) {
			d01_error_set(err, D01_E_CONFIG,
			    "newAccount: the CA requires external account "
			    "binding (--eab-kid, --eab-hmac-key)");
			break;
		}
		if ((payload = account_payload(op, err)) != NULL)
			op->req = d01_acme_post(
			    op->a, d->new_account, payload, reply_cb, op, err);
		free(payload);
		break;
	case ACC_DONE:
	case ACC__MAX:
		break;
	}
	if (op->req == NULL)
		finish(op, err);
}

struct d01_acme_account_op *
d01_acme_account_start(struct d01_acme *a,
    const struct d01_acme_account_opts *o, d01_done_fn cb, void *arg,
    struct d01_error *err)
{
	struct d01_acme_account_op *op = calloc(1, sizeof(*op));

	if (op == NULL || (op->directory = strdup(o->directory)) == NULL ||
	    (o->email && (op->email = strdup(o->email)) == NULL) ||
	    (o->eab_kid && (op->eab_kid = strdup(o->eab_kid)) == NULL) ||
	    (o->eab_kid && (op->eab_key = malloc(o->eab_len + 1)) == NULL)) {
		if (op != NULL)
			op_free(op);
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	if (op->eab_key != NULL)
		memcpy(op->eab_key, o->eab_key, o->eab_len);
	op->eab_len = o->eab_len;
	op->key_existed = o->key_existed || o->only_existing;
	op->only_existing = o->only_existing;
	op->a = a;
	op->cb = cb;
	op->arg = arg;
	op->req = d01_acme_get(a, op->directory, reply_cb, op, err);
	if (op->req == NULL) {
		op_free(op);
		return NULL;
	}
	return op;
}
