/* SPDX-License-Identifier: ISC */
/* The order state machine (see order.h). */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/pem.h>

#include "core/log.h"
#include "issuer/acme.h"
#include "core/b64url.h"
#include "issuer/csr.h"
#include "issuer/objects.h"
#include "issuer/order.h"
#include "issuer/renew.h"

#define POLL_FIRST_MS 100
#define POLL_MAX_MS   4000

enum ord_state {
	O_NEW = 0,  /* POST newOrder */
	O_AUTHZ,    /* solvers running */
	O_FINALIZE, /* POST the CSR */
	O_WAIT,	    /* timer before the next poll */
	O_POLL,	    /* POST-as-GET the order */
	O_DOWNLOAD, /* POST-as-GET the certificate */
	O_DONE,
	O__MAX
};

struct d01_acme_order_op {
	struct d01_acme *a;
	char **names;
	size_t nnames;
	EVP_PKEY *cert_key;
	char *replaces, *profile;
	long poll_timeout_ms;
	const struct d01_solve_ctx *solve;
	enum ord_state state;
	char *order_url;
	struct d01_acme_order ord;
	struct d01_solver **solvers;
	size_t pending;
	int finalized;
	struct d01_error result;
	struct d01_acme_req *req;
	struct event *timer;
	long poll_ms, retry_after;
	struct timeval deadline;
	char *chain;
	size_t chain_len;
	d01_acme_cert_fn cb;
	void *arg;
};

static void step(struct d01_acme_order_op *op);

void
d01_acme_order_cancel(struct d01_acme_order_op *op)
{
	size_t i;

	if (op == NULL)
		return;
	d01_acme_req_cancel(op->req);
	for (i = 0; op->solvers != NULL && i < op->ord.nauthz; i++)
		d01_solver_cancel(op->solvers[i]);
	free(op->solvers);
	if (op->timer != NULL)
		event_free(op->timer);
	for (i = 0; i < op->nnames; i++)
		free(op->names[i]);
	free(op->names);
	free(op->replaces);
	free(op->profile);
	free(op->order_url);
	free(op->chain);
	d01_acme_order_clear(&op->ord);
	free(op);
}

/* Keep the first real failure (a CANCELLED gives way to the cause). */
static void
fail(struct d01_acme_order_op *op, const struct d01_error *err,
    const char *step_name)
{
	if (op->result.code != D01_OK &&
	    !(op->result.code == D01_E_CANCELLED &&
		err->code != D01_E_CANCELLED))
		return;
	op->result = *err;
	if (step_name != NULL)
		d01_error_prefix(&op->result, "%s: ", step_name);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	step(arg);
}

static void
later(struct d01_acme_order_op *op, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(op->timer, &tv);
}

void
d01_acme_order_abort(struct d01_acme_order_op *op)
{
	struct d01_error err;
	size_t i;

	d01_error_set(&err, D01_E_CANCELLED, "stopped before completion");
	if (op->state == O_DONE)
		return;
	fail(op, &err, NULL);
	if (op->state == O_AUTHZ) {
		/* Solvers clean up and report; the last one moves us on. */
		for (i = 0; i < op->ord.nauthz; i++)
			if (op->solvers[i] != NULL)
				d01_solver_abort(op->solvers[i]);
		return;
	}
	d01_acme_req_cancel(op->req);
	op->req = NULL;
	op->state = O_DONE;
	later(op, 0);
}

int
d01_acme_chain_check(const char *pem, size_t len, EVP_PKEY *key,
    const char *const *names, size_t n, struct d01_error *err)
{
	struct d01_cert_info ci;
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	int ok;

	ok = x != NULL && EVP_PKEY_eq(X509_get0_pubkey(x), key) == 1;
	X509_free(x);
	BIO_free(b);
	if (!ok) {
		d01_error_set(err, D01_E_PROTOCOL,
		    "the certificate does not carry our key");
		return -1;
	}
	if (d01_cert_info_parse(pem, len, &ci, err) != D01_OK)
		return -1;
	ok = d01_names_same((const char *const *)ci.names, ci.nnames, names, n);
	d01_cert_info_clear(&ci);
	if (!ok) {
		d01_error_set(err, D01_E_PROTOCOL,
		    "the certificate's names differ from the order's");
		return -1;
	}
	return 0;
}

static char *
new_order_payload(const struct d01_acme_order_op *op)
{
	json_t *p = json_object(), *ids = json_array();
	char *s = NULL;
	size_t i;

	if (p == NULL || ids == NULL) {
		json_decref(ids);
		goto out;
	}
	for (i = 0; i < op->nnames; i++)
		json_array_append_new(ids,
		    json_pack(
			"{s:s, s:s}", "type", "dns", "value", op->names[i]));
	json_object_set_new(p, "identifiers", ids);
	if (op->replaces != NULL)
		json_object_set_new(p, "replaces", json_string(op->replaces));
	if (op->profile != NULL)
		json_object_set_new(p, "profile", json_string(op->profile));
	s = json_dumps(p, JSON_COMPACT);
out:
	json_decref(p);
	return s;
}

static char *
finalize_payload(const struct d01_acme_order_op *op, struct d01_error *err)
{
	unsigned char *der = NULL;
	char *csr = NULL, *s = NULL;
	json_t *p = NULL;
	size_t len = 0;

	if (d01_csr_make(op->cert_key, (const char *const *)op->names,
		op->nnames, &der, &len, err) != D01_OK)
		return NULL;
	if ((csr = d01_b64url_encode_new(der, len)) == NULL ||
	    (p = json_pack("{s:s}", "csr", csr)) == NULL ||
	    (s = json_dumps(p, JSON_COMPACT)) == NULL)
		d01_error_set(err, D01_E_NOMEM, "out of memory");
	json_decref(p);
	free(csr);
	free(der);
	return s;
}

static void
solver_done(void *arg, const struct d01_error *err, struct d01_solver *s)
{
	struct d01_acme_order_op *op = arg;
	size_t i;
	int first = op->result.code == D01_OK;

	for (i = 0; i < op->ord.nauthz; i++)
		if (op->solvers[i] == s)
			op->solvers[i] = NULL;
	op->pending--;
	if (err->code != D01_OK) {
		fail(op, err, NULL);
		/* One invalid authorization dooms the order: stop the rest
		 * (they clean up first). */
		for (i = 0; first && i < op->ord.nauthz; i++)
			if (op->solvers[i] != NULL)
				d01_solver_abort(op->solvers[i]);
	}
	if (op->pending == 0) {
		op->state = op->result.code == D01_OK ? O_FINALIZE : O_DONE;
		later(op, 0); /* leave the solver's callback first */
	}
}

/* The order object was read (NEW, FINALIZE, POLL): next state. */
static void
order_read(struct d01_acme_order_op *op, const struct d01_acme_resp *r)
{
	struct d01_acme_order o;
	struct d01_error err;

	if (d01_acme_order_parse(r->body, r->len, &o, &err) != D01_OK) {
		fail(op, &err, "order");
		op->state = O_DONE;
		return;
	}
	d01_acme_order_clear(&op->ord);
	op->ord = o;
	op->retry_after = r->retry_after;
	switch (o.status) {
	case D01_ACME_ST_PENDING:
		op->state = op->state == O_NEW ? O_AUTHZ : O_WAIT;
		break;
	case D01_ACME_ST_READY:
		op->state = op->finalized ? O_WAIT : O_FINALIZE;
		break;
	case D01_ACME_ST_PROCESSING:
		op->state = O_WAIT;
		break;
	case D01_ACME_ST_VALID:
		op->state = o.certificate ? O_DOWNLOAD : O_WAIT;
		break;
	default:
		if (o.has_error)
			d01_acme_problem_to_error(&o.error, 0, &err);
		else
			d01_error_set(&err, D01_E_UPSTREAM, "status %s",
			    d01_acme_status_name(o.status));
		fail(op, &err, "order invalid");
		op->state = O_DONE;
	}
}

static void
reply_cb(void *arg, const struct d01_error *err, const struct d01_acme_resp *r)
{
	static const char *const names[O__MAX] = {[O_NEW] = "newOrder",
	    [O_FINALIZE] = "finalize",
	    [O_POLL] = "order",
	    [O_DOWNLOAD] = "certificate"};
	struct d01_acme_order_op *op = arg;
	struct d01_error e;

	op->req = NULL;
	if (err->code != D01_OK) {
		fail(op, err, names[op->state]);
		op->state = O_DONE;
	} else if (op->state == O_DOWNLOAD) {
		if (d01_acme_chain_check(r->body, r->len, op->cert_key,
			(const char *const *)op->names, op->nnames, &e) != 0) {
			fail(op, &e, "certificate");
		} else if ((op->chain = malloc(r->len + 1)) != NULL) {
			memcpy(op->chain, r->body, r->len + 1);
			op->chain_len = r->len;
		} else {
			d01_error_set(&e, D01_E_NOMEM, "out of memory");
			fail(op, &e, "certificate");
		}
		op->state = O_DONE;
	} else {
		if (op->state == O_NEW &&
		    (r->location[0] == '\0' ||
			(op->order_url = strdup(r->location)) == NULL)) {
			d01_error_set(&e, D01_E_PROTOCOL, "no order Location");
			fail(op, &e, "newOrder");
			op->state = O_DONE;
		} else {
			op->finalized |= op->state == O_FINALIZE;
			order_read(op, r);
		}
	}
	step(op);
}

/* Start one solver per authorization; 0 when at least one runs. */
static int
start_solvers(struct d01_acme_order_op *op, struct d01_error *err)
{
	size_t i, n = op->ord.nauthz;

	if ((op->solvers = calloc(n ? n : 1, sizeof(*op->solvers))) == NULL) {
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		op->solvers[i] = d01_solver_start(
		    op->solve, op->ord.authz[i], solver_done, op, err);
		if (op->solvers[i] == NULL) {
			fail(op, err, "authorization");
			break;
		}
		op->pending++;
	}
	if (i < n) /* stop those already running; they report back */
		for (i = 0; i < n; i++)
			if (op->solvers[i] != NULL)
				d01_solver_abort(op->solvers[i]);
	return op->pending > 0 ? 0 : -1;
}

/* Arm the order poll; -1 with err when the deadline has passed. */
static int
arm_poll(struct d01_acme_order_op *op, struct d01_error *err)
{
	struct timeval now, left;
	long ms, left_ms;

	event_base_gettimeofday_cached(op->solve->env->base, &now);
	if (op->poll_ms == 0) {
		op->poll_ms = POLL_FIRST_MS;
		left.tv_sec = op->poll_timeout_ms / 1000;
		left.tv_usec = (op->poll_timeout_ms % 1000) * 1000;
		timeradd(&now, &left, &op->deadline);
	} else if ((op->poll_ms *= 2) > POLL_MAX_MS) {
		op->poll_ms = POLL_MAX_MS;
	}
	ms = op->retry_after >= 0 ? op->retry_after * 1000 : op->poll_ms;
	timersub(&op->deadline, &now, &left);
	left_ms = left.tv_sec * 1000 + left.tv_usec / 1000;
	if (left_ms <= 0) {
		d01_error_set(err, D01_E_TIMEOUT, "still %s after %ld ms",
		    d01_acme_status_name(op->ord.status), op->poll_timeout_ms);
		return -1;
	}
	op->state = O_POLL;
	later(op, ms < left_ms ? ms : left_ms);
	return 0;
}

static void
deliver(struct d01_acme_order_op *op)
{
	d01_acme_cert_fn cb = op->cb;
	void *arg = op->arg;

	if (op->result.code == D01_OK && op->chain == NULL)
		d01_error_set(&op->result, D01_E_INTERNAL, "no certificate");
	cb(arg, &op->result, op->result.code == D01_OK ? op->chain : NULL,
	    op->chain_len);
	d01_acme_order_cancel(op);
}

/* Start the current state's request; synchronous failures end in DONE. */
static void
step(struct d01_acme_order_op *op)
{
	struct d01_error err;
	char *payload = NULL;
	const char *url = NULL, *what = NULL;

	d01_error_clear(&err);
	switch (op->state) {
	case O_NEW:
		payload = new_order_payload(op);
		url = d01_acme_directory(op->a)->new_order;
		what = "newOrder";
		break;
	case O_AUTHZ:
		if (op->ord.nauthz == 0) {
			op->state = O_FINALIZE;
			step(op);
		} else if (start_solvers(op, &err) != 0) {
			op->state = O_DONE;
			step(op);
		}
		return;
	case O_FINALIZE:
		if ((payload = finalize_payload(op, &err)) == NULL) {
			fail(op, &err, "finalize");
			op->state = O_DONE;
			step(op);
			return;
		}
		url = op->ord.finalize;
		what = "finalize";
		break;
	case O_WAIT:
		if (arm_poll(op, &err) == 0)
			return;
		fail(op, &err, "order");
		op->state = O_DONE;
		step(op);
		return;
	case O_POLL:
	case O_DOWNLOAD:
		url = op->state == O_POLL ? op->order_url : op->ord.certificate;
		what = op->state == O_POLL ? "order" : "certificate";
		break;
	case O_DONE:
	case O__MAX:
		deliver(op);
		return;
	}
	if (op->state == O_NEW && payload == NULL)
		d01_error_set(&err, D01_E_NOMEM, "out of memory");
	else
		op->req =
		    d01_acme_post(op->a, url, payload, reply_cb, op, &err);
	free(payload);
	if (op->req == NULL) {
		fail(op, &err, what);
		op->state = O_DONE;
		later(op, 0);
	}
}

struct d01_acme_order_op *
d01_acme_order_start(struct d01_acme *a, const struct d01_acme_order_opts *o,
    d01_acme_cert_fn cb, void *arg, struct d01_error *err)
{
	struct d01_acme_order_op *op;
	char *payload = NULL;

	if (o->nnames == 0 || o->nnames > D01_ACME_NAMES_MAX) {
		d01_error_set(
		    err, D01_E_INVAL, "order: 1-%d names", D01_ACME_NAMES_MAX);
		return NULL;
	}
	if ((op = calloc(1, sizeof(*op))) == NULL ||
	    (op->names = calloc(o->nnames, sizeof(char *))) == NULL ||
	    (op->timer = evtimer_new(o->solve->env->base, timer_cb, op)) ==
		NULL ||
	    (o->replaces && (op->replaces = strdup(o->replaces)) == NULL) ||
	    (o->profile && (op->profile = strdup(o->profile)) == NULL))
		goto nomem;
	for (op->nnames = 0; op->nnames < o->nnames; op->nnames++)
		if ((op->names[op->nnames] = strdup(o->names[op->nnames])) ==
		    NULL)
			goto nomem;
	op->a = a;
	op->cert_key = o->cert_key;
	op->poll_timeout_ms = o->poll_timeout_ms;
	op->solve = o->solve;
	op->cb = cb;
	op->arg = arg;
	op->retry_after = -1;
	d01_error_clear(&op->result);
	/* The first request from here, so that a failure is returned. */
	if ((payload = new_order_payload(op)) == NULL)
		goto nomem;
	op->req = d01_acme_post(
	    a, d01_acme_directory(a)->new_order, payload, reply_cb, op, err);
	free(payload);
	if (op->req == NULL) {
		d01_error_prefix(err, "newOrder: ");
		d01_acme_order_cancel(op);
		return NULL;
	}
	return op;
nomem:
	d01_acme_order_cancel(op);
	d01_error_set(err, D01_E_NOMEM, "out of memory");
	return NULL;
}
