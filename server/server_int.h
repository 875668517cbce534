/* SPDX-License-Identifier: ISC */
/* Declarations shared by the files of server/ only. */
#ifndef D01_SERVER_INT_H
#define D01_SERVER_INT_H

#include "providers/provider.h"
#include "server/metrics.h"
#include "core/dname.h"
#include "server/server.h"

struct d01_server {
	struct d01_env *env;
	struct d01_server_cfg cfg;
	char acmedns_domain[D01_DNAME_BUF]; /* normalised; "" when none */
	struct d01_httpd *httpd;
	struct d01_httpd *metrics_httpd; /* plain --metrics-port, or NULL */
	struct d01_metrics *metrics;
	struct d01_fp_trust *trust; /* NULL: no front proxy can be trusted */
	char *doc_resources;	    /* GET /apis/<group>/v1alpha1 */
	char *doc_group;	    /* GET /apis/<group> */
	char *doc_groups;	    /* GET /apis */
};

/* discovery.c: build the three documents once; serve them. */
enum d01_err d01_discovery_init(struct d01_server *srv, struct d01_error *err);
void d01_discovery_reply(struct d01_req *req, const char *doc);

/* webhook.c: handle POST /apis/<group>/v1alpha1/<solver>. */
void d01_webhook_handle(struct d01_server *srv, struct d01_req *req,
    const struct d01_provider *prov);

#endif
