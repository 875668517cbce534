/* SPDX-License-Identifier: ISC */
/* Private to providers/route53/: the operation state shared by the state
 * machine (route53.c) and the credential chain (r53_creds.c). */
#ifndef D01_R53_INT_H
#define D01_R53_INT_H

#include <sys/queue.h>
#include <time.h>

#include "core/dname.h"
#include "core/gate.h"
#include "core/secret.h"
#include "providers/route53/r53_sts.h"
#include "providers/route53/route53.h"

struct event;
struct d01_http_call;

/* The provider's process-wide state, one per env (route53.c's init):
 * STS sessions, the per-name write locks, and a counter for memo keys
 * that must match nothing. */
struct r53_state {
	struct r53_sts *sts;
	/* One change batch per (zone, name) in this process at a time, so
	 * concurrent Presents for one name queue instead of racing each
	 * other's compare-and-swap (core/gate.h; 64 names tracked). */
	struct d01_gate *locks;
	unsigned long long never;
};

/* route53.c: the state in env; NULL when env was not opened with it. */
struct r53_state *r53_state_of(const struct d01_env *env);

enum r53_step { R_KEYID, R_SECRET, R_STS, R_ZONE, R_LIST, R_CHANGE, R_SYNC };

struct r53_op {
	struct d01_op op;	 /* first: op.c allocates and frees the whole */
	struct d01_env *env;	 /* op.env, for brevity */
	struct r53_state *state; /* the provider's, in env */
	const struct r53_cfg *cfg;
	enum r53_step st;
	int cas;
	char fqdn[D01_DNAME_BUF], zone[D01_DNAME_BUF], value[256], ns[254];
	char zone_id[128];
	char *akid, *secret, *token;
	char *web_token, *web_role; /* ambient web identity (IRSA) */
	int ambient; /* keys from the server's environment, not the config */
	struct r53_sts_wait *sts;
	struct r53_set sets[8];
	int nsets;
	struct d01_secret_req *sreq;
	struct d01_http_call *call;
	struct event *retry; /* pause before re-reading after a lost race */
	struct d01_gate_wait lock; /* per-name serialisation; left on release */
	int wait_sync;		   /* polling GetChange */
	char change_id[64];
};

/* r53_creds.c: pick the credential source; sets o->st to the first
 * step (secret refs, STS or straight to the zone). 0, or -1 with err. */
int r53_credentials(
    struct r53_op *o, const struct d01_challenge *ch, struct d01_error *err);

/* r53_creds.c: hex of r53_digest() over the signing keys in use and the
 * ambient flag, for cache keys (the zone memo) that must never be shared
 * between different credentials. 0, or -1. */
int r53_cred_tag(const struct r53_op *o, char out[2 * R53_DIGEST_LEN + 1]);

/* r53_config.c: lego's AWS_* variables (provider.h, envvars). */
extern const struct d01_envvar r53_envvars[];

/* route53.c */
void r53_wipe(char **p);
void r53_resume(struct r53_op *o); /* step o from the loop, soon */

#endif
