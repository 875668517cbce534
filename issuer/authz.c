/* SPDX-License-Identifier: ISC */
/*
 * The DNS-01 solver of one authorization (see authz.h). At most one of
 * req/pop/chk/timer is pending at any time; step() starts the work of the
 * current state and every completion records its outcome, picks the next
 * state and calls step() again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "core/dname.h"
#include "core/log.h"
#include "issuer/acme.h"
#include "issuer/authz.h"
#include "core/b64url.h"
#include "issuer/objects.h"

#define POLL_FIRST_MS 100
#define POLL_MAX_MS   4000

enum sol_state {
	S_FETCH = 0, /* POST-as-GET the authorization */
	S_PRESENT,   /* provider present */
	S_CHECK,     /* TXT checker */
	S_RESPOND,   /* POST {} to the challenge */
	S_WAIT,	     /* timer before the next poll */
	S_POLL,	     /* POST-as-GET the authorization */
	S_CLEANUP,   /* provider cleanup */
	S_DONE,	     /* deliver */
	S__MAX
};

struct d01_solver {
	const struct d01_solve_ctx *ctx;
	char *url;
	struct d01_acme_authz az;
	char fqdn[D01_DNAME_BUF];
	char value[44];
	enum sol_state state;
	int touched; /* present was started: cleanup is owed */
	struct d01_error result;
	long poll_ms, retry_after;
	struct timeval poll_deadline;
	struct d01_acme_req *req;
	struct d01_op *pop;
	struct d01_txtcheck *chk;
	struct event *timer;
	d01_solver_fn cb;
	void *arg;
};

static void step(struct d01_solver *s);

int
d01_dns01_value(const char *token, const char *thumb, char out[44])
{
	unsigned char md[32];
	unsigned int len = 0;
	char ka[256];
	int n = snprintf(ka, sizeof(ka), "%s.%s", token, thumb);

	if (n < 0 || n >= (int)sizeof(ka) ||
	    !EVP_Digest(ka, (size_t)n, md, &len, EVP_sha256(), NULL))
		return -1;
	d01_b64url_encode(out, md, len);
	return 0;
}

/* Stop whatever is pending (no callbacks). */
static void
drop_pending(struct d01_solver *s)
{
	d01_acme_req_cancel(s->req);
	d01_provider_cancel(s->pop);
	d01_txtcheck_cancel(s->chk);
	s->req = NULL;
	s->pop = NULL;
	s->chk = NULL;
	if (s->timer != NULL)
		evtimer_del(s->timer);
}

void
d01_solver_cancel(struct d01_solver *s)
{
	if (s == NULL)
		return;
	drop_pending(s);
	if (s->timer != NULL)
		event_free(s->timer);
	d01_acme_authz_clear(&s->az);
	free(s->url);
	free(s);
}

/* Keep the first failure; later ones (cleanup) only get logged. */
static void
fail(struct d01_solver *s, const struct d01_error *err, const char *what)
{
	if (s->result.code != D01_OK)
		return;
	s->result = *err;
	d01_error_prefix(&s->result,
	    "authorization for %s %s: ", s->az.ident[0] ? s->az.ident : s->url,
	    what);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	step(arg);
}

/* Run step() from the loop after `ms`; 0 on success. */
static int
later(struct d01_solver *s, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	return evtimer_add(s->timer, &tv);
}

void
d01_solver_abort(struct d01_solver *s)
{
	struct d01_error err;

	if (s->state == S_CLEANUP || s->state == S_DONE)
		return; /* finishing anyway */
	drop_pending(s);
	d01_error_set(&err, D01_E_CANCELLED,
	    "stopped: another authorization "
	    "failed");
	fail(s, &err, "was");
	s->state = s->touched ? S_CLEANUP : S_DONE;
	later(s, 0); /* never call back from inside abort */
}

/* The authorization was read (FETCH or POLL): choose the next state. */
static void
authz_read(struct d01_solver *s, const struct d01_acme_resp *r)
{
	struct d01_acme_authz az;
	struct d01_error err;
	char name[D01_DNAME_BUF + 32];

	if (d01_acme_authz_parse(r->body, r->len, &az, &err) != D01_OK) {
		fail(s, &err, "unreadable");
		s->state = s->touched ? S_CLEANUP : S_DONE;
		return;
	}
	d01_acme_authz_clear(&s->az);
	s->az = az;
	s->retry_after = r->retry_after;
	switch (az.status) {
	case D01_ACME_ST_VALID:
		s->state = s->touched ? S_CLEANUP : S_DONE;
		return;
	case D01_ACME_ST_PENDING:
		break;
	default:
		if (az.has_error)
			d01_acme_problem_to_error(&az.error, 0, &err);
		else
			d01_error_set(&err, D01_E_UPSTREAM, "status %s",
			    d01_acme_status_name(az.status));
		fail(s, &err,
		    az.status == D01_ACME_ST_INVALID ? "invalid" : "failed");
		s->state = s->touched ? S_CLEANUP : S_DONE;
		return;
	}
	if (s->state == S_POLL) {
		s->state = S_WAIT;
		return;
	}
	/* FETCH of a pending authorization: prepare the TXT record. */
	snprintf(name, sizeof(name), "_acme-challenge.%.255s",
	    az.wildcard ? az.ident + 2 : az.ident);
	if (!az.has_dns01 ||
	    d01_dname_normalise(s->fqdn, sizeof(s->fqdn), name) != 0 ||
	    d01_dns01_value(
		az.token, d01_acme_thumbprint(s->ctx->acme), s->value) != 0) {
		d01_error_set(&err, D01_E_PROTOCOL,
		    az.has_dns01 ? "not a usable DNS name"
				 : "the CA offers no dns-01 challenge");
		fail(s, &err, "unusable");
		s->state = S_DONE;
		return;
	}
	s->state = az.chall_status == D01_ACME_ST_PENDING ? S_PRESENT : S_WAIT;
}

static void
acme_cb(void *arg, const struct d01_error *err, const struct d01_acme_resp *r)
{
	struct d01_solver *s = arg;

	s->req = NULL;
	if (err->code != D01_OK) {
		fail(s, err, s->state == S_RESPOND ? "challenge" : "fetch");
		s->state = s->touched ? S_CLEANUP : S_DONE;
	} else if (s->state == S_RESPOND) {
		/* Validation runs at the CA now: poll soon, then back off. */
		s->retry_after = r->retry_after;
		s->state = S_WAIT;
	} else {
		authz_read(s, r);
	}
	step(s);
}

static void
provider_cb(void *arg, const struct d01_error *err)
{
	char qi[300], qm[600];
	struct d01_solver *s = arg;

	s->pop = NULL;
	if (s->state == S_PRESENT) {
		if (err->code != D01_OK) {
			fail(s, err, "present");
			s->state = S_CLEANUP;
		} else {
			s->state = S_CHECK;
		}
	} else {
		if (err->code != D01_OK)
			d01_log(D01_LOG_WARN, "acme-authz",
			    "ident=%s cleanup failed: %s",
			    d01_log_quote(qi, sizeof(qi), s->az.ident),
			    d01_log_quote(qm, sizeof(qm), err->msg));
		s->state = S_DONE;
	}
	step(s);
}

static void
check_cb(void *arg, const struct d01_error *err, const char *summary)
{
	char qi[300], qm[600];
	struct d01_solver *s = arg;
	struct d01_error e = *err;

	s->chk = NULL;
	if (err->code != D01_OK) {
		d01_error_set(&e, err->code, "TXT %s not served: %s", s->fqdn,
		    summary ? summary : err->msg);
		fail(s, &e, "propagation");
		s->state = S_CLEANUP;
	} else {
		d01_log(D01_LOG_DEBUG, "acme-authz", "ident=%s seen: %s",
		    d01_log_quote(qi, sizeof(qi), s->az.ident),
		    d01_log_quote(qm, sizeof(qm), summary));
		s->state = S_RESPOND;
	}
	step(s);
}

/* Arm the poll timer: Retry-After when the CA gave one, else backoff. */
static int
arm_poll(struct d01_solver *s, struct d01_error *err)
{
	struct timeval now, left;
	long ms, left_ms;

	event_base_gettimeofday_cached(s->ctx->env->base, &now);
	if (s->poll_ms == 0) {
		s->poll_ms = POLL_FIRST_MS;
		left.tv_sec = s->ctx->poll_timeout_ms / 1000;
		left.tv_usec = (s->ctx->poll_timeout_ms % 1000) * 1000;
		timeradd(&now, &left, &s->poll_deadline);
	} else if ((s->poll_ms *= 2) > POLL_MAX_MS) {
		s->poll_ms = POLL_MAX_MS;
	}
	ms = s->retry_after >= 0 ? s->retry_after * 1000 : s->poll_ms;
	timersub(&s->poll_deadline, &now, &left);
	left_ms = left.tv_sec * 1000 + left.tv_usec / 1000;
	if (left_ms <= 0) {
		d01_error_set(err, D01_E_TIMEOUT,
		    "still pending after %ld ms (status %s)",
		    s->ctx->poll_timeout_ms,
		    d01_acme_status_name(s->az.chall_status));
		return -1;
	}
	s->state = S_POLL;
	return later(s, ms < left_ms ? ms : left_ms);
}

/* Start the provider op for PRESENT or CLEANUP. */
static struct d01_op *
provider_op(struct d01_solver *s, struct d01_error *err)
{
	const struct d01_provider *p = s->ctx->provider;
	struct d01_challenge ch = {
	    .uid = "issue",
	    .dns_name = s->az.wildcard ? s->az.ident + 2 : s->az.ident,
	    .fqdn = s->fqdn,
	    .zone = NULL,
	    .key = s->value,
	    .namespace = s->ctx->namespace,
	    .allow_ambient = s->ctx->allow_ambient,
	};

	return d01_provider_start(p, s->ctx->env, s->ctx->provider_cfg, &ch,
	    s->state == S_PRESENT, s->ctx->op_timeout_ms, provider_cb, s, err);
}

/* The TXT checker for this solver's name and value. */
static struct d01_txtcheck *
start_check(struct d01_solver *s, struct d01_error *err)
{
	struct d01_txtcheck_opts o = s->ctx->check;

	o.fqdn = s->fqdn;
	o.value = s->value;
	o.absent = 0;
	return d01_txtcheck_start(
	    s->ctx->env->base, s->ctx->env->dns, &o, check_cb, s, err);
}

static void
deliver(struct d01_solver *s)
{
	char qi[300], qm[600];
	d01_solver_fn cb = s->cb;
	void *arg = s->arg;

	d01_log(s->result.code ? D01_LOG_WARN : D01_LOG_INFO, "acme-authz",
	    "ident=%s result=%s", d01_log_quote(qi, sizeof(qi), s->az.ident),
	    d01_log_quote(
		qm, sizeof(qm), s->result.code ? s->result.msg : "valid"));
	cb(arg, &s->result, s);
	d01_solver_cancel(s);
}

/* Start the current state's work; on a synchronous failure record it and
 * move on, so every path ends in CLEANUP (when owed) and DONE. */
static void
step(struct d01_solver *s)
{
	char qi[300], qm[600];
	struct d01_error err;

	for (;;) {
		d01_error_clear(&err);
		switch (s->state) {
		case S_FETCH:
		case S_POLL:
			s->req = d01_acme_post(
			    s->ctx->acme, s->url, NULL, acme_cb, s, &err);
			if (s->req != NULL)
				return;
			fail(s, &err, "fetch");
			s->state = s->touched ? S_CLEANUP : S_DONE;
			break;
		case S_PRESENT:
			s->touched = 1;
			if ((s->pop = provider_op(s, &err)) != NULL)
				return;
			fail(s, &err, "present");
			s->state = S_CLEANUP;
			break;
		case S_CHECK:
			if ((s->chk = start_check(s, &err)) != NULL)
				return;
			fail(s, &err, "propagation");
			s->state = S_CLEANUP;
			break;
		case S_RESPOND:
			s->req = d01_acme_post(s->ctx->acme, s->az.chall_url,
			    "{}", acme_cb, s, &err);
			if (s->req != NULL)
				return;
			fail(s, &err, "challenge");
			s->state = S_CLEANUP;
			break;
		case S_WAIT:
			if (arm_poll(s, &err) == 0)
				return;
			fail(s, &err, "poll");
			s->state = s->touched ? S_CLEANUP : S_DONE;
			break;
		case S_CLEANUP:
			if ((s->pop = provider_op(s, &err)) != NULL)
				return;
			d01_log(D01_LOG_WARN, "acme-authz",
			    "ident=%s cleanup failed: %s",
			    d01_log_quote(qi, sizeof(qi), s->az.ident),
			    d01_log_quote(qm, sizeof(qm), err.msg));
			s->state = S_DONE;
			break;
		case S_DONE:
		case S__MAX:
			deliver(s);
			return;
		}
	}
}

struct d01_solver *
d01_solver_start(const struct d01_solve_ctx *ctx, const char *url,
    d01_solver_fn cb, void *arg, struct d01_error *err)
{
	struct d01_solver *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->url = strdup(url)) == NULL ||
	    (s->timer = evtimer_new(ctx->env->base, timer_cb, s)) == NULL) {
		if (s != NULL)
			free(s->url);
		free(s);
		d01_error_set(err, D01_E_NOMEM, "out of memory");
		return NULL;
	}
	s->ctx = ctx;
	s->cb = cb;
	s->arg = arg;
	s->retry_after = -1;
	s->state = S_FETCH;
	d01_error_clear(&s->result);
	s->req = d01_acme_post(ctx->acme, url, NULL, acme_cb, s, err);
	if (s->req == NULL) {
		d01_solver_cancel(s);
		return NULL;
	}
	return s;
}
