/* SPDX-License-Identifier: ISC */
/*
 * Discovery documents (/apis/<group> and /apis/<group>/v1alpha1, as the
 * aggregator and kubectl read them). They depend only on
 * the group name and the provider table, so they are rendered once at
 * start-up and served as bytes: the aggregator's availability probe hits
 * them every few seconds, with a 5 s deadline.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "server/server_int.h"

#define WEBHOOK_GROUP "webhook.acme.cert-manager.io"

static json_t *
group_object(const char *group, const char *gv)
{
	return json_pack("{s:s, s:[{s:s, s:s}], s:{s:s, s:s}}", "name", group,
	    "versions", "groupVersion", gv, "version", "v1alpha1",
	    "preferredVersion", "groupVersion", gv, "version", "v1alpha1");
}

static char *
dump(json_t *o)
{
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

enum d01_err
d01_discovery_init(struct d01_server *srv, struct d01_error *err)
{
	const char *group = srv->cfg.group;
	char gv[300];
	json_t *res, *o, *g;
	size_t i;

	snprintf(gv, sizeof(gv), "%s/v1alpha1", group);
	if ((res = json_array()) == NULL)
		goto nomem;
	for (i = 0; d01_providers[i] != NULL; i++) {
		/* Field order and the odd singularName follow the Go
		 * reference server (§4.4.1). */
		o = json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:[s]}", "name",
		    d01_providers[i]->name, "singularName", "ChallengePayload",
		    "namespaced", 0, "group", WEBHOOK_GROUP, "version",
		    "v1alpha1", "kind", "ChallengePayload", "verbs", "create");
		if (json_array_append_new(res, o) != 0) {
			json_decref(res);
			goto nomem;
		}
	}
	srv->doc_resources =
	    dump(json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList",
		"apiVersion", "v1", "groupVersion", gv, "resources", res));
	if ((g = group_object(group, gv)) != NULL) {
		json_object_set_new(g, "kind", json_string("APIGroup"));
		json_object_set_new(g, "apiVersion", json_string("v1"));
	}
	srv->doc_group = dump(g);
	srv->doc_groups =
	    dump(json_pack("{s:s, s:s, s:[o]}", "kind", "APIGroupList",
		"apiVersion", "v1", "groups", group_object(group, gv)));
	if (srv->doc_resources == NULL || srv->doc_group == NULL ||
	    srv->doc_groups == NULL)
		goto nomem;
	return D01_OK;
nomem:
	return d01_error_set(err, D01_E_NOMEM, "discovery: out of memory");
}

void
d01_discovery_reply(struct d01_req *req, const char *doc)
{
	d01_req_reply(req, 200, "application/json", doc, strlen(doc));
}
