/* SPDX-License-Identifier: ISC */
/* Private to providers/route53/: the operation state shared by the state
 * machine (route53.c), the credential chain (r53_creds.c) and the per-name
 * serialisation (r53_lock.c). */
#ifndef D01_R53_INT_H
#define D01_R53_INT_H

#include <time.h>

#include "core/dname.h"
#include "core/secret.h"
#include "providers/route53/r53_sts.h"
#include "providers/route53/route53.h"

struct event;
struct d01_http_call;

enum r53_step { R_KEYID, R_SECRET, R_STS, R_ZONE, R_LIST, R_CHANGE };

struct r53_op {
	struct d01_op op; /* first: d01_provider_cancel() casts back */
	struct d01_env *env;
	const struct r53_cfg *cfg;
	enum r53_step st;
	int present, cas;
	char fqdn[D01_DNAME_BUF], zone[D01_DNAME_BUF], value[256], ns[254];
	char zone_id[128];
	char *akid, *secret, *token;
	char *web_token, *web_role; /* ambient web identity (IRSA) */
	struct r53_sts_wait *sts;
	struct r53_set sets[8];
	int nsets;
	struct timespec deadline;
	struct d01_secret_req *sreq;
	struct d01_http_call *call;
	struct event *retry; /* pause before re-reading after a lost race */
	d01_done_fn cb;
	void *arg;
	int starting;
	struct d01_error start_err;
};

/* r53_creds.c: pick the credential source; sets o->st to the first
 * step (secret refs, STS or straight to the zone). 0, or -1 with err. */
int r53_credentials(
    struct r53_op *o, const struct d01_challenge *ch, struct d01_error *err);

/* route53.c */
void r53_wipe(char **p);

#endif
