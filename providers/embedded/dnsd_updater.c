/* SPDX-License-Identifier: ISC */
/*
 * The updater (see dnsd_update.h): an UPDATE that passed the TSIG and
 * zone checks waits its turn for its zone (a keyed gate, one at a time,
 * so prerequisites see what the previous UPDATE wrote), is planned
 * against the store, and its changes go one after another, in message
 * order, through d01_provider_start on the embedded provider: the same
 * path as the webhook's Present/CleanUp, so a back end gets them and the
 * op answers only once the local store holds the change. The reply waits
 * for the last write, bounded by one deadline for the whole UPDATE.
 *
 * Not atomic across a back-end failure: a write that fails midway
 * answers SERVFAIL and the writes before it stay (they were held, and
 * undoing them could fail the same way); the client retries, and adds
 * and deletes are idempotent.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#include "core/clock.h"
#include "core/env.h"
#include "core/gate.h"
#include "core/log.h"
#include "providers/embedded/dnsd_update.h"
#include "providers/embedded/embedded.h"
#include "providers/provider.h"

#define REPLY_MAX 1024 /* header, zone, TSIG: well under */

struct d01_updater {
	struct d01_env *env;
	const struct d01_txtstore *store;
	const struct d01_keyring *kr;
	struct d01_gate *gate; /* per zone */
	size_t inflight;
};

struct d01_update_job {
	struct d01_updater *up;
	uint8_t *q;
	size_t len;
	struct d01_gate_wait w;
	struct d01_op *op; /* the write in flight */
	size_t next;	   /* the next change to write */
	struct event *ev;  /* the deadline, then the delivery */
	int delivering;
	uint8_t reply[REPLY_MAX];
	size_t rlen;
	d01_update_done_fn cb;
	void *arg;
	struct d01_update u; /* last: large */
};

struct d01_updater *
d01_updater_new(struct d01_env *env, const struct d01_txtstore *store,
    const struct d01_keyring *kr)
{
	const struct d01_gate_cfg gc = {.inflight = 1,
	    .max_queued = D01_UPDATE_MAX_INFLIGHT,
	    .max_keys = D01_UPDATE_MAX_INFLIGHT};
	struct d01_updater *up = calloc(1, sizeof(*up));

	if (up == NULL)
		return NULL;
	up->env = env;
	up->store = store;
	up->kr = kr;
	if ((up->gate = d01_gate_new(env->base, &gc)) == NULL) {
		free(up);
		return NULL;
	}
	return up;
}

void
d01_updater_free(struct d01_updater *up)
{
	if (up == NULL)
		return;
	d01_gate_free(up->gate);
	free(up);
}

static int64_t
now_s(const struct d01_updater *up)
{
	return d01_clock_wall_s(up->env->clock);
}

/* One line per UPDATE: who, which zone, the outcome. Names from the
 * network are quoted; no value, no secret. */
static void
log_update(const struct d01_update *u, int rcode, const char *why)
{
	char zone[D01_DNAME_BUF * 4 + 8];

	d01_log(rcode == 0 ? D01_LOG_INFO : D01_LOG_WARN, "dns_update",
	    "key=%s zone=%s rcode=%d reason=%s changes=%zu",
	    u->tsig.key != NULL ? u->tsig.key->name : "-",
	    d01_log_quote(zone, sizeof(zone), u->zone[0] ? u->zone : "-"),
	    rcode, why != NULL ? why : "ok", u->nchanges);
}

static void
job_free(struct d01_update_job *job)
{
	if (job->op != NULL)
		d01_provider_cancel(job->op);
	d01_gate_leave(&job->w);
	if (job->ev != NULL)
		event_free(job->ev);
	job->up->inflight--;
	free(job->q);
	free(job);
}

/* Build the reply, free the zone for the next UPDATE, and hand the
 * reply over from the loop. */
static void
job_deliver(struct d01_update_job *job, int rcode, const char *why)
{
	if (job->delivering)
		return;
	job->delivering = 1;
	if (job->op != NULL) {
		d01_provider_cancel(job->op);
		job->op = NULL;
	}
	d01_gate_leave(&job->w);
	log_update(&job->u, rcode, why);
	job->rlen = d01_update_reply(&job->u, job->q, job->len, rcode,
	    job->reply, sizeof(job->reply), now_s(job->up));
	event_del(job->ev);
	event_active(job->ev, EV_TIMEOUT, 1);
}

static void
job_event(evutil_socket_t fd, short what, void *arg)
{
	struct d01_update_job *job = arg;

	(void)fd;
	(void)what;
	if (!job->delivering) {
		/* The deadline: a write or the zone's queue took too long. */
		job_deliver(job, LDNS_RCODE_SERVFAIL, "deadline");
		return;
	}
	job->cb(job->arg, job->reply, job->rlen);
	job_free(job);
}

static void write_next(struct d01_update_job *job);

static void
written(void *arg, const struct d01_error *err)
{
	struct d01_update_job *job = arg;

	job->op = NULL;
	if (err->code != D01_OK) {
		d01_log(D01_LOG_WARN, "dns_update_write", "error=%s", err->msg);
		job_deliver(job, LDNS_RCODE_SERVFAIL, "write-failed");
		return;
	}
	job->next++;
	write_next(job);
}

static void
write_next(struct d01_update_job *job)
{
	const struct d01_update_change *c;
	struct d01_challenge ch = {.uid = "dns-update"};
	struct d01_error err = {0};
	long left;

	if (job->next == job->u.nchanges) {
		job_deliver(job, LDNS_RCODE_NOERROR, NULL);
		return;
	}
	c = &job->u.changes[job->next];
	ch.fqdn = c->fqdn;
	ch.dns_name = c->fqdn;
	ch.zone = job->u.zone;
	ch.key = c->value;
	/* The job's own timer bounds the whole UPDATE; each write gets the
	 * same bound so it never outlives it. */
	left = D01_UPDATE_DEADLINE_MS;
	job->op = d01_provider_start(&d01_provider_embedded, job->up->env, NULL,
	    &ch, c->add, left, written, job, &err);
	if (job->op == NULL) {
		d01_log(D01_LOG_WARN, "dns_update_write", "error=%s", err.msg);
		job_deliver(job, LDNS_RCODE_SERVFAIL, "write-refused");
	}
}

/* The zone is ours: evaluate against the store as it is now. */
static void
job_go(void *arg)
{
	struct d01_update_job *job = arg;
	struct d01_updater *up = job->up;

	d01_update_plan(up->store, up->kr, job->q, job->len, &job->u);
	if (job->u.rcode >= 0) {
		job_deliver(job, job->u.rcode, job->u.why);
		return;
	}
	job->next = 0;
	write_next(job);
}

int
d01_updater_wants(const uint8_t *q, size_t len)
{
	size_t off;

	if (len < 12 || (q[2] & 0x80) != 0)
		return 0;
	if (((q[2] >> 3) & 0x0f) == 5)
		return 1;
	return ((q[2] >> 3) & 0x0f) == 0 && (q[10] | q[11]) != 0 &&
	    d01_tsig_find(q, len, &off) == 1;
}

struct d01_update_job *
d01_updater_handle(struct d01_updater *up, const uint8_t *q, size_t len,
    uint8_t *out, size_t cap, size_t *outlen, int tcp, d01_update_done_fn cb,
    void *arg)
{
	struct d01_update_job *job;
	struct timeval tv = {D01_UPDATE_DEADLINE_MS / 1000,
	    (D01_UPDATE_DEADLINE_MS % 1000) * 1000};
	enum d01_gate_res g;

	*outlen = 0;
	if (((q[2] >> 3) & 0x0f) != 5) {
		*outlen = d01_dnsd_signed_answer(
		    up->store, up->kr, q, len, out, cap, tcp, now_s(up));
		return NULL;
	}
	if ((job = calloc(1, sizeof(*job))) == NULL)
		goto servfail;
	job->up = up;
	up->inflight++;
	d01_update_check(up->store, up->kr, q, len, now_s(up), &job->u);
	if (job->u.rcode >= 0) {
		log_update(&job->u, job->u.rcode, job->u.why);
		*outlen = d01_update_reply(
		    &job->u, q, len, job->u.rcode, out, cap, now_s(up));
		job_free(job);
		return NULL;
	}
	if (up->inflight > D01_UPDATE_MAX_INFLIGHT ||
	    (job->q = malloc(len)) == NULL ||
	    (job->ev = event_new(up->env->base, -1, 0, job_event, job)) ==
		NULL ||
	    event_add(job->ev, &tv) != 0) {
		log_update(&job->u, LDNS_RCODE_SERVFAIL, "busy");
		*outlen = d01_update_reply(
		    &job->u, q, len, LDNS_RCODE_SERVFAIL, out, cap, now_s(up));
		job_free(job);
		return NULL;
	}
	memcpy(job->q, q, len);
	job->len = len;
	job->cb = cb;
	job->arg = arg;
	g = d01_gate_enter(
	    up->gate, &job->w, job->u.zone, strlen(job->u.zone), job_go, job);
	if (g == D01_GATE_FULL)
		job_deliver(job, LDNS_RCODE_SERVFAIL, "zone-busy");
	else if (g == D01_GATE_GO)
		job_go(job);
	return job;
servfail:
	*outlen = 0;
	return NULL;
}

void
d01_update_cancel(struct d01_update_job *job)
{
	if (job != NULL)
		job_free(job);
}
